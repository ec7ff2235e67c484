"""Our checks inside a Jupyter kernel: what nbgrader's autograder test cells call.

`run_check("sigmoid.values", globals())` grades the functions that the
notebook defined with one check of the registry, exactly as the batch grader
would: the probes come from grading.build_probes (public checks from their
fixed seed, hidden ones from the `hidden_seed` written into the hidden test
block), each call is made by the harness child's own `run_call` under the same
bans, its result is encoded as the child encodes it and passed through JSON,
and judge.judge_check gives the verdict. A check that does not pass raises
CheckFailed (an AssertionError) carrying our feedback, so nbgrader gives the
cell 0 points; a passing check gives the cell all of them.

Trust model: nbgrader runs a student's notebook and its test cells in one
kernel, so here, unlike `grade` and `check`, student code shares a process with
the checks, the references and the hidden seed, without the sandbox. That is
nbgrader's model, accepted for this route: a determined student can subvert
it. What stays true: hidden tests and their seed are only in the instructor's
source notebooks (nbgrader strips them on release and puts them back to
autograde), and a notebook that takes an exercise's own function from the
stand-in modules (`from step import step` in step.ipynb) gets no credit for it.

Two differences from the batch grader come with notebooks: a check sees the
notebook's state when its cell runs (nbgrader places it after the cells that
define what it calls), and nothing is guarded while the student's own cells
run, only during the check's calls (the sigmoid ban of sigmoid.py covers its
import in the batch grader).
"""
import contextlib
import importlib
import importlib.util
import io
import json
import sys
import warnings
from functools import lru_cache

from grader.config import DEFAULT_TIMEOUTS, HARNESS_DIR, SOLUTIONS_DIR
from grader.i18n import _, choose_language, ngettext, set_language

STAND_IN_MODULE = "grader.harness.stand_ins"
_HARNESS_MODULES = ("bans", "codec", "stand_ins", "student_import")


class CheckFailed(AssertionError):
    """A check did not pass; the message is the feedback for the student."""


@lru_cache(maxsize=1)
def harness_child():
    """grader/harness/child.py as a module, its plain-name imports served by grader.harness.*.

    The child imports its neighbours by plain name (it runs with only the
    harness folder on its path). Those names are lent for the import only, so
    a notebook's own `import codec` still finds whatever it would have found.
    """
    saved = {name: sys.modules.get(name) for name in _HARNESS_MODULES}
    try:
        for name in _HARNESS_MODULES:
            sys.modules[name] = importlib.import_module(f"grader.harness.{name}")
        spec = importlib.util.spec_from_file_location("grader.harness.kernel_child", HARNESS_DIR / "child.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous


class NotebookModule:
    """The notebook's namespace seen as the module the child calls into.

    Names bound to a stand-in (a correct function the course hands out for
    the notebooks that build on it) count as not defined by this notebook.
    """

    def __init__(self, namespace):
        self._namespace = namespace

    def __getattr__(self, name):
        try:
            value = self._namespace[name]
        except KeyError:
            raise AttributeError(name) from None
        if getattr(value, "__module__", None) == STAND_IN_MODULE:
            raise AttributeError(name)
        return value


def find_check(check_id):
    from grader import registry

    for check in registry.ALL_CHECKS:
        if check.id == check_id:
            return check
    raise ValueError(_("there is no check {check}; the checks are {checks}").format(
        check=repr(check_id), checks=", ".join(check.id for check in registry.ALL_CHECKS)))


def _probes(check, hidden_seed):
    from grader.grading import build_probes

    if not SOLUTIONS_DIR.is_dir():
        raise RuntimeError(_("the checks need the reference solutions in {folder}, which is not there").format(
            folder=SOLUTIONS_DIR))
    return build_probes([check], hidden_seed=hidden_seed)[check.id]


def _plain(data):
    """What crosses the child's pipe is JSON: the judge reads the same data here."""
    return json.loads(json.dumps(data, allow_nan=False))


def run_probes(exercise, check, probes, namespace, notebook):
    """Make each probe's call on the notebook's functions, as the child would; an ExerciseRun for the judge."""
    from grader.runner import ExerciseRun

    child = harness_child()
    module = NotebookModule(namespace)
    student_files = _notebook_files(namespace)
    calls = {}
    with child.recorded_warnings() as caught:
        for index, probe in enumerate(probes):
            call_id = f"{check.id}#{index}"
            bans = sorted(set(probe.call.get("bans", ())) | set(exercise.import_bans))
            call = _plain(dict(probe.call, id=call_id, bans=bans))
            outcome = child.run_call(module, call, student_files, namespace, caught)
            if isinstance(outcome.get("error"), dict):
                for frame in outcome["error"].get("frames", []):
                    frame["file"] = notebook  # every student frame is a cell of this notebook
            calls[call_id] = _plain(outcome)
    return ExerciseRun(exercise.id, loaded={}, calls=calls)


def _notebook_files(namespace):
    """The code files of the notebook's cells: frames in them are the student's own."""
    files = set()
    for value in list(namespace.values()):
        if getattr(value, "__module__", None) != "__main__":
            continue
        members = vars(value).values() if isinstance(value, type) else (value,)
        for member in members:
            member = getattr(member, "__func__", member)
            code = getattr(member, "__code__", None)
            if code is not None:
                files.add(code.co_filename)
    return files


def headline(mark, verdict, points):
    """One line like the self-check's: mark, check id, what it checks, its points."""
    worth = ngettext("{points:g} point", "{points:g} points", points).format(points=points)
    return f"{mark} {verdict.check_id} ({_(verdict.description)}; {worth})"


def feedback(verdict, points):
    """The text a failed check raises: the self-check's verdict mark, then what every route shows of it."""
    from grader.feedback import MARKS, NOT_ATTEMPTED, detail_lines

    mark = _(NOT_ATTEMPTED) if verdict.not_attempted else _(MARKS[verdict.status])
    return "\n".join([headline(mark, verdict, points), *detail_lines(verdict)])


def evaluate(check_id, namespace, *, hidden_seed=0):
    """(CheckResult, what was written to stderr meanwhile) for one check on the notebook's namespace."""
    from grader import registry
    from grader.judge import judge_check

    check = find_check(check_id)
    exercise = registry.exercise(check.exercise)
    notebook = f"{exercise.id}.ipynb"
    captured = io.StringIO()
    with contextlib.redirect_stderr(captured), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probes = _probes(check, hidden_seed)
        run = run_probes(exercise, check, probes, namespace, notebook)
        verdict = judge_check(check, probes, run, notebook, DEFAULT_TIMEOUTS[exercise.id])
    return verdict, captured.getvalue()


def run_check(check_id, namespace, *, hidden_seed=0, out=None):
    """Grade the notebook's namespace with one check: print PASS, or raise CheckFailed with the feedback.

    Returns None, so that the cell has no result for nbgrader to read as
    partial credit. Anything written to stderr meanwhile is shown on stdout
    instead: nbgrader scores a cell with stderr output 0, and only our verdict
    should decide the cell's points.
    """
    from grader.feedback import MARKS

    set_language(choose_language())
    verdict, stderr_text = evaluate(check_id, namespace, hidden_seed=hidden_seed)
    out = out or sys.stdout
    if stderr_text:
        print(stderr_text[-2000:], file=out)
    if verdict.status != "passed":
        raise CheckFailed(feedback(verdict, verdict.max_score))
    print(headline(_(MARKS["passed"]), verdict, verdict.max_score), file=out)
