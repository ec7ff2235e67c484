"""Each isolation layer contains the attacks it is for, on its own.

Every test runs real student code in the real zygote with only the layer under
test enabled (plus the full default set), and checks the side effect the attack
was after. A layer this machine cannot provide is skipped with the reason the
child reported, never passed silently.
"""
import socket
import textwrap
import threading
import time

import pytest

from grader.config import ISOLATION_LAYERS, SOLUTIONS_DIR, Settings
from grader.grading import grade_submission
from grader.runner import Zygote

FULL = ISOLATION_LAYERS


@pytest.fixture(scope="module")
def sandbox_zygote():
    with Zygote(slot=3) as worker:
        yield worker


def attack(zygote, folder, body, layers, *, hide=()):
    """Run `body` inside step(z); returns (the step.scalar message, the layer report)."""
    (folder / "step.py").write_text("import os, sys, socket, time, json\n\ndef step(z):\n"
                                    + textwrap.indent(textwrap.dedent(body), "    "))
    settings = Settings(timeouts={"step": 5.0}, isolation=tuple(layers))
    result = grade_submission(folder, exercise_ids=["step"], settings=settings, zygote=zygote, hide=hide)
    return result.checks[0].message, zygote.last_sandbox


def require(report, *layers):
    for layer in layers:
        if report.get(layer) != "on":
            pytest.skip(f"isolation layer {layer!r} is not available here: {report.get(layer)}")


READ_SOLUTIONS = f"""
try:
    data = open({str(SOLUTIONS_DIR / 'sigmoid.py')!r}).read()
except OSError as exc:
    raise RuntimeError("blocked:" + type(exc).__name__)
raise RuntimeError("LEAKED:" + data[:20])
"""


@pytest.mark.parametrize("layers", [("namespaces", "mounts"), ("landlock",), ("uid",), FULL], ids=lambda x: "+".join(x))
def test_reading_the_solutions_is_blocked(sandbox_zygote, tmp_path, layers):
    message, report = attack(sandbox_zygote, tmp_path, READ_SOLUTIONS, layers)
    require(report, *layers)
    if layers == ("uid",) and SOLUTIONS_DIR.stat().st_mode & 0o004:
        pytest.skip("solutions/ is world-readable on this checkout: the uid layer alone cannot hide it")
    assert "blocked:" in message and "LEAKED" not in message


@pytest.mark.parametrize("layers", [("namespaces", "mounts"), ("landlock",), ("uid",), FULL], ids=lambda x: "+".join(x))
def test_overwriting_other_results_is_blocked(sandbox_zygote, tmp_path, layers):
    victim = tmp_path / "out" / "results" / "victim.json"
    victim.parent.mkdir(parents=True)
    victim.write_text('{"score": 3}')
    victim.chmod(0o644)
    victim.parent.chmod(0o755)
    body = f"""
try:
    with open({str(victim)!r}, "w") as handle:
        handle.write('{{"score": 100}}')
except OSError as exc:
    raise RuntimeError("blocked:" + type(exc).__name__)
raise RuntimeError("WROTE")
"""
    student = tmp_path / "student"
    student.mkdir()
    message, report = attack(sandbox_zygote, student, body, layers, hide=(tmp_path / "out",))
    require(report, *layers)
    assert victim.read_text() == '{"score": 3}'
    assert "blocked:" in message


@pytest.mark.parametrize("layers", [("namespaces",), ("seccomp",), ("landlock",), FULL], ids=lambda x: "+".join(x))
def test_no_tcp_connection_to_the_graders_host(sandbox_zygote, tmp_path, layers):
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(6)
    port = listener.getsockname()[1]
    received = []

    def accept():
        try:
            connection, _ = listener.accept()
            received.append(connection.recv(100))
        except OSError:
            pass

    thread = threading.Thread(target=accept)
    thread.start()
    body = f"""
try:
    sock = socket.create_connection(("127.0.0.1", {port}), timeout=2)
    sock.sendall(b"stolen")
except OSError as exc:
    raise RuntimeError("blocked:" + type(exc).__name__)
raise RuntimeError("CONNECTED")
"""
    message, report = attack(sandbox_zygote, tmp_path, body, layers)
    listener.close()
    thread.join()
    require(report, *layers)
    assert received == [] and "blocked:" in message


FORK_BOMB = """
children = 0
deadline = time.time() + 2
while time.time() < deadline and children < 200:
    try:
        pid = os.fork()
    except OSError as exc:
        raise RuntimeError(f"blocked:{type(exc).__name__} after {children}")
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    children += 1
raise RuntimeError(f"FORKED {children}")
"""


