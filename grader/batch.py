"""Grade a whole class: intake -> isolated runs on an executor's workers -> gradebook -> results files.

The coordinator (this process) alone holds references, hidden inputs and
results, and is the only writer of the gradebook and OUT/. An executor
(grader.executors: forked local judges, or a Dask cluster) runs the
submissions and hands back plain results; a student's grading is recorded in
one transaction as soon as it is done, so a stopped batch resumes where it stopped.
"""
import os
import shutil
from contextlib import closing, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader import __version__
from grader.config import Settings
from grader.executors import Job, Outcome, make_executor
from grader.executors.base import BatchError
from grader.exports import results_path, write_grades, write_result
from grader.gradebook import Gradebook
from grader.i18n import _
from grader.intake import stage
from grader.lms_intake import ClassError, open_class
from grader.scratch import in_memory, out_of_space, scratch_dir
from grader.seeds import course_secret, hidden_seed

__all__ = ["BatchError", "BatchSummary", "Graded", "grade_class"]

BACKGROUND_REPORTS_FROM = 16  # submissions to run; below that the reports at the end take a moment anyway


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
    reports_early: int = 0  # students whose reports were written while the class was graded (background_reports)

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
                secret=None, gradebook_url=None, on_progress=None, command="grade", assignment=None, dask=None,
                executor=None):
    """Grade every submission in submissions_dir into out_dir; returns a BatchSummary.

    Submissions run on `executor`, by default forked local judges (`workers` of them),
    or the Dask cluster at `dask` ("tcp://host:8786", or "local:N" for N local worker processes).
    on_progress(event, **info) is called with "start" (total=), "graded" (item=) and "finish".
    """
    submissions_dir, out_dir = Path(submissions_dir), Path(out_dir)
    try:
        layout = open_class(submissions_dir, assignment=assignment)  # a folder, or a Canvas/Moodle/nbgrader download
    except ClassError as exc:
        raise BatchError(str(exc)) from None
    made_here = executor is None  # an executor passed in is released by whoever made it
    gradebook = staging = None
    try:
        _check_dirs(layout.folder, out_dir)
        secret = course_secret(given=secret, out_dir=out_dir)
        gradebook_url = gradebook_url or f"sqlite:///{(out_dir / 'gradebook.sqlite').resolve()}"
        executor = executor or make_executor(workers=workers, dask=dask)
        executor.warm()  # the workers import torch while this process does the intake
        gradebook = Gradebook(gradebook_url)
        summary = BatchSummary(out_dir, gradebook_url)
        entries = list(layout.entries)
        if students:
            known = {student for student, _ in entries}
            summary.unknown_students = sorted(set(students) - known)
            entries = [(student, path) for student, path in entries if student in set(students)]
        notify = on_progress or (lambda event, **info: None)
        notify("intake", summary=layout.summary)
        staging = _StagingArea()
        from grader.grading import locate_staged, problem_result  # torch is not imported here

        todo = []
        recorded = {}  # student -> (result, row) of this run, as the gradebook holds them
        written = set()  # students whose reports were written while the class was graded
        for student, source in entries:
            seed = hidden_seed(secret, student)
            submission = staging.stage(student, source)
            digest = submission.digest or f"unreadable:{submission.problem}"
            if not force and gradebook.is_graded(student=student, submission_hash=digest,
                                                 grader_version=__version__, seed=seed):
                summary.graded.append(Graded(student, 0.0, 0.0, 0.0, skipped=True))
                continue
            todo.append(Job(submission, digest, seed))
        # Every submission is staged first (the cheaper part of intake), so that grading starts the moment the
        # workers are up; while they still import torch, this process finds and compiles the files for them.
        for index, job in enumerate(todo):
            if not executor.starting():
                break
            if not job.submission.problem:
                todo[index] = replace(job, located=locate_staged(job.submission))
        readable = [job for job in todo if not job.submission.problem]
        if executor.starting():  # time to spare: what the end of the batch needs, ready now
            from grader.reports import load_templates

            load_templates()
        with executor if readable else nullcontext(executor) as running:  # a cluster is reached only with work for it
            run_id = gradebook.start_run(grader_version=__version__, command=command, workers=running.workers)
            notify("start", total=len(todo), skipped=len(summary.skipped))
            for job in todo:
                if job.submission.problem:  # nothing to run: every check says why
                    _record(gradebook, run_id, summary, notify, out_dir,
                            Outcome(job, problem_result(job.submission.student, job.submission.problem)), recorded)
            if readable:
                hide = (out_dir.resolve(), *layout.private_folders)  # the class and its results stay invisible to students
                background, started = None, False
                try:
                    with closing(running.grade(readable, settings=settings, hide=hide)) as outcomes:
                        for outcome in outcomes:
                            _record(gradebook, run_id, summary, notify, out_dir, outcome, recorded)
                            if not started and len(readable) >= BACKGROUND_REPORTS_FROM:
                                # With the first result, when the judges hold their next jobs already.
                                started, background = True, _start_background_reports(out_dir, recorded.values())
                            elif background is not None:
                                background.add(*recorded[outcome.job.submission.student])
                finally:
                    written = background.finish() if background is not None else set()
        latest = _latest(gradebook, recorded, {student for student, _ in layout.entries})
        _write_exports(latest, out_dir)
        found = {result.student: (result, row) for result, row in latest}
        for item in summary.skipped:
            if item.student in found:
                result, row = found[item.student]
                item.score, item.max_score, item.seconds = result.score, result.max_score, row.seconds
        gradebook.finish_run(run_id)
        from grader.reports import render_latest  # only needed now, at the end

        summary.reports_early = len(written)
        summary.reports_index = render_latest(latest, out_dir=out_dir, written=written,
                                              processes=min(executor.workers, os.cpu_count() or 1))[-1]
    finally:
        if made_here and executor is not None:
            executor.release()
        if staging is not None:
            staging.remove()
        layout.close()
        if gradebook is not None:
            gradebook.close()
    notify("finish")
    return summary


