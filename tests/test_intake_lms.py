"""LMS downloads as SUBMISSIONS: Canvas and Moodle zips, nbgrader's submitted tree, read safely and graded.

Fixtures are built here as the LMS builds them (names, layouts, a student's zip inside, notebooks
written with nbformat), plus two committed downloads in tests/fixtures/lms (make_fixtures.py).
"""
import csv
import gc
import json
import shutil
import stat
import subprocess
import sys
import zipfile

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from conftest import REPO
from test_intake import make_zip
from grader.batch import grade_class
from grader.config import EXERCISE_IDS, SOLUTIONS_DIR
from grader.intake import discover, stage
from grader.lms_intake import ClassError, LmsEntry, notebook_to_python, open_class

LMS_FIXTURES = REPO / "tests" / "fixtures" / "lms"
CANVAS_ZIP = LMS_FIXTURES / "nn101-hw1_submissions.zip"
MOODLE_ZIP = LMS_FIXTURES / "NN101-Perceptrons-4242.zip"
BUGGY_SIGMOID = REPO / "tests" / "fixtures" / "submissions" / "sigmoid_sign_error" / "sigmoid.py"


def zip_bytes(tmp_path, entries, name="inner.zip"):
    return make_zip(tmp_path / name, entries).read_bytes()


def reference(exercise):
    return (SOLUTIONS_DIR / f"{exercise}.py").read_bytes()


def staged_files(submission):
    return sorted(path.relative_to(submission.folder).as_posix() for path in submission.folder.rglob("*") if path.is_file())


def stage_all(layout, root):
    return {student: stage(student, source, root / "staging") for student, source in layout.entries}


# --- Canvas ---------------------------------------------------------------------------------------

def canvas_download(tmp_path):
    handin = zip_bytes(tmp_path, {"hw1/step.py": b"def step(z):\n    return 0\n", "hw1/mlp.py": b"m = 1\n",
                                  "__MACOSX/hw1/._mlp.py": b"junk"})
    return make_zip(tmp_path / "nn101-hw1_submissions.zip", {
        "doejane_57_9876_step.py": b"s = 'first upload'\n",
        "doejane_57_9877_sigmoid.py": b"v = 'old'\n",
        "doejane_57_9950_sigmoid-1.py": b"v = 'resubmitted'\n",
        "doejane_57_9951_notes-1.txt": b"not an exercise, keeps its name\n",
        "王小明_LATE_58_9878_handin.zip": handin,
        "王小明_LATE_58_9879_step.py": b"s = 'uploaded next to the zip'\n",
        "smithbob_59_text.html": b"<p>online text</p>",
        "smithbob_59_9990_perceptron.py": b"p = 1\n",
        "LATE_anon_x1y2z_9991_chain_rule.py": b"c = 1\n",
    })


def test_a_canvas_zip_groups_files_per_student_keeps_late_and_the_newest_upload(tmp_path):
    layout = open_class(canvas_download(tmp_path))
    assert layout.kind == "canvas"
    assert [student for student, _ in layout.entries] == ["57", "58", "59", "anon_x1y2z"]
    assert layout.summary.startswith("nn101-hw1_submissions.zip: Canvas download, 4 student(s)")
    assert "1 late" not in layout.summary and "2 late" in layout.summary
    staged = stage_all(layout, tmp_path)
    jane = staged["57"]
    assert not jane.problem
    assert staged_files(jane) == ["notes-1.txt", "sigmoid.py", "step.py"]
    assert (jane.folder / "sigmoid.py").read_text() == "v = 'resubmitted'\n"
    assert jane.meta["lms"] == "canvas" and jane.meta["canvas_user_id"] == "57" and jane.meta["name"] == "doejane"
    assert jane.meta["late"] is False
    assert jane.meta["files"] == ["step.py", "sigmoid.py", "notes-1.txt"]  # oldest upload first
    assert jane.meta["renamed"] == {"sigmoid-1.py": "sigmoid.py"}
    assert any("doejane_57_9877_sigmoid.py (file 9877) dropped" in note and "9950" in note for note in jane.meta["notes"])
    wang = staged["58"]
    assert wang.meta["late"] is True and wang.meta["name"] == "王小明"
    assert staged_files(wang) == ["mlp.py", "step.py"]  # the zip's wrapping folder and macOS junk are gone
    assert (wang.folder / "step.py").read_text() == "s = 'uploaded next to the zip'\n"  # the newer upload wins
    assert any("step.py was handed in more than once" in note for note in wang.meta["notes"])
    bob = staged["59"]
    assert staged_files(bob) == ["perceptron.py"]
    assert any("smithbob_59_text.html ignored" in note for note in bob.meta["notes"])
    anonymous = staged["anon_x1y2z"]
    assert not anonymous.problem and anonymous.meta["anonymous"] is True and anonymous.meta["late"] is True


