"""The run stage, shared by every executor: a submission's file bytes and calls -> untrusted runs.

It needs nothing from the coordinator but those, and imports nothing heavy, so
that a Dask worker can run it without the references, the checks or torch.
"""
import tempfile
from pathlib import Path

from grader.config import EXERCISE_IDS, Settings
from grader.runner import run_exercises
from grader.scratch import memory_dir


def run_submission(files, calls, *, zygote, settings=Settings(), hide=(), compiled=None):
    """Run the calls on the submission's files in `zygote`'s sandbox; return {exercise: ExerciseRun}.

    Needs only the file bytes ({file name: bytes}) and the calls: it can run on any machine with
    the grader installed. What comes back is untrusted data, still to be judged.
    compiled: {file name: marshal bytes} of those files compiled by this same Python, which the
    child then runs instead of compiling them again (only where the files were compiled, not on Dask).
    """
    if not calls:
        return {}
    known = {f"{exercise}.py": exercise for exercise in EXERCISE_IDS}
    missing = {exercise["name"] for exercise in calls} - {known.get(filename) for filename in files}
    if set(files) - set(known) or missing:
        raise ValueError(f"files {sorted(files)} do not fit the exercises to run {sorted(exercise['name'] for exercise in calls)}")
    with tempfile.TemporaryDirectory(prefix="grader-submission-", dir=memory_dir()) as staging:
        staging = Path(staging)
        staging.chmod(0o755)  # readable by the sandbox's unprivileged uid
        paths = {}
        for filename, data in files.items():
            target = staging / filename
            target.write_bytes(data)
            target.chmod(0o644)
            paths[known[filename]] = str(target)
        plan = {"files": paths, "exercise_names": list(EXERCISE_IDS), "exercises": list(calls),
                "student_dir": str(staging.resolve()),
                "compiled": {known[filename]: code for filename, code in (compiled or {}).items() if filename in files}}
        sandbox = {"layers": list(settings.isolation), "hide": [str(path) for path in (settings.solutions_dir, *hide)]}
        return run_exercises(zygote, plan, settings.timeouts, settings.limits, sandbox)
