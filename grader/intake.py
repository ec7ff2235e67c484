"""Intake: one entry per student in SUBMISSIONS, a folder or a .zip, staged safely.

Each submission's six exercise files (and nothing else) are copied into a
staging folder that the isolated run may see. Zips are read entry by entry:
no entry may land outside the staging area (absolute paths, `..`, symlinks),
sizes and entry counts are capped, macOS junk is skipped, and one wrapping
top folder is unwrapped. A submission that cannot be read gets a problem
message instead, and the batch goes on.
"""
import hashlib
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader.config import EXERCISE_IDS
from grader.i18n import _

MAX_ENTRIES = 200
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_TOTAL_BYTES = 20 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, per entry
JUNK = re.compile(r"(^|/)(__MACOSX|\.DS_Store|\._[^/]*|Thumbs\.db|desktop\.ini)(/|$)")
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")


class IntakeError(Exception):
    """The submission cannot be read; the message says why, for the student's result."""


@dataclass(frozen=True)
class Submission:
    student: str
    source: Path  # the folder or zip in SUBMISSIONS
    folder: Path = None  # staged copy holding only exercise files
    digest: str = ""  # sha256 over the staged exercise files
    problem: str = ""
    meta: dict = field(default_factory=dict, compare=False)  # LMS facts kept with the result: lms, name, late, ...


def discover(submissions_dir: Path):
    """(student id, path) for each entry; skips hidden files and anything not a folder or .zip."""
    entries = []
    for path in sorted(Path(submissions_dir).iterdir()):
        if path.name.startswith(".") or JUNK.search(path.name):
            continue
        if path.is_dir() and not path.is_symlink():
            entries.append((path.name, path))
        elif path.is_file() and path.suffix.lower() == ".zip":
            entries.append((path.stem, path))
    return entries


def _safe_name(name: str):
    """The entry's path inside the archive, or None if it could escape."""
    if "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return None
    parts = PurePosixPath(name).parts
    if any(part in ("..", "") for part in parts):
        return None
    return PurePosixPath(*parts) if parts else None


def _zip_members(path: Path):
    """Validated (relative path, ZipInfo) pairs of the regular files in a zip."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise IntakeError(_("{file} is not a readable zip file ({problem})").format(file=path.name, problem=exc)) from None
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise IntakeError(_("{file} holds {count} entries; at most {limit} are accepted").format(
            file=path.name, count=len(infos), limit=MAX_ENTRIES))
    total = 0
    members = []
    for info in infos:
        if JUNK.search(info.filename) or info.is_dir():
            continue
        relative = _safe_name(info.filename)
        if relative is None:
            raise IntakeError(_("{file} has an entry with an unsafe path: {entry}").format(file=path.name, entry=repr(info.filename)))
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise IntakeError(_("{file} has a symbolic link ({entry}); links are not accepted").format(
                file=path.name, entry=info.filename))
        total += info.file_size
        if info.file_size > MAX_FILE_BYTES or total > MAX_TOTAL_BYTES:
            raise IntakeError(_("{file} unpacks to more than the {limit} MiB allowed (entry {entry}: {size} bytes)").format(
                file=path.name, limit=MAX_TOTAL_BYTES // 2**20, entry=info.filename, size=info.file_size))
        if info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > 1_000_000:
            raise IntakeError(_("{file} looks like a zip bomb ({entry} expands {ratio}x)").format(
                file=path.name, entry=info.filename, ratio=info.file_size // info.compress_size))
        members.append((relative, info))
    return archive, members


def _unwrap(relatives):
    """Drop one top folder that every file sits under (a zipped folder)."""
    tops = {relative.parts[0] for relative in relatives}
    if len(tops) == 1 and all(len(relative.parts) > 1 for relative in relatives):
        return 1
    return 0


def _wanted(relative: PurePosixPath):
    """Exercise files at the root or under exercises/ are staged; everything else stays behind."""
    parts = relative.parts
    if len(parts) == 1 or (len(parts) == 2 and parts[0] == "exercises"):
        return True
    return False


def _stage_zip(path: Path, target: Path):
    archive, members = _zip_members(path)
    with archive:
        skip = _unwrap([relative for relative, _ in members])
        for relative, info in members:
            inner = PurePosixPath(*relative.parts[skip:])
            if not _wanted(inner):
                continue
            destination = target.joinpath(*inner.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, open(destination, "wb") as sink:
                copied = 0
                while chunk := source.read(65536):
                    copied += len(chunk)
                    if copied > MAX_FILE_BYTES:
                        raise IntakeError(_("{file}: {entry} is larger than it claims").format(file=path.name, entry=info.filename))
                    sink.write(chunk)


def _stage_folder(path: Path, target: Path):
    entries = [entry for entry in path.iterdir() if not JUNK.search(entry.name) and not entry.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink() and entries[0].name != "exercises":
        path = entries[0]  # one wrapping folder, as when a zip was unpacked by hand
    for folder in (path, path / "exercises"):
        if not folder.is_dir() or folder.is_symlink():
            continue
        for entry in folder.iterdir():
            if entry.is_symlink() or not entry.is_file() or JUNK.search(entry.name):
                continue
            if entry.stat().st_size > MAX_FILE_BYTES:
                continue
            destination = target / entry.relative_to(path)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(entry, destination)


def _digest(folder: Path):
    """sha256 over the exercise files that grading will use."""
    digest = hashlib.sha256()
    for exercise in EXERCISE_IDS:
        for candidate in (folder / f"{exercise}.py", folder / "exercises" / f"{exercise}.py"):
            if candidate.is_file():
                digest.update(f"{exercise}\0".encode())
                digest.update(candidate.read_bytes())
                break
    return digest.hexdigest()


def stage(student: str, source: Path, staging_root: Path) -> Submission:
    """Copy one submission's files into staging_root/<student>; never raises for bad input."""
    if not STUDENT_ID.match(student):
        return Submission(student, source, problem=_("{file}: the name is not a usable student id").format(file=source.name))
    target = Path(staging_root) / student
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    try:
        if source.is_dir():
            _stage_folder(source, target)
        else:
            _stage_zip(source, target)
    except IntakeError as exc:
        shutil.rmtree(target, ignore_errors=True)
        return Submission(student, source, problem=str(exc))
    except OSError as exc:
        shutil.rmtree(target, ignore_errors=True)
        return Submission(student, source, problem=_("{file} could not be read: {problem}").format(
            file=source.name, problem=exc.strerror or exc))
    target.chmod(0o755)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return Submission(student, source, target, _digest(target))