class _StagingArea:
    """Where the class is staged: in memory (grader.scratch) while there is room, then on the disk."""

    def __init__(self):
        self.roots = []
        self._add_root(memory=True)

    def _add_root(self, *, memory):
        self.roots.append(scratch_dir(prefix="grader-staging-", memory=memory))
        self.roots[-1].chmod(0o755)  # the sandbox's unprivileged uid reads the staged files

    def stage(self, student, source):
        while True:
            try:
                return stage(student, source, self.roots[-1])
            except OSError as exc:
                if not out_of_space(exc):
                    raise
                if len(self.roots) > 1 or not in_memory(self.roots[0]):  # already on the disk
                    raise BatchError(_("no room left to stage the submissions in {folder}: {problem}").format(
                        folder=self.roots[-1].parent, problem=exc.strerror or exc)) from None
            self._add_root(memory=False)  # memory is full: the disk from now on

    def remove(self):
        for root in self.roots:
            shutil.rmtree(root, ignore_errors=True)


def _record(gradebook, run_id, summary, notify, out_dir, outcome, recorded):
    """One student's grading into the gradebook and OUT/results, as soon as it is done; kept in `recorded` as the
    gradebook holds it."""
    submission = outcome.job.submission
    if outcome.failure:
        raise BatchError(_("grading {student} failed inside the grader: {problem}").format(
            student=submission.student, problem=outcome.failure))
    result = outcome.result
    if submission.meta:
        result = replace(result, submission=dict(submission.meta))
    recorded[submission.student] = gradebook.record(
        run_id=run_id, result=result, submission_hash=outcome.job.digest, grader_version=__version__,
        seed=outcome.job.seed, seconds=outcome.seconds, problem=submission.problem)
    write_result(out_dir, result)
    item = Graded(submission.student, result.score, result.max_score, outcome.seconds, submission.problem)
    summary.graded.append(item)
    if summary.isolation is None and outcome.isolation:
        summary.isolation = dict(outcome.isolation)
        notify("isolation", layers=summary.isolation)
    notify("graded", item=item)


def _start_background_reports(out_dir, recorded):
    """A renderer of reports while the class is graded (grader.background_reports), handed the gradings recorded
    so far; None where it cannot be forked: the end of the batch then writes every report, as it can anyway."""
    from grader.background_reports import BackgroundReports  # jinja2: not needed before

    try:
        background = BackgroundReports(out_dir)
    except OSError:
        return None
    for result, row in recorded:
        background.add(result, row)
    return background


def _latest(gradebook, recorded, present):
    """Each present student's newest grading as (result, row), by student: those of this run as recorded, the
    others read from the gradebook (reading back the whole class took ~0.1-0.2 s at the end of 200 students)."""
    older = present - set(recorded)
    pairs = [pair for student, pair in recorded.items() if student in present]
    return sorted(pairs + (gradebook.latest(older) if older else []), key=lambda pair: pair[0].student)


def _write_exports(latest, out_dir):
    """grades.csv for the students present in SUBMISSIONS; results files that are missing are rewritten."""
    results = [result for result, _ in latest]
    for result in results:
        if not results_path(out_dir, result.student).exists():
            write_result(out_dir, result)
    write_grades(out_dir, results)
