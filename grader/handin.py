"""The student's hand-in: submission.zip with the six exercise files and a manifest.

The manifest records each file's sha256 and the grader version, so the self-check
can tell a student whether the zip they are about to upload still matches their
files, and an instructor can see which grader the student checked against.
"""
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from grader import __version__
from grader.config import EXERCISE_IDS
from grader.i18n import _

MANIFEST = "manifest.json"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # zip entries get a fixed date: the same files give the same bytes


class HandInError(Exception):
    """The zip cannot be built; the message names the file and the problem."""


@dataclass(frozen=True)
class ZipState:
    """How submission.zip relates to the files in the exercise folder."""
    ready: bool
    message: str


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def exercise_files(directory: Path) -> dict:
    """{filename: bytes} for the exercise files present in directory."""
    files = {}
    for exercise in EXERCISE_IDS:
        path = Path(directory) / f"{exercise}.py"
        if path.is_file():
            try:
                data = path.read_bytes()
                data.decode("utf-8")
            except OSError as exc:
                raise HandInError(_("{file} cannot be read: {problem}").format(file=path, problem=exc.strerror)) from None
            except UnicodeDecodeError:
                raise HandInError(_("{file} is not UTF-8 text").format(file=path)) from None
            files[path.name] = data
    return files


def manifest_for(files: dict) -> dict:
    return {"grader_version": __version__,
            "files": {name: {"sha256": _sha256(data), "bytes": len(data)} for name, data in sorted(files.items())}}


def build(directory: Path, output: Path) -> tuple:
    """Write output (a zip of the exercise files and manifest.json); returns (path, manifest, missing names)."""
    files = exercise_files(directory)
    if not files:
        raise HandInError(_("{folder} holds none of the exercise files ({names})").format(
            folder=directory, names=", ".join(f"{name}.py" for name in EXERCISE_IDS)))
    manifest = manifest_for(files)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(files.items()):
            archive.writestr(zipfile.ZipInfo(name, FIXED_TIME), data, zipfile.ZIP_DEFLATED)
        archive.writestr(zipfile.ZipInfo(MANIFEST, FIXED_TIME), json.dumps(manifest, indent=2) + "\n",
                         zipfile.ZIP_DEFLATED)
    output = Path(output)
    temporary = output.with_name(f".{output.name}.partial")
    temporary.write_bytes(buffer.getvalue())
    temporary.replace(output)
    missing = [f"{name}.py" for name in EXERCISE_IDS if f"{name}.py" not in files]
    return output, manifest, missing


def state(directory: Path, zip_path: Path) -> ZipState:
    """Whether zip_path exists and holds exactly the current exercise files."""
    zip_path = Path(zip_path)
    if not zip_path.is_file():
        return ZipState(False, _("No {zip} yet: run `make submission` (or `python -m grader submission`) to build it.").format(
            zip=zip_path.name))
    try:
        with zipfile.ZipFile(zip_path) as archive:
            manifest = json.loads(archive.read(MANIFEST))
            packed = {name: _sha256(archive.read(name)) for name in archive.namelist() if name != MANIFEST}
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        return ZipState(False, _("{zip} is not a zip made by `make submission`: build it again.").format(zip=zip_path.name))
    current = {name: _sha256(data) for name, data in exercise_files(directory).items()}
    recorded = {name: entry.get("sha256") for name, entry in manifest.get("files", {}).items()}
    if packed != current or recorded != current:
        changed = sorted(name for name in set(current) | set(packed) if current.get(name) != packed.get(name))
        return ZipState(False, _("{zip} is out of date ({names} changed since it was built): run `make submission` again.").format(
            zip=zip_path.name, names=", ".join(changed)))
    return ZipState(True, _("{zip} is ready to hand in: it holds your current files.").format(zip=zip_path.name))
