"""Grade one submission: locate files, build probes, run them isolated, judge.

submission folder -> plan (calls + inputs) -> isolated run -> verdicts.
The three stages are separate functions so that the run, the only one that
needs student code, can happen elsewhere (grader.executors) while planning and
judging stay with the coordinator.
"""
from dataclasses import dataclass, replace
from pathlib import Path

from grader import registry
from grader.checks.base import seed_for
from grader.config import Settings
from grader.executors.base import BOTH
from grader.executors.run import run_submission
from grader.i18n import N_, _
from grader.judge import judge_check
from grader.results import CheckResult, ExerciseResult, SubmissionResult
from grader.runner import Zygote, with_restart
from grader.submission import banned_mentions, locate


def select_checks(exercise, visibilities):
    return [check for check in exercise.checks if check.visibility in visibilities]


_public_probes = {}  # public checks use fixed seeds: build their probes once per process


def build_probes(checks, *, hidden_seed):
    """Probes for each check, from its seed: fixed for public checks, per student for hidden ones."""
    import numpy as np

    from grader.references import load_references

    references = load_references()
    probes = {}
    for check in checks:
        if check.visibility == "public" and check.id in _public_probes:
            probes[check.id] = _public_probes[check.id]
            continue
        base = 0 if check.visibility == "public" else hidden_seed
        probes[check.id] = check.make_probes(references, np.random.default_rng(seed_for(check.id, base)))
        if check.visibility == "public":
            _public_probes[check.id] = probes[check.id]
    return probes


def problem_result(student, message, *, visibilities=("public", "hidden"), status="error"):
    """The result of a submission that could not be graded at all: every check says why."""
    return SubmissionResult(student, tuple(
        ExerciseResult(exercise.id, tuple(CheckResult(check.id, status, float(check.points), message, check.visibility,
                                                      check.description) for check in select_checks(exercise, visibilities)))
        for exercise in registry.EXERCISES))


def _static_note(exercise, path):
    """Where the source seems to use a banned API, for the message of a forbidden verdict."""
    mentions = banned_mentions(path, set(exercise.named_bans))
    if not mentions:
        return ""
    return " " + _("(see {places})").format(
        places=", ".join(_("line {line}: {code}").format(line=line, code=text) for line, text in mentions))


@dataclass(frozen=True)
class SubmissionPlan:
    """What the coordinator decided for one submission: files found, checks, probes and the calls to make.

    Everything here stays on the trusted side; only `files()` and `calls` go to where student code runs.
    """

    student: str
    exercises: tuple  # registry Exercises, in course order
    located: dict  # exercise id -> ExerciseFile
    checks: dict  # exercise id -> checks selected for it
    probes: dict  # check id -> probes (inputs and expectations)
    calls: tuple  # per runnable exercise: {"name", "import_bans", "calls"}, plain JSON-able data

    def files(self):
        """The usable exercise files as {file name: bytes}: all that a run needs from the submission."""
        return {exercise.filename: self.located[exercise.id].path.read_bytes() for exercise in self.exercises
                if not self.located[exercise.id].problem}

    def compiled(self):
        """The usable exercise files as compiled when they were located, {file name: marshal bytes}: a run on
        this machine's Python can execute them without compiling each again (marshal's format is per version)."""
        return {exercise.filename: self.located[exercise.id].code for exercise in self.exercises
                if not self.located[exercise.id].problem and self.located[exercise.id].code is not None}


def plan_submission(directory, *, student="student", exercise_ids=None, visibilities=("public",), hidden_seed=0,
                    shown_as=None, located=None):
    """Locate the exercise files in `directory` (unless `located` already says, as `locate` would), select
    checks and build their probes and calls."""
    exercises = tuple(registry.exercise(name) for name in (exercise_ids or registry.EXERCISE_IDS))
    located = located or locate(Path(directory), [exercise.id for exercise in exercises], shown_as)
    checks = {exercise.id: select_checks(exercise, visibilities) for exercise in exercises}
    runnable = [exercise for exercise in exercises if not located[exercise.id].problem and checks[exercise.id]]
    probes = build_probes([check for exercise in runnable for check in checks[exercise.id]], hidden_seed=hidden_seed)
    calls = [{"name": exercise.id, "import_bans": list(exercise.import_bans),
              "calls": [call for check in checks[exercise.id] for call in _calls(check, exercise, probes[check.id])]}
             for exercise in runnable]
    return SubmissionPlan(student, exercises, located, checks, probes, tuple(calls))