def test_the_folder_a_canvas_zip_unpacks_to_reads_the_same(tmp_path):
    download = canvas_download(tmp_path)
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(download) as archive:
        archive.extractall(folder)
    from_zip, from_folder = open_class(download), open_class(folder)
    assert from_folder.kind == "canvas" and from_folder.folder == folder
    assert [(student, entry.meta) for student, entry in from_zip.entries] == \
        [(student, entry.meta) for student, entry in from_folder.entries]
    first, second = stage_all(from_zip, tmp_path / "a"), stage_all(from_folder, tmp_path / "b")
    assert {student: item.digest for student, item in first.items()} == {student: item.digest for student, item in second.items()}


def test_zip_slip_inside_a_canvas_download_is_refused_and_charged_to_its_student(tmp_path):
    download = make_zip(tmp_path / "class.zip", {
        "doejane_57_9876_step.py": b"s = 1\n",
        "../doejane_57_9877_sigmoid.py": b"owned = True\n",
        "/etc/smithbob_59_9878_step.py": b"owned = True\n",
        "kimmin_60_9879_mlp.py": (b"/etc/passwd", stat.S_IFLNK | 0o777),
        "../../evil.py": b"owned = True\n",
        "leeann_61_9880_step.py": b"s = 2\n",
    })
    layout = open_class(download)
    scratch = layout.folder
    assert not (tmp_path / "doejane_57_9877_sigmoid.py").exists() and not (tmp_path.parent / "evil.py").exists()
    assert sorted(path.name for path in scratch.rglob("*")) == ["doejane_57_9876_step.py", "leeann_61_9880_step.py"]
    staged = stage_all(layout, tmp_path)
    assert "unsafe path" in staged["57"].problem and "doejane_57_9877_sigmoid.py" in staged["57"].problem
    assert "unsafe path" in staged["59"].problem
    assert "symbolic link" in staged["60"].problem
    assert not staged["61"].problem and staged_files(staged["61"]) == ["step.py"]
    assert staged["57"].meta["canvas_user_id"] == "57"  # a problem result still says whose it is
    assert "evil.py" in layout.summary  # what belongs to nobody is named, not dropped
    del layout, staged
    gc.collect()
    assert not scratch.exists()  # the unpacked download goes away with its layout


def test_a_students_zip_inside_a_canvas_download_keeps_the_student_zip_rules(tmp_path):
    bad = zip_bytes(tmp_path, {"step.py": b"s = 1\n", "../../escape.py": b"owned = True\n"}, name="bad.zip")
    download = make_zip(tmp_path / "class.zip", {"doejane_57_9876_handin.zip": bad, "smithbob_59_9877_step.py": b"s = 1\n"})
    staged = stage_all(open_class(download), tmp_path)
    assert "unsafe path" in staged["57"].problem and staged["57"].folder is None
    assert not staged["59"].problem
    assert not list(tmp_path.rglob("escape.py"))


def test_the_course_stand_in_inside_a_students_zip_is_not_graded_as_theirs(tmp_path):
    from grader.notebooks import STAND_IN_MARKER

    handin = zip_bytes(tmp_path, {"hw/step.py": (STAND_IN_MARKER + "\nfrom grader.harness.stand_ins import step\n").encode(),
                                  "hw/perceptron.py": reference("perceptron")})
    download = make_zip(tmp_path / "class.zip", {"doejane_57_9876_handin.zip": handin})
    submission = stage_all(open_class(download), tmp_path)["57"]
    assert staged_files(submission) == ["perceptron.py"]
    assert any("step.py ignored: it is the course's stand-in module" in note for note in submission.meta["notes"])


# --- Moodle ---------------------------------------------------------------------------------------

