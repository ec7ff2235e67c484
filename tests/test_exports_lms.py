"""Grade exports for Canvas (CSV and REST), Moodle and nbgrader, through the real CLI.

OUT folders are written here as `grade` writes them (RESULTS.md); the Canvas and
Moodle files are the instructor's own exports (tests/fixtures/lms_exports), the
Canvas API is a local HTTP server that checks what canvasapi sends, and nbgrader
is the real package reading back what we wrote.
"""
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import REPO
from grader.lms.csvtable import CsvFormatError, read_table
from grader.lms.moodle import moodle_time
from grader.lms.results import ResultsError, load_scores

FIXTURES = REPO / "tests" / "fixtures" / "lms_exports"
CANVAS = FIXTURES / "canvas_gradebook.csv"
MOODLE = FIXTURES / "moodle_worksheet.csv"
POINTS = {"step": 10.0, "perceptron": 15.0, "sigmoid": 15.0, "chain_rule": 20.0, "mlp": 25.0, "torch_mlp": 15.0}


def write_results(out: Path, students: dict, reports: dict = None) -> Path:
    """OUT/results/<id>.json as `grade` writes them: {id: (fraction of every exercise, submission meta or None)}."""
    (out / "results").mkdir(parents=True, exist_ok=True)
    for student, (fraction, meta) in students.items():
        exercises = {}
        for exercise, points in POINTS.items():
            score = points * fraction
            exercises[exercise] = {"score": score, "max_score": points, "checks": [
                {"id": f"{exercise}.values", "status": "passed" if fraction == 1 else "failed", "score": score,
                 "max_score": points, "message": "" if fraction == 1 else "the values differ"}]}
        data = {"student": student, "score": sum(part["score"] for part in exercises.values()), "max_score": 100.0,
                "exercises": exercises}
        if meta:
            data["submission"] = meta
        (out / "results" / f"{student}.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    for student, text in (reports or {}).items():
        (out / "reports").mkdir(exist_ok=True)
        (out / "reports" / f"{student}.md").write_text(text, encoding="utf-8")
    return out


def export(*args, env=None):
    environment = {**os.environ, "GRADER_LANG": "en", **(env or {})}
    return subprocess.run([sys.executable, "-m", "grader", "export", *map(str, args)], cwd=REPO, env=environment,
                          capture_output=True, text=True, timeout=300)


def canvas_class(tmp_path):
    return write_results(tmp_path / "out", {
        "57": (0.875, {"lms": "canvas", "canvas_user_id": 57, "name": "doejane", "late": False}),
        "58": (1.0, {"lms": "canvas", "canvas_user_id": 58, "name": "liwei", "late": True}),
        "59": (0.5, None),  # a plain folder named by the Canvas id
        "99": (0.25, None),  # not in the course
    })


# ---------------------------------------------------------------- Canvas CSV

def test_canvas_fills_one_column_and_keeps_every_other_byte(tmp_path):
    out = canvas_class(tmp_path)
    done = export("canvas", out, "--gradebook", CANVAS, "--assignment", "Neural networks by hand (1236)",
                  "--output", tmp_path / "import.csv")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "import.csv").read_bytes() == (FIXTURES / "canvas_gradebook.filled.csv").read_bytes()
    assert "Filled 2 grade(s) of Neural networks by hand (1236) (out of 20 points)" in done.stdout
    assert "Kept EX (excused) for: 58" in done.stdout
    assert re.search(r"1 graded student\(s\) have no row in canvas_gradebook.csv.*\n  99\n", done.stdout)
    assert "61 (line 7, " in done.stdout and "60 (line 8, Student, Test)" in done.stdout
    strict = export("canvas", out, "--gradebook", CANVAS, "--assignment", "1236", "--strict",
                    "--output", tmp_path / "strict.csv")
    assert strict.returncode == 1 and (tmp_path / "strict.csv").read_bytes() == (tmp_path / "import.csv").read_bytes()


