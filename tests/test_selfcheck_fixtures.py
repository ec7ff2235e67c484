"""The self-check CLI on fixture submissions: verdicts, messages and hints as a student sees them.

Each folder under tests/fixtures/submissions/ is a small student submission: correct
ones in several styles, one classic bug each, cheats and breakage. Every fixture is run
once through the real command line, `python -m grader check EXERCISE ... --dir FOLDER`,
in a subprocess; the runs start together, in parallel, when the first test needs one.
The tests then read the printout: the exit code, one status line per public check, the
message and hint under a check, and never a Python traceback.
"""
import importlib
import importlib.util
import os
import py_compile
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "submissions"

PUBLIC_CHECKS = {
    "step": ("scalar", "tensor", "integer_input"),
    "perceptron": ("single", "batch", "and_gate", "or_gate", "nand_gate", "train"),
    "sigmoid": ("values", "float32", "extremes", "grad", "neuron"),
    "chain_rule": ("forward", "local_grads", "backward", "value_ops", "value_backward"),
    "mlp": ("forward", "mse_loss", "backward", "train"),
    "torch_mlp": ("structure", "forward", "fit"),
}
ALL_EXERCISES = tuple(PUBLIC_CHECKS)
STATUS_LINE = re.compile(r"^  (PASS|FAIL|ERROR|TIMEOUT|FORBIDDEN|MISSING|NOT ATTEMPTED) +(\S+) ")


@dataclass(frozen=True)
class Hint:
    """A hint constant of grader/checks/<module>.py, read when a test runs (it imports torch)."""

    module: str
    name: str

    def text(self):
        from grader.misconceptions import CATALOGUE

        value = getattr(importlib.import_module(f"grader.checks.{self.module}"), self.name)
        return CATALOGUE[value].hint if value in CATALOGUE else value


@dataclass(frozen=True)
class Misconception:
    """A hint of the misconception catalogue, by id."""

    id: str

    def text(self):
        from grader.misconceptions import CATALOGUE

        return CATALOGUE[self.id].hint


@dataclass(frozen=True)
class Case:
    fixture: str
    exercises: tuple = ()  # () checks all six
    args: tuple = ()
    exit_code: int = 1
    statuses: dict = field(default_factory=dict)  # check id -> status word on its line
    says: dict = field(default_factory=dict)  # check id -> fragments (str or Hint) in its message, in order
    absent: dict = field(default_factory=dict)  # check id -> fragments that must not be in its message
    xfail_messages: str = ""  # a known grader bug: the message test is xfail(strict=True)

    @property
    def selected(self):
        return self.exercises or ALL_EXERCISES


def passing(*exercises):
    return {f"{exercise}.{check}": "PASS" for exercise in exercises for check in PUBLIC_CHECKS[exercise]}


def every(exercise, status):
    return {f"{exercise}.{check}": status for check in PUBLIC_CHECKS[exercise]}


def every_says(exercise, *fragments):
    return {f"{exercise}.{check}": fragments for check in PUBLIC_CHECKS[exercise]}