def test_a_moodle_download_with_spaces_chinese_names_a_student_zip_and_online_text(tmp_path):
    handin = zip_bytes(tmp_path, {"作业/step.py": b"s = 1\n", "作业/sigmoid.py": b"g = 1\n"})
    download = make_zip(tmp_path / "NN101-Perceptrons-4242.zip", {
        "王小明_1234567_assignsubmission_file/handin.zip": handin,
        "Jane Doe_1234568_assignsubmission_file_/step.py": b"s = 2\n",  # Moodle 3.x adds a trailing _
        "Jane Doe_1234568_assignsubmission_file_/exercises/mlp.py": b"m = 2\n",
        "Jane Doe_1234568_assignsubmission_onlinetext_/onlinetext.html": b"<p>see files</p>",
        "Li Lei_1234569_assignsubmission_onlinetext/onlinetext.html": b"<p>only text</p>",
    })
    layout = open_class(download)
    assert layout.kind == "moodle"
    assert [student for student, _ in layout.entries] == ["1234567", "1234568", "1234569"]
    assert "Moodle download, 3 participant(s)" in layout.summary
    staged = stage_all(layout, tmp_path)
    wang = staged["1234567"]
    assert wang.meta == {"lms": "moodle", "participant_id": "1234567", "name": "王小明", "files": ["handin.zip"]}
    assert staged_files(wang) == ["sigmoid.py", "step.py"]
    jane = staged["1234568"]
    assert jane.meta["name"] == "Jane Doe" and jane.meta["files"] == ["exercises/mlp.py", "step.py"]
    assert staged_files(jane) == ["exercises/mlp.py", "step.py"]
    assert any("onlinetext" in note and "ignored" in note for note in jane.meta["notes"])
    assert "handed in no files" in staged["1234569"].problem and staged["1234569"].meta["name"] == "Li Lei"


def test_names_in_a_zip_without_the_utf8_flag_are_read_as_utf8(tmp_path):
    """Windows tools and old PHP write UTF-8 names without flagging them; zipfile would show mojibake."""
    name = "王小明_1234567_assignsubmission_file/step.py"
    placeholder = "X" * len(name.encode())
    path = make_zip(tmp_path / "download.zip", {placeholder: b"s = 1\n"})
    path.write_bytes(path.read_bytes().replace(placeholder.encode(), name.encode()))
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() != [name]  # as read without the flag: cp437
    layout = open_class(path)
    assert layout.kind == "moodle" and layout.entries[0][1].meta["name"] == "王小明"


def test_the_committed_moodle_download_reads_as_moodle(tmp_path):
    layout = open_class(MOODLE_ZIP)
    staged = stage_all(layout, tmp_path)
    assert sorted(staged) == ["1234567", "1234568"]
    assert staged_files(staged["1234567"]) == sorted(f"{exercise}.py" for exercise in EXERCISE_IDS)
    assert staged_files(staged["1234568"]) == ["exercises/sigmoid.py", "step.py"]


# --- nbgrader -------------------------------------------------------------------------------------

def nbgrader_cell(source, *, grade, solution, grade_id, points=0):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": grade, "solution": solution, "locked": not solution, "grade_id": grade_id,
                                 "schema_version": 3, "task": False, **({"points": points} if grade else {})}
    return cell


def exercise_notebook(exercise, code):
    """A submitted notebook as nbgrader's convention has it: setup, the student's solution, an autograder test."""
    return new_notebook(cells=[
        new_markdown_cell(f"# {exercise}"),
        nbgrader_cell("%matplotlib inline\nimport math", grade=False, solution=False, grade_id=f"{exercise}-setup"),
        nbgrader_cell(code, grade=False, solution=True, grade_id=f"{exercise}-solution"),
        nbgrader_cell("raise AssertionError('the test cell ran')", grade=True, solution=False,
                      grade_id=f"{exercise}-test", points=5),
    ])


def write_notebook(path, notebook):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))