def test_the_golden_differs_from_the_export_only_in_the_filled_cells():
    """Guards the golden file itself: only Jane's and Chidi's cells of column 1236 change, to 17.50 and 10.00."""
    before, after = read_table(CANVAS), read_table(FIXTURES / "canvas_gradebook.filled.csv")
    column = before.column("Neural networks by hand (1236)")
    changes = [(row.line, index, old.values[index], row.values[index])
               for old, row in zip(before.rows, after.rows) for index in range(len(row.values))
               if old.values[index] != row.values[index]]
    assert changes == [(4, column, "", "17.50"), (6, column, "3.00", "10.00")]
    assert before.header.raw == after.header.raw and len(before.rows) == len(after.rows)


def test_canvas_semicolons_decimal_commas_bom_and_crlf_survive(tmp_path):
    out = canvas_class(tmp_path)
    rows = list(csv.reader(io.StringIO(CANVAS.read_text(encoding="utf-8"))))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    for row in rows:
        writer.writerow([re.sub(r"^(\d+)\.(\d\d)$", r"\1,\2", cell) for cell in row])
    source = tmp_path / "export.csv"
    source.write_bytes(b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"))
    done = export("canvas", out, "--gradebook", source, "--assignment", "1236", "--output", tmp_path / "import.csv")
    assert done.returncode == 0, done.stderr
    written = (tmp_path / "import.csv").read_bytes()
    assert written.startswith(b"\xef\xbb\xbfStudent;ID;") and written.count(b"\r\n") == len(rows)
    original_lines = source.read_bytes().split(b"\r\n")
    written_lines = written.split(b"\r\n")
    assert [number for number, (a, b) in enumerate(zip(original_lines, written_lines)) if a != b] == [3, 5]
    assert written_lines[3].endswith(b";10,00;17,50;100,00;100,00;33,33;33,33;100,00;100,00;33,33;33,33")


def test_canvas_matches_on_sis_login_and_scales(tmp_path):
    out = write_results(tmp_path / "out", {"jdoe": (0.875, None), "cokafor": (0.5, None)})
    done = export("canvas", out, "--gradebook", CANVAS, "--assignment", "Perceptron AND (1234)", "--match", "sis_login",
                  "--scale", "5", "--output", tmp_path / "import.csv")
    assert done.returncode == 0, done.stderr
    assert "--scale 5.00 differs from the column's Points Possible (10.00)" in done.stdout
    table = read_table(tmp_path / "import.csv")
    column = table.column("Perceptron AND (1234)")
    by_login = {row.values[3]: row.values[column] for row in table.rows if row.values[1]}
    assert by_login["jdoe"] == "4.38" and by_login["cokafor"] == "2.50" and by_login["wli"] == "8.00"


def test_canvas_without_points_possible_writes_scores_as_they_are_and_says_so(tmp_path):
    out = canvas_class(tmp_path)
    source = tmp_path / "export.csv"
    source.write_text("".join(line for line in CANVAS.read_text(encoding="utf-8").splitlines(keepends=True)
                              if "Points Possible" not in line), encoding="utf-8")
    done = export("canvas", out, "--gradebook", source, "--assignment", "1236", "--output", tmp_path / "import.csv")
    assert done.returncode == 0, done.stderr
    assert "gives no Points Possible for Neural networks by hand (1236) and there is no --scale" in done.stdout
    assert "out of 100" in done.stdout
    assert '"Doe, Jane",57,S001,jdoe,DL101 Section A,10.00,87.50,' in (tmp_path / "import.csv").read_text()


@pytest.mark.parametrize("assignment, message", [
    ("Neural network by hand", "has no column 'Neural network by hand'; similar columns: Neural networks by hand (1236)"),
    ("MLP (1299)", "has no column 'MLP (1299)'; its assignment columns are: Perceptron AND (1234); "
                   "Neural networks by hand (1236)"),
    ("Current Score", "Current Score is not an assignment column"),
])
def test_canvas_unknown_assignment_is_explained_and_nothing_is_written(tmp_path, assignment, message):
    out = canvas_class(tmp_path)
    done = export("canvas", out, "--gradebook", CANVAS, "--assignment", assignment, "--output", tmp_path / "x.csv")
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "x.csv").exists()


def _variant(tmp_path, change):
    path = tmp_path / "variant.csv"
    path.write_bytes(change(CANVAS.read_bytes()))
    return path


