"""Grade a whole class: intake -> isolated runs on N warm workers -> gradebook -> results files.

The coordinator (this process) alone holds references, hidden inputs and
results, and is the only writer of the gradebook and OUT/. Each worker thread
owns one zygote process; a student's grading is recorded in one transaction
as soon as it is done, so a killed batch resumes where it stopped.
"""
import ctypes
import multiprocessing
import queue
import shutil
import tempfile
import signal
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader import __version__
from grader.config import Settings
from grader.exports import results_path, write_grades, write_result
from grader.gradebook import Gradebook
from grader.grading import grade_submission, problem_result
from grader.i18n import N_, _
from grader.intake import discover, stage
from grader.runner import RunnerError, Zygote
from grader.seeds import course_secret, hidden_seed

BOTH = ("public", "hidden")


class BatchError(Exception):
    """The grader itself cannot do its job (unreadable SUBMISSIONS, unwritable OUT)."""


@dataclass
class Graded:
    student: str
    score: float
    max_score: float
    seconds: float
    problem: str = ""
    skipped: bool = False


@dataclass
class BatchSummary:
    out_dir: Path
    gradebook_url: str
    graded: list = field(default_factory=list)
    unknown_students: list = field(default_factory=list)
    isolation: dict = None  # layer -> "on" or why not, as the first sandboxed run reported
    reports_index: Path = None  # OUT/reports/index.html, the class summary (grader.reports)

    @property
    def done(self):
        return [item for item in self.graded if not item.skipped]

    @property
    def skipped(self):
        return [item for item in self.graded if item.skipped]

    @property
    def failed(self):
        return [item for item in self.graded if item.problem]

    @property
    def mean(self):
        return sum(item.score for item in self.graded) / len(self.graded) if self.graded else 0.0

    @property
    def slowest(self):
        return max(self.done, key=lambda item: item.seconds, default=None)


def _check_dirs(submissions_dir: Path, out_dir: Path):
    if not submissions_dir.is_dir():
        raise BatchError(_("{folder} is not a folder of submissions").format(folder=submissions_dir))
    try:
        list(submissions_dir.iterdir())
    except OSError as exc:
        raise BatchError(_("{folder} cannot be read: {problem}").format(folder=submissions_dir, problem=exc.strerror)) from None
    try:
        (out_dir / "results").mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise BatchError(_("{folder} cannot be written: {problem}").format(folder=out_dir, problem=exc.strerror)) from None


def grade_class(*, submissions_dir, out_dir, workers=2, students=None, force=False, settings=Settings(),
                secret=None, gradebook_url=None, on_progress=None, command="grade"):
    """Grade every submission in submissions_dir into out_dir; returns a BatchSummary.

    on_progress(event, **info) is called with "start" (total=), "graded" (item=) and "finish".
    """
    submissions_dir, out_dir = Path(submissions_dir), Path(out_dir)
    _check_dirs(submissions_dir, out_dir)
    secret = course_secret(given=secret, out_dir=out_dir)
    gradebook_url = gradebook_url or f"sqlite:///{(out_dir / 'gradebook.sqlite').resolve()}"
    gradebook = Gradebook(gradebook_url)
    summary = BatchSummary(out_dir, gradebook_url)
    entries = discover(submissions_dir)
    if students:
        known = {student for student, _ in entries}
        summary.unknown_students = sorted(set(students) - known)
        entries = [(student, path) for student, path in entries if student in set(students)]
    notify = on_progress or (lambda event, **info: None)
    run_id = gradebook.start_run(grader_version=__version__, command=command, workers=workers)
    staging_root = Path(tempfile.mkdtemp(prefix="grader-staging-"))
    staging_root.chmod(0o755)
    judges = []
    try:
        todo = []
        for student, source in entries:
            seed = hidden_seed(secret, student)
            submission = stage(student, source, staging_root)
            digest = submission.digest or f"unreadable:{submission.problem}"
            if not force and gradebook.is_graded(student=student, submission_hash=digest,
                                                 grader_version=__version__, seed=seed):
                summary.graded.append(Graded(student, 0.0, 0.0, 0.0, skipped=True))
                continue
            todo.append((submission, digest, seed))
        notify("start", total=len(todo), skipped=len(summary.skipped))
        hide = (out_dir.resolve(), submissions_dir.resolve())  # the class and its results stay invisible to students
        judges, jobs, finished = _start_judges(max(1, min(workers, len(todo))) if todo else 0, todo, settings, hide)
        for _position in range(len(todo)):
            submission, digest, seed, result, seconds, isolation = _next_result(finished, judges)
            if isinstance(result, str):
                raise BatchError(_("grading {student} failed inside the grader: {problem}").format(
                    student=submission.student, problem=result))
            if submission.meta:
                result = replace(result, submission=dict(submission.meta))
            gradebook.record(run_id=run_id, result=result, submission_hash=digest, grader_version=__version__,
                             seed=seed, seconds=seconds, problem=submission.problem)
            write_result(out_dir, result)
            item = Graded(submission.student, result.score, result.max_score, seconds, submission.problem)
            summary.graded.append(item)
            if summary.isolation is None and isolation:
                summary.isolation = dict(isolation)
                notify("isolation", layers=summary.isolation)
            notify("graded", item=item)
        for judge in judges:
            judge.join()
        present = {student for student, _ in discover(submissions_dir)}
        _write_exports(gradebook, out_dir, present)
        for item in summary.skipped:
            for result, row in gradebook.latest({item.student}):
                item.score, item.max_score, item.seconds = result.score, result.max_score, row.seconds
        gradebook.finish_run(run_id)
        from grader.reports import render_gradebook  # matplotlib: only needed now, at the end

        summary.reports_index = render_gradebook(gradebook, out_dir=out_dir, students=present)
    finally:
        for judge in judges:
            if judge.is_alive():
                judge.kill()
                judge.join()
        shutil.rmtree(staging_root, ignore_errors=True)
        gradebook.close()
    notify("finish")
    return summary


