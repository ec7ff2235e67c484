"""Gradescope autograder: the zip built by the real CLI, run by the real run_autograder.

The zip is unpacked into a made-up Gradescope tree (ROOT/source, ROOT/submission,
ROOT/results, ROOT/submission_metadata.json) and run_autograder runs with bash,
pointed at the tree by AUTOGRADER_ROOT and at this interpreter by GRADER_PYTHON.
Every results.json is validated against our schema of Gradescope's specification.
"""
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from grader import registry
from grader.gradescope import FALLBACK_STUDENT, results_document, student_from_metadata, Submitter
from grader.results import CheckResult, ExerciseResult, SubmissionResult

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples" / "class"
SCHEMA = json.loads((REPO / "tests" / "schemas" / "gradescope_results.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA)
SECRET = "course-secret-for-tests-5b1e"
USER_ID = 4242
CLEAN_ENV = {key: value for key, value in os.environ.items()
             if key not in ("GRADER_SECRET", "GRADER_TIMEOUT", "GRADER_LANG", "AUTOGRADER_ROOT", "PYTHONPATH")}
POINTS = {exercise.id: exercise.points for exercise in registry.EXERCISES}


def build(output, *arguments):
    return subprocess.run([sys.executable, "-m", "grader", "gradescope", "--output", str(output), *arguments],
                          cwd=REPO, env=CLEAN_ENV, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    output = tmp_path_factory.mktemp("build") / "autograder.zip"
    done = build(output, "--secret", SECRET)
    assert done.returncode == 0, done.stderr
    assert str(output) in done.stdout and "--secret" in done.stdout
    return output


def unpack(archive: Path, target: Path):
    """Unpack as unzip does on Gradescope: with the Unix modes recorded in the zip."""
    with zipfile.ZipFile(archive) as bundle:
        for info in bundle.infolist():
            path = Path(bundle.extract(info, target))
            path.chmod(stat.S_IMODE(info.external_attr >> 16))


def make_tree(archive, root: Path, *, metadata=True):
    """ROOT/{source,submission,results}, run_autograder copied to ROOT as Gradescope does; returns ROOT/submission."""
    unpack(archive, root / "source")
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "results").mkdir()
    (root / "submission").mkdir()
    if metadata:
        (root / "submission_metadata.json").write_text(json.dumps({
            "id": 123456, "created_at": "2026-11-29T14:22:32.365935-07:00", "submission_method": "upload",
            "assignment": {"id": 25828, "title": "Neural networks 1", "total_points": "100.0"},
            "users": [{"email": "student@example.com", "id": USER_ID, "name": "Student User"}],
            "previous_submissions": []}))
    return root / "submission"


def run_autograder(root: Path, **environment):
    """Run ROOT/run_autograder with bash; returns (the process, the validated results.json)."""
    env = dict(CLEAN_ENV, AUTOGRADER_ROOT=str(root), GRADER_PYTHON=sys.executable)
    env.update(environment)
    done = subprocess.run(["bash", str(root / "run_autograder")], env=env, cwd=root, capture_output=True, text=True,
                          timeout=300)
    results_file = root / "results" / "results.json"
    assert results_file.exists(), done.stdout + done.stderr
    results = json.loads(results_file.read_text())
    errors = [f"{list(error.path)}: {error.message}" for error in VALIDATOR.iter_errors(results)]
    assert not errors, errors
    return done, results


def by_exercise(results):
    tests = {}
    for test in results["tests"]:
        tests.setdefault(test["tags"][0], []).append(test)
    return tests


# ---- the zip -------------------------------------------------------------------------

def test_the_zip_holds_what_the_autograder_needs_and_nothing_else(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as bundle:
        infos = bundle.infolist()
        settings = json.loads(bundle.read("course/autograder.json"))
    names = [info.filename for info in infos]
    assert names == sorted(names) and len(names) == len(set(names))
    for needed in ("setup.sh", "run_autograder", "pyproject.toml", "README.md", "grader/__main__.py",
                   "grader/gradescope.py", "grader/harness/zygote.py", "grader/harness/sandbox.py",
                   "grader/locale/zh_CN/LC_MESSAGES/grader.po", "course/autograder.json"):
        assert needed in names
    assert {name for name in names if name.startswith("solutions/")} == {f"solutions/{e}.py" for e in registry.EXERCISE_IDS}
    assert any(name.startswith("templates/") for name in names)
    tops = {name.split("/")[0] for name in names}
    assert tops == {"setup.sh", "run_autograder", "pyproject.toml", "README.md", "grader", "solutions", "templates", "course"}
    assert not [name for name in names if "__pycache__" in name or name.endswith((".pyc", ".zip")) or "/." in name]
    assert settings["secret"] == SECRET
    for info in infos:
        mode = info.external_attr >> 16
        assert info.date_time == (1980, 1, 1, 0, 0, 0) and info.create_system == 3 and stat.S_ISREG(mode)
        executable = stat.S_IMODE(mode) & 0o111
        assert bool(executable) == (info.filename in ("setup.sh", "run_autograder")), info.filename
    assert stat.S_IMODE(bundle.getinfo("course/autograder.json").external_attr >> 16) == 0o600


def test_building_twice_gives_the_same_bytes(autograder_zip, tmp_path):
    done = build(tmp_path / "again.zip", "--secret", SECRET)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "again.zip").read_bytes() == autograder_zip.read_bytes()


def test_the_scripts_install_cpu_torch_then_the_grader_and_run_the_grader(autograder_zip, tmp_path):
    unpack(autograder_zip, tmp_path)
    setup = (tmp_path / "setup.sh").read_text()
    torch = version("torch").split("+")[0]
    install_torch = re.search(rf'pip install "?torch=={re.escape(torch)}"? --index-url https://download\.pytorch\.org/whl/cpu\n', setup)
    install_grader = re.search(r'pip install "\$SOURCE"\n', setup)
    assert install_torch and install_grader and install_torch.start() < install_grader.start()
    assert 'SOURCE="${AUTOGRADER_SOURCE:-/autograder/source}"' in setup and "set -euo pipefail" in setup
    assert "apt-get install" in setup and "python3-venv" in setup
    run = (tmp_path / "run_autograder").read_text()
    assert run.startswith("#!/usr/bin/env bash\n") and "-m grader gradescope-run" in run
    for script in ("setup.sh", "run_autograder"):
        checked = subprocess.run(["bash", "-n", str(tmp_path / script)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        assert os.access(tmp_path / script, os.X_OK)


def test_the_bundled_source_builds_as_a_package(autograder_zip, tmp_path):
    """What setup.sh's `pip install "$SOURCE"` does first: build a wheel from the unpacked source."""
    unpack(autograder_zip, tmp_path / "source")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "--wheel-dir", str(tmp_path / "wheels"), str(tmp_path / "source")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = (tmp_path / "wheels").glob("nn_grader-*.whl")
    with zipfile.ZipFile(wheel) as built:
        names = set(built.namelist())
    assert {"grader/__main__.py", "grader/harness/zygote.py", "grader/gradescope.py"} <= names


def test_without_a_secret_one_is_made_once_and_kept_next_to_the_zip(tmp_path):
    first, second = build(tmp_path / "a.zip"), build(tmp_path / "b.zip")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    kept = tmp_path / ".grader-secret"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600 and str(kept) in first.stdout
    for name in ("a.zip", "b.zip"):
        with zipfile.ZipFile(tmp_path / name) as bundle:
            assert json.loads(bundle.read("course/autograder.json"))["secret"] == kept.read_text().strip()


def test_the_course_config_gives_secret_and_time_limit_and_a_bad_one_is_named(tmp_path):
    config = tmp_path / "course.toml"
    config.write_text('[grader]\nsecret = "from-the-config"\ntimeout = 7.5\n')
    done = build(tmp_path / "a.zip", "--config", str(config))
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(tmp_path / "a.zip") as bundle:
        settings = json.loads(bundle.read("course/autograder.json"))
    assert settings["secret"] == "from-the-config" and settings["timeout"] == 7.5
    config.write_text('[grader]\nsecret = "x"\ntimeout = "soon"\n')
    bad = build(tmp_path / "b.zip", "--config", str(config))
    assert bad.returncode == 2 and str(config) in bad.stderr and "timeout" in bad.stderr
    assert not (tmp_path / "b.zip").exists()


# ---- grading inside the tree ------------------------------------------------------------

def copy_folder(source):
    def put(submission):
        for path in Path(source).iterdir():
            if path.is_file():
                shutil.copy(path, submission / path.name)
    return put


@dataclass(frozen=True)
class Case:
    fill: object  # fills ROOT/submission
    score: float
    losing: frozenset = frozenset()  # exercises that lose points
    says: dict = field(default_factory=dict)  # exercise -> words in the output of each of its failed tests
    metadata: bool = True


def copy_in(path):
    return lambda submission: shutil.copy(path, submission)


EVERY = frozenset(registry.EXERCISE_IDS)
CASES = {
    "solutions": Case(copy_folder(REPO / "solutions"), 100),
    "chen_step_at_zero": Case(copy_folder(SAMPLES / "chen"), 90, frozenset({"step"})),
    "emil_one_path_for_de_db": Case(copy_folder(SAMPLES / "emil"), 85, frozenset({"chain_rule"})),
    "milo_misnamed_and_syntax_error": Case(copy_folder(SAMPLES / "milo"), 60, frozenset({"sigmoid", "mlp"}), {
        "sigmoid": ("MISSING: ", "sigmoid.py was not found", "there is Sigmoid.py"),
        "mlp": ("ERROR: ", "mlp.py does not compile")}),
    "kim_zip_with_a_wrapping_folder": Case(copy_in(SAMPLES / "kim.zip"), 100),
    "lena_broken_zip": Case(copy_in(SAMPLES / "lena.zip"), 0, EVERY,
                            {exercise: ("lena.zip is not a readable zip file",) for exercise in EVERY}),
    "empty_without_metadata": Case(lambda submission: None, 0, EVERY,
                                   {exercise: ("was not found in the submission",) for exercise in EVERY}, metadata=False),
}


@pytest.fixture(scope="module")
def graded(autograder_zip, tmp_path_factory):
    """Each case run once through run_autograder: name -> (process, results.json)."""
    done = {}

    def run(name):
        if name not in done:
            root = tmp_path_factory.mktemp(name) / "autograder"
            CASES[name].fill(make_tree(autograder_zip, root, metadata=CASES[name].metadata))
            done[name] = (root,) + run_autograder(root)
        return done[name]

    return run


@pytest.mark.parametrize("name", list(CASES))
def test_run_autograder_grades_a_submission(graded, name):
    case = CASES[name]
    root, done, results = graded(name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert results["score"] == sum(test["score"] for test in results["tests"]) == case.score
    assert len(results["tests"]) == len(registry.ALL_CHECKS)
    assert [test["number"] for test in results["tests"]] == [
        f"{position}.{index}" for position, exercise in enumerate(registry.EXERCISES, 1)
        for index in range(1, len(exercise.checks) + 1)]
    for exercise, tests in by_exercise(results).items():
        for test in tests:
            assert test["visibility"] == ("visible" if test["tags"][1] == "public" else "after_published")
            assert test["status"] in ("passed", "failed") and test["score"] in (0, test["max_score"])
            if test["status"] == "failed":
                assert test["score"] == 0 and all(words in test["output"] for words in case.says.get(exercise, ()))
        assert all(test["status"] == "passed" for test in tests) == (exercise not in case.losing)
    assert results["output_format"] == "md" and results["stdout_visibility"] == "hidden"
    public = [test for test in results["tests"] if test["visibility"] == "visible"]
    assert "**Public checks: {score:g}/{total:g} points".format(
        score=sum(test["score"] for test in public), total=sum(test["max_score"] for test in public)) in results["output"]
    assert ("could not be read" in results["output"]) == (name == "lena_broken_zip")
    assert f"{results['score']:g}/100" not in results["output"]  # the total would give hidden results away
    expected_student = f"gs-{USER_ID}" if case.metadata else FALLBACK_STUDENT
    assert f"student id: {expected_student}" in done.stdout and results["extra_data"]["student"] == expected_student
    assert f"from {root / 'source'}" in done.stdout  # the bundled grader ran, not this checkout
    assert SECRET not in done.stdout + done.stderr + json.dumps(results)


def hidden_inputs_shown(student, check_ids):
    """How each hidden probe of these checks would read in public feedback: numbers and all."""
    from grader.grading import build_probes
    from grader.seeds import hidden_seed

    checks = [check for check in registry.ALL_CHECKS if check.id in check_ids]
    probes = build_probes(checks, hidden_seed=hidden_seed(SECRET, student))
    return {check_id: [probe.shows for probe in check_probes] for check_id, check_probes in probes.items()}


@pytest.mark.parametrize("name,hidden_check", [("chen_step_at_zero", "step.hidden"),
                                               ("emil_one_path_for_de_db", "chain_rule.backward_hidden")])
def test_hidden_failures_show_up_after_publication_without_their_inputs(graded, name, hidden_check):
    _root, _done, results = graded(name)
    (test,) = [test for test in results["tests"] if test["name"].startswith(hidden_check + ":")]
    assert test["status"] == "failed" and test["visibility"] == "after_published"
    assert test["output"].startswith("wrong on hidden inputs: ")
    assert "Hint" not in test["output"] and "known mistake" not in test["output"]
    shown = hidden_inputs_shown(f"gs-{USER_ID}", {hidden_check})[hidden_check]
    numbers = {number for text in shown for number in re.findall(r"\d+\.\d{2,}", text)}
    assert numbers, "the hidden probes should have numbers worth hiding"
    for text in results["output"], test["output"], test["name"]:
        assert not [number for number in numbers if number in text]
        assert not [call for call in shown if call in text]


def test_student_code_cannot_read_the_autograder_folder(autograder_zip, tmp_path):
    root = tmp_path / "autograder"
    submission = make_tree(autograder_zip, root)
    copy_folder(REPO / "solutions")(submission)
    targets = [root / "source" / "course" / "autograder.json", root / "submission_metadata.json",
               root / "source" / "solutions" / "sigmoid.py"]
    (submission / "step.py").write_text(
        f"TARGETS = {[str(path) for path in targets]!r}\n\n"
        "def step(z):\n"
        "    found = []\n"
        "    for path in TARGETS:\n"
        "        try:\n"
        "            found.append(open(path).read()[:60])\n"
        "        except OSError as exc:\n"
        "            pass\n"
        "    raise RuntimeError(('LEAK' + 'ED:' + '|'.join(found)) if found else 'blocked: nothing readable')\n")
    _done, results = run_autograder(root)
    isolation = results["extra_data"]["isolation"]
    if not any(isolation.get(layer) == "on" for layer in ("mounts", "landlock")):
        pytest.skip(f"neither the mounts nor the landlock layer is available here: {isolation}")
    (scalar,) = [test for test in results["tests"] if test["name"].startswith("step.scalar:")]
    assert "blocked: nothing readable" in scalar["output"] and "LEAKED" not in scalar["output"]
    assert SECRET not in json.dumps(results)


def test_when_grading_fails_results_still_say_why(autograder_zip, tmp_path):
    root = tmp_path / "autograder"
    copy_folder(REPO / "solutions")(make_tree(autograder_zip, root))
    (root / "source" / "course" / "autograder.json").unlink()
    done, results = run_autograder(root)
    assert done.returncode == 2
    assert results["score"] == 0 and results["tests"] == [] and "autograder.json is missing" in results["output"]

    (root / "results" / "results.json").unlink()
    done, results = run_autograder(root, GRADER_PYTHON=str(tmp_path / "no-such-python"))
    assert done.returncode == 2 and results["score"] == 0 and "could not start" in results["output"]

    unpack(autograder_zip, root / "source")  # the settings are back; now the grading worker cannot start
    (root / "source" / "grader" / "harness" / "zygote.py").write_text("raise SystemExit(3)\n")
    done, results = run_autograder(root)
    assert done.returncode == 2 and results["score"] == 0 and results["tests"] == []
    assert "RunnerError" in results["output"] and "Traceback" in done.stdout


# ---- the schema and the pieces -------------------------------------------------------------

def test_the_specification_example_passes_the_schema_and_wrong_documents_do_not():
    example = {
        "score": 44.0, "execution_time": 136, "output": "Text relevant to the entire submission",
        "output_format": "simple_format", "test_output_format": "text", "test_name_format": "text",
        "visibility": "after_due_date", "stdout_visibility": "visible", "extra_data": {},
        "tests": [{"score": 2.0, "max_score": 2.0, "status": "passed", "name": "Your name here", "name_format": "text",
                   "number": "1.1", "output": "Giant multiline string", "output_format": "text",
                   "tags": ["tag1", "tag2", "tag3"], "visibility": "visible", "extra_data": {}}],
        "leaderboard": [{"name": "Accuracy", "value": .926}, {"name": "Time", "value": 15.1, "order": "asc"},
                        {"name": "Stars", "value": "*****"}],
    }
    assert VALIDATOR.is_valid(example)
    assert VALIDATOR.is_valid({"tests": [{"name": "Compilation check", "status": "passed"}]})

    def changed(edit):
        document = json.loads(json.dumps(example))
        edit(document)
        return document

    wrong = {
        "an unknown top-level key": lambda d: d.update(student="alice"),
        "our status values are not Gradescope's": lambda d: d["tests"][0].update(status="error"),
        "our visibility words are not Gradescope's": lambda d: d["tests"][0].update(visibility="public"),
        "an unknown test key": lambda d: d["tests"][0].update(hint="look again"),
        "a score as text": lambda d: d.update(score="44"),
        "an unknown format": lambda d: d.update(output_format="markdown"),
        "a number as a number": lambda d: d["tests"][0].update(number=1.1),
        "neither score nor tests": lambda d: (d.pop("score"), d.pop("tests")),
        "a leaderboard entry without value": lambda d: d["leaderboard"][0].pop("value"),
        "a bad leaderboard order": lambda d: d["leaderboard"][1].update(order="up"),
    }
    for why, edit in wrong.items():
        assert not VALIDATOR.is_valid(changed(edit)), why


def test_the_student_id_comes_from_the_gradescope_user_ids(tmp_path):
    metadata = tmp_path / "submission_metadata.json"
    metadata.write_text(json.dumps({"users": [{"id": 99, "name": "B"}, {"id": 11, "name": "A"}]}))
    assert student_from_metadata(metadata).student == "gs-11+99"  # a group: one id whatever the order
    for text in ("{not json", json.dumps({"users": []}), json.dumps({"users": [{"id": "../x"}]}), json.dumps([1])):
        metadata.write_text(text)
        fallback = student_from_metadata(metadata)
        assert fallback.student == FALLBACK_STUDENT and str(metadata) in fallback.note
    assert student_from_metadata(tmp_path / "absent.json").student == FALLBACK_STUDENT


def test_a_hidden_check_shows_only_its_message():
    hidden = CheckResult("sigmoid.hidden", "failed", 3.0, "wrong on hidden inputs: sigmoid(a float64 tensor of shape (4,))",
                         "hidden", "sigmoid on random tensors", hint="SECRET HINT", misconception="sigmoid_sign_error",
                         trace="sigmoid.py, line 3, in sigmoid")
    public = CheckResult("sigmoid.values", "error", 2.0, "sigmoid(tensor([0.5])) raised ValueError", "public",
                         "sigmoid values", hint="a public hint", trace="sigmoid.py, line 3, in sigmoid")
    result = SubmissionResult("gs-1", (ExerciseResult("sigmoid", (public, hidden)),))
    document = results_document(result, seconds=1.5, submitter=Submitter("gs-1", ""), isolation={"uid": "on"})
    assert VALIDATOR.is_valid(document)
    shown_public, shown_hidden = document["tests"]
    assert shown_hidden["output"] == hidden.message and shown_hidden["visibility"] == "after_published"
    assert shown_public["output"].startswith("ERROR: sigmoid(tensor([0.5])) raised ValueError")
    assert "a public hint" in shown_public["output"] and "sigmoid.py, line 3" in shown_public["output"]
    assert [test["number"] for test in document["tests"]] == ["3.1", "3.6"]
    assert document["score"] == 0 and document["execution_time"] == 1.5