@pytest.mark.parametrize("change, message", [
    (lambda data: data.replace(b"Student,ID,", b"Name,Number,", 1), "does not look like a Canvas gradebook export"),
    (lambda data: data.replace(b'"Li, Wei",58,', b'"Li, Wei",57,'), "the id '57' appears twice (line 4 and line 5)"),
    (lambda data: data.replace(b"cokafor,DL101 Section B,,3.00,", b"cokafor,DL101 Section B,3.00,"),
     "line 6: 14 cells where the header has 15"),
    (lambda data: data.replace("Müller".encode(), "Müller".encode("latin-1")), "line 7: not UTF-8 text (byte 0xfc)"),
    (lambda data: data.replace(b'"Okafor, Chidi"', b'"Okafor, Chidi'), "malformed CSV"),
    (lambda data: b"", "is empty"),
])
def test_malformed_canvas_exports_name_the_file_and_line(tmp_path, change, message):
    out = canvas_class(tmp_path)
    source = _variant(tmp_path, change)
    done = export("canvas", out, "--gradebook", source, "--assignment", "1236", "--output", tmp_path / "x.csv")
    assert done.returncode == 2, done.stdout
    assert message in done.stderr and str(source) in done.stderr, done.stderr
    assert not (tmp_path / "x.csv").exists()


def test_read_only_columns_are_refused(tmp_path):
    source = _variant(tmp_path, lambda data: data.replace(b"10.00,20.00,(read only)", b"10.00,(read only),(read only)"))
    done = export("canvas", canvas_class(tmp_path), "--gradebook", source, "--assignment", "1236",
                  "--output", tmp_path / "x.csv")
    assert done.returncode == 2 and "read only in Canvas" in done.stderr


@pytest.mark.parametrize("content, message", [
    ("{not json", "is not valid JSON"),
    ('{"student": "someone-else", "score": 1, "max_score": 100, "exercises": {}}', "but the file is named for '57'"),
    ('{"student": "57", "score": "lots", "max_score": 100, "exercises": {}}', "\"score\" must be a number of points"),
])
def test_a_broken_results_file_stops_the_export_with_its_name(tmp_path, content, message):
    out = canvas_class(tmp_path)
    (out / "results" / "57.json").write_text(content)
    with pytest.raises(ResultsError, match=re.escape(message)):
        load_scores(out)
    done = export("canvas", out, "--gradebook", CANVAS, "--assignment", "1236", "--output", tmp_path / "x.csv")
    assert done.returncode == 2 and "57.json" in done.stderr and message in done.stderr


def test_two_results_for_one_canvas_user_are_refused(tmp_path):
    out = canvas_class(tmp_path)
    write_results(out, {"doejane_57": (0.1, {"lms": "canvas", "canvas_user_id": 57})})
    done = export("canvas", out, "--gradebook", CANVAS, "--assignment", "1236", "--output", tmp_path / "x.csv")
    assert done.returncode == 2 and "two results are for the same student '57'" in done.stderr


# ---------------------------------------------------------------- Moodle

def moodle_class(tmp_path, reports=True):
    def meta(participant):
        return {"lms": "moodle", "participant_id": participant, "name": "x"}

    return write_results(tmp_path / "out", {
        "jane": (0.875, meta(1234567)), "wei": (1.0, meta(1234568)), "chidi": (0.5, meta(1234569)),
        "Participant 2000001": (0.25, None),  # a plain folder named like Moodle's identifier; not in the worksheet
    }, reports={"jane": "# Feedback for jane\n\n- **FAILED** `step.scalar`: <script>alert(1)</script> & co\n"}
        if reports else None)


