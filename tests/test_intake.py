"""Intake of a class: folders and zips staged safely, bad ones explained, never fatal."""
import os
import stat
import zipfile

import pytest

from grader.intake import MAX_TOTAL_BYTES, discover, stage


def make_zip(path, entries):
    """entries: name -> bytes, or (bytes, unix mode) for links and modes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name)
            mode = stat.S_IFREG | 0o644
            if isinstance(data, tuple):
                data, mode = data
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path


def test_discover_takes_folders_and_zips_and_skips_junk(tmp_path):
    (tmp_path / "alice").mkdir()
    make_zip(tmp_path / "bob.zip", {"step.py": b""})
    (tmp_path / ".DS_Store").write_text("")
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "notes.txt").write_text("")
    assert [student for student, _ in discover(tmp_path)] == ["alice", "bob"]


def test_a_zip_with_one_top_folder_is_unwrapped_and_junk_ignored(tmp_path):
    source = make_zip(tmp_path / "carol.zip", {"hw1/step.py": b"x = 1\n", "hw1/exercises/sigmoid.py": b"y = 2\n",
                                                "__MACOSX/hw1/._step.py": b"junk", "hw1/.DS_Store": b"junk",
                                                "hw1/deep/helper.py": b"z = 3\n"})
    submission = stage("carol", source, tmp_path / "staging")
    assert not submission.problem
    files = sorted(str(path.relative_to(submission.folder)) for path in submission.folder.rglob("*") if path.is_file())
    assert files == ["exercises/sigmoid.py", "step.py"]
    assert len(submission.digest) == 64


@pytest.mark.parametrize("name", ["../evil.py", "/etc/evil.py", "a/../../evil.py", "C:\\evil.py", "a\\..\\evil.py"])
def test_zip_slip_is_refused(tmp_path, name):
    source = make_zip(tmp_path / "mallory.zip", {"step.py": b"", name: b"owned"})
    submission = stage("mallory", source, tmp_path / "staging")
    assert "unsafe path" in submission.problem
    assert not (tmp_path / "evil.py").exists() and not (tmp_path / "staging" / "evil.py").exists()


def test_symlinks_in_a_zip_are_refused(tmp_path):
    source = make_zip(tmp_path / "mallory.zip", {"step.py": (b"/etc/passwd", stat.S_IFLNK | 0o777)})
    submission = stage("mallory", source, tmp_path / "staging")
    assert "symbolic link" in submission.problem


def test_a_zip_bomb_is_refused_with_a_message(tmp_path):
    source = make_zip(tmp_path / "bomb.zip", {f"part{i}.py": b"\0" * (MAX_TOTAL_BYTES // 4) for i in range(6)})
    assert os.path.getsize(source) < 1_000_000
    submission = stage("bomb", source, tmp_path / "staging")
    assert "MiB allowed" in submission.problem or "zip bomb" in submission.problem


def test_an_unreadable_zip_gets_a_message(tmp_path):
    (tmp_path / "dave.zip").write_bytes(b"this is not a zip")
    submission = stage("dave", tmp_path / "dave.zip", tmp_path / "staging")
    assert "not a readable zip file" in submission.problem


def test_a_folder_is_staged_without_symlinks_or_other_files(tmp_path):
    student = tmp_path / "erin"
    (student / "exercises").mkdir(parents=True)
    (student / "exercises" / "mlp.py").write_text("a = 1\n")
    (student / "step.py").write_text("b = 2\n")
    (student / "data").mkdir()
    (student / "data" / "big.bin").write_bytes(b"\0" * 10)
    os.symlink("/etc/passwd", student / "sigmoid.py")
    submission = stage("erin", student, tmp_path / "staging")
    names = sorted(str(path.relative_to(submission.folder)) for path in submission.folder.rglob("*") if path.is_file())
    assert names == ["exercises/mlp.py", "step.py"]


def test_same_files_same_digest_and_a_change_changes_it(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "step.py").write_text("x = 1\n")
    first = stage("a", tmp_path / "a", tmp_path / "staging").digest
    assert stage("b", tmp_path / "b", tmp_path / "staging").digest == first
    (tmp_path / "b" / "step.py").write_text("x = 2\n")
    assert stage("b", tmp_path / "b", tmp_path / "staging").digest != first


def test_odd_student_names_are_reported(tmp_path):
    (tmp_path / "-rf").mkdir()
    assert "student id" in stage("-rf", tmp_path / "-rf", tmp_path / "staging").problem
