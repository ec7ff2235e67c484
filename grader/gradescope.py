"""Gradescope's programming autograder: build the zip it takes, and grade one submission in it.

    build:  this repository -> autograder.zip (setup.sh, run_autograder, the grader's source,
            solutions/, templates/, course/autograder.json with the course secret)
    run:    /autograder/submission -> intake -> isolated grading -> /autograder/results/results.json

results.json follows Gradescope's autograder specification (docs/specs.md of
gradescope/autograder_samples; our schema of it is tests/schemas/gradescope_results.schema.json).
Public checks are "visible"; hidden checks are "after_published", with only what
our hidden feedback says (grader.reports.check_view decides that, as for reports).

Hidden seed: HMAC(course secret, student id), as for `grade`. The student id is
"gs-" and the Gradescope user id(s) from /autograder/submission_metadata.json
(a group: its sorted ids joined by "+"), since user ids, unlike names or emails,
never change; without usable metadata every submission gets the fixed id
"gradescope-student". The same student therefore gets the same hidden inputs on
every regrade, and the secret never leaves the autograder: it is in neither the
results nor stdout, and the sandbox hides the whole autograder folder from student code.
"""
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import time
import traceback
import zipfile
from dataclasses import dataclass
from pathlib import Path

from grader import __version__
from grader.config import PACKAGE_DIR, PROJECT_DIR, SOLUTIONS_DIR, ConfigError, load_settings
from grader.i18n import LANGUAGES, _

# ---- what goes into the zip ---------------------------------------------------------

TEMPLATES_DIR = PACKAGE_DIR / "gradescope_files"
SCRIPTS = ("setup.sh", "run_autograder")  # at the zip's root, executable
SHIPPED_FOLDERS = ("grader", "solutions", "templates")
SHIPPED_FILES = ("pyproject.toml", "README.md")  # pip needs both to install the grader
SETTINGS_NAME = "course/autograder.json"  # the course secret and settings, baked in at build time
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: same input, same bytes
TORCH_FALLBACK = "2.13.0"

# ---- how a result reads on Gradescope -------------------------------------------------

VISIBILITY = {"public": "visible", "hidden": "after_published"}
FALLBACK_STUDENT = "gradescope-student"
MARKED = ("error", "timeout", "forbidden", "missing")  # statuses whose word leads the output, as in the self-check


class GradescopeError(Exception):
    """The autograder cannot do its job (no course settings, no submission folder): not the student's fault."""


# ---- build ------------------------------------------------------------------------------

@dataclass(frozen=True)
class CourseSettings:
    """What the autograder carries from the course: the secret for hidden seeds, an optional time limit and language."""

    secret: str
    timeout: float = None
    lang: str = None

    def to_json(self) -> str:
        data = {"secret": self.secret, "timeout": self.timeout, "lang": self.lang, "grader_version": __version__}
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def read(cls, path: Path) -> "CourseSettings":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise GradescopeError(_("{file} is missing: build the autograder with `python -m grader gradescope`").format(
                file=path)) from None
        except (OSError, ValueError) as exc:
            raise GradescopeError(_("{file} cannot be read: {problem}").format(file=path, problem=exc)) from None
        secret = data.get("secret") if isinstance(data, dict) else None
        if not isinstance(secret, str) or not secret:
            raise GradescopeError(_("{file} has no course secret").format(file=path))
        lang = data.get("lang")
        return cls(secret, data.get("timeout"), lang if lang in LANGUAGES else None)


@dataclass(frozen=True)
class BuiltAutograder:
    path: Path
    names: tuple  # the zip's entries, in order


def torch_version() -> str:
    """The torch release this grader runs with here, without any local build tag (+cpu, +cu121)."""
    try:
        return importlib.metadata.version("torch").split("+")[0]
    except importlib.metadata.PackageNotFoundError:
        return TORCH_FALLBACK


def _shipped(path: Path) -> bool:
    parts = path.parts
    return not any(part.startswith(".") or part == "__pycache__" or part.endswith(".egg-info") for part in parts) \
        and path.suffix not in (".pyc", ".pyo", ".zip")


