"""The work area in memory (grader.scratch): used where there is room, left for the disk when it fills up."""
import errno
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from grader import batch, scratch
from grader.batch import BatchError, grade_class
from grader.config import SOLUTIONS_DIR


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A real 40 KiB tmpfs: room for one staged submission (a page per file), not two."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40k,mode=1777", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {made.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.fixture
def two_students(tmp_path):
    root = tmp_path / "class"
    for student in ("ada", "cy"):
        shutil.copytree(SOLUTIONS_DIR, root / student, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _watch_staging(monkeypatch):
    roots = []
    real_stage = batch.stage
    monkeypatch.setattr(batch, "stage", lambda student, source, root: roots.append(Path(root)) or real_stage(student, source, root))
    return roots


def test_memory_dir_is_a_tmpfs_with_room_unless_tmpdir_is_set(monkeypatch, tmp_path):
    monkeypatch.delenv("TMPDIR", raising=False)
    found = scratch.memory_dir()
    if found is None:
        pytest.skip(f"{scratch.MEMORY_DIR} is not a tmpfs with {scratch.MEMORY_MIN_FREE} bytes free here")
    assert found == str(scratch.MEMORY_DIR)
    folder = scratch.scratch_dir(prefix="grader-test-")
    try:
        assert scratch.in_memory(folder) and folder.stat().st_mode & 0o777 == 0o700
    finally:
        folder.rmdir()
    on_disk = scratch.scratch_dir(prefix="grader-test-", memory=False)
    try:
        assert not scratch.in_memory(on_disk)
    finally:
        on_disk.rmdir()
    monkeypatch.setattr(scratch, "MEMORY_MIN_FREE", os.statvfs(scratch.MEMORY_DIR).f_blocks * os.statvfs(scratch.MEMORY_DIR).f_frsize + 1)
    assert scratch.memory_dir() is None  # not enough room
    monkeypatch.setattr(scratch, "MEMORY_MIN_FREE", 0)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert scratch.memory_dir() is None  # the user said where temporary files go
    monkeypatch.setattr(scratch, "MEMORY_DIR", tmp_path)
    monkeypatch.delenv("TMPDIR")
    assert scratch.memory_dir() is None  # a plain folder on the disk is no memory


def test_a_batch_stages_in_memory_and_spills_to_the_disk_when_memory_is_full(tiny_tmpfs, two_students, tmp_path,
                                                                            monkeypatch):
    monkeypatch.delenv("TMPDIR", raising=False)
    monkeypatch.setattr(scratch, "MEMORY_DIR", tiny_tmpfs)
    monkeypatch.setattr(scratch, "MEMORY_MIN_FREE", 0)
    roots = _watch_staging(monkeypatch)
    summary = grade_class(submissions_dir=two_students, out_dir=tmp_path / "out", workers=1, secret="s")
    assert {item.student: item.score for item in summary.graded} == {"ada": 100, "cy": 100}  # nobody pays for it
    assert roots[0].parent == tiny_tmpfs  # ada, in memory
    assert roots[1].parent == tiny_tmpfs and roots[2].parent == Path(tempfile.gettempdir())  # cy: tried, then the disk
    assert not any(root.exists() for root in roots) and not list(tiny_tmpfs.iterdir())  # all cleaned up


def test_no_room_on_the_disk_stops_the_batch_instead_of_failing_students(tiny_tmpfs, two_students, tmp_path,
                                                                         monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tiny_tmpfs))  # the user's choice of work area: nowhere to spill to
    monkeypatch.setattr(tempfile, "tempdir", None)  # tempfile caches TMPDIR on first use
    out = tmp_path / "out"
    with pytest.raises(BatchError, match="no room left to stage the submissions in " + str(tiny_tmpfs)):
        grade_class(submissions_dir=two_students, out_dir=out, workers=1, secret="s")
    assert not list(out.glob("results/*.json"))  # no student was given a result for the grader's own trouble


def test_staging_into_a_full_area_raises_rather_than_blaming_the_student(tiny_tmpfs, two_students):
    from grader.intake import stage

    assert not stage("ada", two_students / "ada", tiny_tmpfs).problem
    with pytest.raises(OSError) as raised:
        stage("cy", two_students / "cy", tiny_tmpfs)
    assert raised.value.errno == errno.ENOSPC and not (tiny_tmpfs / "cy").exists()
