"""The student's hand-in: `python -m grader submission` and the self-check's word on submission.zip."""
import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from grader.intake import stage

REPO = Path(__file__).resolve().parent.parent
EXERCISES = ["chain_rule.py", "mlp.py", "perceptron.py", "sigmoid.py", "step.py", "torch_mlp.py"]


def grader(*args, cwd):
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "GRADER_LANG": "en", "PYTHONPATH": str(REPO)}, timeout=120)


def copy_solutions(tmp_path):
    work = tmp_path / "work"
    shutil.copytree(REPO / "solutions", work / "exercises", ignore=shutil.ignore_patterns("__pycache__"))
    return work


def test_zip_holds_the_six_files_and_a_manifest_of_their_hashes(tmp_path):
    work = copy_solutions(tmp_path)
    (work / "exercises" / "notes.txt").write_text("not handed in")
    done = grader("submission", cwd=work)
    assert done.returncode == 0, done.stderr
    assert "6 files" in done.stdout
    with zipfile.ZipFile(work / "submission.zip") as archive:
        assert sorted(archive.namelist()) == sorted([*EXERCISES, "manifest.json"])
        manifest = json.loads(archive.read("manifest.json"))
        for name in EXERCISES:
            data = (work / "exercises" / name).read_bytes()
            assert archive.read(name) == data
            assert manifest["files"][name]["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["grader_version"]
    first = (work / "submission.zip").read_bytes()
    assert grader("submission", cwd=work).returncode == 0
    assert (work / "submission.zip").read_bytes() == first  # same files, same bytes


def test_missing_files_are_named_and_an_empty_folder_is_refused(tmp_path):
    work = copy_solutions(tmp_path)
    (work / "exercises" / "mlp.py").unlink()
    done = grader("submission", cwd=work)
    assert done.returncode == 0 and "mlp.py" in done.stdout
    empty = tmp_path / "empty"
    (empty / "exercises").mkdir(parents=True)
    refused = grader("submission", cwd=empty)
    assert refused.returncode == 2
    assert "exercises" in refused.stderr and "step.py" in refused.stderr
    assert not (empty / "submission.zip").exists()


def test_a_file_that_is_not_text_is_named(tmp_path):
    work = copy_solutions(tmp_path)
    (work / "exercises" / "sigmoid.py").write_bytes(b"\xff\xfe\x00 not utf-8")
    refused = grader("submission", cwd=work)
    assert refused.returncode == 2 and "sigmoid.py" in refused.stderr and "UTF-8" in refused.stderr


def test_self_check_says_whether_the_zip_is_ready(tmp_path):
    work = copy_solutions(tmp_path)
    before = grader("check", cwd=work)
    assert before.returncode == 0, before.stdout + before.stderr
    assert "No submission.zip yet" in before.stdout
    assert grader("submission", cwd=work).returncode == 0
    ready = grader("check", cwd=work)
    assert "submission.zip is ready to hand in" in ready.stdout
    step = work / "exercises" / "step.py"
    step.write_text(step.read_text() + "\n# a late edit\n")
    stale = grader("check", cwd=work)
    assert "out of date" in stale.stdout and "step.py" in stale.stdout


def test_the_instructors_intake_reads_the_zip_like_the_folder(tmp_path):
    work = copy_solutions(tmp_path)
    assert grader("submission", cwd=work).returncode == 0
    from_zip = stage("ana", work / "submission.zip", tmp_path / "staged-zip")
    from_folder = stage("ana", work / "exercises", tmp_path / "staged-folder")
    assert not from_zip.problem and from_zip.digest == from_folder.digest
    assert set(EXERCISES) <= {path.name for path in from_zip.folder.iterdir()}
