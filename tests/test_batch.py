"""Batch grading of a class end to end: files written, gradebook kept, resume after kill -9."""
import csv
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from conftest import FIXTURES, REPO
from grader.batch import BatchError, grade_class
from grader.config import EXERCISE_IDS, SOLUTIONS_DIR
from grader.gradebook import Gradebook


def reference_copy(target):
    shutil.copytree(SOLUTIONS_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))


@pytest.fixture
def small_class(tmp_path):
    root = tmp_path / "class"
    root.mkdir()
    reference_copy(root / "ada")
    shutil.copytree(FIXTURES / "step_at_zero", root / "ben")
    shutil.make_archive(str(root / "cy"), "zip", SOLUTIONS_DIR)
    (root / "dee.zip").write_bytes(b"not a zip")
    return root


def test_grade_writes_results_grades_and_gradebook(small_class, tmp_path):
    out = tmp_path / "out"
    summary = grade_class(submissions_dir=small_class, out_dir=out, workers=2, secret="s")
    assert sorted(item.student for item in summary.graded) == ["ada", "ben", "cy", "dee"]
    rows = list(csv.DictReader((out / "grades.csv").open()))
    assert [row["student"] for row in rows] == ["ada", "ben", "cy", "dee"]
    assert list(rows[0]) == ["student", "score", "max_score", *EXERCISE_IDS]
    by_student = {row["student"]: row for row in rows}
    assert by_student["ada"]["score"] == by_student["cy"]["score"] == "100"
    assert float(by_student["ben"]["step"]) < 10 and by_student["dee"]["score"] == "0"
    for student in ("ada", "ben", "cy", "dee"):
        result = json.loads((out / "results" / f"{student}.json").read_text())
        assert set(result["exercises"]) == set(EXERCISE_IDS)
        assert result["score"] == sum(exercise["score"] for exercise in result["exercises"].values())
    dee = json.loads((out / "results" / "dee.json").read_text())
    assert "not a readable zip file" in dee["exercises"]["step"]["checks"][0]["message"]
    assert Gradebook(f"sqlite:///{out / 'gradebook.sqlite'}").count_gradings() == 4


def test_the_whole_class_is_staged_before_the_workers_are_asked_about(small_class, tmp_path, monkeypatch):
    """Intake stages every submission first, then compiles files ahead only while the workers start: grading
    begins the moment they are up, not after the rest of a large class is staged."""
    from grader import batch
    from grader.executors.local import LocalExecutor

    staged, asked = [], []
    real_stage = batch.stage
    monkeypatch.setattr(batch, "stage", lambda student, *rest: staged.append(student) or real_stage(student, *rest))

    class Watched(LocalExecutor):
        def starting(self):
            asked.append(len(staged))
            return len(asked) <= 1  # still starting when first asked, up from then on

    with Watched(workers=1) as executor:
        summary = grade_class(submissions_dir=small_class, out_dir=tmp_path / "out", secret="s", executor=executor)
    assert asked and asked[0] == len(staged) == 4  # every one staged before the first question
    scores = {item.student: item.score for item in summary.graded}
    assert (scores["ada"], scores["cy"], scores["dee"]) == (100, 100, 0) and scores["ben"] < 100


def test_unchanged_submissions_are_skipped_and_force_regrades_once(small_class, tmp_path):
    out = tmp_path / "out"
    grade_class(submissions_dir=small_class, out_dir=out, workers=1, secret="s", students=["ada", "ben"])
    again = grade_class(submissions_dir=small_class, out_dir=out, workers=1, secret="s", students=["ada", "ben", "zed"])
    assert len(again.skipped) == 2 and not again.done and again.unknown_students == ["zed"]
    forced = grade_class(submissions_dir=small_class, out_dir=out, workers=1, secret="s", students=["ada"], force=True)
    assert [item.student for item in forced.done] == ["ada"]
    gradebook = Gradebook(f"sqlite:///{out / 'gradebook.sqlite'}")
    assert gradebook.count_gradings("ada") == 1 and gradebook.count_gradings("ben") == 1
    (small_class / "ben" / "step.py").write_text((SOLUTIONS_DIR / "step.py").read_text())
    changed = grade_class(submissions_dir=small_class, out_dir=out, workers=1, secret="s", students=["ben"])
    assert [item.student for item in changed.done] == ["ben"] and changed.done[0].score == 10


