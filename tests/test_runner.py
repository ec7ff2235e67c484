"""The isolated runner on real processes: every way a child can end maps to one verdict,
and one exercise's failure costs only that exercise."""

import pytest

from grader.config import Limits, Settings
from grader.grading import grade_submission
from grader.runner import collect

CORRECT_STEP = """
    import torch
    def step(z):
        if isinstance(z, torch.Tensor):
            return (z > 0).to(z.dtype if z.is_floating_point() else torch.float64)
        return 1 if z > 0 else 0
"""
CORRECT_SIGMOID = """
    import torch
    def sigmoid(x):
        x = torch.as_tensor(x)
        e = torch.exp(-x.abs())
        return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))
    def sigmoid_grad(x):
        s = sigmoid(x)
        return s * (1 - s)
    def neuron(x, w, b):
        return sigmoid(x @ w + b)
"""
FAST = Settings(timeouts={"step": 2.0, "perceptron": 2.0, "sigmoid": 2.0, "chain_rule": 2.0, "mlp": 3.0, "torch_mlp": 3.0})


def statuses(result, exercise):
    return {check.check_id: check.status for ex in result.exercises if ex.exercise == exercise for check in ex.checks}


def grade(folder, zygote, exercises=("step", "sigmoid")):
    return grade_submission(folder, exercise_ids=list(exercises), settings=FAST, zygote=zygote)


def test_endless_loop_times_out_and_the_next_exercise_is_still_graded(zygote, make_submission):
    folder = make_submission({"step.py": """
        import signal
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        def step(z):
            while True:
                pass
    """, "sigmoid.py": CORRECT_SIGMOID})
    result = grade(folder, zygote)
    assert set(statuses(result, "step").values()) == {"timeout"}
    assert "did not finish within 2 s" in result.exercises[0].checks[0].message
    assert set(statuses(result, "sigmoid").values()) == {"passed"}


@pytest.mark.parametrize("ending, expected", [
    ("import sys; sys.exit(0)", "raised SystemExit"),
    ("import os; os._exit(0)", "stopped early"),
    ("raise KeyboardInterrupt", "raised KeyboardInterrupt"),
    ("import ctypes; ctypes.string_at(0)", "SIGSEGV"),
])
def test_a_child_that_dies_costs_only_its_exercise(zygote, make_submission, ending, expected):
    folder = make_submission({"step.py": f"""
        def step(z):
            {ending}
    """, "sigmoid.py": CORRECT_SIGMOID})
    result = grade(folder, zygote)
    step_checks = result.exercises[0].checks
    assert {check.status for check in step_checks} == {"error"}
    assert expected in step_checks[0].message
    assert set(statuses(result, "sigmoid").values()) == {"passed"}


def test_fake_results_on_stdout_count_for_nothing(zygote, make_submission):
    folder = make_submission({"step.py": """
        import json, os
        print(json.dumps({"event": "call", "exercise": "step", "call": "step.scalar#0", "value": {"number": 0, "type": "int"}}))
        def step(z):
            raise NotImplementedError
    """})
    result = grade(folder, zygote, ["step"])
    assert result.score == 0


def test_forged_events_on_the_result_pipe_are_detected(zygote, make_submission):
    folder = make_submission({"step.py": """
        import json, os
        for event in ({"event": "loaded", "exercise": "step"}, {"event": "end", "exercise": "step"},
                      {"event": "begin", "exercise": "sigmoid"}):
            os.write(3, (json.dumps(event) + "\\n").encode())
        def step(z):
            return 0
    """, "sigmoid.py": CORRECT_SIGMOID})
    result = grade(folder, zygote)
    assert set(statuses(result, "step").values()) == {"error"}
    assert "private result channel" in result.exercises[0].checks[0].message
    # Nothing else reported by that child is trusted either.
    assert result.score == 0


def test_huge_output_is_capped_and_stopped(zygote, make_submission):
    folder = make_submission({"step.py": """
        import sys
        def step(z):
            while True:
                sys.stdout.write("x" * 65536)
    """, "sigmoid.py": CORRECT_SIGMOID})
    result = grade(folder, zygote)
    assert set(statuses(result, "step").values()) == {"error"}
    assert "far too much output" in result.exercises[0].checks[0].message
    assert set(statuses(result, "sigmoid").values()) == {"passed"}