def bundle_members(project_dir: Path = PROJECT_DIR, *, settings: CourseSettings, torch: str = None):
    """(name in the zip, bytes, mode) for everything the autograder needs at run time, and nothing else."""
    project_dir = Path(project_dir)
    members = []
    for script in SCRIPTS:
        text = (TEMPLATES_DIR / script).read_text(encoding="utf-8").replace("@TORCH_VERSION@", torch or torch_version())
        members.append((script, text.encode(), 0o755))
    for folder in SHIPPED_FOLDERS:
        for path in sorted((project_dir / folder).rglob("*")):
            relative = path.relative_to(project_dir)
            if path.is_file() and not path.is_symlink() and _shipped(relative):
                members.append((relative.as_posix(), path.read_bytes(), 0o644))
    for name in SHIPPED_FILES:
        members.append((name, (project_dir / name).read_bytes(), 0o644))
    members.append((SETTINGS_NAME, settings.to_json().encode(), 0o600))
    return sorted(members)


def write_zip(output: Path, members) -> BuiltAutograder:
    """A deterministic zip: sorted entries, fixed timestamps, Unix modes (so the scripts stay executable)."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    os.close(descriptor)
    try:
        with zipfile.ZipFile(temporary, "w") as archive:
            for name, data, mode in members:
                info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
                info.create_system = 3  # Unix: unzip then honours the mode bits below
                info.external_attr = (stat.S_IFREG | mode) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data, compresslevel=9)
        os.chmod(temporary, 0o600)  # it holds the course secret
        os.replace(temporary, output)
    except BaseException:
        os.unlink(temporary)
        raise
    return BuiltAutograder(output, tuple(name for name, _data, _mode in members))


def build_autograder(*, output, settings: CourseSettings, project_dir=PROJECT_DIR) -> BuiltAutograder:
    """Write the autograder zip for a Gradescope programming assignment."""
    return write_zip(output, bundle_members(project_dir, settings=settings))


# ---- run: where things are ---------------------------------------------------------------

@dataclass(frozen=True)
class AutograderPaths:
    """Gradescope's file hierarchy; the root is /autograder unless AUTOGRADER_ROOT says otherwise."""

    root: Path
    submission: Path
    results: Path
    metadata: Path
    settings: Path

    @property
    def results_file(self) -> Path:
        return self.results / "results.json"


def autograder_paths(*, root=None, submission=None, results=None, metadata=None, environ=None) -> AutograderPaths:
    environ = os.environ if environ is None else environ
    root = Path(root or environ.get("AUTOGRADER_ROOT") or "/autograder")
    return AutograderPaths(root, Path(submission or root / "submission"), Path(results or root / "results"),
                           Path(metadata or root / "submission_metadata.json"), PROJECT_DIR / SETTINGS_NAME)


@dataclass(frozen=True)
class Submitter:
    student: str  # the id the hidden seed is derived from
    note: str  # where it came from, for the instructor's log


_USER_ID = re.compile(r"^[A-Za-z0-9]{1,40}$")


