"""Grade one submission: locate files, build probes, run them isolated, judge.

submission folder -> plan (calls + inputs) -> isolated run -> verdicts.
"""
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from grader import registry
from grader.checks.base import seed_for
from grader.config import Settings
from grader.i18n import _
from grader.judge import judge_check
from grader.results import CheckResult, ExerciseResult, SubmissionResult
from grader.runner import Zygote, run_exercises
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


def _plan(files, exercises, checks_by_exercise, probes, student_dir):
    plan_exercises = []
    for exercise in exercises:
        calls = []
        for check in checks_by_exercise[exercise.id]:
            for index, probe in enumerate(probes[check.id]):
                bans = sorted(set(probe.call.get("bans", ())) | set(exercise.import_bans))
                calls.append(dict(probe.call, id=f"{check.id}#{index}", bans=bans))
        plan_exercises.append({"name": exercise.id, "import_bans": list(exercise.import_bans), "calls": calls})
    return {"files": {name: str(path) for name, path in files.items()}, "exercise_names": list(registry.EXERCISE_IDS),
            "exercises": plan_exercises, "student_dir": str(Path(student_dir).resolve())}


def _stage_files(located, exercises, staging: Path):
    """Copy just the exercise files into a folder the sandbox's unprivileged uid can read."""
    staging.chmod(0o755)
    files = {}
    for exercise in exercises:
        if located[exercise.id].problem:
            continue
        target = staging / exercise.filename
        shutil.copyfile(located[exercise.id].path, target)
        target.chmod(0o644)
        files[exercise.id] = target
    return files


def _static_note(exercise, path):
    """Where the source seems to use a banned API, for the message of a forbidden verdict."""
    mentions = banned_mentions(path, set(exercise.named_bans))
    if not mentions:
        return ""
    return " " + _("(see {places})").format(
        places=", ".join(_("line {line}: {code}").format(line=line, code=text) for line, text in mentions))


def grade_submission(directory, *, student="student", exercise_ids=None, visibilities=("public",),
                     hidden_seed=0, settings=Settings(), zygote=None, shown_as=None, hide=()):
    """Grade the exercise files in `directory`; return a SubmissionResult.

    A zygote may be passed in to reuse across submissions; otherwise one is
    started (first, so that its torch import overlaps with building probes).
    """
    own_zygote = zygote is None
    if own_zygote:
        zygote = Zygote()
    try:
        exercises = [registry.exercise(name) for name in (exercise_ids or registry.EXERCISE_IDS)]
        located = locate(Path(directory), [exercise.id for exercise in exercises], shown_as)
        checks_by_exercise = {exercise.id: select_checks(exercise, visibilities) for exercise in exercises}
        runnable = [exercise for exercise in exercises if not located[exercise.id].problem and checks_by_exercise[exercise.id]]
        probes = build_probes([check for exercise in runnable for check in checks_by_exercise[exercise.id]], hidden_seed=hidden_seed)
        runs = {}
        if runnable:
            with tempfile.TemporaryDirectory(prefix="grader-submission-") as staging:
                files = _stage_files(located, exercises, Path(staging))
                plan = _plan(files, runnable, checks_by_exercise, probes, staging)
                sandbox = {"layers": list(settings.isolation),
                           "hide": [str(path) for path in (settings.solutions_dir, *hide)]}
                runs = run_exercises(zygote, plan, settings.timeouts, settings.limits, sandbox)
    finally:
        if own_zygote:
            zygote.close()
    results = []
    for exercise in exercises:
        located_file = located[exercise.id]
        checks = []
        for check in checks_by_exercise[exercise.id]:
            if located_file.problem:
                checks.append(CheckResult(check.id, located_file.status, float(check.points), located_file.problem,
                                          check.visibility, check.description))
                continue
            verdict = judge_check(check, probes[check.id], runs[exercise.id], exercise.filename, settings.timeouts[exercise.id])
            if verdict.status == "forbidden":
                verdict = replace(verdict, message=verdict.message + _static_note(exercise, located_file.path))
            checks.append(verdict)
        results.append(ExerciseResult(exercise.id, tuple(checks)))
    return SubmissionResult(student, tuple(results))