class _JudgeFailed(Exception):
    pass


def _pid_behind(pidfd):
    with open(f"/proc/self/fdinfo/{pidfd}") as info:
        return int(next(line.split()[1] for line in info if line.startswith("Pid:")))


def test_a_judge_that_fails_while_supervising_leaves_no_child_behind(make_submission, monkeypatch):
    """The judge reads and times each child itself (runner.supervise) from descriptors its zygote hands over;
    the zygote meanwhile waits for the judge's word. If the judge fails there, it closes the zygote's
    requests: the zygote (here one it does not own, as in the family) kills the child, reaps it and ends."""
    import os
    import socket
    import subprocess
    import sys
    import time

    from grader import runner
    from grader.config import HARNESS_DIR

    folder = make_submission({"step.py": """
        def step(z):
            while True:
                pass
    """})
    children = []

    def failing(result_r, log_r, pidfd, timeouts):
        children.append(_pid_behind(pidfd))
        raise _JudgeFailed()

    monkeypatch.setattr(runner, "supervise", failing)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    process = subprocess.Popen([sys.executable, "-I", str(HARNESS_DIR / "zygote.py")], stdin=subprocess.PIPE,
                               stdout=theirs.fileno(), stderr=subprocess.DEVNULL, env=runner.child_environment(),
                               start_new_session=True)
    theirs.close()
    try:
        zygote = runner.Zygote(pipes=(os.dup(process.stdin.fileno()), ours.detach()))
        process.stdin.close()
        with pytest.raises(_JudgeFailed):
            grade(folder, zygote, exercises=("step",))
        assert process.wait(timeout=30) == 0  # it went by itself, on the end of its requests
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{children[0]}") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not os.path.exists(f"/proc/{children[0]}"), "the child of the failed job is still running"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_public_inputs_decoded_once_in_the_zygote_reach_each_student_untouched(zygote, make_submission):
    """The zygote decodes the public calls' inputs once (child.prepare); a student who overwrites them in place
    changes only their own child's copy: the next student on the same zygote gets them as they were."""
    vandal = make_submission({"step.py": """
        import torch
        def step(z):
            if isinstance(z, torch.Tensor):
                out = (z > 0).to(z.dtype if z.is_floating_point() else torch.float64)
                z.fill_(123.0) if z.is_floating_point() else None
                return out
            return 1 if z > 0 else 0
    """}, name="vandal")
    honest = make_submission({"step.py": CORRECT_STEP}, name="honest")
    for folder in (vandal, honest, vandal, honest):
        result = grade(folder, zygote, exercises=("step",))
        assert set(statuses(result, "step").values()) == {"passed"}, result.exercises[0].checks


def test_only_public_inputs_are_left_to_the_zygote(make_submission, monkeypatch):
    """Hidden inputs, different for each student, never sit in the zygote's memory, where the next students'
    code could find them: only calls of public checks are prepared there, and only their jobs leave out
    the inputs."""
    from grader import runner

    sent = []
    real_send = runner.Zygote._send
    monkeypatch.setattr(runner.Zygote, "_send", lambda self, request: (sent.append(request), real_send(self, request))[1])
    folder = make_submission({"step.py": CORRECT_STEP, "sigmoid.py": CORRECT_SIGMOID})
    with runner.Zygote() as zygote:
        for seed in (1, 2):
            result = grade_submission(folder, exercise_ids=["step", "sigmoid"], visibilities=("public", "hidden"),
                                      hidden_seed=seed, settings=FAST, zygote=zygote)
            assert {check.status for check in result.checks} == {"passed"}
    prepared = [call for request in sent if "prepare" in request for call in request["prepare"]]
    assert prepared and all(call["shared"] and "hidden" not in call["id"] for call in prepared)
    assert len(prepared) == len({call["id"] for call in prepared})  # once, not per job
    import marshal

    jobs = [marshal.loads(request["plan"]) for request in sent if "plan" in request]
    assert len(jobs) == 2
    for job in jobs:
        calls = [call for exercise in job["exercises"] for call in exercise["calls"]]
        assert {call["id"] for call in calls if call.get("prepared")} == {call["id"] for call in prepared}
        assert all("args" not in call for call in calls if call.get("prepared"))
        assert all("args" in call for call in calls if "hidden" in call["id"])


