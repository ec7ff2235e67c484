"""The Dask executor on a real cluster of worker processes: same grades as local, safe replies, failures survived."""
import csv
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import distributed
import pytest

from conftest import REPO
from grader.batch import BatchError, grade_class
from grader.config import ConfigError, Settings
from grader.executors.address import parse_address
from grader.executors.dask import DaskExecutor
from grader.executors.wire import WireError, decode_runs, encode_failure, encode_runs
from grader.runner import ExerciseRun

SAMPLE_CLASS = REPO / "samples" / "class"
SLOW_STEP = "import time\ntime.sleep({seconds})\ndef step(z):\n    return 1 if z > 0 else 0\n"


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes, one thread each, as `--dask local:2` starts them."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local:
        yield local


def slow_class(root, count, seconds):
    root.mkdir()
    for index in range(count):
        (root / f"s{index}").mkdir()
        (root / f"s{index}" / "step.py").write_text(SLOW_STEP.format(seconds=seconds))
    return root


def gradings(database):
    if not database.exists():
        return []
    with sqlite3.connect(database) as connection:
        try:
            return [student for (student,) in connection.execute("select student from gradings")]
        except sqlite3.OperationalError:
            return []


def statuses(out):
    """student -> (score, [(check id, status, message)]) from OUT/results."""
    found = {}
    for path in sorted((out / "results").glob("*.json")):
        result = json.loads(path.read_text())
        found[result["student"]] = (result["score"], [(check["id"], check["status"], check["message"])
                                                      for exercise in result["exercises"].values()
                                                      for check in exercise["checks"]])
    return found


def test_the_sample_class_grades_identically_on_local_and_dask(cluster, tmp_path):
    events = []
    local = grade_class(submissions_dir=SAMPLE_CLASS, out_dir=tmp_path / "local", workers=2, secret="same")
    remote = grade_class(submissions_dir=SAMPLE_CLASS, out_dir=tmp_path / "dask", secret="same",
                         dask=cluster.scheduler_address, on_progress=lambda event, **info: events.append((event, info)))
    assert len(statuses(tmp_path / "local")) == 13
    assert statuses(tmp_path / "dask") == statuses(tmp_path / "local")
    for path in (tmp_path / "local" / "results").glob("*.json"):
        assert (tmp_path / "dask" / "results" / path.name).read_text() == path.read_text()
    assert (tmp_path / "dask" / "grades.csv").read_text() == (tmp_path / "local" / "grades.csv").read_text()
    assert [item.student for item in remote.graded] != [] and remote.mean == local.mean
    assert remote.isolation == local.isolation and remote.reports_index.exists()
    kinds = [event for event, _info in events]
    assert kinds[:2] == ["intake", "start"] and dict(events[1][1])["total"] == 13 and kinds[-1] == "finish"
    assert "one folder or zip per student, 13 student(s)" in dict(events[0][1])["summary"]
    assert kinds.count("graded") == 13 and "isolation" in kinds


def test_a_worker_killed_mid_batch_costs_nothing_and_no_one_is_graded_twice(cluster, tmp_path):
    root = slow_class(tmp_path / "class", 8, 1.0)
    out = tmp_path / "out"
    watcher = distributed.Client(cluster)
    pids = watcher.run(os.getpid)
    killed = {}

    def kill_a_busy_worker(event, **info):
        if event != "graded" or killed:
            return
        busy = {address: keys for address, keys in watcher.processing().items() if keys}
        address = sorted(busy)[0]
        killed.update(address=address, keys=list(busy[address]))
        os.kill(pids[address], signal.SIGKILL)

    try:
        summary = grade_class(submissions_dir=root, out_dir=out, secret="k", dask=cluster.scheduler_address,
                              on_progress=kill_a_busy_worker)
        assert killed["keys"], "the killed worker had no submission of its own"
        assert pids[killed["address"]] not in watcher.run(os.getpid).values()
        watcher.wait_for_workers(2, timeout=120)  # the nanny brings it back for the next tests
    finally:
        watcher.close()
    students = sorted(gradings(out / "gradebook.sqlite"))
    assert students == [f"s{index}" for index in range(8)]  # each exactly once, those it held too
    assert {key.split("-")[1] for key in killed["keys"]} <= set(students)
    step_points = {item.student: item.score for item in summary.graded}
    assert len(set(step_points.values())) == 1 and next(iter(step_points.values())) > 0