def test_notebooks_become_exercise_files_without_test_cells_and_with_magics_commented(tmp_path):
    code = "!pip install nothing\ndef step(z):\n    %time z\n    return 1.0 if z > 0 else 0.0"
    path = tmp_path / "step.ipynb"
    notebook = exercise_notebook("step", code)
    notebook.cells.append(new_code_cell("%%bash\necho this is not python"))
    notebook.cells.append(new_code_cell("%%time\nx = step(1.0)"))
    write_notebook(path, notebook)
    source = notebook_to_python(path, label="step.ipynb")
    compile(source, "step.py", "exec")  # plain Python now (compiled only: it is run by the isolated child, never here)
    assert "the test cell ran" not in source
    assert "# %matplotlib inline\nimport math\n" in source and "# !pip install nothing\ndef step(z):\n    # %time z\n" in source
    assert "# %%bash\n# echo this is not python" in source and "# %%time\nx = step(1.0)" in source
    assert source.index("import math") < source.index("def step") < source.index("x = step(1.0)")  # cells in order


def nbgrader_course(tmp_path):
    course = tmp_path / "course"
    (course / "source" / "ps1").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.course_id = 'nn101'\n")
    alice = course / "submitted" / "alice" / "ps1"
    for exercise in EXERCISE_IDS:
        write_notebook(alice / f"{exercise}.ipynb", exercise_notebook(exercise, reference(exercise).decode()))
    (alice / "timestamp.txt").write_text("2025-03-03 10:00:00.000000 UTC")
    bob = course / "submitted" / "bob" / "ps1"
    write_notebook(bob / "step.ipynb", exercise_notebook("step", reference("step").decode()))
    (bob / "sigmoid.ipynb").write_text('{"cells": [ this is not json')
    carol = course / "submitted" / "carol" / "ps1"
    carol.mkdir(parents=True)
    (carol / "sigmoid.py").write_bytes(reference("sigmoid"))
    write_notebook(course / "submitted" / "dan" / "ps2" / "step.ipynb", exercise_notebook("step", "x = 1"))
    return course


def test_an_nbgrader_course_needs_the_assignment_when_it_holds_several(tmp_path):
    course = nbgrader_course(tmp_path)
    with pytest.raises(ClassError, match=r"several assignments \(ps1, ps2\); choose one with --assignment"):
        open_class(course)
    with pytest.raises(ClassError, match="no student in submitted has handed in ps9"):
        open_class(course / "submitted", assignment="ps9")
    layout = open_class(course, assignment="ps1")
    assert layout.kind == "nbgrader" and layout.folder == course / "submitted" and layout.assignment == "ps1"
    assert [student for student, _ in layout.entries] == ["alice", "bob", "carol"]
    assert "1 student(s) without ps1: dan" in layout.summary
    assert course.resolve() in layout.private_folders  # source/ holds the solutions: hidden from student code
    staged = stage_all(layout, tmp_path)
    alice = staged["alice"]
    assert staged_files(alice) == sorted(f"{exercise}.py" for exercise in EXERCISE_IDS)
    assert alice.meta == {"lms": "nbgrader", "assignment": "ps1", "timestamp": "2025-03-03 10:00:00.000000 UTC",
                          "files": sorted(f"{exercise}.ipynb" for exercise in EXERCISE_IDS)}
    assert "the test cell ran" not in (alice.folder / "mlp.py").read_text()
    assert "sigmoid.ipynb is not a readable notebook" in staged["bob"].problem
    assert "bob/ps1/sigmoid.ipynb" in staged["bob"].problem
    assert not staged["carol"].problem and staged_files(staged["carol"]) == ["sigmoid.py"]


def test_the_submitted_folder_with_one_assignment_needs_no_choice(tmp_path):
    submitted = tmp_path / "submitted"
    write_notebook(submitted / "ann" / "hw" / "sigmoid.ipynb", exercise_notebook("sigmoid", "y = 1"))
    layout = open_class(submitted)
    assert layout.kind == "nbgrader" and layout.assignment == "hw" and "timestamp" not in layout.entries[0][1].meta