def test_memory_bomb_is_stopped_by_the_memory_limit(zygote, make_submission):
    folder = make_submission({"step.py": """
        def step(z):
            hoard = []
            while True:
                hoard.append(bytearray(64 * 1024 * 1024))
    """})
    settings = Settings(timeouts=dict(FAST.timeouts, step=10.0), limits=Limits(memory_bytes=1024**3))
    result = grade_submission(folder, exercise_ids=["step"], settings=settings, zygote=zygote)
    assert result.checks[0].status == "error" and "MemoryError" in result.checks[0].message
    assert {check.status for check in result.checks} <= {"error", "timeout"}


def test_objects_that_lie_are_not_trusted(zygote, make_submission):
    folder = make_submission({"step.py": """
        import torch
        class Liar(torch.Tensor):
            def __eq__(self, other):
                return True
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                return True
        class Payload:
            def __reduce__(self):
                import os
                return (os.system, ("touch /tmp/pwned-by-student",))
        def step(z):
            if isinstance(z, torch.Tensor):
                return torch.zeros(3).as_subclass(Liar)
            return Payload()
    """})
    result = grade(folder, zygote, ["step"])
    assert result.score == 0
    messages = " ".join(check.message for check in result.checks)
    assert "Payload" in messages and "Liar" in messages


def test_the_child_holds_no_reference_solution(zygote, make_submission):
    folder = make_submission({"step.py": """
        import gc, sys
        LEAKS = [name for name, module in list(sys.modules.items())
                 if "solutions" in str(getattr(module, "__file__", "")) or name.startswith("grader.")]
        def step(z):
            if LEAKS:
                raise RuntimeError("found " + ", ".join(LEAKS))
            return 1 if z > 0 else 0
    """})
    result = grade(folder, zygote, ["step"])
    assert statuses(result, "step")["step.scalar"] == "passed"


def test_later_exercises_use_stand_ins_for_earlier_ones(zygote, make_submission):
    folder = make_submission({
        "step.py": "def step(z):\n    raise SystemExit(3)\n",
        "perceptron.py": """
            import torch
            from step import step
            from exercises.step import step as step_again
            def perceptron(x, w, b):
                return step(torch.as_tensor(x, dtype=torch.float64) @ torch.as_tensor(w, dtype=torch.float64) + b)
            AND_PARAMS = ((0.5, 0.5), -0.8)
            OR_PARAMS = ((0.5, 0.5), -0.2)
            NAND_PARAMS = ((-0.5, -0.5), 0.8)
            def train_perceptron(X, y, lr=0.1, epochs=10):
                w = torch.zeros(X.shape[1], dtype=X.dtype)
                b = 0.0
                for _ in range(epochs):
                    for i in range(X.shape[0]):
                        err = y[i] - step_again(X[i] @ w + b)
                        w = w + lr * err * X[i]
                        b = b + lr * err
                return w, b
        """,
    })
    result = grade(folder, zygote, ["step", "perceptron"])
    assert set(statuses(result, "step").values()) == {"error"}
    assert set(statuses(result, "perceptron").values()) == {"passed"}


def test_collect_accepts_only_the_expected_order():
    lines = [
        '{"event": "begin", "exercise": "sigmoid"}',  # out of order: ignored
        '{"event": "begin", "exercise": "step"}',
        'not json',
        '{"event": "loaded", "exercise": "step"}',
        '{"event": "call", "exercise": "step", "call": "step.scalar#0", "value": 1}',
        '{"event": "call", "exercise": "step", "call": "step.scalar#0", "value": 2}',
        '{"event": "call", "exercise": "step", "call": "unknown#0", "value": 3}',
        '{"event": "end", "exercise": "step"}',
    ]
    runs, still_open = collect(lines, ["step", "sigmoid"], {"step": {"step.scalar#0"}})
    assert still_open is None and list(runs) == ["step"]
    assert runs["step"].calls["step.scalar#0"]["value"] == 1
    assert runs["step"].ending == ""


