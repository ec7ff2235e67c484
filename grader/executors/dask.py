"""The Dask executor: isolated runs on the workers of a Dask cluster, planning and judging here.

The coordinator plans each submission (probes, hidden inputs from the student's
seed), sends a worker only the submission's file bytes and the calls with their
inputs, and judges what comes back. Each worker keeps warm zygotes, started
once by a WorkerPlugin and closed on teardown, with the same isolation as the
local executor. A task returns JSON bytes (grader.executors.wire), never an
object, so nothing built by student code is ever unpickled here. References,
expected values, scores, the gradebook and the reports stay with the coordinator.
"""
import dataclasses
import fcntl
import logging
import multiprocessing
import os
import queue
import threading
import tempfile
import time
import uuid
from concurrent.futures import CancelledError
from contextlib import contextmanager, nullcontext

from distributed import Client, LocalCluster, get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from grader.config import Limits, Settings
from grader.executors.address import parse_address
from grader.executors.base import BOTH, BatchError, Outcome
from grader.executors.wire import WireError, decode_runs, encode_failure, encode_runs
from grader.executors.run import run_submission
from grader.i18n import _
from grader.runner import Zygote, with_restart

PLUGIN_NAME = "grader-zygotes"
SLOT_BASE = 1000  # sandbox uids 61000 + 1000.. for Dask zygotes: never one a local judge on the same host uses
SLOT_COUNT = 1000
IN_FLIGHT_PER_THREAD = 2  # tasks queued per worker thread, so that no worker waits while the coordinator judges
PER_TASK = 4  # submissions per Dask task (fewer for a small class, so that every worker gets some)
CONNECT_SECONDS = 20
NO_WORKERS_SECONDS = 300  # how long the batch waits for a cluster without workers before it stops


class ZygotePlugin(WorkerPlugin):
    """Warm zygotes on a Dask worker, one per worker thread, each with a sandbox uid no other worker uses."""

    idempotent = True  # a second batch on the same cluster keeps the zygotes already warm
    name = PLUGIN_NAME

    def setup(self, worker):
        count = max(1, int(getattr(worker.state, "nthreads", 1) or 1))
        self._slot_locks = _claim_slots(count)
        self._free = queue.SimpleQueue()
        self._all = [Zygote(slot=slot) for slot, _lock in self._slot_locks]
        for zygote in self._all:
            self._free.put(zygote)

    def teardown(self, worker):
        for zygote in getattr(self, "_all", ()):
            zygote.close()
        for _slot, lock in getattr(self, "_slot_locks", ()):
            os.close(lock)

    @contextmanager
    def zygote(self):
        """A zygote for this thread's task alone."""
        zygote = self._free.get()
        try:
            yield zygote
        finally:
            self._free.put(zygote)