def test_an_unanswered_stub_cell_costs_only_its_own_names_and_stand_in_modules_are_never_graded(tmp_path):
    from grader.notebooks import STAND_IN_MARKER

    folder = tmp_path / "submitted" / "ann" / "hw"
    notebook = exercise_notebook("perceptron", "import torch\nfrom step import step\ndef perceptron(x, w, b):\n    return 1")
    notebook.cells.append(nbgrader_cell("# YOUR CODE HERE\nraise NotImplementedError()", grade=False, solution=True,
                                        grade_id="gates"))
    notebook.cells.append(nbgrader_cell("ANSWER = 42", grade=False, solution=True, grade_id="after"))
    write_notebook(folder / "perceptron.ipynb", notebook)
    (folder / "step.py").write_text(STAND_IN_MARKER + "\nfrom grader.harness.stand_ins import step\n")
    layout = open_class(tmp_path / "submitted")
    submission = stage_all(layout, tmp_path)["ann"]
    assert staged_files(submission) == ["perceptron.py"]  # the stand-in beside the notebooks stays behind
    assert any("stand-in" in note for note in submission.meta["notes"])
    source = (submission.folder / "perceptron.py").read_text()
    namespace = {}
    exec(compile(source.replace("from step import step", "step = None"), "perceptron.py", "exec"), namespace)  # our own fixture text
    assert namespace["ANSWER"] == 42 and callable(namespace["perceptron"])  # the stub cell did not stop the file
    assert "# raise NotImplementedError()" in source


# --- layouts as a whole ---------------------------------------------------------------------------

def test_plain_folders_keep_their_layout(tmp_path):
    layout = open_class(REPO / "samples" / "class")
    assert layout.kind == "plain" and list(layout.entries) == discover(REPO / "samples" / "class")
    assert "one folder or zip per student, 13 student(s)" in layout.summary
    plain = tmp_path / "submitted"  # a plain class that happens to have nbgrader's folder name
    (plain / "ada").mkdir(parents=True)
    (plain / "ada" / "step.py").write_text("s = 1\n")
    (plain / "notes.txt").write_text("")
    layout = open_class(plain)
    assert layout.kind == "plain" and [student for student, _ in layout.entries] == ["ada"]
    assert "ignored: notes.txt" in layout.summary


def test_a_class_zip_of_student_folders_is_plain_too(tmp_path):
    download = make_zip(tmp_path / "class.zip", {"ada/step.py": b"s = 1\n", "ben/sigmoid.py": b"g = 1\n",
                                                 "ben/../../evil.py": b"owned = True\n"})
    layout = open_class(download)
    assert layout.kind == "plain"
    staged = stage_all(layout, tmp_path)
    assert staged_files(staged["ada"]) == ["step.py"]
    assert "unsafe path" in staged["ben"].problem
    layout.close()
    assert not layout.folder.exists()


def test_a_download_zipped_again_inside_a_folder_is_found(tmp_path):
    download = make_zip(tmp_path / "again.zip", {"submissions/doejane_57_9876_step.py": b"s = 1\n",
                                                 "submissions/smithbob_59_9877_step.py": b"s = 2\n",
                                                 "submissions/../../outside.py": b"owned = True\n"})
    layout = open_class(download)
    assert layout.kind == "canvas" and [student for student, _ in layout.entries] == ["57", "59"]
    assert "outside.py" in layout.summary  # refused, and said so, though it belongs to no student


def test_mixed_unknown_and_unreadable_submissions_are_refused_with_the_entries_named(tmp_path):
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for name in ("doejane_57_9876_step.py", "smithbob_59_9877_step.py", "leeann_61_9878_step.py"):
        (mixed / name).write_text("s = 1\n")
    (mixed / "alice").mkdir()
    (mixed / "bob.zip").write_bytes(b"PK")
    with pytest.raises(ClassError, match=r"mixes layouts .*most entries are Canvas download files, these are not: alice, bob.zip"):
        open_class(mixed)
    lms = tmp_path / "lms"
    lms.mkdir()
    (lms / "doejane_57_9876_step.py").write_text("s = 1\n")
    (lms / "Jane Doe_1234568_assignsubmission_file").mkdir()
    with pytest.raises(ClassError, match="Jane Doe_1234568_assignsubmission_file|doejane_57_9876_step.py"):
        open_class(lms)
    (tmp_path / "grades.csv").write_text("a,b\n")
    with pytest.raises(ClassError, match="is not a folder of submissions nor a .zip download"):
        open_class(tmp_path / "grades.csv")
    with pytest.raises(ClassError, match="is not a folder of submissions"):
        open_class(tmp_path / "nowhere")
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ClassError, match="broken.zip is not a readable zip file"):
        open_class(tmp_path / "broken.zip")


