"""The trusted side of isolated execution: drive a zygote, supervise its children, collect raw outcomes.

The judge sends a job (file paths, calls with their inputs, limits) to a
zygote process, which forks a child for it and hands back the read ends of the
child's result and log pipes and a pidfd. The judge reads the child itself,
with a wall-clock deadline per exercise and caps on what it writes, then tells
the zygote to kill and reap it. Everything read back is untrusted: lines are
parsed as size-capped JSON, accepted only in the order the plan expects (begin,
loaded, calls, end for one exercise after another), and the first outcome per
call wins. When a child dies or times out inside an exercise, that exercise
gets the ending and the rest run in a fresh child.
"""
import json
import marshal
import os
import select
import selectors
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

from grader.config import HARNESS_DIR, SANDBOX_UID_BASE, Limits

MAX_REPLY = 64 * 1024  # the zygote's own messages (ready, started, done) are short JSON records
LOG_KEEP = 64 * 1024
LOG_KILL = 8 * 1024 * 1024
RESULT_LINE_MAX = 4 * 1024 * 1024
RESULT_TOTAL_MAX = 64 * 1024 * 1024
BETWEEN_EXERCISES = 5.0
CONTROL_LINE_MAX = 200  # begin/end markers are short JSON lines
MARKER_STARTS = (b'{"event": "begin"', b'{"event": "end"')  # as the child's JSON encoder writes them (child.Reporter)
GATHER_SECONDS = 0.05  # after reading, let the child's next lines gather this long (its exit still ends the wait)
READ_SIZE = 65536  # a pipe's default capacity


_INPUTS = ("args", "kwargs", "state", "input")  # what a prepared call leaves out


class RunnerError(RuntimeError):
    """The zygote itself failed (not the student's code)."""


@dataclass
class ExerciseRun:
    """What the child reported for one exercise, still unjudged."""

    exercise: str
    loaded: dict = None
    calls: dict = field(default_factory=dict)
    ending: str = ""  # "", or "timeout", "crashed", "output_overflow", "result_overflow", "tampered"
    status: str = ""  # how the child process ended, e.g. "signal:SIGSEGV"
    log: str = ""
    seconds: float = 0.0


def child_environment():
    """What an exec'd worker process may see of the environment: nothing secret."""
    keep = {key: os.environ[key] for key in ("PATH", "LANG", "LC_ALL", "TZ") if key in os.environ}
    keep.update({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
                 "PYTHONHASHSEED": "0", "HOME": "/nonexistent"})
    return keep