def _huge_pages_unavailable():
    """Why a zygote's heap cannot be in huge pages here, or "" if it can (MADV_COLLAPSE: Linux 6.1+, THP not off)."""
    import platform
    from pathlib import Path

    release = tuple(int(part) for part in platform.release().split("-")[0].split(".")[:2])
    if release < (6, 1):
        return f"kernel {platform.release()} has no MADV_COLLAPSE (6.1+)"
    setting = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    if not setting.exists() or "[never]" in setting.read_text():
        return "transparent huge pages are off on this machine"
    return ""


HUGE_PAGES_UNAVAILABLE = _huge_pages_unavailable()


@pytest.mark.skipif(bool(HUGE_PAGES_UNAVAILABLE), reason=HUGE_PAGES_UNAVAILABLE or "-")
def test_the_zygote_heap_sits_in_huge_pages(zygote, make_submission):
    """Fewer page-table entries to copy per fork: the warm heap is collapsed into 2 MiB pages."""
    from pathlib import Path

    grade(make_submission({"step.py": "def step(z):\n    return 1 if z > 0 else 0\n"}), zygote, ["step"])  # ready
    rollup = Path(f"/proc/{zygote.process.pid}/smaps_rollup").read_text()
    huge_kib = int(next(line.split()[1] for line in rollup.splitlines() if line.startswith("AnonHugePages:")))
    assert huge_kib >= 32 * 1024, rollup


def test_the_child_runs_the_code_the_grader_compiled_and_tracebacks_name_the_file(zygote):
    """The judge compiles each file once (to report syntax errors), under the name the child knows
    (student_import.compiled_name); the child executes that compilation instead of compiling again, and
    its tracebacks still point into the student's file."""
    import marshal

    from grader.executors.run import run_submission
    from grader.harness.student_import import compiled_name

    on_disk = "def step(z):\n    return 1\n"
    compiled = compile("def step(z):\n\n    return [7][z]\n", compiled_name("step.py"), "exec", dont_inherit=True)
    calls = [{"name": "step", "import_bans": [], "calls": [
        {"id": "a", "kind": "call", "name": "step", "args": [0], "bans": []},
        {"id": "b", "kind": "call", "name": "step", "args": [3], "bans": []}]}]
    runs = run_submission({"step.py": on_disk.encode()}, calls, zygote=zygote, settings=FAST,
                          compiled={"step.py": marshal.dumps(compiled)})
    assert runs["step"].calls["a"]["value"]["number"] == 7  # the compiled code ran, not the file's source
    frames = runs["step"].calls["b"]["error"]["frames"]
    assert [(frame["file"], frame["line"]) for frame in frames] == [("step.py", 3)]
    plain = run_submission({"step.py": on_disk.encode()}, calls, zygote=zygote, settings=FAST)
    assert plain["step"].calls["a"]["value"]["number"] == 1  # without it, the file's source is compiled in the child


def test_jobs_reach_the_zygote_as_plain_data_that_marshal_and_json_read_alike():
    """Jobs travel to the zygote in marshal's format (runner.frame_job). Every probe's call must be plain
    data (dicts, lists, str, numbers, None): marshal would keep a tuple a tuple where JSON made it a list,
    and would pass a NumPy integer as its raw bytes, so the child would see something else than intended."""
    import json
    import marshal

    from grader.config import SOLUTIONS_DIR
    from grader.executors.base import BOTH
    from grader.grading import plan_submission
    from grader.runner import frame_job

    for seed in range(8):
        calls = list(plan_submission(SOLUTIONS_DIR, visibilities=BOTH, hidden_seed=seed).calls)
        assert marshal.loads(marshal.dumps(calls)) == json.loads(json.dumps(calls))
    header, payload = frame_job({"id": 1, "plan": {"exercises": calls}}).split(b"\n", 1)
    assert int(header) == len(payload) and marshal.loads(payload)["plan"]["exercises"] == calls