def _next_result(finished, judges):
    """The next graded submission; a judge that died without reporting stops the batch with a message."""
    while True:
        try:
            return finished.get(timeout=1.0)
        except queue.Empty:
            if not any(judge.is_alive() for judge in judges) and finished.empty():
                codes = ", ".join(str(judge.exitcode) for judge in judges)
                raise BatchError(_("the grading workers stopped unexpectedly (exit codes {codes}); rerun to resume").format(
                    codes=codes)) from None


def _start_judges(count, todo, settings, hide):
    """Fork `count` judge processes, each with its own zygote, and hand them the work.

    Judges are part of the trusted side: forked from this process before any student
    code runs, they build probes, drive their zygote and judge, in parallel without
    sharing one interpreter lock. Only plain result objects come back.
    """
    if not count:
        return [], None, None
    from grader.grading import build_probes
    from grader.registry import ALL_CHECKS

    build_probes([check for check in ALL_CHECKS if check.visibility == "public"], hidden_seed=0)  # shared by all judges
    context = multiprocessing.get_context("fork")
    jobs, finished = context.Queue(), context.Queue()
    for item in todo:
        jobs.put(item)
    for _slot in range(count):
        jobs.put(None)  # one stop sign per judge
    judges = [context.Process(target=_judge, args=(slot, jobs, finished, settings, hide), daemon=True)
              for slot in range(count)]
    for judge in judges:
        judge.start()
    return judges, jobs, finished


def _judge(slot, jobs, finished, settings, hide):
    """A judge process: grade submissions from `jobs` on its own zygote until told to stop."""
    import torch

    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: go when the coordinator goes
    torch.set_num_threads(1)
    with Zygote(slot=slot) as zygote:
        while (item := jobs.get()) is not None:
            submission, digest, seed = item
            started = time.perf_counter()
            try:
                if submission.problem:
                    result = problem_result(submission.student, submission.problem)
                else:
                    result = _grade_with_retry(zygote, submission, seed, settings, hide)
            except Exception as exc:  # noqa: BLE001 - reported by the coordinator
                result = f"{type(exc).__name__}: {exc}"
            finished.put((submission, digest, seed, result, time.perf_counter() - started, zygote.last_sandbox))


def _grade_with_retry(zygote, submission, seed, settings, hide):
    """A zygote that dies is restarted once; student code cannot make it die, but the OOM killer can."""
    for attempt in range(2):
        try:
            return grade_submission(submission.folder, student=submission.student, visibilities=BOTH,
                                    hidden_seed=seed, settings=settings, zygote=zygote, shown_as=N_("the submission"),
                                    hide=hide)
        except RunnerError:
            if attempt:
                raise
            zygote.close()
            zygote.start()


def _write_exports(gradebook, out_dir, present):
    """grades.csv for the students present in SUBMISSIONS; results files that are missing are rewritten."""
    latest = [result for result, _ in gradebook.latest(present)]
    for result in latest:
        if not results_path(out_dir, result.student).exists():
            write_result(out_dir, result)
    write_grades(out_dir, latest)