class Zygote:
    """One warm process with torch imported, started by exec, forking a child per job."""

    def __init__(self, python=None, slot=0, pipes=None):
        """Exec a new zygote; or, with pipes=(requests_fd, replies_fd), reach one that the family process
        (harness/family.py) forked. Either way, if it dies, `start()` replaces it with an exec'd one."""
        self.python = python or sys.executable
        self.slot = slot
        self.last_sandbox = {}  # layer -> "on" or why not, as the last child reported before running student code
        self.jobs = 0
        self.replies = None  # the Unix socket (SOCK_SEQPACKET) the zygote answers on
        self.prepared = {}
        if pipes is None:
            self.start()
        else:
            requests_fd, replies_fd = pipes
            self.process, self.replies, self.ready = _Piped(requests_fd), socket.socket(fileno=replies_fd), False

    def start(self):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.process = subprocess.Popen(
                [self.python, "-I", str(HARNESS_DIR / "zygote.py")],
                stdin=subprocess.PIPE, stdout=theirs.fileno(), stderr=subprocess.DEVNULL,
                env=child_environment(), cwd="/", close_fds=True, start_new_session=True,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.replies = ours
        self.ready = False
        self.prepared = {}  # call id -> (the shared call, its marshal bytes) whose inputs this zygote holds decoded

    def _receive(self, job_id=None, kind=None):
        """The zygote's next message of `kind` about `job_id` (others are skipped): (message, descriptors)."""
        while True:
            try:
                data, fds, _flags, _address = socket.recv_fds(self.replies, MAX_REPLY, 3)
            except OSError as exc:
                raise RunnerError(f"the grading worker process could not be read ({exc.strerror})") from None
            if not data:
                code = self.process.poll()
                status = f" (exit status {code})" if code is not None else ""
                raise RunnerError(f"the grading worker process stopped unexpectedly{status}")
            try:
                message = json.loads(data)
            except ValueError:
                message = None
            if isinstance(message, dict) and message.get("kind") == kind and message.get("job") == job_id:
                return message, fds
            for fd in fds:
                os.close(fd)

    def _send(self, request):
        try:
            self.process.stdin.write(frame_job(request))
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError):  # ValueError: closed by a failed job before
            raise RunnerError("the grading worker process stopped unexpectedly") from None

    def _wait_ready(self):
        if not self.ready:
            self._receive(kind="ready")
            self.ready = True

    def run(self, plan, timeouts, limits, sandbox=None):
        """Run one job; return (the child's event lines, how it ended: a dict with "ending" and "status")."""
        self._wait_ready()
        self.jobs += 1
        job_id = self.jobs
        cpu_seconds = sum(timeouts[exercise["name"]] for exercise in plan["exercises"]) + 1
        plan = self._with_prepared_inputs(plan)
        self._send({"id": job_id, "plan": marshal.dumps(plan), "student_dir": plan["student_dir"],
                    "sandbox": dict(sandbox or {}, uid=SANDBOX_UID_BASE + self.slot),
                    "limits": {"cpu_seconds": cpu_seconds, "memory_bytes": limits.memory_bytes,
                               "file_bytes": limits.file_bytes, "open_files": limits.open_files}})
        _started, fds = self._receive(job_id, "started")
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            raise RunnerError("the grading worker process did not hand over its child")
        try:
            lines, ending = supervise(*fds, timeouts)
        except BaseException:
            self.close()  # the zygote sees its requests end: it kills the child and goes
            raise
        finally:
            for fd in fds:
                os.close(fd)
        self._send({"end": job_id})
        done, fds = self._receive(job_id, "done")
        for fd in fds:
            os.close(fd)
        ending["status"] = str(done.get("status", ""))
        if lines:  # the child's first line is written before any student code runs
            self.last_sandbox = _sandbox_report(lines[0])
        return lines, ending

    def _with_prepared_inputs(self, plan):
        """The plan, with the inputs of its shared calls (marked "shared": public ones, the same for every
        student) left to the zygote, which decodes them once (child.prepare) instead of each child doing it.
        Sends the zygote any shared call it has not prepared yet; one prepared under the same id but with other
        content is sent again."""
        new, exercises = [], []
        for exercise in plan["exercises"]:
            calls = []
            for call in exercise["calls"]:
                if call.get("shared") and call["kind"] in ("call", "module"):
                    held = self.prepared.get(call["id"])
                    if held is None or held[0] is not call:  # the same object: the same content
                        blob = marshal.dumps(call)
                        if held is None or held[1] != blob:
                            new.append(call)
                        self.prepared[call["id"]] = (call, blob)
                    call = {key: value for key, value in call.items() if key not in _INPUTS} | {"prepared": True}
                calls.append(call)
            exercises.append(dict(exercise, calls=calls))
        if new:
            self._send({"prepare": new})
        return dict(plan, exercises=exercises)

    def close(self):
        """Stop the zygote: it holds nothing worth a slow interpreter shutdown."""
        if isinstance(self.process, _Piped):
            self.process.close()  # it ends when its pipe closes; its parent, the family process, reaps it
        elif self.process is not None:
            end_process(self.process, grace=0.2)
        if self.replies is not None:
            self.replies.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def frame_job(job):
    """A request as the zygote reads it: its length in ASCII digits and a newline, then marshal's bytes.

    Jobs are plain data (dicts, lists, strings, numbers, bytes) going from trusted code to a zygote of the
    same interpreter: marshal writes and reads them ~5x faster than JSON (~2.5 ms a job), and carries the
    compiled files as bytes. A job's plan travels marshalled once more, as bytes that only the child loads.
    What comes back from the child stays JSON, parsed as untrusted input.
    """
    payload = marshal.dumps(job)
    return b"%d\n" % len(payload) + payload