def student_from_metadata(path: Path) -> Submitter:
    """The student id from submission_metadata.json: gs-<user id>, a group's ids sorted and joined by "+"."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Submitter(FALLBACK_STUDENT, _("{file} is missing; using the fixed id {student}").format(
            file=path, student=FALLBACK_STUDENT))
    except (OSError, ValueError) as exc:
        return Submitter(FALLBACK_STUDENT, _("{file} cannot be read ({problem}); using the fixed id {student}").format(
            file=path, problem=exc, student=FALLBACK_STUDENT))
    users = data.get("users") if isinstance(data, dict) else None
    ids = sorted({str(user.get("id")) for user in users or () if isinstance(user, dict)
                  and _USER_ID.match(str(user.get("id")))}) if isinstance(users, list) else []
    if not ids:
        return Submitter(FALLBACK_STUDENT, _("{file} names no user id; using the fixed id {student}").format(
            file=path, student=FALLBACK_STUDENT))
    student = "gs-" + "+".join(ids)
    if len(student) > 120:  # a very large group: still one stable, valid id
        student = "gs-group-" + hashlib.sha256(student.encode()).hexdigest()[:24]
    return Submitter(student, _("from the user id(s) in {file}").format(file=path))


def submission_source(folder: Path) -> Path:
    """What to hand to intake: the folder, or the one zip it holds when the student uploaded a zip kept whole."""
    from grader.intake import JUNK

    folder = Path(folder)
    if folder.is_file():
        return folder
    if not folder.is_dir():
        raise GradescopeError(_("the submission folder {folder} does not exist").format(folder=folder))
    entries = [entry for entry in folder.iterdir() if not entry.name.startswith(".") and not JUNK.search(entry.name)]
    if len(entries) == 1 and entries[0].is_file() and entries[0].suffix.lower() == ".zip":
        return entries[0]
    return folder


# ---- run: results.json ------------------------------------------------------------------

def _points(value) -> str:
    return f"{value:g}"


def _test_output(check) -> str:
    """The feedback for one check, as every route words it (for hidden checks only the message)."""
    from grader.feedback import MARKS, detail_lines
    from grader.reports import clean

    if check.status == "passed":
        return _("Passed.")
    lines = [clean(paragraph) for paragraph in detail_lines(check)]
    if check.status in MARKED and not check.not_attempted and lines:
        lines[0] = f"{_(MARKS[check.status])}: {lines[0]}"
    return "\n".join(lines)


def gradescope_tests(result) -> list:
    """One Gradescope test per check, numbered exercise.check in course order."""
    from grader import registry
    from grader.reports import check_view

    tests = []
    for exercise_result in result.exercises:
        exercise = registry.exercise(exercise_result.exercise)
        position = registry.EXERCISE_IDS.index(exercise.id) + 1
        order = [check.id for check in exercise.checks]
        for check in exercise_result.checks:
            view = check_view(check)
            tests.append({
                "score": check.score, "max_score": check.max_score,
                "status": "passed" if check.status == "passed" else "failed",
                "name": f"{check.check_id}: {view.description}", "name_format": "text",
                "number": f"{position}.{order.index(check.check_id) + 1}",
                "output": _test_output(check), "output_format": "text",
                "tags": [exercise.id, check.visibility],
                "visibility": VISIBILITY.get(check.visibility, "after_published"),
            })
    return tests


def summary_markdown(result, problem="") -> str:
    """The overall output: public points only, since the total would give hidden results away before publication."""
    from grader import registry
    from grader.reports import markdown_text

    public = [check for check in result.checks if check.visibility == "public"]
    hidden_points = sum(check.max_score for check in result.checks if check.visibility != "public")
    lines = []
    if problem:
        lines += [markdown_text(_("Your submission could not be read: {problem}").format(problem=problem)), ""]
    lines.append("**" + markdown_text(_("Public checks: {score}/{total} points; {passed} of {count} passed.").format(
        score=_points(sum(check.score for check in public)), total=_points(sum(check.max_score for check in public)),
        passed=sum(check.status == "passed" for check in public), count=len(public))) + "**")
    if hidden_points:
        lines.append(markdown_text(_("Hidden checks ({points} points) use other inputs, chosen for you; "
                                     "their results appear when grades are published.").format(points=_points(hidden_points))))
    header = (markdown_text(_("File")), markdown_text(_("Public checks")))
    lines += ["", "| {} | {} |".format(*header), "|---|---|"]
    for exercise_result in result.exercises:
        exercise = registry.exercise(exercise_result.exercise)
        checks = [check for check in exercise_result.checks if check.visibility == "public"]
        lines.append(f"| {markdown_text(exercise.filename)} | {_points(sum(check.score for check in checks))}"
                     f"/{_points(sum(check.max_score for check in checks))} |")
    return "\n".join(lines)


def results_document(result, *, seconds, submitter, isolation, problem="") -> dict:
    """results.json for a graded submission (a submission that could not be read is graded too, at 0)."""
    return {
        "score": result.score,
        "execution_time": round(seconds, 2),
        "output": summary_markdown(result, problem),
        "output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": gradescope_tests(result),
        "extra_data": {"grader_version": __version__, "student": submitter.student,
                       "isolation": dict(isolation or {})},
    }


def failure_document(problem, *, seconds) -> dict:
    """results.json when grading itself failed: score 0 and what went wrong."""
    from grader.reports import markdown_text

    return {
        "score": 0.0,
        "execution_time": round(seconds, 2),
        "output": markdown_text(_("The autograder could not grade this submission: {problem}. This is not a problem "
                                  "with your work; please tell your instructor.").format(problem=problem)),
        "output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
        "extra_data": {"grader_version": __version__, "failed": True},
    }


# ---- run: grading ------------------------------------------------------------------------

def _protect(paths: AutograderPaths):
    """Owner-only course settings and solutions: a second wall, should the sandbox's mounts be unavailable."""
    for folder in (paths.settings.parent, SOLUTIONS_DIR):
        try:
            folder.chmod(0o700)
        except OSError:
            pass