@pytest.mark.parametrize("layers", [("seccomp",), ("uid", "rlimits"), FULL], ids=lambda x: "+".join(x))
def test_a_bounded_fork_bomb_is_stopped(sandbox_zygote, tmp_path, layers):
    message, report = attack(sandbox_zygote, tmp_path, FORK_BOMB, layers)
    require(report, *layers)
    assert "blocked:" in message


DETACHED = """
marker = {marker!r}
try:
    pid = os.fork()
except OSError as exc:
    raise RuntimeError("blocked:" + type(exc).__name__)
if pid == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(3)
        open(marker, "w").write("survived")
    os._exit(0)
return 1 if z > 0 else 0
"""


@pytest.mark.parametrize("layers", [("seccomp",), FULL], ids=lambda x: "+".join(x))
def test_detached_grandchildren_do_not_outlive_the_run(sandbox_zygote, tmp_path, layers):
    marker = tmp_path / "marker"
    tmp_path.chmod(0o777)
    message, report = attack(sandbox_zygote, tmp_path, DETACHED.format(marker=str(marker)), layers)
    require(report, *layers)
    time.sleep(3.5)
    assert not marker.exists()
    assert "blocked:" in message


def test_exec_is_blocked_by_seccomp(sandbox_zygote, tmp_path):
    body = """
try:
    os.execv("/bin/true", ["true"])
except OSError as exc:
    raise RuntimeError("blocked:" + type(exc).__name__)
"""
    message, report = attack(sandbox_zygote, tmp_path, body, ("seccomp",))
    require(report, "seccomp")
    assert "blocked:PermissionError" in message


def test_the_child_runs_as_the_slot_uid_without_privileges(sandbox_zygote, tmp_path):
    body = """
status = open("/proc/self/status").read()
fields = {line.split(":")[0]: line.split(":", 1)[1].strip() for line in status.splitlines()}
raise RuntimeError(f"uid={os.getuid()} nnp={fields.get('NoNewPrivs')} seccomp={fields.get('Seccomp')}")
"""
    message, report = attack(sandbox_zygote, tmp_path, body, FULL)
    require(report, "uid", "privileges", "seccomp")
    assert "uid=61003" in message and "nnp=1" in message and "seccomp=2" in message


def test_the_scratch_space_is_private_and_bounded(sandbox_zygote, tmp_path):
    body = """
left = sorted(os.listdir("."))
open("planted", "w").write("next student reads this")
try:
    with open("big", "wb") as handle:
        handle.write(b"x" * (200 * 1024 * 1024))
except OSError as exc:
    raise RuntimeError(f"capped:{type(exc).__name__} found:{left}")
raise RuntimeError("UNCAPPED")
"""
    first, report = attack(sandbox_zygote, tmp_path, body, FULL)
    second, _ = attack(sandbox_zygote, tmp_path, body, FULL)
    require(report, "mounts", "rlimits")
    assert "capped:" in first and "capped:" in second
    assert "found:[]" in second  # nothing left over from the first run


def test_monkeypatched_comparisons_change_nothing(sandbox_zygote, tmp_path):
    (tmp_path / "step.py").write_text(textwrap.dedent("""
        import builtins, json, numpy, torch
        torch.allclose = lambda *a, **k: True
        torch.equal = lambda *a, **k: True
        numpy.allclose = lambda *a, **k: True
        builtins.all = lambda *a, **k: True
        def step(z):
            return 0
    """))
    result = grade_submission(tmp_path, exercise_ids=["step"], zygote=sandbox_zygote)
    assert result.score == 0


def test_children_enter_one_empty_network_namespace_made_once_by_their_zygote(sandbox_zygote, tmp_path):
    """As root, a zygote makes one empty network namespace and each child enters it (instead of making
    its own): not the zygote's, not the host's, the same for every child, and with no interface up."""
    import os

    body = """
up = [line.split()[0] for line in open("/proc/net/dev").read().splitlines()[2:]]
held = []
for fd in os.listdir("/proc/self/fd"):
    try:
        held.append(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        pass  # the listing's own descriptor, closed by now
raise RuntimeError(f"ns={os.readlink('/proc/self/ns/net')} interfaces={up} held={[h for h in held if h.startswith('net:')]}")
"""
    first, report = attack(sandbox_zygote, tmp_path, body, FULL)
    require(report, "namespaces")
    if os.geteuid() != 0:
        pytest.skip("only a root zygote shares one network namespace; unprivileged children each make their own")
    second, _ = attack(sandbox_zygote, tmp_path, body, FULL)
    namespace = first.split("ns=")[1].split()[0]
    assert namespace == second.split("ns=")[1].split()[0]
    assert namespace not in (os.readlink("/proc/self/ns/net"), os.readlink(f"/proc/{sandbox_zygote.process.pid}/ns/net"))
    assert "interfaces=['lo:']" in first  # only the loopback, which nobody brought up
    assert "held=[]" in first  # the child holds no descriptor of it: it was closed once entered