_public_calls = {}  # check id -> (its probes, their calls): built once, like the probes, and the same objects each
# time, which lets a zygote tell at a glance that it holds their inputs already (runner.Zygote._with_prepared_inputs)


def _calls(check, exercise, probes):
    """The calls the child makes for a check's probes; public ones are marked shared (the same for everyone)."""
    cached = _public_calls.get(check.id)
    if cached is not None and cached[0] is probes:
        return cached[1]
    public = check.visibility == "public"
    calls = [dict(probe.call, id=f"{check.id}#{index}", bans=sorted(set(probe.call.get("bans", ())) | set(exercise.import_bans)),
                  shared=public) for index, probe in enumerate(probes)]
    if public:
        _public_calls[check.id] = (probes, calls)
    return calls


def judge_submission(plan, runs, settings=Settings()):
    """Verdicts for every selected check, from the plan and the untrusted runs; a SubmissionResult."""
    results = []
    for exercise in plan.exercises:
        located_file = plan.located[exercise.id]
        checks = []
        note = None  # where the file seems to use a banned API: parsed once, for the first forbidden verdict
        for check in plan.checks[exercise.id]:
            if located_file.problem:
                checks.append(CheckResult(check.id, located_file.status, float(check.points), located_file.problem,
                                          check.visibility, check.description))
                continue
            verdict = judge_check(check, plan.probes[check.id], runs[exercise.id], exercise.filename,
                                  settings.timeouts[exercise.id])
            if verdict.status == "forbidden":
                note = _static_note(exercise, located_file.path) if note is None else note
                verdict = replace(verdict, message=verdict.message + note)
            checks.append(verdict)
        results.append(ExerciseResult(exercise.id, tuple(checks)))
    return SubmissionResult(plan.student, tuple(results))


def grade_submission(directory, *, student="student", exercise_ids=None, visibilities=("public",),
                     hidden_seed=0, settings=Settings(), zygote=None, shown_as=None, hide=(), located=None):
    """Grade the exercise files in `directory`; return a SubmissionResult: plan, run, judge.

    A zygote may be passed in to reuse across submissions; otherwise one is
    started (first, so that its torch import overlaps with building probes).
    """
    own_zygote = zygote is None
    if own_zygote:
        zygote = Zygote()
    try:
        plan = plan_submission(directory, student=student, exercise_ids=exercise_ids, visibilities=visibilities,
                               hidden_seed=hidden_seed, shown_as=shown_as, located=located)
        runs = run_submission(plan.files(), plan.calls, zygote=zygote, settings=settings, hide=hide,
                              compiled=plan.compiled())
    finally:
        if own_zygote:
            zygote.close()
    return judge_submission(plan, runs, settings)


STAGED = N_("the submission")  # how messages name a staged copy


def locate_staged(submission):
    """Each exercise's file in a staged submission, compiled: what a batch's coordinator finds at intake, while
    the workers still import torch, so that judges need not compile the files again."""
    return locate(submission.folder, shown_as=STAGED)


def grade_staged(submission, seed, *, zygote, settings=Settings(), hide=(), located=None):
    """A batch's grading of one staged submission (public and hidden checks, the student's seed), on a zygote
    restarted once if it died: the local judges and Gradescope's runner grade alike. `located`: from
    locate_staged, where the coordinator already did it."""
    return with_restart(zygote, lambda warm: grade_submission(
        submission.folder, student=submission.student, visibilities=BOTH, hidden_seed=seed, settings=settings,
        zygote=warm, shown_as=STAGED, hide=hide, located=located))