def end_process(process, grace):
    """Close a child's stdin (its sign to end), give it `grace` seconds, then kill it; it is reaped either way."""
    if process.poll() is None:
        try:
            process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class _Piped:
    """The requests pipe to a zygote that is not this process's child: it ends when that closes, its parent
    reaps it."""

    def __init__(self, requests_fd):
        self.stdin = open(requests_fd, "wb")

    def poll(self):
        return None  # the exit status belongs to its parent

    def close(self):
        try:
            self.stdin.close()
        except OSError:
            pass


def supervise(result_r, log_r, pidfd, timeouts):
    """Gather a child's result lines, enforcing the deadline of the exercise it is in and the caps on what it
    writes; returns (lines, {"ending", "exercise", "log", "log_bytes", "seconds"}).

    Ends when the child has exited and its pipes are drained (descendants that still hold them get 0.2 s),
    or at once on a timeout or an overflow; the zygote then kills the child's process group.
    """
    selector = selectors.DefaultSelector()
    selector.register(result_r, selectors.EVENT_READ, "result")
    selector.register(log_r, selectors.EVENT_READ, "log")
    selector.register(pidfd, selectors.EVENT_READ, "exit")
    deadline = time.monotonic() + BETWEEN_EXERCISES
    current = None
    pending = b""
    log = bytearray()
    log_total = 0
    result_total = 0
    ending = None
    exited = False
    flooding = False
    gathered = []
    started = time.monotonic()
    try:
        while ending is None:
            has_pipes = any(data in ("result", "log") for data in (k.data for k in selector.get_map().values()))
            if exited and not has_pipes:
                break
            remaining = deadline - time.monotonic()
            if not exited and remaining <= 0:
                ending = {"ending": "timeout", "exercise": current}
                break
            ready = selector.select(timeout=0.2 if exited else min(remaining, 1.0))
            if exited and not ready:
                break
            if not exited and not flooding and any(key.data != "exit" for key, _ in ready):
                # The child writes a line per call: waking for each one would interrupt it ~90 times a job.
                select.select([pidfd], [], [], min(GATHER_SECONDS, max(0.0, remaining)))
                ready = selector.select(timeout=0)
            for key, _ in ready:
                if key.data == "exit":
                    exited = True
                    selector.unregister(pidfd)
                    continue
                chunk = os.read(key.fd, READ_SIZE)
                if not chunk:
                    selector.unregister(key.fd)
                    continue
                flooding = flooding or len(chunk) == READ_SIZE  # a pipe filled up: from now on read without waiting
                if key.data == "log":
                    log_total += len(chunk)
                    if len(log) < LOG_KEEP:
                        log += chunk[: LOG_KEEP - len(log)]
                    if log_total > LOG_KILL:
                        ending = ending or {"ending": "output_overflow", "exercise": current}
                    continue
                result_total += len(chunk)
                pending += chunk
                if result_total > RESULT_TOTAL_MAX or len(pending) > RESULT_LINE_MAX:
                    ending = ending or {"ending": "result_overflow", "exercise": current}
                    continue
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    current, deadline = _track(line, current, deadline, timeouts)
                gathered.extend(lines)
    finally:
        selector.close()
    ending = ending or {"ending": "exited", "exercise": current}
    ending.update({"log": log.decode("utf-8", "replace"), "log_bytes": log_total, "seconds": time.monotonic() - started})
    return [line.decode("utf-8", "replace") for line in gathered], ending


