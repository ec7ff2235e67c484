"""nbgrader notebooks from the solutions, proven with real nbgrader 0.9.

Our CLI writes the source assignment; real `nbgrader generate_assignment` must
accept it and release notebooks without solutions or hidden tests; real
`nbgrader autograde` runs three students' notebooks in a real Jupyter kernel
(this interpreter, the grader package importable); the scores nbgrader records
must equal our batch grader's scores for the same code, notebook by notebook.
"""
import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import REPO
from grader import registry
from grader.grading import grade_submission
from grader.notebooks import STAND_IN_MARKER, called_names, exercise_notebook, split_solution, write_assignment
from grader.stubs import find_regions, make_stub

ASSIGNMENT = "nn"
HIDDEN_SEED = 20240917
STUDENTS = json.loads((REPO / "tests" / "fixtures" / "nbgrader" / "students.json").read_text())
STUDENT_IDS = sorted(name for name in STUDENTS if not name.startswith("_"))
PYTHON_BIN = str(Path(sys.executable).parent)


def nbgrader_environment(root: Path):
    """nbgrader and its kernels: this interpreter, grader importable, no user-wide Jupyter config."""
    kernels = root / "jupyter" / "kernels" / "python3"
    kernels.mkdir(parents=True, exist_ok=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (grader tests)", "language": "python"}))
    environment = dict(os.environ)
    environment.update({
        "PATH": PYTHON_BIN + os.pathsep + environment.get("PATH", ""),  # nbgrader runs `alembic` from PATH
        "PYTHONPATH": str(REPO), "JUPYTER_PATH": str(root / "jupyter"),
        "JUPYTER_CONFIG_DIR": str(root / "jupyter-config"), "JUPYTER_DATA_DIR": str(root / "jupyter-data"),
        "GRADER_LANG": "en", "PYTHONDONTWRITEBYTECODE": "1"})
    environment.pop("GRADER_SECRET", None)
    return environment


def run(command, cwd, environment, timeout=240):
    done = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def top_level_code(source):
    """(name -> code of the top-level statement defining it, [code of every other statement]) of a .py file."""
    tree, lines = ast.parse(source), source.splitlines()
    by_name, others = {}, []
    for index, statement in enumerate(tree.body):
        if index == 0 and isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # the module docstring
        start = min([statement.lineno] + [node.lineno for node in getattr(statement, "decorator_list", [])])
        code = "\n".join(lines[start - 1:statement.end_lineno])
        names = defined_names(statement)
        if names:
            by_name[names[0]] = code
        else:
            others.append(code)
    return by_name, others


def defined_names(statement):
    if isinstance(statement, (ast.FunctionDef, ast.ClassDef)):
        return [statement.name]
    if isinstance(statement, ast.Assign):
        return [node.id for target in statement.targets for node in ast.walk(target) if isinstance(node, ast.Name)]
    return []


def fill_notebook(released, source_notebook, student_source):
    """The released notebook with each solution cell holding the student's code for the names it defines.

    Student statements that no cell asks for (imports, helpers) go first in the first solution cell.
    """
    by_name, others = top_level_code(student_source)
    names_of = {}
    for cell in source_notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            names_of[meta["grade_id"]] = [name for statement in ast.parse(cell.source).body
                                          for name in defined_names(statement)]
    claimed = {name for names in names_of.values() for name in names}
    helpers = others + [code for name, code in by_name.items() if name not in claimed]
    filled = nbformat.from_dict(json.loads(json.dumps(released)))
    first = True
    for cell in filled.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("solution"):
            continue
        pieces = (helpers if first else []) + [by_name[name] for name in names_of[meta["grade_id"]] if name in by_name]
        cell.source = "\n\n\n".join(pieces)
        first = False
    return filled


def notebook_as_python(notebook):
    """The exercise file a notebook stands for: every code cell but the autograder test cells."""
    cells = [cell.source for cell in notebook.cells
             if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("grade")]
    return "\n\n\n".join(cells) + "\n"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A real nbgrader course: source from our CLI, released, submitted by three students, autograded."""
    root = tmp_path_factory.mktemp("nbgrader-course")
    course = root / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'nn-course'\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        f"c.CourseDirectory.db_url = {'sqlite:///' + str(course / 'gradebook.db')!r}\n")
    environment = nbgrader_environment(root)
    cli = run([sys.executable, "-m", "grader", "notebooks", "--output", str(course), "--assignment", ASSIGNMENT,
               "--hidden-seed", str(HIDDEN_SEED)], REPO, environment)
    run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT], course, environment)
    release = course / "release" / ASSIGNMENT
    py_files = root / "as-python"
    for student in STUDENT_IDS:
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (py_files / student).mkdir(parents=True)
        for exercise, handed_in in STUDENTS[student].items():
            released = nbformat.read(str(release / f"{exercise}.ipynb"), as_version=4)
            if handed_in != "released":
                source = nbformat.read(str(course / "source" / ASSIGNMENT / f"{exercise}.ipynb"), as_version=4)
                released = fill_notebook(released, source, (REPO / handed_in).read_text(encoding="utf-8"))
            nbformat.write(released, str(folder / f"{exercise}.ipynb"))
            (py_files / student / f"{exercise}.py").write_text(notebook_as_python(released), encoding="utf-8")
    autograde = run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--create"], course, environment, 600)
    return {"root": course, "cli": cli, "autograde": autograde, "py_files": py_files, "release": release}


def nbgrader_scores(course):
    """{student: {exercise: score}} as nbgrader's gradebook recorded them."""
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in STUDENT_IDS:
            submission = gradebook.find_submission(ASSIGNMENT, student)
            scores[student] = {notebook.name: notebook.score for notebook in submission.notebooks}
            scores[student]["total"] = submission.score
            assert submission.max_score == 100
    return scores


def test_cli_writes_one_notebook_per_exercise_worth_its_registry_points(course):
    source = course["root"] / "source" / ASSIGNMENT
    assert sorted(path.name for path in source.glob("*.ipynb")) == sorted(f"{e}.ipynb" for e in registry.EXERCISE_IDS)
    from nbgrader.nbgraderformat import MetadataValidator

    for exercise in registry.EXERCISES:
        notebook = nbformat.read(str(source / f"{exercise.id}.ipynb"), as_version=4)
        MetadataValidator().validate_nb(notebook)
        tests = [cell for cell in notebook.cells if cell.metadata["nbgrader"]["grade"]]
        assert {cell.metadata["nbgrader"]["grade_id"]: cell.metadata["nbgrader"]["points"] for cell in tests} == \
            {check.id.replace(".", "-"): check.points for check in exercise.checks}
        assert sum(cell.metadata["nbgrader"]["points"] for cell in tests) == exercise.points
        assert all(cell.metadata["nbgrader"]["locked"] and not cell.metadata["nbgrader"]["solution"] for cell in tests)
        solutions = [cell for cell in notebook.cells if cell.metadata["nbgrader"]["solution"]]
        assert solutions and all("### BEGIN SOLUTION" in cell.source and not cell.metadata["nbgrader"]["grade"]
                                 for cell in solutions)
        assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith(f"# {exercise.title}")
        defined = set()  # a test cell comes after every cell defining a name its check calls
        for cell in notebook.cells[1:]:
            meta = cell.metadata["nbgrader"]
            if meta["grade"]:
                check = next(check for check in exercise.checks if check.id.replace(".", "-") == meta["grade_id"])
                assert set(called_names(check, HIDDEN_SEED)) <= defined, check.id
            else:
                defined.update(name for statement in ast.parse(cell.source).body for name in defined_names(statement))
    assert "100 points in all" in course["cli"].stdout
    for name in ("step", "sigmoid"):
        text = (source / f"{name}.py").read_text()
        assert text.startswith(STAND_IN_MARKER) and "grader.harness.stand_ins" in text


def test_release_has_no_solution_code_and_no_hidden_tests(course):
    release = course["release"]
    for exercise in registry.EXERCISES:
        text = (release / f"{exercise.id}.ipynb").read_text(encoding="utf-8")
        released = nbformat.reads(text, as_version=4)
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "hidden_seed" not in text
        assert str(HIDDEN_SEED) not in text
        solution_text = (REPO / "solutions" / exercise.filename).read_text(encoding="utf-8")
        given = {line.strip() for line in make_stub(solution_text, exercise.filename).splitlines()}
        lines = solution_text.splitlines()
        secret = {line.strip() for begin, end, _indent in find_regions(solution_text, exercise.filename)
                  for line in lines[begin:end - 1] if len(line.strip()) > 8 and line.strip() not in given}
        released_lines = {line.strip() for cell in released.cells for line in cell.source.splitlines()}
        assert secret and not secret & released_lines, (exercise.id, secret & released_lines)
        released_code = "\n".join(cell.source for cell in released.cells)
        for check in exercise.checks:
            cell = next(cell for cell in released.cells
                        if cell.metadata.get("nbgrader", {}).get("grade_id") == check.id.replace(".", "-"))
            assert (f'run_check("{check.id}"' in cell.source) == (check.visibility == "public")
        assert released_code.count("raise NotImplementedError()") >= 1
    for name in ("step", "sigmoid"):  # the stand-ins travel with the release, unchanged
        assert (release / f"{name}.py").read_text() == (course["root"] / "source" / ASSIGNMENT / f"{name}.py").read_text()


def test_autograde_scores_equal_the_batch_graders_scores(course, zygote):
    recorded = nbgrader_scores(course["root"])
    for student in STUDENT_IDS:
        ours = grade_submission(course["py_files"] / student, student=student, visibilities=("public", "hidden"),
                                hidden_seed=HIDDEN_SEED, zygote=zygote)
        for result in ours.exercises:
            assert recorded[student][result.exercise] == result.score, (student, result.exercise, [
                (check.check_id, check.status, check.message[:120]) for check in result.checks])
        assert recorded[student]["total"] == ours.score
    assert recorded["ada"]["total"] == 100
    assert recorded["cai"]["total"] == 0 and set(recorded["cai"]) == set(registry.EXERCISE_IDS) | {"total"}
    assert 0 < recorded["bao"]["total"] < 100


def test_a_bug_in_step_is_charged_once(course):
    recorded = nbgrader_scores(course["root"])
    assert recorded["bao"]["step"] < registry.exercise("step").points  # z >= 0 fires at 0
    assert recorded["bao"]["perceptron"] == registry.exercise("perceptron").points  # graded with a correct step
    assert recorded["bao"]["mlp"] == registry.exercise("mlp").points  # and with a correct sigmoid


def test_autograded_notebooks_carry_our_feedback(course):
    graded = nbformat.read(str(course["root"] / "autograded" / "bao" / ASSIGNMENT / "sigmoid.ipynb"), as_version=4)
    cell = next(cell for cell in graded.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == "sigmoid-extremes")
    error = next(output for output in cell.outputs if output.output_type == "error")
    assert error.ename == "CheckFailed"
    assert "FAIL sigmoid.extremes" in error.evalue and "expected 1.0, got nan" in error.evalue
    assert "Hint:" in error.evalue
    passed = next(cell for cell in graded.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == "sigmoid-values")
    assert all(output.output_type == "stream" and output.name == "stdout" for output in passed.outputs)
    assert "PASS sigmoid.values" in "".join(output.text for output in passed.outputs)
    hidden = next(cell for cell in graded.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == "sigmoid-hidden")
    assert f"hidden_seed={HIDDEN_SEED}" in hidden.source  # autograde put the hidden test back


# In-process tests of the pieces (no nbgrader run).

def test_split_solution_keeps_comments_decorators_and_module_level_regions():
    source = '''"""Doc."""
import torch


@staticmethod
def given():
    return 1


# The gates.
### BEGIN SOLUTION
A = 1
B, C = 2, 3
### END SOLUTION


def solve(x):
    """Teach."""
    ### BEGIN SOLUTION
    return x
    ### END SOLUTION
# trailing remark
'''
    docstring, parts = split_solution(source, "demo.py")
    assert docstring == "Doc."
    assert [(part.is_solution, part.names) for part in parts] == [
        (False, ("given",)), (True, ("A", "B", "C")), (True, ("solve",))]
    assert parts[0].code.startswith("import torch") and "@staticmethod" in parts[0].code
    assert parts[1].code.startswith("# The gates.") and parts[1].code.endswith("### END SOLUTION")
    assert parts[2].code.endswith("# trailing remark")


def test_bad_solutions_and_names_get_clear_messages(tmp_path):
    with pytest.raises(ValueError, match="demo.py: no '### BEGIN SOLUTION' region"):
        split_solution("import torch\n", "demo.py")
    with pytest.raises(ValueError, match="demo.py, line 1: the solution does not parse"):
        split_solution("def f(:\n  pass\n", "demo.py")
    with pytest.raises(ValueError, match="assignment name '../x'"):
        write_assignment(output=tmp_path, assignment="../x", hidden_seed=1)
    with pytest.raises(ValueError, match=r"step\.py cannot be read"):
        write_assignment(output=tmp_path, hidden_seed=1, solutions_dir=tmp_path / "nowhere")
    assert not (tmp_path / "source").exists()  # nothing half-written
    step = registry.exercise("step")
    with pytest.raises(ValueError, match="step.py: check step.scalar uses step, which the solution does not define"):
        exercise_notebook(step, "import torch\n\ndef other():\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION\n",
                          hidden_seed=1)


def test_cli_rejects_a_bad_hidden_seed_with_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "grader", "notebooks", "--output", str(tmp_path), "--hidden-seed", "soon"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--hidden-seed must be a whole number" in done.stderr
    assert "Traceback" not in done.stderr


def test_hidden_seed_comes_from_the_secret_when_not_given(tmp_path):
    from grader.commands.notebooks import hidden_seed_from
    from grader.seeds import hidden_seed

    seed, where = hidden_seed_from(given=None, secret="s3cret", assignment="nn")
    assert seed == hidden_seed("s3cret", "nbgrader:nn") and where == "--secret"
    assert hidden_seed_from(given="7", secret="s3cret", assignment="nn") == (7, "--hidden-seed")


def namespace_of(source):
    """Run source as a notebook would (module __main__), in a fresh namespace."""
    namespace = {"__name__": "__main__"}
    exec(compile(source, "/tmp/ipykernel_0/cell.py", "exec"), namespace)
    return namespace


def test_run_check_passes_the_reference_and_fails_a_stand_in_shortcut(capsys):
    from grader.nbgrader_checks import CheckFailed, run_check

    reference = namespace_of((REPO / "solutions" / "step.py").read_text())
    assert run_check("step.tensor", reference) is None  # no cell result: nbgrader would read it as partial credit
    assert "PASS step.tensor" in capsys.readouterr().out
    shortcut = namespace_of("from grader.harness.stand_ins import make_stand_ins\nstep = make_stand_ins()['step'].step\n")
    with pytest.raises(CheckFailed, match="(?s)MISSING step.tensor .*step.ipynb does not define step"):
        run_check("step.tensor", shortcut)
    with pytest.raises(ValueError, match="there is no check 'step.nope'"):
        run_check("step.nope", reference)


def test_run_check_keeps_student_stderr_off_stderr_and_hides_hidden_values(capsys):
    from grader.nbgrader_checks import CheckFailed, run_check

    noisy = namespace_of("import sys\nimport torch\n\ndef step(z):\n    print('debug', file=sys.stderr)\n"
                         "    return (torch.as_tensor(z) >= 0).double()\n")
    with pytest.raises(CheckFailed) as failure:
        run_check("step.hidden", noisy, hidden_seed=3)
    captured = capsys.readouterr()
    assert captured.err == "" and "debug" in captured.out
    assert "wrong on hidden inputs" in str(failure.value) and "expected" not in str(failure.value)