def test_the_end_of_a_batch_reads_back_only_what_it_did_not_grade_and_renders_as_from_the_gradebook(
        small_class, tmp_path, monkeypatch):
    """Results, grades.csv and reports at the end of a batch come from memory for the students it graded and
    from the gradebook for the others; either way they are what the gradebook holds, byte for byte."""
    from grader.exports import write_grades
    from grader.reports import render_all

    asked = []
    real_latest = Gradebook.latest
    monkeypatch.setattr(Gradebook, "latest", lambda self, students=None: asked.append(students) or real_latest(self, students))
    out = tmp_path / "out"
    grade_class(submissions_dir=small_class, out_dir=out, workers=1, secret="s")
    assert asked == []  # everyone was graded just now
    (small_class / "ben" / "step.py").write_text((SOLUTIONS_DIR / "step.py").read_text())
    again = grade_class(submissions_dir=small_class, out_dir=out, workers=1, secret="s")
    assert [item.student for item in again.done] == ["ben"] and asked == [{"ada", "cy", "dee"}]
    assert {item.student: item.seconds > 0 for item in again.skipped} == {"ada": True, "cy": True, "dee": False}
    written = {path.name: path.read_bytes() for path in (out / "reports").iterdir()}
    grades = (out / "grades.csv").read_bytes()
    assert len(written) == 4 * 3 + 1 and b"ben" in grades
    render_all(out_dir=out)  # every report again, from the gradebook alone
    write_grades(out, [result for result, _row in real_latest(Gradebook(f"sqlite:///{out / 'gradebook.sqlite'}"))])
    assert {path.name: path.read_bytes() for path in (out / "reports").iterdir()} == written
    assert (out / "grades.csv").read_bytes() == grades


def test_reports_written_while_the_class_is_graded_are_those_the_gradebook_gives(tmp_path):
    """From 16 submissions on, a renderer forked when the first result comes writes each student's reports as
    their grading is recorded, at the lowest CPU priority; the end of the batch renders only the rest. Every
    report is then what the gradebook alone renders, byte for byte."""
    from grader.reports import render_all

    root = tmp_path / "class"
    root.mkdir()
    for index in range(17):
        if index % 3:
            reference_copy(root / f"s{index:02d}")
        else:
            shutil.copytree(FIXTURES / "sigmoid_sign_error", root / f"s{index:02d}")
    (root / "s99.zip").write_bytes(b"not a zip")  # unreadable: recorded before any run, also rendered early
    out = tmp_path / "out"
    summary = grade_class(submissions_dir=root, out_dir=out, workers=2, secret="s")
    assert 0 < summary.reports_early <= 18
    written = {path.name: path.read_bytes() for path in (out / "reports").iterdir()}
    assert len(written) == 18 * 3 + 1
    render_all(out_dir=out)
    assert {path.name: path.read_bytes() for path in (out / "reports").iterdir()} == written


def test_the_background_renderer_stops_when_told_and_says_whom_it_did(tmp_path):
    """Told to stop, the renderer finishes the student it is on and names exactly those whose three reports it
    wrote; the end of a batch renders the others (render_latest's `written`)."""
    from grader.background_reports import BackgroundReports
    from grader.grading import problem_result
    from grader.reports import FORMATS, render_latest, report_path

    out = tmp_path / "out"
    students = [f"student{index:03d}" for index in range(300)]
    latest = [(problem_result(student, "could not be read"), None) for student in students]
    renderer = BackgroundReports(out)
    for result, row in latest:
        renderer.add(result, row)
    done = renderer.finish()
    assert done <= set(students)
    for student in students:
        present = {report_path(out, student, fmt).exists() for fmt in FORMATS}
        assert present == {student in done}, student
    render_latest(latest, out_dir=out, written=done)
    assert all(report_path(out, student, fmt).exists() for student in students for fmt in FORMATS)
    assert not [path for path in (out / "reports").iterdir() if path.name.startswith(".")]  # no temporary left