def test_stray_files_next_to_a_canvas_download_are_named_as_ignored(tmp_path):
    folder = tmp_path / "download"
    folder.mkdir()
    (folder / "doejane_57_9876_step.py").write_text("s = 1\n")
    (folder / "README.txt").write_text("from the TA\n")
    (folder / ".DS_Store").write_text("")
    layout = open_class(folder)
    assert layout.kind == "canvas" and "ignored: README.txt" in layout.summary and "DS_Store" not in layout.summary


def test_an_lms_entry_with_a_bad_student_id_gets_a_problem_with_its_meta(tmp_path):
    folder = tmp_path / "submitted" / "-rf" / "ps1"
    folder.mkdir(parents=True)
    (folder / "step.py").write_text("s = 1\n")
    (student, entry), = open_class(tmp_path / "submitted").entries
    assert isinstance(entry, LmsEntry)
    submission = stage(student, entry, tmp_path / "staging")
    assert "student id" in submission.problem and submission.meta["assignment"] == "ps1"


# --- graded end to end ----------------------------------------------------------------------------

def test_grade_class_on_a_canvas_zip_writes_the_lms_facts_into_the_results(tmp_path):
    out = tmp_path / "out"
    events = []
    summary = grade_class(submissions_dir=CANVAS_ZIP, out_dir=out, workers=2, secret="s",
                          on_progress=lambda event, **info: events.append((event, info)))
    assert sorted(item.student for item in summary.graded) == ["57", "58", "59"]
    intake = [info["summary"] for event, info in events if event == "intake"]
    assert intake and "Canvas download, 3 student(s)" in intake[0]
    scores = {row["student"]: row for row in csv.DictReader((out / "grades.csv").open())}
    assert float(scores["58"]["score"]) == 100.0
    assert float(scores["57"]["sigmoid"]) == float(scores["58"]["sigmoid"]) > 0  # the resubmitted sigmoid is graded
    assert float(scores["59"]["step"]) < float(scores["58"]["step"])
    wang = json.loads((out / "results" / "58.json").read_text())
    assert wang["submission"]["lms"] == "canvas" and wang["submission"]["late"] is True
    assert wang["submission"]["name"] == "王小明"
    jane = json.loads((out / "results" / "57.json").read_text())
    assert jane["submission"]["renamed"] == {"sigmoid-1.py": "sigmoid.py"} and jane["submission"]["notes"]
    bob = json.loads((out / "results" / "59.json").read_text())
    assert any("text.html ignored" in note for note in bob["submission"]["notes"])


def test_grade_class_on_an_nbgrader_course_grades_the_notebooks(tmp_path):
    course = nbgrader_course(tmp_path)
    out = tmp_path / "out"
    grade_class(submissions_dir=course, out_dir=out, workers=2, secret="s", assignment="ps1", students=["alice", "bob"])
    alice = json.loads((out / "results" / "alice.json").read_text())
    assert alice["score"] == 100.0  # every solution cell graded, no test cell run
    assert alice["submission"]["timestamp"] == "2025-03-03 10:00:00.000000 UTC"
    bob = json.loads((out / "results" / "bob.json").read_text())
    assert bob["score"] == 0 and "not a readable notebook" in bob["exercises"]["step"]["checks"][0]["message"]


def test_the_cli_grades_a_canvas_download_zip(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "grader", "grade", str(CANVAS_ZIP), "--out", str(out),
                           "--workers", "2", "--secret", "k", "--student", "58", "--student", "59"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "nn101-hw1_submissions.zip: Canvas download, 3 student(s)" in done.stdout
    rows = list(csv.DictReader((out / "grades.csv").open()))
    assert [row["student"] for row in rows] == ["58", "59"]
    assert json.loads((out / "results" / "58.json").read_text())["submission"]["canvas_user_id"] == "58"
    mixed = tmp_path / "mixed"
    shutil.copytree(REPO / "samples" / "class" / "alice", mixed / "alice")
    (mixed / "doejane_57_9876_step.py").write_text("s = 1\n")
    refused = subprocess.run([sys.executable, "-m", "grader", "grade", str(mixed), "--out", str(tmp_path / "o")],
                             cwd=REPO, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "mixes layouts" in refused.stderr and "Traceback" not in refused.stderr