def evil_step(marker, call_id):
    """A step.py whose answer pickles to code that would write `marker`, and that forges pickles onto the pipe."""
    return f'''
import base64, os, pickle

class Payload:
    def __reduce__(self):
        return (exec, ("open({str(marker)!r}, 'w').write('unpickled')",))

class Number(float):
    def __reduce__(self):
        return Payload().__reduce__()

PICKLED = base64.b64encode(pickle.dumps(Payload())).decode()

def step(z):
    forged = '{{"event": "call", "exercise": "step", "call": "{call_id}", "value": {{"pickle": "' + PICKLED + '"}}}}'
    for line in (pickle.dumps(Payload()) + b"\\n", forged.encode() + b"\\n", pickle.dumps(Number(1.0)) + b"\\n"):
        try:
            os.write(3, line)
        except OSError:
            pass
    return Payload() if z > 0 else Number(0.0)
'''


def test_objects_that_unpickle_to_code_never_run_in_the_coordinator(cluster, tmp_path):
    from grader.executors.dask import run_on_worker
    from grader.grading import plan_submission
    from grader.registry import exercise

    marker = tmp_path / "unpickled-here"
    first_call = f"{exercise('step').checks[0].id}#0"
    (tmp_path / "class" / "mallory").mkdir(parents=True)
    (tmp_path / "class" / "mallory" / "step.py").write_text(evil_step(marker, first_call))
    out = tmp_path / "out"
    grade_class(submissions_dir=tmp_path / "class", out_dir=out, secret="k", dask=cluster.scheduler_address)
    score, checks = statuses(out)["mallory"]
    step_checks = [check for check in checks if check[0].startswith("step")]
    assert step_checks and all(status in ("failed", "error") for _id, status, _message in step_checks)
    assert "could not read" in step_checks[0][2]  # the forged pickle was read as an unknown value, nothing more
    # What a worker sends back is bytes of JSON, whatever the student returned or wrote.
    plan = plan_submission(tmp_path / "class" / "mallory", student="mallory", visibilities=("public", "hidden"))
    settings = Settings()
    options = {"timeouts": settings.timeouts, "isolation": list(settings.isolation), "hide": [],
               "limits": {"memory_bytes": settings.limits.memory_bytes, "file_bytes": settings.limits.file_bytes,
                          "open_files": settings.limits.open_files}}
    with distributed.Client(cluster) as client:
        reply = client.submit(run_on_worker, plan.files(), list(plan.calls), options, pure=False).result()
    assert type(reply) is bytes
    runs, _isolation, _seconds, failure = decode_runs(reply, plan.calls)
    assert not failure and set(runs) == {"step"}
    assert not marker.exists(), "code from a student's object ran outside the sandbox"


def test_replies_are_read_strictly_as_json_never_as_objects():
    import pickle

    calls = [{"name": "step", "calls": [{"id": "step.a#0"}]}]
    good = encode_runs({"step": ExerciseRun("step", {"event": "loaded"}, {"step.a#0": {"value": {"number": 1.0}}})},
                       isolation={"uid": "on"}, seconds=0.5)
    runs, isolation, seconds, failure = decode_runs(good, calls)
    assert runs["step"].calls == {"step.a#0": {"value": {"number": 1.0}}} and isolation == {"uid": "on"} and seconds == 0.5
    assert decode_runs(encode_failure("zygote gone"), calls)[3] == "zygote gone"
    reply = json.loads(good)
    bad = [
        pickle.dumps(ExerciseRun("step")),  # an object: refused, not loaded
        b"not json",
        json.dumps(dict(reply, grader="0.0.0")).encode(),
        json.dumps(dict(reply, runs={})).encode(),
        json.dumps(dict(reply, runs={"step": dict(reply["runs"]["step"], calls={"other#0": {}})})).encode(),
        json.dumps(dict(reply, runs={"step": dict(reply["runs"]["step"], loaded=[1])})).encode(),
        json.dumps(dict(reply, runs={"step": dict(reply["runs"]["step"], ending=7)})).encode(),
        json.dumps(dict(reply, seconds="soon")).encode(),
        json.dumps(dict(reply, isolation={"uid": ["on"]})).encode(),
        {"runs": {}},
    ]
    for reply_text in bad:
        with pytest.raises(WireError):
            decode_runs(reply_text, calls)


@pytest.mark.parametrize("value, accepted", [
    ("local:2", ("local", 2)), ("tcp://10.0.0.5:8786", ("tcp://10.0.0.5:8786", None)),
    ("local:0", None), ("local:two", None), ("10.0.0.5:8786", None), ("", None),
])
def test_the_dask_address_is_checked(value, accepted):
    if accepted:
        assert parse_address(value) == accepted
    else:
        with pytest.raises(ConfigError, match="--dask"):
            parse_address(value)