def test_same_submission_same_score_across_runs(small_class, tmp_path):
    first = grade_class(submissions_dir=small_class, out_dir=tmp_path / "a", workers=1, secret="k", students=["ben"])
    second = grade_class(submissions_dir=small_class, out_dir=tmp_path / "b", workers=1, secret="k", students=["ben"])
    assert first.done[0].score == second.done[0].score
    assert (tmp_path / "a" / "results" / "ben.json").read_text() == (tmp_path / "b" / "results" / "ben.json").read_text()


def test_the_grader_fails_only_when_it_cannot_do_its_job(tmp_path):
    with pytest.raises(BatchError, match="is not a folder"):
        grade_class(submissions_dir=tmp_path / "nowhere", out_dir=tmp_path / "out")
    (tmp_path / "class").mkdir()
    (tmp_path / "blocker").write_text("a file where OUT should be")
    with pytest.raises(BatchError, match="cannot be written"):
        grade_class(submissions_dir=tmp_path / "class", out_dir=tmp_path / "blocker" / "out")
    done = subprocess.run([sys.executable, "-m", "grader", "grade", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "is not a folder" in done.stderr and "Traceback" not in done.stderr


def _gradings(database):
    if not database.exists():
        return []
    with sqlite3.connect(database) as connection:
        try:
            return connection.execute("select student from gradings").fetchall()
        except sqlite3.OperationalError:
            return []


def test_kill_9_mid_batch_then_rerun_grades_everyone_exactly_once(tmp_path):
    root = tmp_path / "class"
    root.mkdir()
    slow_step = "import time\ntime.sleep(0.5)\ndef step(z):\n    return 1 if z > 0 else 0\n"
    for index in range(8):
        (root / f"s{index}").mkdir()
        (root / f"s{index}" / "step.py").write_text(slow_step)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "grader", "grade", str(root), "--out", str(out), "--workers", "1", "--secret", "k"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    database = out / "gradebook.sqlite"
    deadline = time.monotonic() + 120
    while len(_gradings(database)) < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, "the batch finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    graded_before = len(_gradings(database))
    assert 2 <= graded_before < 8
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    students = sorted(student for (student,) in _gradings(database))
    assert students == [f"s{index}" for index in range(8)]  # each exactly once
    assert f"{graded_before} unchanged submission(s) already graded" in done.stdout
    assert sorted(path.name for path in (out / "results").glob("*.json")) == [f"s{index}.json" for index in range(8)]
    assert not list((out / "results").glob(".*"))  # no half-written temporary files left visible
    rows = list(csv.DictReader((out / "grades.csv").open()))
    assert [row["student"] for row in rows] == [f"s{index}" for index in range(8)]


def test_the_readme_main_command_grades_the_sample_class(tmp_path):
    out = tmp_path / "sample-class"
    done = subprocess.run([sys.executable, "-m", "grader", "grade", "samples/class", "--out", str(out), "--workers", "2"],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    for where in (out / "results", out / "grades.csv", "gradebook.sqlite"):
        assert str(where) in done.stdout
    assert "isolation:" in done.stdout
    scores = {row["student"]: float(row["score"]) for row in csv.DictReader((out / "grades.csv").open())}
    assert len(scores) == 13
    assert scores["alice"] == scores["bruno"] == scores["kim"] == 100
    assert scores["jonas"] == 0 and scores["lena"] == 0
    assert all(0 < scores[student] < 100 for student in ("chen", "dana", "emil", "fatima", "gus", "hana", "ivan", "milo"))
    milo = json.loads((out / "results" / "milo.json").read_text())
    messages = " ".join(check["message"] for exercise in milo["exercises"].values() for check in exercise["checks"])
    assert "Sigmoid.py" in messages and "does not compile" in messages