def _claim_slots(count):
    """Slots no other process on this host holds: an flock per slot, kept for the worker's life."""
    folder = os.path.join(tempfile.gettempdir(), "grader-sandbox-slots")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    claimed = []
    for slot in range(SLOT_BASE, SLOT_BASE + SLOT_COUNT):
        handle = os.open(os.path.join(folder, f"{slot}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            continue
        claimed.append((slot, handle))
        if len(claimed) == count:
            return claimed
    raise RuntimeError(f"no free sandbox slot in {folder}")


def run_on_worker(files, calls, options):
    """The task: run one submission's calls in this worker's sandbox; returns JSON bytes only.

    files: {file name: bytes}; calls: the plan's calls with their inputs; options: plain
    timeouts, limits, isolation layers and paths to hide.
    """
    started = time.perf_counter()
    worker = get_worker()
    plugin = worker.plugins.get(PLUGIN_NAME)
    if plugin is None:
        return encode_failure("this Dask worker has no grader zygotes (the plugin was not set up)")
    settings = Settings(timeouts=dict(options["timeouts"]), limits=Limits(**options["limits"]),
                        isolation=tuple(options["isolation"]))
    hide = (*options["hide"], worker.local_directory)  # where Dask may spill
    with plugin.zygote() as zygote:
        try:
            runs = with_restart(zygote, lambda warm: run_submission(files, calls, zygote=warm, settings=settings,
                                                                    hide=hide))
        except Exception as exc:  # noqa: BLE001 - told to the coordinator as text, never as an object
            return encode_failure(f"{type(exc).__name__}: {exc}")
        return encode_runs(runs, isolation=zygote.last_sandbox, seconds=time.perf_counter() - started)


def run_batch_on_worker(submissions, options):
    """The task: several submissions, [(files, calls), ...], one after another; returns a list of JSON bytes.

    Batching spreads Dask's per-task cost (scheduling, messages) over a few submissions.
    """
    return [run_on_worker(files, calls, options) for files, calls in submissions]


def _replies(future, count):
    """What a finished task gives for each of its `count` submissions: ("bytes", JSON) or ("failure", why)."""
    if future.status == "error":  # e.g. KilledWorker: it took down every worker it was tried on
        return [("failure", f"the Dask task failed: {str(future.exception())[:500]}")] * count
    if future.status != "finished":
        return [("failure", f"the Dask task ended as {future.status}")] * count
    result = future.result()
    if not isinstance(result, list) or len(result) != count or not all(isinstance(item, bytes) for item in result):
        return [("failure", "the Dask task returned something other than one reply per submission")] * count
    return [("bytes", item) for item in result]


class DaskExecutor:
    """Grades on a Dask cluster: an existing scheduler (tcp://host:8786) or a LocalCluster ("local:N")."""

    def __init__(self, address, *, connect_seconds=CONNECT_SECONDS):
        self.address, self.connect_seconds = address, connect_seconds
        self.kind, self.local_workers = parse_address(address)
        self.client = self.cluster = None
        self.workers = self.local_workers or 1

    def warm(self):
        """Nothing to start early: the cluster is reached in __enter__."""

    def starting(self):
        return False  # the desks plan on this machine whenever they are asked: nothing to do ahead of them

    def release(self):
        """Nothing started by warm()."""

    def __enter__(self):
        self.desks = Desks.start(DESKS)  # forked before the Dask client starts its threads
        # Dask's own client-side logs (a lost connection comes with a traceback at INFO) are not for instructors:
        # what matters is reported by this executor as a BatchError with a message.
        self.saved_level = logging.getLogger("distributed").level
        logging.getLogger("distributed").setLevel(logging.ERROR)
        try:
            if self.kind == "local":
                self.cluster = LocalCluster(n_workers=self.local_workers, threads_per_worker=1, processes=True,
                                            dashboard_address=None, silence_logs=logging.ERROR)
                self.client = Client(self.cluster, timeout=self.connect_seconds)
            else:
                self.client = Client(self.kind, timeout=self.connect_seconds)
            self.client.register_plugin(ZygotePlugin(), name=PLUGIN_NAME)
        except (OSError, TimeoutError) as exc:
            self.__exit__()
            raise BatchError(_("cannot reach the Dask scheduler at {address}: {problem}").format(
                address=self.address, problem=exc)) from None
        self.workers = max(1, sum(self.client.nthreads().values()))
        return self

    def __exit__(self, *exc):
        if self.client is not None:
            with _quiet() if self.client.status != "running" else nullcontext():
                try:  # without a scheduler, closing only cancels the client's reconnection: nothing worth a traceback
                    self.client.close(timeout=5)
                except (OSError, TimeoutError, CancelledError):
                    pass
        if self.cluster is not None:
            self.cluster.close(timeout=10)
        self.client = self.cluster = None
        logging.getLogger("distributed").setLevel(getattr(self, "saved_level", logging.NOTSET))
        if getattr(self, "desks", None) is not None:
            self.desks.stop()
            self.desks = None

    def grade(self, jobs, *, settings, hide):
        """Desks plan; tasks go out in a window; replies go back to the desk that planned them; yields Outcomes."""
        options = {"timeouts": dict(settings.timeouts), "isolation": list(settings.isolation),
                   "limits": dataclasses.asdict(settings.limits),
                   "hide": [str(path) for path in (settings.solutions_dir, *hide)]}  # this machine's; the worker adds its own
        events = queue.SimpleQueue()  # ("desk", message) from the desks' pump, ("task", future) from Dask's callbacks
        self.desks.listen(events)
        pending = list(enumerate(jobs))[::-1]
        per_task = max(1, min(PER_TASK, -(-len(jobs) // (2 * self.workers))))  # small classes still spread out
        planning, planned, waiting, judging = 0, [], {}, 0  # at a desk / ready to send / out in tasks / being judged
        counted = time.monotonic()
        while pending or planning or planned or waiting or judging:
            if time.monotonic() - counted > 10:  # workers may join or leave during a batch
                self.workers, counted = max(1, self._threads()), time.monotonic()
            out = sum(len(batch) for batch in waiting.values())
            while pending and planning + len(planned) + out < IN_FLIGHT_PER_THREAD * per_task * self.workers:
                index, job = pending.pop()
                self.desks.send(index, ("plan", index, job, settings))
                planning += 1
            if planned and (len(planned) >= per_task or not planning):
                batch, planned = planned[:per_task], planned[per_task:]
                key = f"grade-{batch[0][1].submission.student}-{len(batch)}-{uuid.uuid4().hex[:12]}"
                future = self.client.submit(run_batch_on_worker, [(files, calls) for _i, _j, files, calls, _s in batch],
                                            options, key=key, pure=False)
                waiting[future] = [(index, seconds) for index, _job, _files, _calls, seconds in batch]
                future.add_done_callback(lambda done: events.put(("task", done)))
                continue
            try:
                source, item = events.get(timeout=2)
            except queue.Empty:
                self._check_alive(waiting)
                continue
            if source == "desk" and item[0] == "planned":
                _kind, index, job, files, calls, seconds = item
                planning -= 1
                planned.append((index, job, files, calls, seconds))
            elif source == "desk":  # ("outcome", index, Outcome, stage)
                _kind, _index, outcome, stage = item
                if outcome is None:
                    raise BatchError(_("the grading workers stopped unexpectedly (exit codes {codes}); rerun to resume").format(
                        codes=", ".join(str(process.exitcode) for process in self.desks.processes)))
                if stage == "plan":
                    planning -= 1
                else:
                    judging -= 1
                yield outcome
            elif item in waiting:
                batch = waiting.pop(item)
                if item.status == "cancelled" or self.client.status not in ("running", "connecting"):
                    raise self._lost()
                replies = _replies(item, len(batch))
                for (index, seconds), reply in zip(batch, replies):
                    self.desks.send(index, ("judge", index, reply, seconds))
                    judging += 1

    def _check_alive(self, waiting):
        """Nothing happened for a while: the scheduler may be gone, or have no workers for too long."""
        if self.client.status not in ("running", "connecting"):
            raise self._lost()
        if waiting and self._threads() == 0:
            self.alone_since = getattr(self, "alone_since", None) or time.monotonic()
            if time.monotonic() - self.alone_since > NO_WORKERS_SECONDS:
                raise BatchError(_("the Dask scheduler at {address} has had no workers for {seconds} s").format(
                    address=self.address, seconds=NO_WORKERS_SECONDS))
        else:
            self.alone_since = None

    def _threads(self):
        """Worker threads the scheduler knows of now; a scheduler gone meanwhile stops the batch."""
        try:
            return sum(self.client.nthreads().values())
        except (OSError, TimeoutError, CancelledError):
            raise self._lost() from None

    def _lost(self):
        return BatchError(_("lost the Dask scheduler at {address}; start it again and rerun the same command "
                            "to resume (students already graded are kept)").format(address=self.address))


DESKS = 2  # forked planner/judge processes: the coordinator's share of the work runs in parallel, off its GIL


class Desks:
    """Forked processes that plan submissions and judge the replies; a job is judged where it was planned.

    The plan (probes, expected values) never leaves its desk: the coordinator gets the calls to send,
    and hands back the worker's reply bytes. Only plain objects travel between the processes.
    """

    def __init__(self, processes, inboxes, outbox):
        self.processes, self.inboxes, self.outbox = processes, inboxes, outbox
        self.pump = None

    @classmethod
    def start(cls, count):
        import torch  # noqa: F401 - imported once here, shared by the forked desks

        context = multiprocessing.get_context("fork")
        outbox = context.Queue()
        inboxes = [context.Queue() for _desk in range(count)]
        processes = [context.Process(target=_desk, args=(inbox, outbox), daemon=True) for inbox in inboxes]
        for process in processes:
            process.start()
        return cls(processes, inboxes, outbox)

    def send(self, index, message):
        self.inboxes[index % len(self.inboxes)].put(message)

    def listen(self, events):
        """Relay every desk message into `events` from a thread (Dask's callbacks feed the same queue)."""
        if self.pump is None:
            self.pump = threading.Thread(target=self._relay, args=(events,), daemon=True)
            self.pump.start()
        else:
            self.events = events

    def _relay(self, events):
        self.events = events
        while True:
            try:
                message = self.outbox.get(timeout=1.0)
            except queue.Empty:
                if not any(process.is_alive() for process in self.processes):
                    self.events.put(("desk", ("outcome", -1, None, "dead")))
                    return
                continue
            except (EOFError, OSError):
                return
            if message is None:
                return
            self.events.put(("desk", message))

    def stop(self):
        for inbox in self.inboxes:
            inbox.put(None)
        for process in self.processes:
            process.join(timeout=2)
            if process.is_alive():
                process.kill()
                process.join()
        self.outbox.put(None)


def _desk(inbox, outbox):
    """A desk process: plan jobs and judge their replies until told to stop (None)."""
    import ctypes
    import signal

    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: go when the coordinator goes
    from grader.grading import STAGED, judge_submission, plan_submission

    plans = {}
    while (message := inbox.get()) is not None:
        if message[0] == "plan":
            _kind, index, job, settings = message
            started = time.perf_counter()
            try:
                plan = plan_submission(job.submission.folder, student=job.submission.student, visibilities=BOTH,
                                       hidden_seed=job.seed, shown_as=STAGED, located=job.located)
                if not plan.calls:  # every file missing or broken: nothing to run
                    outbox.put(("outcome", index, Outcome(job, judge_submission(plan, {}, settings),
                                                          time.perf_counter() - started), "plan"))
                    continue
            except Exception as exc:  # noqa: BLE001 - reported by the coordinator, as for local judges
                outbox.put(("outcome", index, Outcome(job, failure=f"{type(exc).__name__}: {exc}"), "plan"))
                continue
            plans[index] = (job, plan, settings)
            outbox.put(("planned", index, job, plan.files(), list(plan.calls), time.perf_counter() - started))
        elif message[0] == "judge":
            _kind, index, reply, planning_seconds = message
            job, plan, settings = plans.pop(index)
            outbox.put(("outcome", index, _judged(job, plan, reply, planning_seconds, settings), "judge"))


def _judged(job, plan, reply, planning_seconds, settings):
    """The Outcome of one worker reply: ("bytes", JSON from the worker) or ("failure", why)."""
    from grader.grading import judge_submission

    started = time.perf_counter()
    kind, data = reply
    if kind == "failure":
        return Outcome(job, failure=data)
    try:
        runs, isolation, run_seconds, failure = decode_runs(data, plan.calls)
        if failure:
            return Outcome(job, failure=failure)
        result = judge_submission(plan, runs, settings)
    except WireError as exc:
        return Outcome(job, failure=str(exc))
    except Exception as exc:  # noqa: BLE001 - reported by the coordinator, as for local judges
        return Outcome(job, failure=f"{type(exc).__name__}: {exc}")
    return Outcome(job, result, planning_seconds + run_seconds + time.perf_counter() - started, isolation)


@contextmanager
def _quiet():
    """Silence logging for a moment (Dask's tracebacks of a reconnection we cancel), then restore it."""
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)