def _track(line, current, deadline, timeouts):
    """Follow begin/end markers to set the wall-clock deadline of the running exercise."""
    if len(line) > CONTROL_LINE_MAX or not line.startswith(MARKER_STARTS):  # a call's result: not worth parsing here
        return current, deadline
    try:
        event = json.loads(line)
    except ValueError:
        return current, deadline
    if not isinstance(event, dict) or event.get("exercise") not in timeouts:
        return current, deadline
    if event.get("event") == "begin":
        return event["exercise"], time.monotonic() + timeouts[event["exercise"]]
    if event.get("event") == "end":
        return None, time.monotonic() + BETWEEN_EXERCISES
    return current, deadline


def with_restart(zygote, action):
    """action(zygote); if the zygote itself died (the OOM killer can do that, student code cannot), once more
    on a restarted one. A second RunnerError is the caller's to report."""
    try:
        return action(zygote)
    except RunnerError:
        zygote.close()
        zygote.start()
        return action(zygote)


def _sandbox_report(line):
    event = _parse(line) or {}
    layers = event.get("layers") if event.get("event") == "sandbox" else None
    return {str(key): str(value)[:200] for key, value in layers.items()} if isinstance(layers, dict) else {}


def _parse(line):
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def collect(lines, expected_order, call_ids):
    """Turn untrusted event lines into ExerciseRuns, accepting only the expected order.

    The harness sends begin, loaded, calls, end for one exercise after another,
    each control event once. A repeated or out-of-order control event can only
    come from student code writing to the pipe: the exercise it happened in is
    marked "tampered". Returns (runs of exercises that began, exercise still open).
    """
    runs = {}
    order = list(expected_order)
    current = None
    for line in lines:
        event = _parse(line)
        if event is None:
            continue
        kind, exercise = event.get("event"), event.get("exercise")
        if kind == "begin" and current is None and order and exercise == order[0]:
            current = order.pop(0)
            runs[current] = ExerciseRun(current)
        elif current is None:
            continue
        elif exercise != current or kind == "begin" or (kind == "loaded" and runs[current].loaded is not None) \
                or (kind in ("call", "end") and runs[current].loaded is None):
            runs[current].ending = "tampered"
        elif kind == "loaded":
            runs[current].loaded = event
        elif kind == "call" and event.get("call") in call_ids.get(current, ()):
            runs[current].calls.setdefault(event["call"], event)
        elif kind == "end":
            current = None
    return runs, current


def run_exercises(zygote, plan, timeouts, limits=Limits(), sandbox=None):
    """Run every exercise of the plan, re-forking after a child that died.

    Returns {exercise: ExerciseRun} for each exercise in the plan.
    """
    call_ids = {exercise["name"]: {call["id"] for call in exercise["calls"]} for exercise in plan["exercises"]}
    remaining = list(plan["exercises"])
    results = {}
    while remaining:
        sub_plan = dict(plan, exercises=remaining)
        lines, done = zygote.run(sub_plan, timeouts, limits, sandbox)
        names = [exercise["name"] for exercise in remaining]
        runs, still_open = collect(lines, names, call_ids)
        if any(run.ending == "tampered" for run in runs.values()):
            # Forged control events mean nothing this child reported can be trusted.
            for run in runs.values():
                run.ending = "tampered"
        results.update(runs)
        if still_open is None and len(runs) < len(names):
            # The child ended between exercises: charge the next one.
            still_open = names[len(runs)]
            results[still_open] = ExerciseRun(still_open)
        if still_open is not None:
            run = results[still_open]
            run.ending = done.get("ending") if done.get("ending") != "exited" else "crashed"
            run.status = str(done.get("status", ""))[:100]
            run.log = str(done.get("log", ""))[-4000:]
        finished = set(results)
        if still_open is None and len(runs) == len(names):
            break
        remaining = [exercise for exercise in remaining if exercise["name"] not in finished]
    return results
