"""Intake: one entry per student in SUBMISSIONS, a folder or a .zip, staged safely.

Each submission's six exercise files (and nothing else) are copied into a
staging folder that the isolated run may see. Zips are read entry by entry:
no entry may land outside the staging area (absolute paths, `..`, symlinks),
sizes and entry counts are capped, macOS junk is skipped, and one wrapping
top folder is unwrapped. A submission that cannot be read gets a problem
message instead, and the batch goes on.

LMS downloads (Canvas, Moodle, nbgrader) are read by grader.lms_intake, which
hands stage() a source that stages itself with the same rules as here.
"""
import hashlib
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Protocol, runtime_checkable

from grader.config import EXERCISE_IDS
from grader.i18n import _
from grader.scratch import out_of_space

MAX_ENTRIES = 200
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_TOTAL_BYTES = 20 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, per entry
JUNK = re.compile(r"(^|/)(__MACOSX|\.DS_Store|\._[^/]*|Thumbs\.db|desktop\.ini)(/|$)")
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$|^anon_[A-Za-z0-9]{1,64}$")  # anon_: Canvas anonymous grading


@dataclass(frozen=True)
class ZipLimits:
    """Caps on what one archive may unpack to."""

    entries: int = MAX_ENTRIES
    file_bytes: int = MAX_FILE_BYTES
    total_bytes: int = MAX_TOTAL_BYTES
    ratio: int = MAX_RATIO


STUDENT_ZIP = ZipLimits()


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


@runtime_checkable
class StagedSource(Protocol):
    """A submission that knows how to copy its own files (an entry of an LMS download)."""

    path: Path  # what the student handed in, for messages and Submission.source
    meta: dict
    problem: str  # already known to be unreadable (e.g. an unsafe entry in the download)

    def stage_into(self, target: Path) -> dict:
        """Copy the exercise files into target; return the meta with any notes; raise IntakeError."""


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


def entry_name(info: zipfile.ZipInfo):
    """The entry's name as its maker meant it: UTF-8 even where the zip forgot to flag it (Windows, old PHP)."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


def open_zip(path: Path, limits: ZipLimits = STUDENT_ZIP):
    """The open archive and its entries, or IntakeError when it is unreadable or holds too many."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise IntakeError(_("{file} is not a readable zip file ({problem})").format(file=path.name, problem=exc)) from None
    infos = archive.infolist()
    if len(infos) > limits.entries:
        archive.close()
        raise IntakeError(_("{file} holds {count} entries; at most {limit} are accepted").format(
            file=path.name, count=len(infos), limit=limits.entries))
    return archive, infos


def check_member(path: Path, info: zipfile.ZipInfo, limits: ZipLimits = STUDENT_ZIP):
    """The entry's safe relative path; IntakeError for a path that could escape, a link, a bomb or a giant."""
    name = entry_name(info)
    relative = _safe_name(name)
    if relative is None:
        raise IntakeError(_("{file} has an entry with an unsafe path: {entry}").format(file=path.name, entry=repr(name)))
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise IntakeError(_("{file} has a symbolic link ({entry}); links are not accepted").format(
            file=path.name, entry=name))
    if info.file_size > limits.file_bytes:
        raise IntakeError(_("{file} unpacks to more than the {limit} MiB allowed (entry {entry}: {size} bytes)").format(
            file=path.name, limit=limits.total_bytes // 2**20, entry=name, size=info.file_size))
    if info.compress_size and info.file_size / info.compress_size > limits.ratio and info.file_size > 1_000_000:
        raise IntakeError(_("{file} looks like a zip bomb ({entry} expands {ratio}x)").format(
            file=path.name, entry=name, ratio=info.file_size // info.compress_size))
    return relative


def check_total(path: Path, total: int, info: zipfile.ZipInfo, limits: ZipLimits = STUDENT_ZIP):
    """IntakeError once the entries so far unpack to more than the archive may."""
    if total > limits.total_bytes:
        raise IntakeError(_("{file} unpacks to more than the {limit} MiB allowed (entry {entry}: {size} bytes)").format(
            file=path.name, limit=limits.total_bytes // 2**20, entry=entry_name(info), size=info.file_size))


def is_skipped(info: zipfile.ZipInfo):
    """Folders and macOS/Windows junk are not files of the submission."""
    return info.is_dir() or bool(JUNK.search(entry_name(info)))


def _zip_members(path: Path, limits: ZipLimits = STUDENT_ZIP):
    """Validated (relative path, ZipInfo) pairs of the regular files in a zip."""
    archive, infos = open_zip(path, limits)
    total = 0
    members = []
    try:
        for info in infos:
            if is_skipped(info):
                continue
            relative = check_member(path, info, limits)
            total += info.file_size
            check_total(path, total, info, limits)
            members.append((relative, info))
    except IntakeError:
        archive.close()
        raise
    return archive, members


def copy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, destination: Path, *, label: str, limit: int):
    """Copy one entry, never more than `limit` bytes whatever its header claims."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with archive.open(info) as source, open(destination, "wb") as sink:
        copied = 0
        while chunk := source.read(65536):
            copied += len(chunk)
            if copied > limit:
                raise IntakeError(_("{file}: {entry} is larger than it claims").format(file=label, entry=entry_name(info)))
            sink.write(chunk)


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
            copy_member(archive, info, target.joinpath(*inner.parts), label=path.name, limit=MAX_FILE_BYTES)


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


def stage(student: str, source, staging_root: Path) -> Submission:
    """Copy one submission's files into staging_root/<student>; never raises for bad input (only an OSError
    for which scratch.out_of_space holds, when staging_root has no room left).

    source is a folder or zip (Path), or an LMS entry (StagedSource) that copies its own files.
    """
    lms = isinstance(source, StagedSource)
    path, meta = (source.path, dict(source.meta)) if lms else (source, {})
    if not STUDENT_ID.match(student):
        return Submission(student, path, problem=_("{file}: the name is not a usable student id").format(file=path.name),
                          meta=meta)
    if lms and source.problem:
        return Submission(student, path, problem=source.problem, meta=meta)
    target = Path(staging_root) / student
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    try:
        if lms:
            meta = source.stage_into(target)
        elif source.is_dir():
            _stage_folder(source, target)
        else:
            _stage_zip(source, target)
    except IntakeError as exc:
        shutil.rmtree(target, ignore_errors=True)
        return Submission(student, path, problem=str(exc), meta=meta)
    except OSError as exc:
        shutil.rmtree(target, ignore_errors=True)
        if out_of_space(exc):
            raise  # the staging area is full: the grader's problem, not the student's
        return Submission(student, path, problem=_("{file} could not be read: {problem}").format(
            file=path.name, problem=exc.strerror or exc), meta=meta)
    target.chmod(0o755)
    for staged in target.rglob("*"):
        staged.chmod(0o755 if staged.is_dir() else 0o644)
    return Submission(student, path, target, _digest(target), meta=meta)