def _sandbox_hides(paths: AutograderPaths):
    """What student code may not see: the whole autograder folder (source, solutions, secret, results)."""
    root = paths.root.resolve()
    return (root,) if root != Path(root.anchor) else (paths.settings.parent.resolve(),)


def _grade(submission, seed, settings, paths):
    """Grade with a fresh zygote, restarted once if it dies (the OOM killer can do that; student code cannot)."""
    from grader.grading import grade_staged
    from grader.runner import Zygote

    with Zygote() as zygote:
        result = grade_staged(submission, seed, zygote=zygote, settings=settings, hide=_sandbox_hides(paths))
        return result, dict(zygote.last_sandbox)


def grade_gradescope_submission(paths: AutograderPaths, *, course: CourseSettings, started, out=sys.stdout) -> dict:
    """results.json for the submission in paths; raises when grading itself cannot be done."""
    from grader.grading import problem_result
    from grader.intake import stage
    from grader.seeds import hidden_seed

    _protect(paths)
    settings = load_settings(timeout=course.timeout)
    submitter = student_from_metadata(paths.metadata)
    print(_("student id: {student} ({note})").format(student=submitter.student, note=submitter.note), file=out)
    source = submission_source(paths.submission)
    staging_root = Path(tempfile.mkdtemp(prefix="grader-gradescope-"))
    staging_root.chmod(0o755)  # the sandbox's unprivileged uid reads the staged files
    try:
        submission = stage(submitter.student, source, staging_root)
        if submission.problem:
            print(_("the submission could not be read: {problem}").format(problem=submission.problem), file=out)
            result, isolation = problem_result(submitter.student, submission.problem), {}
        else:
            result, isolation = _grade(submission, hidden_seed(course.secret, submitter.student), settings, paths)
    finally:
        shutil.rmtree(staging_root, ignore_errors=True)
    if isolation:
        from grader.progress import isolation_line

        print(isolation_line(isolation), file=out)
    print(_("score: {score}/{total}").format(score=_points(result.score), total=_points(result.max_score)), file=out)
    return results_document(result, seconds=time.perf_counter() - started, submitter=submitter,
                            isolation=isolation, problem=submission.problem)


def run_autograder(paths: AutograderPaths, *, lang_given=False, out=sys.stdout, err=sys.stderr) -> int:
    """Grade and write results.json, whatever happens; non-zero when the grader itself failed."""
    from grader.exports import write_atomically
    from grader.i18n import set_language

    started = time.perf_counter()
    print(_("grader {version} from {folder}").format(version=__version__, folder=PROJECT_DIR), file=out)
    status = 0
    try:
        course = CourseSettings.read(paths.settings)
        if course.lang and not lang_given:
            set_language(course.lang)
        document = grade_gradescope_submission(paths, course=course, started=started, out=out)
    except (GradescopeError, ConfigError) as exc:
        print(_("error: {problem}").format(problem=exc), file=err)
        document, status = failure_document(str(exc), seconds=time.perf_counter() - started), 2
    except Exception as exc:  # noqa: BLE001 - a bug or a dead worker: the student still gets a results.json
        traceback.print_exc(file=out)  # stdout is for the instructor only
        problem = f"{type(exc).__name__}: {exc}"
        print(_("error: {problem}").format(problem=problem), file=err)
        document, status = failure_document(problem, seconds=time.perf_counter() - started), 2
    try:
        write_atomically(paths.results_file, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        print(_("error: {problem}").format(problem=_("{file} cannot be written: {problem}").format(
            file=paths.results_file, problem=exc.strerror or exc)), file=err)
        return 2
    print(_("results: {path}").format(path=paths.results_file), file=out)
    return status
