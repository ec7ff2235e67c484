"""The local executor: a family of judges and zygotes forked from one process that imported torch once.

`warm()` execs that process (grader/harness/family.py) first thing, so that its
torch import overlaps with the coordinator's intake; the coordinator itself
never imports torch. Per worker slot the family holds a judge (trusted: plans,
drives its zygote, judges; imports the grader after the fork) and a zygote
(forks a sandboxed child per submission). The coordinator sends each judge
jobs over a pipe, two at a time so that it never waits for the next one, and
reads back plain Outcome objects. Both ends of those pipes are trusted code.
"""
import gc
import os
import resource
import select
import subprocess
import sys
import time
from collections import deque
from dataclasses import replace
from multiprocessing.connection import Connection, wait

from grader.config import HARNESS_DIR, PACKAGE_DIR
from grader.executors.base import BatchError, Outcome
from grader.i18n import _, language
from grader.runner import Zygote, child_environment, end_process

AHEAD = 2  # jobs queued at each judge: one running, one waiting


class Family:
    """The coordinator's handle on the family process: a jobs pipe and an outcomes pipe per judge."""

    def __init__(self, workers, python=None):
        _allow_descriptors(4 * workers + 64)  # two pipes per judge, both ends open while the family starts
        self.jobs, self.outcomes, given = [], [], []
        for _slot in range(workers):
            jobs_r, jobs_w = os.pipe()
            outcomes_r, outcomes_w = os.pipe()
            given += [jobs_r, outcomes_w]
            self.jobs.append(Connection(jobs_w, readable=False))
            self.outcomes.append(Connection(outcomes_r, writable=False))
        slots = [f"{slot}:{given[2 * slot]}:{given[2 * slot + 1]}" for slot in range(workers)]
        try:
            self.process = subprocess.Popen(
                [python or sys.executable, "-I", str(HARNESS_DIR / "family.py"), str(PACKAGE_DIR.parent), *slots],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=child_environment(), cwd="/",
                pass_fds=given, start_new_session=True)
        finally:
            for fd in given:
                os.close(fd)
        self.started = False

    def starting(self):
        """True until the family says its judges and zygotes are forked (one line on its stdout) or it ends."""
        if not self.started and select.select([self.process.stdout], [], [], 0)[0]:
            self.started = True  # "ready", or end of file: either way it starts no longer
        return not self.started

    def close(self):
        """Let the judges go (their pipes close), then the family process, which takes every member with it."""
        for connection in (*self.jobs, *self.outcomes):
            connection.close()
        end_process(self.process, grace=2.0)
        self.process.stdout.close()


def _allow_descriptors(count):
    """Raise the soft limit on open files to `count` where it is lower (many workers; a 1024 default)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < count:
        resource.setrlimit(resource.RLIMIT_NOFILE, (count if hard == resource.RLIM_INFINITY else min(count, hard), hard))


class LocalExecutor:
    def __init__(self, workers=1):
        self.workers = max(1, int(workers))
        self.family = None

    def warm(self):
        """Start the family now: its torch import overlaps with the coordinator's intake."""
        if self.family is None:
            self.family = Family(self.workers)

    def release(self):
        family, self.family = self.family, None
        if family is not None:
            family.close()

    def starting(self):
        return self.family is not None and self.family.starting()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
        return None

    def grade(self, jobs, *, settings, hide):
        """Yield an Outcome per job as judges finish them; a judge that dies has its jobs taken by the others."""
        if not jobs:
            return
        self.warm()
        family = self.family
        waiting = deque(jobs)
        held = {}  # judge -> its jobs in the order sent (a judge works through them in that order)
        for judge, connection in enumerate(family.jobs):
            try:
                connection.send(("settings", settings, tuple(hide), language()))
                held[judge] = deque()
            except OSError:
                pass  # gone already: the others take the work
        while waiting or any(held.values()):
            for judge in list(held):
                while waiting and len(held[judge]) < AHEAD:
                    job = waiting.popleft()
                    try:
                        family.jobs[judge].send(("job", job))
                    except OSError:
                        waiting.appendleft(job)
                        break
                    held[judge].append(job)
            if not held:
                raise BatchError(_("the grading workers stopped unexpectedly; rerun to resume"))
            for connection in wait([family.outcomes[judge] for judge in held]):
                judge = family.outcomes.index(connection)
                try:
                    outcome = connection.recv()
                except (EOFError, OSError):
                    waiting.extendleft(reversed(held.pop(judge)))  # its unfinished jobs go to the others
                    continue
                held[judge].popleft()
                yield outcome
        for judge in held:
            try:
                family.jobs[judge].send(None)
            except OSError:
                pass


def serve_judge(slot, jobs_fd, outcomes_fd, requests_fd, replies_fd):
    """A judge, forked by the family process: grade the jobs from the coordinator on zygote `slot` until told to stop."""
    import torch

    from grader.grading import build_probes, grade_staged
    from grader.i18n import set_language
    from grader.registry import ALL_CHECKS

    torch.set_num_threads(1)
    jobs, outcomes = Connection(jobs_fd, writable=False), Connection(outcomes_fd, readable=False)
    build_probes([check for check in ALL_CHECKS if check.visibility == "public"], hidden_seed=0)  # once, for every job
    gc.freeze()  # the grader, the references and the public probes live as long as this judge: no collection scans them
    settings, hide = None, ()
    with Zygote(slot=slot, pipes=(requests_fd, replies_fd)) as zygote:
        while True:
            try:
                message = jobs.recv()
            except EOFError:
                return
            if message is None:
                return
            if message[0] == "settings":
                _kind, settings, hide, lang = message
                set_language(lang)
                continue
            job = message[1]
            started = time.perf_counter()
            result, failure = None, ""
            try:
                result = grade_staged(job.submission, job.seed, zygote=zygote, settings=settings, hide=hide,
                                      located=job.located)
            except Exception as exc:  # noqa: BLE001 - reported by the coordinator
                failure = f"{type(exc).__name__}: {exc}"
            outcomes.send(Outcome(replace(job, located=None), result, time.perf_counter() - started,
                                  dict(zygote.last_sandbox), failure))