CASES = [
    # ---- correct submissions, in several styles ----
    Case("correct_loops", exit_code=0, statuses=passing(*ALL_EXERCISES)),
    Case("correct_numpy_style", ("step", "perceptron", "sigmoid"), exit_code=0,
         statuses=passing("step", "perceptron", "sigmoid")),
    Case("correct_exercises_folder", ("step", "perceptron", "sigmoid", "mlp"), exit_code=0,
         statuses=passing("step", "perceptron", "sigmoid", "mlp")),
    # ---- one classic bug each: the call, what was expected, what came back, the hint ----
    Case("step_at_zero", ("step",),
         statuses=every("step", "FAIL"),
         says={"step.scalar": ("step(0)", "0.0", "got", "1.0", Hint("step", "AT_ZERO")),
               "step.tensor": ("step(tensor(", "got", Hint("step", "AT_ZERO")),
               "step.integer_input": ("step(tensor([-2, -1, 0, 1, 2], dtype=int64))", "[0., 0., 0., 1., 1.]",
                                      "got", "[0., 0., 1., 1., 1.]", Hint("step", "AT_ZERO"))}),
    Case("step_bool_dtype", ("step",),
         statuses={"step.tensor": "FAIL", "step.integer_input": "FAIL"},
         says={"step.tensor": ("step(tensor(", "dtype float64", "got dtype bool", Hint("step", "AS_FLOAT")),
               "step.integer_input": ("a floating dtype", "got dtype bool", Hint("step", "AS_FLOAT"))}),
    Case("sigmoid_sign_error", ("sigmoid",),
         statuses={"sigmoid.values": "FAIL", "sigmoid.float32": "FAIL", "sigmoid.extremes": "FAIL",
                   "sigmoid.grad": "PASS", "sigmoid.neuron": "FAIL"},
         says={"sigmoid.values": ("sigmoid(tensor([[-4.", "0.017986", "got", "0.982014", Hint("sigmoid", "SIGN")),
               "sigmoid.float32": ("dtype=float32", "0.047426", "got", "0.952574", Hint("sigmoid", "SIGN")),
               "sigmoid.extremes": (Hint("sigmoid", "SIGN"),),
               "sigmoid.neuron": ("neuron(tensor([1., 1.]", "0.549834", "got", "0.450166")}),
    Case("sigmoid_overflow", ("sigmoid",),
         statuses={**passing("sigmoid"), "sigmoid.extremes": "FAIL"},
         says={"sigmoid.extremes": ("sigmoid(tensor([-10000.", "NaN", "expected 1.0, got nan", Hint("sigmoid", "OVERFLOW"))}),
    Case("sigmoid_grad_of_x", ("sigmoid",),
         statuses={**passing("sigmoid"), "sigmoid.grad": "FAIL"},
         says={"sigmoid.grad": ("sigmoid_grad(tensor([[-2.", "0.104994", "got", "-6.", Hint("sigmoid", "GRAD_OF_X"))}),
    Case("neuron_no_bias", ("sigmoid",),
         statuses={**passing("sigmoid"), "sigmoid.neuron": "FAIL"},
         says={"sigmoid.neuron": ("neuron(tensor([1., 1.], dtype=float64), tensor([0.5, 0.5], dtype=float64), -0.8)",
                                  "0.549834", "got", "0.731059", Hint("sigmoid", "NO_BIAS"))}),
    Case("backward_missing_path", ("chain_rule",),
         statuses={"chain_rule.forward": "PASS", "chain_rule.local_grads": "PASS", "chain_rule.backward": "FAIL",
                   "chain_rule.value_ops": "NOT ATTEMPTED", "chain_rule.value_backward": "NOT ATTEMPTED"},
         says={"chain_rule.backward": ("backward(2.0, 1.0)", "5.0", "got", "2.0", Hint("chain_rule", "MISSING_PATH")),
               "chain_rule.value_ops": ("not attempted", "NotImplementedError")}),
    Case("local_grads_swapped", ("chain_rule",),
         statuses={"chain_rule.forward": "PASS", "chain_rule.local_grads": "FAIL", "chain_rule.backward": "FAIL",
                   "chain_rule.value_ops": "MISSING"},
         says={"chain_rule.local_grads": ("local_grads(2.0, 1.0)", "de/dc", "2.0", "got", "3.0", Hint("chain_rule", "SWAPPED")),
               "chain_rule.value_ops": ("chain_rule.py does not define Value",)}),
    Case("mlp_sum_not_mean", ("mlp",),
         statuses={"mlp.forward": "PASS", "mlp.mse_loss": "FAIL", "mlp.backward": "FAIL", "mlp.train": "FAIL"},
         says={"mlp.mse_loss": ("mse_loss(tensor([[1.], [3.]]", "2.5", "got", "5.0", Hint("mlp", "SUM_NOT_MEAN")),
               "mlp.backward": ("mlp_backward(", "got", Hint("mlp", "SUM_NOT_MEAN"))}),
    Case("mlp_missing_sigmoid_derivative", ("mlp",),
         statuses={"mlp.forward": "PASS", "mlp.mse_loss": "PASS", "mlp.backward": "FAIL"},
         says={"mlp.backward": ("mlp_backward(", "got", Hint("mlp", "MISSING_SIGMOID_DERIVATIVE"))}),
    Case("mlp_output_sigmoid", ("mlp",),
         statuses={"mlp.forward": "FAIL", "mlp.mse_loss": "PASS", "mlp.backward": "MISSING"},
         says={"mlp.forward": ("mlp_forward(", "got", Hint("mlp", "OUTPUT_SIGMOID")),
               "mlp.backward": ("mlp.py does not define mlp_backward",)}),
    Case("train_loss_after_update", ("mlp",),
         statuses={**passing("mlp"), "mlp.train": "FAIL"},
         says={"mlp.train": ("train(", "got", Hint("mlp", "LOSS_AFTER_UPDATE"))}),
    Case("fit_no_zero_grad", ("torch_mlp",),
         statuses={**passing("torch_mlp"), "torch_mlp.fit": "FAIL"},
         says={"torch_mlp.fit": ("fit(model, x, y, lr=0.5, epochs=6)", "got", Hint("torch_mlp", "NO_ZERO_GRAD"))}),
    Case("perceptron_b_without_lr", ("perceptron",),
         statuses={**passing("perceptron"), "perceptron.train": "FAIL"},
         says={"perceptron.train": ("train_perceptron(", "[0.2, 0.1]", "got", "[1. , 0.1]",
                                    Misconception("perceptron.b_without_lr"))}),
    Case("gate_or_for_and", ("perceptron",),
         statuses={**passing("perceptron"), "perceptron.and_gate": "FAIL"},
         says={"perceptron.and_gate": ("AND_PARAMS", "[0., 0., 0., 1.]", "got", "[0., 1., 1., 1.]", "that is the OR gate")}),
    # ---- cheats ----
    Case("torch_sigmoid_cheat", ("sigmoid",),
         statuses=every("sigmoid", "FORBIDDEN"),
         says=every_says("sigmoid", "used torch.sigmoid", "not allowed in sigmoid.py", "line 5: torch.sigmoid")),
    Case("getattr_sigmoid_cheat", ("sigmoid",),
         statuses=every("sigmoid", "FORBIDDEN"),
         says=every_says("sigmoid", "used torch.sigmoid", "not allowed in sigmoid.py")),
    Case("autograd_cheat", ("mlp",),
         statuses={"mlp.forward": "PASS", "mlp.mse_loss": "PASS", "mlp.backward": "FORBIDDEN", "mlp.train": "FORBIDDEN"},
         says={"mlp.backward": ("mlp_backward used Tensor.requires_grad_", "not allowed in mlp.py", "loss.backward"),
               "mlp.train": ("used Tensor.requires_grad_", "not allowed in mlp.py")}),
    # ---- breakage: each costs only its own exercise ----
    Case("syntax_error", ("step",),
         statuses=every("step", "ERROR"),
         says=every_says("step", "step.py does not compile", "line 3", "def step(z)", "expected ':'")),
    Case("infinite_loop", ("sigmoid",), args=("--timeout", "2"),
         statuses=every("sigmoid", "TIMEOUT"),
         says=every_says("sigmoid", "sigmoid.py did not finish within 2 s")),
    Case("import_raises", ("chain_rule",),
         statuses=every("chain_rule", "ERROR"),
         says=every_says("chain_rule", "importing chain_rule.py raised NameError", "name 'one' is not defined",
                         "chain_rule.py, line 8")),
    Case("exit_at_import", ("step", "sigmoid"),
         statuses={**every("step", "ERROR"), **passing("sigmoid")},
         says=every_says("step", "importing step.py raised SystemExit", "step.py, line 14", "sys.exit(0)")),
    Case("segfault", ("step", "perceptron"),
         statuses={**every("step", "ERROR"), **passing("perceptron")},
         says=every_says("step", "the process running step.py was killed by SIGSEGV")),
    Case("near_miss_name", ("sigmoid",),
         statuses=every("sigmoid", "MISSING"),
         says=every_says("sigmoid", "sigmoid.py was not found", "there is Sigmoid.py",
                         "the file must be named exactly sigmoid.py")),
    # ---- charged once: a bug in step.py / sigmoid.py is not charged again in perceptron.py / mlp.py ----
    Case("charged_once", ("step", "perceptron", "sigmoid", "mlp"),
         statuses={**every("step", "FAIL"), **passing("perceptron"), **every("sigmoid", "ERROR"), **passing("mlp")},
         says={"step.scalar": ("step(0)", Hint("step", "AT_ZERO")),
               **every_says("sigmoid", "raised", "sigmoid.py, line 5", "math.exp(-x)")}),
    # ---- a wrong type at z != 0 must not earn the step-at-zero hint ----
    Case("step_tensor_for_numbers", ("step",),
         statuses={"step.scalar": "FAIL", "step.tensor": "PASS", "step.integer_input": "PASS"},
         says={"step.scalar": ("step(-2)", "a Python number", "got a tensor")},
         absent={"step.scalar": (Hint("step", "AT_ZERO"),)}),
]
BY_NAME = {case.fixture: case for case in CASES}
assert len(BY_NAME) == len(CASES), "two cases share a fixture"