def test_moodle_worksheet_gets_grades_feedback_and_modified_time(tmp_path):
    out = moodle_class(tmp_path)
    before = datetime.now().astimezone().replace(second=0, microsecond=0)
    done = export("moodle", out, "--worksheet", MOODLE, "--output", tmp_path / "upload.csv")
    assert done.returncode == 0, done.stderr
    assert "Filled 2 grade(s) (1 with feedback)" in done.stdout
    assert "their grade cannot be changed: wei" in done.stdout
    assert "Participant 2000001" in done.stdout and "1234570 (line 5, Anna Müller)" in done.stdout
    original = MOODLE.read_text(encoding="utf-8")
    written = (tmp_path / "upload.csv").read_text(encoding="utf-8")
    assert written.splitlines()[0] == original.splitlines()[0]  # the header, verbatim
    for kept in (2, 4):  # the locked row and the row with no result: untouched, byte for byte
        assert original.splitlines(keepends=True)[kept] in written
    rows = {row["Identifier"]: row for row in csv.DictReader(io.StringIO(written))}
    jane, chidi = rows["Participant 1234567"], rows["Participant 1234569"]
    assert (jane["Grade"], chidi["Grade"], rows["Participant 1234568"]["Grade"]) == ("87.50", "50.00", "")
    assert jane["Full name"] == "Jane Doe" and jane["Last modified (submission)"] == "Monday, 3 March 2025, 10:00 AM"
    assert "<code>step.scalar</code>" in jane["Feedback comments"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in jane["Feedback comments"]
    assert "<script>" not in jane["Feedback comments"]
    assert chidi["Feedback comments"] == "<p>Resubmit please</p>"  # no report: the old comment stays
    stamp = jane["Last modified (grade)"]
    assert stamp == chidi["Last modified (grade)"]
    parsed = datetime.strptime(stamp, "%A, %d %B %Y, %I:%M %p").replace(tzinfo=before.tzinfo)
    assert before <= parsed <= datetime.now().astimezone()


@pytest.mark.parametrize("moment, shown", [
    (datetime(2025, 3, 3, 10, 0), "Monday, 3 March 2025, 10:00 AM"),
    (datetime(2025, 3, 4, 21, 5), "Tuesday, 4 March 2025, 9:05 PM"),
    (datetime(2024, 12, 29, 0, 30), "Sunday, 29 December 2024, 12:30 AM"),
    (datetime(2025, 6, 14, 12, 0), "Saturday, 14 June 2025, 12:00 PM"),
])
def test_moodle_time_is_written_as_moodle_shows_it(moment, shown):
    assert moodle_time(moment) == shown


def test_moodle_decimal_comma_maximum_and_renamed_headers(tmp_path):
    out = moodle_class(tmp_path, reports=False)
    text = MOODLE.read_text(encoding="utf-8").replace(",100.00,", ',"10,00",')
    text = text.replace("Identifier", "Kennung").replace('"Last modified (grade)"', '"Zuletzt geändert (Bewertung)"')
    source = tmp_path / "worksheet.csv"
    source.write_text(text, encoding="utf-8")
    refused = export("moodle", out, "--worksheet", source, "--output", tmp_path / "upload.csv")
    assert refused.returncode == 2 and "lacks the column(s) Identifier, Last modified (grade)" in refused.stderr
    assert "--header KEY=NAME" in refused.stderr
    done = export("moodle", out, "--worksheet", source, "--output", tmp_path / "upload.csv",
                  "--header", "identifier=Kennung", "--header", "modified=Zuletzt geändert (Bewertung)",
                  "--timezone", "Asia/Shanghai")
    assert done.returncode == 0, done.stderr
    rows = {row["Kennung"]: row for row in csv.DictReader(io.StringIO((tmp_path / "upload.csv").read_text()))}
    assert rows["Participant 1234567"]["Grade"] == "8,75" and rows["Participant 1234569"]["Grade"] == "5,00"
    shanghai = datetime.now(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    assert f"{shanghai.day} " in rows["Participant 1234567"]["Zuletzt geändert (Bewertung)"]


@pytest.mark.parametrize("change, message", [
    (lambda text: text.replace('"Maximum Grade"', "Scale"), "grades on a scale cannot be exported"),
    (lambda text: text.replace('"Participant 1234569"', '"Participant 1234567"'),
     "the id '1234567' appears twice (line 2 and line 4)"),
    (lambda text: text.replace('"Participant 1234570"', "Someone"), "line 5: the identifier 'Someone'"),
    (lambda text: text.replace(",Yes,-,-,", ",Yes,-,-"), "line 5: 9 cells where the header has 10"),
])
def test_malformed_moodle_worksheets_are_explained(tmp_path, change, message):
    source = tmp_path / "worksheet.csv"
    source.write_text(change(MOODLE.read_text(encoding="utf-8")), encoding="utf-8")
    done = export("moodle", moodle_class(tmp_path), "--worksheet", source, "--output", tmp_path / "x.csv")
    assert done.returncode == 2 and message in done.stderr and str(source) in done.stderr, done.stderr
    assert not (tmp_path / "x.csv").exists()


def test_moodle_bad_timezone_and_bad_header_option(tmp_path):
    out = moodle_class(tmp_path)
    zone = export("moodle", out, "--worksheet", MOODLE, "--output", tmp_path / "x.csv", "--timezone", "Mars/Olympus")
    assert zone.returncode == 2 and "unknown time zone 'Mars/Olympus'" in zone.stderr
    header = export("moodle", out, "--worksheet", MOODLE, "--output", tmp_path / "x.csv", "--header", "mark=Note")
    assert header.returncode == 2 and "expected KEY=NAME with KEY one of identifier" in header.stderr


# ---------------------------------------------------------------- nbgrader

@pytest.fixture(scope="session")
def nbgrader_template(tmp_path_factory):
    """A real nbgrader gradebook with assignment ps1 and three students, made once (nbgrader runs alembic)."""
    from nbgrader.api import Gradebook

    path = tmp_path_factory.mktemp("nbgrader") / "gradebook.db"
    search_path = os.environ["PATH"]
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{search_path}"  # where the venv's alembic is
    try:
        with Gradebook(f"sqlite:///{path}") as gradebook:
            gradebook.add_assignment("ps1", duedate="2025-03-10 17:00:00")
            gradebook.add_student("57", first_name="Jane", last_name="Doe", email="jane@example.edu")
            gradebook.add_student("58", first_name="Wei", last_name="Li")
            gradebook.add_student("70", first_name="Ada", last_name="Absent")  # never has a result
    finally:
        os.environ["PATH"] = search_path
    return path


@pytest.fixture
def nbgrader_gradebook(tmp_path, nbgrader_template):
    """A fresh copy of the template gradebook, as a URL."""
    path = tmp_path / "gradebook.db"
    shutil.copy(nbgrader_template, path)
    return f"sqlite:///{path}"


def nbgrader_export(url, assignment, destination):
    """What `nbgrader export` itself writes for this gradebook (its CsvExportPlugin)."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins.export import CsvExportPlugin

    with Gradebook(url) as gradebook:
        CsvExportPlugin(to=str(destination), assignment=[assignment]).export(gradebook)
    return destination.read_text()


def test_nbgrader_gradebook_gets_the_scores_and_nbgrader_exports_the_same_csv(tmp_path, nbgrader_gradebook):
    from nbgrader.api import Gradebook

    out = write_results(tmp_path / "out", {"57": (0.875, {"lms": "nbgrader", "assignment": "ps1",
                                                          "timestamp": "2025-03-10 16:59:30.250000 UTC"}),
                                           "58": (1.0, None), "59": (0.5, None)})
    done = export("nbgrader", out, "--assignment", "ps1", "--to-gradebook", nbgrader_gradebook,
                  "--output", tmp_path / "grades.csv", "--create-students")
    assert done.returncode == 0, done.stderr
    assert "Added 1 student(s) to the gradebook: 59" in done.stdout
    assert "Wrote 3 score(s) into the notebook nn-grader of ps1" in done.stdout
    assert "70 (student 70, Ada Absent)" in done.stdout
    with Gradebook(nbgrader_gradebook) as gradebook:
        scores = {student: gradebook.find_submission("ps1", student).score for student in ("57", "58", "59")}
        assert scores == {"57": 87.5, "58": 100.0, "59": 50.0}
        assert gradebook.find_assignment("ps1").max_score == 100.0
        assert gradebook.find_grade("nn-grader-mlp", "nn-grader", "ps1", "57").auto_score == 21.875
    ours = (tmp_path / "grades.csv").read_text()
    theirs = nbgrader_export(nbgrader_gradebook, "ps1", tmp_path / "nbgrader.csv")
    assert ours.splitlines()[0] == theirs.splitlines()[0]
    assert sorted(ours.splitlines()) == sorted(theirs.splitlines())
    assert "ps1,2025-03-10 17:00:00,,70,Absent,Ada,,0.0,0.0,0.0,100.0" in ours
    assert "ps1,2025-03-10 17:00:00,2025-03-10 16:59:30.250000,57,Doe,Jane,jane@example.edu,87.5," in ours

    write_results(out, {"57": (0.5, None)})  # regraded: a second export updates, never duplicates
    again = export("nbgrader", out, "--assignment", "ps1", "--to-gradebook", nbgrader_gradebook, "--strict")
    assert again.returncode == 1, again.stdout  # --strict: Ada has no result
    with Gradebook(nbgrader_gradebook) as gradebook:
        assert gradebook.find_submission("ps1", "57").score == 50.0
        assert len(gradebook.find_notebook("nn-grader", "ps1").grade_cells) == 6


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # nbgrader's own add_submission, called here
def test_nbgrader_submission_made_before_our_notebook_is_completed(tmp_path, nbgrader_gradebook):
    from nbgrader.api import Gradebook

    with Gradebook(nbgrader_gradebook) as gradebook:
        gradebook.add_notebook("problem1", "ps1")
        gradebook.add_grade_cell("q1", "problem1", "ps1", max_score=5, cell_type="code")
        gradebook.add_submission("ps1", "57")
        gradebook.find_grade("q1", "problem1", "ps1", "57").auto_score = 4
        gradebook.db.commit()
    out = write_results(tmp_path / "out", {"57": (0.875, None), "58": (0.0, None), "61": (1.0, None)})
    done = export("nbgrader", out, "--assignment", "ps1", "--to-gradebook", nbgrader_gradebook)
    assert done.returncode == 0, done.stderr
    assert "no row in the nbgrader gradebook" in done.stdout and "  61\n" in done.stdout
    assert "Pass --create-students" in done.stdout
    with Gradebook(nbgrader_gradebook) as gradebook:
        assert gradebook.find_submission("ps1", "57").score == 4 + 87.5
        assert gradebook.find_submission("ps1", "58").score == 0.0
        assert [student.id for student in gradebook.students if student.id == "61"] == []


def test_nbgrader_refuses_an_unknown_assignment_unless_asked_to_create_it(tmp_path, nbgrader_gradebook):
    from nbgrader.api import Gradebook

    out = write_results(tmp_path / "out", {"57": (1.0, None)})
    refused = export("nbgrader", out, "--assignment", "ps2", "--to-gradebook", nbgrader_gradebook)
    assert refused.returncode == 2
    assert "the nbgrader gradebook has no assignment 'ps2' (it has: ps1)" in refused.stderr
    created = export("nbgrader", out, "--assignment", "ps2", "--to-gradebook", nbgrader_gradebook,
                     "--create-assignment")
    assert created.returncode == 0 and "Added the assignment ps2" in created.stdout
    with Gradebook(nbgrader_gradebook) as gradebook:
        assert gradebook.find_submission("ps2", "57").score == 100.0


def test_nbgrader_csv_alone_and_bad_destinations(tmp_path):
    out = write_results(tmp_path / "out", {"b": (0.5, None), "a,comma": (1.0, None)})
    done = export("nbgrader", out, "--assignment", "ps1", "--output", tmp_path / "grades.csv")
    assert done.returncode == 0, done.stderr
    assert list(csv.reader(io.StringIO((tmp_path / "grades.csv").read_text()))) == [
        ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email", "raw_score",
         "late_submission_penalty", "score", "max_score"],
        ["ps1", "", "", "a,comma", "", "", "", "100.0", "0.0", "100.0", "100.0"],
        ["ps1", "", "", "b", "", "", "", "50.0", "0.0", "50.0", "100.0"]]
    nowhere = export("nbgrader", out, "--assignment", "ps1")
    assert nowhere.returncode == 2 and "--to-gradebook" in nowhere.stderr
    missing = export("nbgrader", out, "--assignment", "ps1", "--to-gradebook", f"sqlite:///{tmp_path}/none.db")
    assert missing.returncode == 2 and "there is no nbgrader gradebook at" in missing.stderr
    (tmp_path / "empty.db").write_bytes(b"")
    empty = export("nbgrader", out, "--assignment", "ps1", "--to-gradebook", f"sqlite:///{tmp_path}/empty.db")
    assert empty.returncode == 2 and "is not an nbgrader gradebook" in empty.stderr


# ---------------------------------------------------------------- Canvas REST API

TOKEN = "test-token-1234"


class FakeCanvas:
    """Answers like Canvas for one course (42) and assignment (123); records every request."""

    def __init__(self, students, fail=None, points=20.0):
        self.students, self.fail, self.points = students, fail or {}, points
        self.requests = []
        handler = type("Handler", (_CanvasHandler,), {"canvas": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def puts(self):
        return {request["path"].rsplit("/", 1)[1]: request for request in self.requests if request["method"] == "PUT"}


class _CanvasHandler(BaseHTTPRequestHandler):
    canvas = None

    def log_message(self, *args):
        pass

    def _answer(self, status, body, headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if not isinstance(body, bytes) else "text/html")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        parts = urlsplit(self.path)
        self.canvas.requests.append({"method": method, "path": parts.path, "query": parse_qs(parts.query),
                                     "auth": self.headers.get("Authorization"), "form": parse_qs(body)})
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._answer(401, {"errors": [{"message": "Invalid access token."}]},
                                [("WWW-Authenticate", 'Bearer realm="canvas-lms"')])
        base = "/api/v1/courses/42"
        if method == "GET" and parts.path == base:
            return self._answer(200, {"id": 42, "name": "Neural networks 101"})
        if method == "GET" and parts.path == f"{base}/assignments/123":
            return self._answer(200, {"id": 123, "course_id": 42, "name": "MLP by hand",
                                      "points_possible": self.canvas.points})
        if method == "GET" and parts.path == f"{base}/assignments/123/submissions":
            page = int(parse_qs(parts.query).get("page", ["1"])[0])
            students = self.canvas.students[(page - 1) * 2: page * 2]  # two per page: pagination is exercised
            links = []
            if page * 2 < len(self.canvas.students):
                links = [("Link", f'<{self.canvas.url}{parts.path}?page={page + 1}&per_page=2>; rel="next"')]
            return self._answer(200, [{"id": 9000 + user, "user_id": user, "assignment_id": 123, "score": None}
                                      for user in students], links)
        found = re.fullmatch(rf"{base}/assignments/123/submissions/(\d+)", parts.path)
        if method == "PUT" and found:
            user = int(found.group(1))
            if user in self.canvas.fail:
                status = self.canvas.fail[user]
                if status == 401:
                    return self._answer(401, {"status": "unauthorized",
                                              "errors": [{"message": "user not authorized to perform that action"}]})
                return self._answer(status, b"<html>Internal Server Error</html>")
            grade = parse_qs(body).get("submission[posted_grade]", [""])[0]
            return self._answer(200, {"id": 9000 + user, "user_id": user, "assignment_id": 123, "grade": grade,
                                      "score": float(grade)})
        return self._answer(404, {"errors": [{"message": "The specified resource does not exist."}]})

    def do_GET(self):
        self._handle("GET")

    def do_PUT(self):
        self._handle("PUT")


def api_export(canvas, out, *extra, token=TOKEN):
    return export("canvas-api", out, "--url", canvas.url, "--course", "42", "--assignment", "123", *extra,
                  env={"CANVAS_API_TOKEN": token} if token is not None else {"CANVAS_API_TOKEN": ""})


def test_canvas_api_posts_grades_and_report_comments(tmp_path):
    report = "# Feedback for 57\n\n**Score: 87.5 of 100 points**\n\n- **FAILED** `mlp.values`\n"
    out = write_results(tmp_path / "out", {
        "57": (0.875, {"lms": "canvas", "canvas_user_id": 57, "name": "doejane", "late": False}),
        "61": (1.0, None), "99": (0.25, None)}, reports={"57": report})
    with FakeCanvas([57, 60, 61]) as canvas:
        done = api_export(canvas, out, "--comment-from-reports")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Posted 2 grade(s) to MLP by hand (1 with a comment)." in done.stdout
    assert "no row in the Canvas assignment 'MLP by hand'" in done.stdout and "  99\n" in done.stdout
    assert "60 (user 60)" in done.stdout
    assert all(request["auth"] == f"Bearer {TOKEN}" for request in canvas.requests)
    assert [request["path"] for request in canvas.requests if request["method"] == "GET"][:3] == [
        "/api/v1/courses/42", "/api/v1/courses/42/assignments/123", "/api/v1/courses/42/assignments/123/submissions"]
    puts = canvas.puts()
    assert set(puts) == {"57", "61"}
    assert puts["57"]["form"] == {"submission[posted_grade]": ["17.50"], "comment[text_comment]": [report]}
    assert puts["61"]["form"] == {"submission[posted_grade]": ["20.00"]}  # no report, no comment
    assert TOKEN not in done.stdout + done.stderr


def test_canvas_api_failures_are_listed_and_the_others_still_posted(tmp_path):
    out = write_results(tmp_path / "out", {str(user): (0.5, None) for user in (57, 58, 59, 61)})
    with FakeCanvas([57, 58, 59, 61], fail={58: 401, 59: 500}, points=0) as canvas:
        done = api_export(canvas, out, "--strict")
    assert done.returncode == 1
    assert set(canvas.puts()) == {"57", "58", "59", "61"}  # every student was tried
    assert canvas.puts()["61"]["form"]["submission[posted_grade]"] == ["50.00"]  # no points possible: as it is
    assert "grades were posted as our scores, out of 100" in done.stdout
    assert "Posted 2 grade(s)" in done.stdout and "2 grade(s) could not be posted:" in done.stdout
    assert "58 (user 58): HTTP 401: user not authorized to perform that action" in done.stdout
    assert "59 (user 59): Encountered an error: status code 500" in done.stdout
    assert "Traceback" not in done.stderr


def test_canvas_api_bad_token_stops_before_posting_anything(tmp_path):
    out = write_results(tmp_path / "out", {"57": (1.0, None)})
    with FakeCanvas([57]) as canvas:
        done = api_export(canvas, out, token="wrong")
        assert done.returncode == 2 and "HTTP 401: Invalid access token." in done.stderr
        assert "cannot reach course 42, assignment 123" in done.stderr and canvas.puts() == {}
        no_token = api_export(canvas, out, token=None)
        assert no_token.returncode == 2 and "CANVAS_API_TOKEN" in no_token.stderr
    unreachable = api_export(canvas, out)  # the server is gone
    assert unreachable.returncode == 2 and "no answer from Canvas (ConnectionError)" in unreachable.stderr


# ---------------------------------------------------------------- the pieces fit

def test_real_grade_then_canvas_export(tmp_path):
    submissions = tmp_path / "submissions"
    shutil.copytree(REPO / "solutions", submissions / "57", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "exercises", submissions / "59", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "out"
    graded = subprocess.run([sys.executable, "-m", "grader", "grade", submissions, "--out", out, "--workers", "1"],
                            cwd=REPO, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "GRADER_LANG": "en"})
    assert graded.returncode == 0, graded.stdout + graded.stderr
    done = export("canvas", out, "--gradebook", CANVAS, "--assignment", "1236", "--output", tmp_path / "import.csv",
                  "--strict")
    assert done.returncode == 1  # 58, 60 and 61 have no submission
    table = read_table(tmp_path / "import.csv")
    column = table.column("Neural networks by hand (1236)")
    by_id = {row.values[1]: row.values[column] for row in table.rows if row.values[1]}
    assert by_id["57"] == "20.00" and by_id["59"] == "0.00" and by_id["58"] == "EX" and by_id["61"] == ""


def test_csv_table_round_trips_untouched_files_exactly(tmp_path):
    for source in (CANVAS, MOODLE):
        table = read_table(source)
        assert table.render().encode("utf-8") == source.read_bytes()
    quoted = tmp_path / "quoted.csv"
    quoted.write_bytes(b'a,b,c\r\n"x\r\ny",2,"3"\r\n4,5,6')  # a cell with a line break, no final newline
    table = read_table(quoted)
    assert [row.line for row in table.rows] == [2, 4]
    table.rows[0].filled[2] = "new, with comma"
    table.rows[1].filled[0] = ""
    assert table.render() == 'a,b,c\r\n"x\r\ny",2,"new, with comma"\r\n,5,6'
    with pytest.raises(CsvFormatError, match="line 3: 2 cells"):
        (tmp_path / "ragged.csv").write_text("a,b,c\n1,2,3\n4,5\n")
        read_table(tmp_path / "ragged.csv")