def test_cli_grades_on_a_local_dask_cluster_with_progress_and_summary(tmp_path):
    root = slow_class(tmp_path / "class", 2, 0)
    (root / "broken.zip").write_bytes(b"not a zip")
    bad = subprocess.run([sys.executable, "-m", "grader", "grade", str(root), "--out", str(tmp_path / "o"), "--dask", "nowhere"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--dask" in bad.stderr and "Traceback" not in bad.stderr
    done = subprocess.run([sys.executable, "-m", "grader", "grade", str(root), "--out", str(tmp_path / "out"),
                           "--dask", "local:1", "--secret", "k"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "isolation:" in done.stdout and "class summary" in done.stdout and str(tmp_path / "out" / "grades.csv") in done.stdout
    assert "broken: broken.zip is not a readable zip file" in done.stdout
    scores = {row["student"]: float(row["score"]) for row in csv.DictReader((tmp_path / "out" / "grades.csv").open())}
    assert scores["broken"] == 0 and 0 < scores["s0"] == scores["s1"] < 100


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_cluster(port, log_dir):
    """A scheduler and one worker by hand, as the README says; the grader is importable from REPO."""
    environment = dict(os.environ, PYTHONPATH=str(REPO))
    common = dict(cwd=REPO, env=environment, start_new_session=True, stderr=subprocess.STDOUT)
    scheduler = subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--port", str(port), "--no-dashboard"],
                                 stdout=open(log_dir / "scheduler.log", "a"), **common)
    worker = subprocess.Popen([sys.executable, "-m", "dask", "worker", f"tcp://127.0.0.1:{port}", "--nthreads", "1",
                               "--nworkers", "1", "--no-dashboard"], stdout=open(log_dir / "worker.log", "a"), **common)
    with distributed.Client(f"tcp://127.0.0.1:{port}", timeout=60) as client:
        client.wait_for_workers(1, timeout=120)
    return scheduler, worker


def stop(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def test_a_scheduler_that_goes_away_stops_the_batch_and_a_rerun_resumes(tmp_path):
    root = slow_class(tmp_path / "class", 8, 0.5)
    out, port = tmp_path / "out", free_port()
    command = [sys.executable, "-m", "grader", "grade", str(root), "--out", str(out), "--dask", f"tcp://127.0.0.1:{port}",
               "--secret", "k"]
    scheduler, worker = start_cluster(port, tmp_path)
    try:
        batch = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while len(gradings(out / "gradebook.sqlite")) < 2 and time.monotonic() < deadline and batch.poll() is None:
            time.sleep(0.05)
        assert batch.poll() is None, "the batch finished before the scheduler could go"
        stop(scheduler)
        stdout, stderr = batch.communicate(timeout=60)
        assert batch.returncode == 2, stderr
        assert f"lost the Dask scheduler at tcp://127.0.0.1:{port}" in stderr and "Traceback" not in stderr, stderr[-3000:]
        graded_before = len(gradings(out / "gradebook.sqlite"))
        assert 2 <= graded_before < 8
    finally:
        stop(scheduler)
        stop(worker)
    scheduler, worker = start_cluster(port, tmp_path)
    try:
        again = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    finally:
        stop(scheduler)
        stop(worker)
    assert again.returncode == 0, again.stderr
    assert f"{graded_before} unchanged submission(s) already graded" in again.stdout
    assert sorted(gradings(out / "gradebook.sqlite")) == [f"s{index}" for index in range(8)]  # each exactly once


def test_an_unreachable_scheduler_is_a_clear_batch_error(tmp_path):
    (tmp_path / "class" / "ada").mkdir(parents=True)
    (tmp_path / "class" / "ada" / "step.py").write_text(SLOW_STEP.format(seconds=0))
    address = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(BatchError, match=f"cannot reach the Dask scheduler at {address}"):
        grade_class(submissions_dir=tmp_path / "class", out_dir=tmp_path / "out", secret="k",
                    executor=DaskExecutor(address, connect_seconds=2))
    assert not gradings(tmp_path / "out" / "gradebook.sqlite")


class _Finished:
    """Stands in for a finished Dask future: only status, result and exception are read."""

    def __init__(self, status, result=None, exception=None):
        self.status, self._result, self._exception = status, result, exception

    def result(self):
        return self._result

    def exception(self):
        return self._exception


def test_a_batch_reply_must_hold_one_json_reply_per_submission():
    from grader.executors.dask import _replies

    assert _replies(_Finished("finished", [b"{}", b"[]"]), 2) == [("bytes", b"{}"), ("bytes", b"[]")]
    for wrong in ([b"{}"], [b"{}", "text"], b"{}", None, [b"{}", b"{}", b"{}"]):
        replies = _replies(_Finished("finished", wrong), 2)
        assert [kind for kind, _why in replies] == ["failure", "failure"]
        assert "one reply per submission" in replies[0][1]
    killed = _replies(_Finished("error", exception=RuntimeError("KilledWorker: it took down 3 workers")), 3)
    assert len(killed) == 3 and all("KilledWorker" in why for _kind, why in killed)
    assert _replies(_Finished("lost"), 1) == [("failure", "the Dask task ended as lost")]