def _run(case, folder=None):
    folder = folder or FIXTURES / case.fixture
    command = [sys.executable, "-m", "grader", "check", *case.exercises, *case.args, "--dir", str(folder)]
    try:
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired as exc:
        return None, str(exc.stdout or ""), f"the self-check did not finish: {exc}"
    return done.returncode, done.stdout, done.stderr


def shadowing_pyc_submission(folder):
    """step.py steps at zero; __pycache__/ beside it holds the bytecode of a correct step.py of the
    same size and modification time, which is all that Python checks before it uses a .pyc."""
    folder.mkdir(parents=True, exist_ok=True)
    buggy = "def step(z):\n    return (z >= 0) * 1.0 if hasattr(z, 'dtype') else int(z >= 0)\n"
    right = buggy.replace(">= 0", "> 0 ")
    source = folder / "step.py"
    source.write_text(buggy)
    build = folder.parent / f"{folder.name}-build"
    build.mkdir(exist_ok=True)
    (build / "step.py").write_text(right)
    stat = source.stat()
    os.utime(build / "step.py", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    py_compile.compile(str(build / "step.py"), cfile=importlib.util.cache_from_source(str(source)), doraise=True)
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Start every fixture's self-check at once; each test waits for the run it reads."""
    slow_first = sorted(CASES, key=lambda case: (case.fixture not in ("infinite_loop", "correct_loops", "charged_once"),))
    workers = max(2, min(4, os.cpu_count() or 2))
    pool = ThreadPoolExecutor(max_workers=workers)
    futures = {case.fixture: pool.submit(_run, case) for case in slow_first}
    shadowed = shadowing_pyc_submission(tmp_path_factory.mktemp("pyc") / "student")
    futures["pyc"] = pool.submit(_run, Case("pyc", ("step",)), shadowed)
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


def squash(text):
    """Drop all whitespace: the printout wraps long messages (even after a hyphen)."""
    return re.sub(r"\s+", "", text)


def parse(stdout):
    """check id -> (status word, text under its line: message and hint)."""
    checks, current = {}, None
    for line in stdout.splitlines():
        match = STATUS_LINE.match(line)
        if match:
            current = match.group(2)
            assert current not in checks, f"{current} is printed twice"
            checks[current] = [match.group(1), []]
        elif current is not None and line.startswith(" " * 16):
            checks[current][1].append(line.strip())
        else:
            current = None
    return {check_id: (status, " ".join(lines)) for check_id, (status, lines) in checks.items()}


def output_of(runs, case):
    code, stdout, stderr = runs[case.fixture].result()
    return code, stdout, stderr


def _text(fragment):
    return fragment.text() if isinstance(fragment, (Hint, Misconception)) else fragment


def _param(case, xfail=""):
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    return pytest.param(case, id=case.fixture, marks=marks)


ALL = [_param(case) for case in CASES]
MESSAGES = [_param(case, case.xfail_messages) for case in CASES if case.says or case.absent]


@pytest.mark.parametrize("case", ALL)
def test_exit_code_and_no_traceback(runs, case):
    code, stdout, stderr = output_of(runs, case)
    assert "Traceback (most recent call last)" not in stdout + stderr, stdout + stderr
    assert code == case.exit_code, f"exit code {code}\n{stdout}\n{stderr}"
    assert stdout.startswith(f"Checking the exercises in {FIXTURES / case.fixture}"), stdout[:300]
    if case.exit_code == 0:
        assert "Every public check passes." in stdout


@pytest.mark.parametrize("case", ALL)
def test_one_status_line_per_public_check(runs, case):
    _, stdout, _ = output_of(runs, case)
    checks = parse(stdout)
    expected_ids = [f"{exercise}.{check}" for exercise in case.selected for check in PUBLIC_CHECKS[exercise]]
    assert list(checks) == expected_ids, stdout
    wrong = {check_id: (checks[check_id][0], status) for check_id, status in case.statuses.items()
             if checks[check_id][0] != status}
    assert wrong == {}, f"(printed, expected) status per check: {wrong}\n{stdout}"
    for check_id, (status, text) in checks.items():
        if status == "PASS":
            assert text == "", f"{check_id} passed but says {text!r}"
        else:
            assert text, f"{check_id} is {status} without a message"


@pytest.mark.parametrize("case", MESSAGES)
def test_messages_show_the_call_the_values_and_the_hint(runs, case):
    _, stdout, _ = output_of(runs, case)
    checks = parse(stdout)
    for check_id, fragments in case.says.items():
        text = squash(checks[check_id][1])
        position = 0
        for fragment in fragments:
            wanted = squash(("Hint: " if isinstance(fragment, (Hint, Misconception)) else "") + _text(fragment))
            found = text.find(wanted, position)
            assert found >= 0, f"{check_id}: {wanted!r} missing (or out of order) in\n{checks[check_id][1]}"
            position = found + len(wanted)
    for check_id, fragments in case.absent.items():
        text = squash(checks[check_id][1])
        for fragment in fragments:
            assert squash(_text(fragment)) not in text, f"{check_id} should not say {_text(fragment)!r}:\n{checks[check_id][1]}"


def test_a_submitted_pyc_is_never_run_instead_of_the_source(runs):
    code, stdout, stderr = runs["pyc"].result()
    assert "Traceback (most recent call last)" not in stdout + stderr
    checks = parse(stdout)
    assert checks["step.scalar"][0] == "FAIL", stdout  # step.py itself steps at zero
    assert code == 1
