"""The local executor: judge processes forked from the coordinator, one warm zygote each.

Judges are part of the trusted side: forked before any student code runs, they
plan, drive their zygote and judge in parallel without sharing one interpreter
lock, and send back only plain result objects.
"""
import ctypes
import multiprocessing
import queue
import signal
import time

from grader.executors.base import BOTH, BatchError, Outcome
from grader.i18n import N_, _
from grader.runner import Zygote, with_restart


class LocalExecutor:
    def __init__(self, workers=1):
        self.workers = max(1, int(workers))
        self.zygotes = []  # started early by warm(), handed to the judges

    def warm(self):
        """Start the zygotes now: their torch imports overlap with the coordinator's own (intake, probes)."""
        if not self.zygotes:
            self.zygotes = [Zygote(slot=slot) for slot in range(self.workers)]

    def release(self):
        """Stop or reap the zygotes started by warm(), used or not."""
        zygotes, self.zygotes = self.zygotes, []
        for zygote in zygotes:
            zygote.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
        return None

    def grade(self, jobs, *, settings, hide):
        """Yield an Outcome per job as judges finish them; judges are killed if the caller stops early."""
        from grader.grading import build_probes  # torch: imported here, once the zygotes are starting theirs
        from grader.registry import ALL_CHECKS

        if not jobs:
            return
        build_probes([check for check in ALL_CHECKS if check.visibility == "public"], hidden_seed=0)  # shared by all judges
        context = multiprocessing.get_context("fork")
        todo, finished = context.Queue(), context.Queue()
        for job in jobs:
            todo.put(job)
        count = min(self.workers, len(jobs))
        for _slot in range(count):
            todo.put(None)  # one stop sign per judge
        warm = self.zygotes[:count]
        judges = [context.Process(target=_judge, args=(slot, todo, finished, settings, hide, warm), daemon=True)
                  for slot in range(count)]
        try:
            for judge in judges:
                judge.start()
            for zygote in self.zygotes:
                zygote.detach()  # the judges drive them now; unused ones end at once
            for _position in range(len(jobs)):
                yield _next_outcome(finished, judges)
            for judge in judges:
                judge.join()
        finally:
            for judge in judges:
                if judge.is_alive():
                    judge.kill()
                    judge.join()


def _next_outcome(finished, judges):
    """The next outcome; judges that all died without reporting stop the batch with a message."""
    while True:
        try:
            return finished.get(timeout=1.0)
        except queue.Empty:
            if not any(judge.is_alive() for judge in judges) and finished.empty():
                codes = ", ".join(str(judge.exitcode) for judge in judges)
                raise BatchError(_("the grading workers stopped unexpectedly (exit codes {codes}); rerun to resume").format(
                    codes=codes)) from None


def _judge(slot, todo, finished, settings, hide, warm=()):
    """A judge process: grade jobs from `todo` on its own zygote (warm[slot] if started early) until told to stop."""
    import torch

    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: go when the coordinator goes
    torch.set_num_threads(1)
    for other, zygote in enumerate(warm):
        if other != slot:
            zygote.detach()  # so that another judge's zygote ends when that judge lets go
    with (warm[slot] if slot < len(warm) else Zygote(slot=slot)) as zygote:
        while (job := todo.get()) is not None:
            started = time.perf_counter()
            result, failure = None, ""
            try:
                result = _grade_with_retry(zygote, job.submission, job.seed, settings, hide)
            except Exception as exc:  # noqa: BLE001 - reported by the coordinator
                failure = f"{type(exc).__name__}: {exc}"
            finished.put(Outcome(job, result, time.perf_counter() - started, dict(zygote.last_sandbox), failure))


def _grade_with_retry(zygote, submission, seed, settings, hide):
    from grader.grading import grade_submission

    return with_restart(zygote, lambda warm: grade_submission(
        submission.folder, student=submission.student, visibilities=BOTH, hidden_seed=seed, settings=settings,
        zygote=warm, shown_as=N_("the submission"), hide=hide))
