"""The local executor's process family: one torch import, nothing secret in it, no orphans, no lost jobs."""
import csv
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import REPO
from grader.batch import grade_class
from grader.config import SOLUTIONS_DIR



def _slow_class(root, count, seconds=0.4):
    root.mkdir()
    for index in range(count):
        (root / f"s{index}").mkdir()
        slow = f"import time\ntime.sleep({seconds})\n" + (SOLUTIONS_DIR / "step.py").read_text()
        (root / f"s{index}" / "step.py").write_text(slow)
    return root


def _children(pid):
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                fields = open(f"/proc/{name}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(name))
    return found


def _descendants(pid):
    found, frontier = [], [pid]
    while frontier:
        children = [child for parent in frontier for child in _children(parent)]
        found += children
        frontier = children
    return found


def _family_pid(coordinator):
    for pid in _children(coordinator):
        try:
            if b"family.py" in open(f"/proc/{pid}/cmdline", "rb").read():
                return pid
        except OSError:
            continue
    return None


def _alive(pid):
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for(condition, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    return None


def test_the_coordinator_never_imports_torch_nor_numpy(tmp_path):
    """Both load in the family (torch ~1-2 s, numpy ~0.15 s): the coordinator's start-up, beside the family's,
    is intake and compiling, not imports it would not use."""
    root = tmp_path / "class"
    root.mkdir()
    (root / "ada").mkdir()
    for exercise in ("step", "sigmoid"):
        (root / "ada" / f"{exercise}.py").write_text((SOLUTIONS_DIR / f"{exercise}.py").read_text())
    script = textwrap.dedent(f"""
        import sys
        from grader.batch import grade_class
        summary = grade_class(submissions_dir={str(root)!r}, out_dir={str(tmp_path / 'out')!r}, workers=2, secret="s")
        print(summary.graded[0].score, "torch" in sys.modules, "numpy" in sys.modules)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    score, torch_imported, numpy_imported = done.stdout.split()
    assert float(score) == 25.0  # step 10 + sigmoid 15, graded by the family's judges
    assert (torch_imported, numpy_imported) == ("False", "False")


def test_the_family_holds_no_secret_and_goes_with_the_coordinator(tmp_path):
    root = _slow_class(tmp_path / "class", 6)
    secret, token = "course-secret-4d1f", "canvas-token-9c2e"
    environment = dict(os.environ, CANVAS_API_TOKEN=token, GRADER_SECRET=secret)
    coordinator = subprocess.Popen(
        [sys.executable, "-m", "grader", "grade", str(root), "--out", str(tmp_path / "out"), "--workers", "2",
         "--secret", secret], cwd=REPO, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        family = _wait_for(lambda: _family_pid(coordinator.pid))
        assert family, "no family process started"
        members = _wait_for(lambda: (found := _descendants(family)) and len(found) >= 4 and found)
        assert members, "the family did not fork a judge and a zygote per worker"
        for pid in [family, *members]:
            seen = open(f"/proc/{pid}/environ", "rb").read() + open(f"/proc/{pid}/cmdline", "rb").read()
            assert secret.encode() not in seen and token.encode() not in seen
        coordinator.send_signal(signal.SIGKILL)  # the coordinator alone: the family is in its own session
        coordinator.wait()
        assert _wait_for(lambda: not any(_alive(pid) for pid in [family, *members]), seconds=10), \
            "members of the family outlived the coordinator"
    finally:
        if coordinator.poll() is None:
            coordinator.kill()
            coordinator.wait()


def test_a_judge_that_dies_hands_its_jobs_to_the_others(tmp_path):
    root = _slow_class(tmp_path / "class", 6)
    killed = []

    def kill_a_judge(event, **info):
        if event != "graded" or killed:
            return
        family = _family_pid(os.getpid())
        judges = [pid for pid in _children(family) if open(f"/proc/{pid}/comm").read().startswith("grader-judge")]
        os.kill(judges[0], signal.SIGKILL)
        killed.append(judges[0])

    summary = grade_class(submissions_dir=root, out_dir=tmp_path / "out", workers=2, secret="s",
                          on_progress=kill_a_judge)
    assert killed
    assert sorted(item.student for item in summary.graded) == [f"s{index}" for index in range(6)]
    assert all(item.score == 10.0 for item in summary.graded)  # the reference step: full marks
    rows = list(csv.DictReader((tmp_path / "out" / "grades.csv").open()))
    assert [row["student"] for row in rows] == [f"s{index}" for index in range(6)]


def test_a_family_that_cannot_start_stops_the_batch_with_a_message(tmp_path):
    from grader.executors.base import BatchError, Job
    from grader.executors.local import Family, LocalExecutor
    from grader.intake import stage

    root = _slow_class(tmp_path / "class", 1, seconds=0)
    submission = stage("s0", root / "s0", tmp_path / "staging")
    executor = LocalExecutor(2)
    executor.family = Family(2, python="/bin/false")  # exits at once: every pipe to it closes
    started = time.monotonic()
    with pytest.raises(BatchError, match="stopped unexpectedly"):
        list(executor.grade([Job(submission, "digest", 1)], settings=None, hide=()))
    assert time.monotonic() - started < 30  # a message, not a hang
    executor.release()


def test_many_workers_get_the_descriptors_they_need():
    # 4 per worker while the family starts: a 1024 soft limit would stop 256 workers with EMFILE
    script = textwrap.dedent("""
        import resource
        from grader.executors.local import Family
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
        family = Family(40, python="/bin/true")  # 160 pipe ends: more than 64
        family.close()
        print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 4 * 40


def test_ctrl_c_stops_the_batch_cleanly_and_a_rerun_goes_on(tmp_path):
    root = _slow_class(tmp_path / "class", 10, seconds=0.4)  # ~2 s of grading left when the first result is in
    out = tmp_path / "out"
    command = [sys.executable, "-m", "grader", "grade", str(root), "--out", str(out), "--workers", "2", "--secret", "k"]
    environment = dict(os.environ, GRADER_LANG="en")
    coordinator = subprocess.Popen(command, cwd=REPO, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    family = _wait_for(lambda: _family_pid(coordinator.pid))
    members = _wait_for(lambda: (found := _descendants(family)) and len(found) >= 4 and found)
    assert family and members
    assert _wait_for(lambda: (out / "results").is_dir() and list((out / "results").glob("s*.json")))
    coordinator.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal sends to the coordinator
    _stdout, stderr = coordinator.communicate(timeout=60)
    assert coordinator.returncode == 130
    assert "interrupted: every student graded so far is in the gradebook" in stderr
    assert "Traceback" not in stderr
    assert _wait_for(lambda: not any(_alive(pid) for pid in [family, *members]), seconds=10)
    done = subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert sorted(path.name for path in (out / "results").glob("*.json")) == [f"s{index}.json" for index in range(10)]


def test_the_executor_says_when_its_workers_have_started():
    """While the family imports torch (a second or more) the coordinator may do the judges' work ahead of them
    (find and compile files); once the judges and zygotes are forked, starting() turns False and stays so."""
    from grader.executors.local import LocalExecutor

    executor = LocalExecutor(2)
    assert not executor.starting()  # nothing warmed: nothing starting
    executor.warm()
    try:
        assert executor.starting()
        deadline = time.monotonic() + 120
        while executor.starting() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not executor.starting()
        members = {"grader-judge0", "grader-judge1", "grader-zygote0", "grader-zygote1"}

        def names():
            found = set()
            for pid in _descendants(executor.family.process.pid):
                try:
                    found.add(open(f"/proc/{pid}/comm").read().strip())
                except OSError:
                    pass
            return found

        # Forked before "ready"; each names itself first thing after the fork, which can come a moment later.
        assert _wait_for(lambda: members <= names(), seconds=10), names()
    finally:
        executor.release()