def _in_a_zygote_module(before, after):
    """Run `before`, then the zygote's module (not its __main__) as `zygote`, then `after`, in a fresh isolated
    interpreter; its stdout."""
    import subprocess
    import sys

    from grader.config import HARNESS_DIR

    probe = before + f"zygote = runpy.run_path({str(HARNESS_DIR / 'zygote.py')!r})\n" + after
    done = subprocess.run([sys.executable, "-I", "-c", "import runpy\n" + probe], capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_zygote_imports_torch_with_the_collector_off_then_freezes_and_collects_again():
    """Collections while torch imports cost ~10% of a zygote's start-up, on the batch's critical path: none run
    before prepare(), which freezes what the imports left and turns the collector back on for the children."""
    stdout = _in_a_zygote_module(
        "import gc, sys\n"
        "starts = []\n"
        "gc.callbacks.append(lambda phase, info: phase == 'start' and 'torch' in sys.modules and starts.append(1))\n",
        "importing = len(starts)\n"
        "zygote['prepare']()\n"
        "print(importing, len(starts), gc.isenabled(), gc.get_freeze_count(), 'torch' in sys.modules)\n")
    importing, after_prepare, enabled, frozen, has_torch = stdout.split()
    assert has_torch == "True"
    assert (importing, after_prepare, enabled) == ("0", "0", "True"), stdout
    assert int(frozen) > 100_000  # torch's objects, skipped by every child's collections


def test_the_zygote_defers_torchs_python_meta_kernels_until_something_reads_them():
    """~0.3 s of every start-up: eager code runs without them; the first read of the module registers them all."""
    stdout = _in_a_zygote_module(
        "import sys\n",
        "zygote['prepare']()\n"
        "import lazy_meta, torch\n"
        "print(lazy_meta.deferred(), 'torch._prims' in sys.modules)\n"
        "x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)\n"
        "torch.optim.SGD([x], lr=0.1).zero_grad(); (torch.sigmoid(x @ x.T) ** 2).mean().backward()\n"
        "print(x.grad.shape == x.shape, lazy_meta.deferred())\n"
        "meta = lambda: torch.cdist(torch.empty(3, 2, device='meta'), torch.empty(4, 2, device='meta')).shape\n"
        "try:\n    meta()\nexcept NotImplementedError:\n    print('no-meta-kernel')\n"
        "from torch._meta_registrations import meta_index_Tensor\n"
        "print(lazy_meta.deferred(), callable(meta_index_Tensor), tuple(meta()))\n")
    assert stdout.split("\n")[:4] == ["True False", "True True", "no-meta-kernel", "False True (3, 4)"], stdout


def test_the_judge_recognises_the_markers_as_the_child_writes_them():
    """Deadlines follow begin/end lines found by their first bytes (runner.MARKER_STARTS): the child's own
    encoder must write them that way, and a call's line must not look like one."""
    from grader.nbgrader_checks import harness_child
    from grader.runner import MARKER_STARTS

    child = harness_child()
    for kind in ("begin", "end"):
        assert child._encode_event({"event": kind, "exercise": "step"}).encode().startswith(MARKER_STARTS)
    for kind in ("loaded", "call", "sandbox"):
        assert not child._encode_event({"event": kind, "exercise": "step"}).encode().startswith(MARKER_STARTS)


def test_each_call_reports_the_warnings_it_raised_and_only_those():
    """One record of warnings serves an exercise's calls (child.recorded_warnings); each call's outcome holds
    what it added, every time (a warning raised again is not hidden as already shown)."""
    import types

    from grader.nbgrader_checks import harness_child

    child = harness_child()
    module = types.ModuleType("student")
    exec("import warnings\ndef f(x):\n    if x < 0:\n        warnings.warn('negative')\n    return x\n", vars(module))
    with child.recorded_warnings() as caught:
        outcomes = [child.run_call(module, {"id": f"f#{i}", "kind": "call", "name": "f", "args": [x], "kwargs": {}},
                                   set(), vars(module), caught) for i, x in enumerate([-1, 1, -2, 3, -3])]
    assert [outcome["warnings"] for outcome in outcomes] == [
        ["UserWarning: negative"], [], ["UserWarning: negative"], [], ["UserWarning: negative"]]
    assert [outcome["value"]["number"] for outcome in outcomes] == [-1, 1, -2, 3, -3]
