"""LMS downloads as a class: Canvas, Moodle and nbgrader layouts read into per-student entries.

`grade` is often given what an LMS hands the instructor rather than one folder
per student: Canvas's "Download Submissions" zip (flat files named
`lastfirst[_LATE]_userid_fileid_name`), Moodle's "Download all submissions"
(folders `Full Name_participantid_assignsubmission_file`), or nbgrader's
`submitted/<student>/<assignment>/`. open_class() recognises the layout from
names and structure, unpacks a zip with the same safety rules as a student's
zip, and returns (student, entry) pairs that grader.intake.stage() stages like
any other submission, with the LMS facts (ids, name, late, files, notes) in the
entry's meta. Nothing is dropped silently: older duplicates, ignored online
text and refused zip entries are named in a note.
"""
import ast
import re
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from grader.config import EXERCISE_IDS
from grader.i18n import N_, _
from grader.intake import (JUNK, MAX_FILE_BYTES, MAX_RATIO, IntakeError, ZipLimits, _stage_zip, check_member,
                           check_total, copy_member, discover, entry_name, is_skipped, open_zip)

CLASS_ZIP = ZipLimits(entries=20_000, file_bytes=64 * 2**20, total_bytes=1024 * 2**20, ratio=MAX_RATIO)
MAX_NOTEBOOK_BYTES = 20 * 2**20
CANVAS_FILE = re.compile(r"^(?:(?P<name>.+?)_)??(?:(?P<late>LATE|late)_)?(?P<user>\d+|anon_[A-Za-z0-9]+)_"
                         r"(?P<attachment>\d+)_(?P<original>.+)$")
CANVAS_INLINE = re.compile(r"^(?:(?P<name>.+?)_)??(?:(?P<late>LATE|late)_)?(?P<user>\d+|anon_[A-Za-z0-9]+)_"
                           r"(?P<kind>text|link)\.html$")
MOODLE_FOLDER = re.compile(r"^(?P<name>.+)_(?P<participant>\d+)_assignsubmission_(?P<plugin>[a-z]+)_?$")
MOODLE_FILE = re.compile(r"^(?P<name>.+)_(?P<participant>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<original>.+)$")
RESUBMITTED = re.compile(r"^(?P<stem>.+)-(?P<number>\d+)(?P<suffix>\.(?:py|ipynb))$")
EXERCISE_FILES = {f"{exercise}{suffix}" for exercise in EXERCISE_IDS for suffix in (".py", ".ipynb")}
NBGRADER_COURSE_MARKS = ("nbgrader_config.py", "gradebook.db", "source", "release", "autograded", "feedback")
CELL_MAGICS_THAT_RUN_PYTHON = {"time", "timeit", "capture", "prun"}


class ClassError(Exception):
    """SUBMISSIONS as a whole cannot be read (not a folder or zip, mixed layouts, ambiguous assignment)."""


@dataclass(frozen=True)
class Piece:
    """One file a student handed in: staged under `name`; a zip is unpacked, a notebook turned into Python."""

    name: str
    path: Path
    label: str  # as it appears in the download, for notes

    @property
    def kind(self):
        suffix = Path(self.name).suffix.lower()
        return {".zip": "zip", ".ipynb": "notebook"}.get(suffix, "file")


@dataclass(frozen=True)
class LmsEntry:
    """One student's part of an LMS download; stage() calls stage_into (grader.intake.StagedSource)."""

    student: str
    path: Path
    pieces: tuple = ()  # oldest first: a later piece replaces an earlier one of the same name
    meta: dict = field(default_factory=dict)
    problem: str = ""

    def stage_into(self, target: Path) -> dict:
        notes = list(self.meta.get("notes", ()))
        placed = {}  # staged relative path -> label of the piece it came from
        for piece in self.pieces:
            if piece.kind == "zip":
                _place_zip(piece, target, placed, notes)
            elif piece.kind == "notebook":
                _place(target, PurePosixPath(piece.name).with_suffix(".py"), piece.label, placed, notes,
                       text=notebook_to_python(piece.path, label=piece.label, notes=notes))
            elif piece.path.stat().st_size > MAX_FILE_BYTES:
                notes.append(_("{file} was not graded: it is larger than {limit} MiB").format(
                    file=piece.label, limit=MAX_FILE_BYTES // 2**20))
            else:
                _place(target, PurePosixPath(piece.name), piece.label, placed, notes, source=piece.path)
        meta = dict(self.meta)
        if notes:
            meta["notes"] = notes
        return meta


@dataclass(frozen=True)
class Layout:
    """What SUBMISSIONS turned out to be, and its (student, Path or LmsEntry) entries."""

    kind: str  # "plain", "canvas", "moodle" or "nbgrader"
    given: Path  # the folder or zip named on the command line
    folder: Path  # where the entries are (a temporary folder when a zip was given)
    entries: tuple = ()
    notes: tuple = ()  # about the download as a whole
    assignment: str = ""
    scratch: object = field(default=None, repr=False, compare=False)  # keeps an unpacked zip alive with the layout

    @property
    def summary(self):
        """One line for the instructor: what was recognised, and anything set aside."""
        count = len(self.entries)
        lms = [entry for _student, entry in self.entries if isinstance(entry, LmsEntry)]
        files = sum(len(entry.meta.get("files", ())) for entry in lms)
        if self.kind == "canvas":
            late = sum(1 for entry in lms if entry.meta.get("late"))
            line = _("{source}: Canvas download, {count} student(s), {files} file(s), {late} late").format(
                source=self.given.name, count=count, files=files, late=late)
        elif self.kind == "moodle":
            line = _("{source}: Moodle download, {count} participant(s), {files} file(s)").format(
                source=self.given.name, count=count, files=files)
        elif self.kind == "nbgrader":
            line = _("{source}: nbgrader submissions of {assignment}, {count} student(s)").format(
                source=self.given.name, assignment=self.assignment, count=count)
        else:
            line = _("{source}: one folder or zip per student, {count} student(s)").format(
                source=self.given.name, count=count)
        return "; ".join([line, *self.notes])

    def close(self):
        """Remove the unpacked download now (it also goes when the layout is garbage collected)."""
        if self.scratch is not None:
            self.scratch.cleanup()

    @property
    def private_folders(self):
        """Folders student code must not see: the entries, and the folder the download or course came from."""
        given = self.given.resolve()
        return (self.folder.resolve(), given if given.is_dir() else given.parent)


@dataclass(frozen=True)
class Refused:
    """A zip entry of the download that was not unpacked, and why."""

    entry: str
    reason: str


def open_class(path, *, assignment=None) -> Layout:
    """Read SUBMISSIONS (a folder, or a .zip downloaded from an LMS) into a Layout; ClassError if it cannot be."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".zip":
        return _open_download(path, assignment)
    if not path.is_dir():
        if path.exists():
            raise ClassError(_("{path} is not a folder of submissions nor a .zip download").format(path=path))
        raise ClassError(_("{folder} is not a folder of submissions").format(folder=path))
    try:
        list(path.iterdir())
    except OSError as exc:
        raise ClassError(_("{folder} cannot be read: {problem}").format(folder=path, problem=exc.strerror)) from None
    return detect(path, assignment=assignment, given=path)


def _open_download(path: Path, assignment):
    scratch = tempfile.TemporaryDirectory(prefix="grader-download-")
    root = Path(scratch.name)
    try:
        refused = unpack_download(path, root)
        layout = detect(root, assignment=assignment, given=path, refused=refused)
        tops = _visible(root)
        if layout.kind == "plain" and len(tops) == 1 and tops[0].is_dir():
            inner = detect(tops[0], assignment=assignment, given=path, refused=refused, prefix=(tops[0].name,))
            if inner.kind != "plain":
                layout = inner  # the download was zipped again with its folder around it
    except (ClassError, IntakeError) as exc:
        scratch.cleanup()
        raise ClassError(str(exc)) from None
    return replace(layout, scratch=scratch)


def unpack_download(path: Path, target: Path):
    """Unpack an LMS zip into target with the intake's rules; unsafe entries are refused one by one.

    The download as a whole is refused (IntakeError) when unreadable, too many entries or too big.
    """
    archive, infos = open_zip(path, CLASS_ZIP)
    refused = []
    total = 0
    with archive:
        for info in infos:
            if is_skipped(info):
                continue
            try:
                relative = check_member(path, info, CLASS_ZIP)
            except IntakeError as exc:
                refused.append(Refused(entry_name(info), str(exc)))
                continue
            total += info.file_size
            check_total(path, total, info, CLASS_ZIP)
            destination = target.joinpath(*relative.parts)
            try:
                copy_member(archive, info, destination, label=path.name, limit=CLASS_ZIP.file_bytes)
            except (IntakeError, OSError) as exc:
                destination.unlink(missing_ok=True)
                refused.append(Refused(entry_name(info), str(exc)))
    return tuple(refused)


def _visible(folder: Path):
    return sorted(entry for entry in folder.iterdir() if not entry.name.startswith(".") and not JUNK.search(entry.name))


def _classify(entry: Path):
    """Which layout one top-level entry belongs to: canvas, moodle, plain, or other (ignored)."""
    if entry.is_symlink():
        return "other"
    if entry.is_dir():
        return "moodle" if MOODLE_FOLDER.match(entry.name) else "plain"
    if MOODLE_FILE.match(entry.name):
        return "moodle"
    if CANVAS_FILE.match(entry.name) or CANVAS_INLINE.match(entry.name):
        return "canvas"
    return "plain" if entry.suffix.lower() == ".zip" else "other"


LAYOUT_NAMES = {"canvas": N_("Canvas download files"), "moodle": N_("Moodle download folders"),
                "plain": N_("student folders or zips")}


def detect(folder: Path, *, assignment=None, given=None, refused=(), prefix=()) -> Layout:
    """The layout of a folder and its entries; ClassError when layouts are mixed or the choice is ambiguous.

    prefix: where folder sits inside an unpacked download, to attribute refused entries to students.
    """
    given = given or folder
    submitted = _nbgrader_submitted(folder)
    if submitted is not None:
        inner = prefix + (() if submitted == folder else (submitted.name,))
        return _nbgrader(submitted, assignment, given, _below(refused, inner))
    entries = _visible(folder)
    kinds = {}
    for entry in entries:
        kinds.setdefault(_classify(entry), []).append(entry)
    others = kinds.pop("other", [])
    if len(kinds) > 1:
        main = max(kinds, key=lambda kind: len(kinds[kind]))
        odd = sorted(entry.name for kind, found in kinds.items() if kind != main for entry in found)
        raise ClassError(_("{folder} mixes layouts ({layouts}); most entries are {main}, these are not: {entries}").format(
            folder=given.name, layouts=" / ".join(_(LAYOUT_NAMES[kind]) for kind in sorted(kinds)), main=_(LAYOUT_NAMES[main]),
            entries=_names(odd)))
    kind = next(iter(kinds), "plain")
    notes = [_("ignored: {entries}").format(entries=_names([entry.name for entry in others]))] if others else []
    refused = _below(refused, prefix)
    if kind == "canvas":
        pairs, more = _canvas(kinds["canvas"], refused)
    elif kind == "moodle":
        pairs, more = _moodle(kinds["moodle"], refused)
    else:
        pairs, more = _plain(folder, refused)
    return Layout(kind, given, folder, tuple(pairs), tuple(notes + more))


def _names(names, limit=8):
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else _("{shown} and {count} more").format(shown=shown, count=len(names) - limit)


def _below(refused, prefix):
    """Refused entries as (path parts relative to prefix, item); () for those outside it, which belong to nobody."""
    found = []
    for item in refused:
        parts = tuple(part for part in re.split(r"[/\\]", item.entry) if part not in ("", "."))
        found.append((parts[len(prefix):] if parts[:len(prefix)] == tuple(prefix) else (), item))
    return found


def _refused_notes(refused):
    return [_("not unpacked: {reason}").format(reason=item.reason) for _parts, item in refused]


def _attribute(refused, owner):
    """Split refused entries into {student: [reason]} by owner(parts) -> student or None, and the rest."""
    owned, rest = {}, []
    for parts, item in refused:
        student = owner(parts) if parts else None
        if student:
            owned.setdefault(student, []).append(item.reason)
        else:
            rest.append((parts, item))
    return owned, rest


# --- plain: one folder or zip per student (grader.intake.discover) --------------------------------

def _plain(folder: Path, refused):
    pairs = discover(folder)
    owned, rest = _attribute(refused, lambda parts: Path(parts[0]).stem if parts[0] != ".." else None)
    students = {student for student, _path in pairs}
    unsafe = []
    for student, reasons in owned.items():
        if student not in students:
            unsafe.extend(reasons)
    for index, (student, path) in enumerate(pairs):
        if student in owned:  # an unsafe entry under this student's folder in the class zip
            pairs[index] = (student, LmsEntry(student, path, meta={}, problem=owned[student][0]))
    return pairs, _refused_notes(rest) + [_("not unpacked: {reason}").format(reason=reason) for reason in unsafe]


# --- Canvas: flat files lastfirst[_LATE]_userid_fileid_name ------------------------------------------

def _original_name(name: str):
    """Canvas renames a re-uploaded sigmoid.py to sigmoid-1.py: map it back when that gives an exercise file."""
    match = RESUBMITTED.match(name)
    if match and match["stem"] + match["suffix"] in EXERCISE_FILES:
        return match["stem"] + match["suffix"], int(match["number"])
    return name, 0


def _canvas(files, refused):
    students = {}
    for path in files:
        match = CANVAS_FILE.match(path.name) or CANVAS_INLINE.match(path.name)
        record = students.setdefault(match["user"], {"name": "", "late": False, "uploads": [], "notes": []})
        record["name"] = record["name"] or (match["name"] or "")
        record["late"] = record["late"] or bool(match["late"])
        if "kind" in match.groupdict():
            record["notes"].append(_("{file} ignored: online text and links are not graded").format(file=path.name))
            continue
        original = match["original"]
        name, resubmission = _original_name(original)
        record["uploads"].append((int(match["attachment"]), resubmission, name, original, path))
    owned, rest = _attribute(refused, lambda parts: _canvas_owner(parts[-1]))
    pairs = []
    for user in sorted(set(students) | set(owned)):
        record = students.get(user, {"name": "", "late": False, "uploads": [], "notes": []})
        pieces, notes, renamed = _newest_uploads(record["uploads"])
        meta = {"lms": "canvas", "canvas_user_id": user, "name": record["name"], "late": record["late"],
                "files": [piece.name for piece in pieces]}
        if user.startswith("anon_"):
            meta["anonymous"] = True
        if renamed:
            meta["renamed"] = renamed
        notes = record["notes"] + notes
        if notes:
            meta["notes"] = notes
        where = pieces[0].path if pieces else Path(f"{user}")
        problem = owned[user][0] if user in owned else (
            "" if pieces else _("{student} handed in no files in this download").format(student=record["name"] or user))
        pairs.append((user, LmsEntry(user, where, tuple(pieces), meta, problem)))
    return pairs, _refused_notes(rest)


def _canvas_owner(basename: str):
    match = CANVAS_FILE.match(basename) or CANVAS_INLINE.match(basename)
    return match["user"] if match else None


def _newest_uploads(uploads):
    """Keep the newest upload of each name (highest file id, then resubmission number); note the others."""
    by_name = {}
    for upload in uploads:
        by_name.setdefault(upload[2], []).append(upload)
    kept, notes, renamed = [], [], {}
    for name, versions in by_name.items():
        versions.sort()
        newest = versions[-1]
        kept.append(newest)
        for older in versions[:-1]:
            notes.append(_("{dropped} (file {dropped_id}) dropped: {kept} (file {kept_id}) is a newer upload of {name}").format(
                dropped=older[4].name, dropped_id=older[0], kept=newest[4].name, kept_id=newest[0], name=name))
        if newest[3] != name:
            renamed[newest[3]] = name
    kept.sort()
    return [Piece(name, path, path.name) for _attachment, _number, name, _original, path in kept], notes, renamed


# --- Moodle: Full Name_participantid_assignsubmission_file/ ------------------------------------------

def _moodle(entries, refused):
    students = {}
    for entry in entries:
        match = (MOODLE_FOLDER if entry.is_dir() else MOODLE_FILE).match(entry.name)
        record = students.setdefault(match["participant"], {"name": match["name"], "pieces": [], "notes": [], "path": entry})
        if match["plugin"] != "file":
            record["notes"].append(_("{entry} ignored: only files are graded ({plugin})").format(
                entry=entry.name, plugin=match["plugin"]))
        elif entry.is_dir():
            record["pieces"].extend(_folder_pieces(entry, label=entry.name))
        else:
            record["pieces"].append(Piece(match["original"], entry, entry.name))
    owned, rest = _attribute(refused, _moodle_owner)
    pairs = []
    for participant in sorted(set(students) | set(owned), key=lambda key: (len(key), key)):
        record = students.get(participant, {"name": "", "pieces": [], "notes": [], "path": Path(participant)})
        meta = {"lms": "moodle", "participant_id": participant, "name": record["name"],
                "files": sorted({piece.name for piece in record["pieces"]})}
        if record["notes"]:
            meta["notes"] = record["notes"]
        problem = owned[participant][0] if participant in owned else (
            "" if record["pieces"] else _("{student} handed in no files in this download").format(student=record["name"]))
        pairs.append((participant, LmsEntry(participant, record["path"], tuple(record["pieces"]), meta, problem)))
    return pairs, _refused_notes(rest)


def _moodle_owner(parts):
    for part in parts:
        match = MOODLE_FOLDER.match(part) or MOODLE_FILE.match(part)
        if match:
            return match["participant"]
    return None


def _folder_pieces(folder: Path, *, label: str, skip=()):
    """The files a folder hands in, as intake reads a student folder: its root and exercises/, one wrapper unwrapped."""
    entries = _visible(folder)
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink() and entries[0].name != "exercises":
        folder = entries[0]
    pieces = []
    for where in (folder, folder / "exercises"):
        if not where.is_dir() or where.is_symlink():
            continue
        for entry in _visible(where):
            if entry.is_file() and not entry.is_symlink() and entry.name not in skip:
                relative = entry.relative_to(folder).as_posix()
                pieces.append(Piece(relative, entry, f"{label}/{relative}"))
    return pieces


# --- nbgrader: submitted/<student>/<assignment>/ ----------------------------------------------------

def _nbgrader_submitted(folder: Path):
    """The `submitted` folder when folder is one, holds one (a course root), or looks like one; else None."""
    if folder.name == "submitted" and any(sub.is_dir() for student in _visible(folder) if student.is_dir()
                                          for sub in _visible(student)):
        return folder
    inner = folder / "submitted"
    if inner.is_dir() and not inner.is_symlink():
        others = [entry.name for entry in _visible(folder) if entry.name != "submitted"]
        if not others or any(name in NBGRADER_COURSE_MARKS for name in others):
            return inner
    for entry in _visible(folder):
        if entry.is_dir() and not entry.is_symlink() and any(
                (sub / "timestamp.txt").is_file() for sub in _visible(entry) if sub.is_dir()):
            return folder
    return None


def _nbgrader(submitted: Path, assignment, given, refused):
    students = [entry for entry in _visible(submitted) if entry.is_dir() and not entry.is_symlink()]
    found = {}
    for student in students:
        for sub in _visible(student):
            if sub.is_dir() and not sub.is_symlink():
                found.setdefault(sub.name, []).append(student.name)
    if assignment is None:
        if len(found) > 1:
            raise ClassError(_("{folder} holds several assignments ({assignments}); choose one with --assignment").format(
                folder=given.name, assignments=", ".join(sorted(found))))
        if not found:
            raise ClassError(_("{folder}: nbgrader's submitted folder holds no <student>/<assignment> folders").format(
                folder=given.name))
        assignment = next(iter(found))
    elif assignment not in found:
        raise ClassError(_("no student in {folder} has handed in {assignment} (found: {assignments})").format(
            folder=given.name, assignment=assignment, assignments=", ".join(sorted(found)) or "-"))
    owned, rest = _attribute(refused, lambda parts: parts[0] if len(parts) > 1 and parts[1] == assignment else None)
    pairs, without = [], []
    for student in students:
        folder = student / assignment
        if not folder.is_dir():
            without.append(student.name)
            continue
        meta = {"lms": "nbgrader", "assignment": assignment}
        timestamp = folder / "timestamp.txt"
        if timestamp.is_file() and not timestamp.is_symlink() and timestamp.stat().st_size < 200:
            meta["timestamp"] = timestamp.read_text(encoding="utf-8", errors="replace").strip()
        pieces = sorted((piece for piece in _folder_pieces(folder, label=f"{student.name}/{assignment}",
                                                           skip=("timestamp.txt",)) if piece.kind != "zip"),
                        key=lambda piece: piece.kind == "notebook")  # a notebook is the submission: it wins over a .py
        meta["files"] = [piece.name for piece in pieces]
        problem = owned[student.name][0] if student.name in owned else ""
        pairs.append((student.name, LmsEntry(student.name, folder, tuple(pieces), meta, problem)))
    notes = _refused_notes(rest)
    if without:
        notes.append(_("{count} student(s) without {assignment}: {students}").format(
            count=len(without), assignment=assignment, students=_names(without)))
    return Layout("nbgrader", given, submitted, tuple(pairs), tuple(notes), assignment=assignment)


# --- staging helpers ---------------------------------------------------------------------------------

def _place(target: Path, relative: PurePosixPath, label: str, placed: dict, notes: list, *, source=None, text=None):
    """Write one staged file; when an earlier piece gave the same file, say which copy is used.

    The course's stand-in modules (loose, or inside a student's zip) are never staged as the student's work."""
    if source is not None and _is_stand_in(source):
        notes.append(_("{file} ignored: it is the course's stand-in module, not the student's work").format(file=label))
        return
    key = relative.as_posix()
    if key in placed:
        notes.append(_("{file} was handed in more than once; the copy from {kept} is used, not the one from {dropped}").format(
            file=key, kept=label, dropped=placed[key]))
    placed[key] = label
    destination = target.joinpath(*relative.parts)
    destination.parent.mkdir(parents=True, exist_ok=True)
    if text is not None:
        destination.write_text(text, encoding="utf-8")
    else:
        shutil.copyfile(source, destination)


def _place_zip(piece: Piece, target: Path, placed: dict, notes: list):
    """A student's zip inside the download: unpacked with the rules for student zips, then merged."""
    with tempfile.TemporaryDirectory(prefix="unzip-", dir=target.parent) as scratch:
        _stage_zip(piece.path, Path(scratch))
        for path in sorted(Path(scratch).rglob("*")):
            if path.is_file():
                relative = PurePosixPath(path.relative_to(scratch).as_posix())
                _place(target, relative, f"{piece.label}: {relative}", placed, notes, source=path)


def _is_stand_in(path: Path) -> bool:
    """The step.py/sigmoid.py that grader.notebooks puts beside the notebooks: never graded as the student's."""
    from grader.notebooks import STAND_IN_MARKER

    if path.suffix != ".py":
        return False
    with open(path, "rb") as handle:
        return handle.readline().decode("utf-8", "replace").rstrip("\r\n") == STAND_IN_MARKER


def _unanswered(source: str) -> bool:
    """A cell left as nbgrader's stub: nothing but `raise NotImplementedError()` at the top level."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    def raises_not_implemented(node):
        if not isinstance(node, ast.Raise) or node.exc is None:
            return False
        target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        return isinstance(target, ast.Name) and target.id == "NotImplementedError"
    return bool(body) and all(raises_not_implemented(node) for node in body)


def is_test_cell(cell) -> bool:
    """nbgrader's autograder tests: grade true, solution false (they call the course's checks, not the student's code)."""
    nbgrader = (cell.get("metadata") or {}).get("nbgrader") or {}
    return bool(nbgrader.get("grade")) and not nbgrader.get("solution", False)


def notebook_to_python(path: Path, *, label: str, notes=None) -> str:
    """The notebook's code cells in order, without test cells, magics and shell lines commented out.

    IntakeError when the notebook cannot be read; it is parsed as data, never run.
    """
    import nbformat
    from nbformat import reader
    from nbformat.validator import ValidationError

    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise IntakeError(_("{file} is larger than the {limit} MiB a notebook may be").format(
            file=label, limit=MAX_NOTEBOOK_BYTES // 2**20))
    try:
        notebook = nbformat.convert(reader.reads(path.read_text(encoding="utf-8")), 4)
        cells = [(cell.get("cell_type"), _source(cell.get("source", "")), is_test_cell(cell)) for cell in notebook["cells"]]
    except (ValueError, KeyError, TypeError, AttributeError, ValidationError) as exc:
        raise IntakeError(_("{file} is not a readable notebook: {problem}").format(
            file=label, problem=str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__)) from None
    try:
        nbformat.validate(notebook)
    except ValidationError as exc:
        if notes is not None:
            notes.append(_("{file} does not follow the notebook format ({problem}); its code cells were read anyway").format(
                file=label, problem=str(exc).splitlines()[0][:200]))
    lines = [f"# {Path(label).name}: code cells in order, autograder test cells left out (made by the grader)"]
    for index, (kind, source, test) in enumerate(cells, start=1):
        if kind != "code" or test:
            continue
        lines.append(f"# cell {index}")
        if _unanswered(source):  # in the notebook only this cell fails; here it must not stop the whole file
            lines.extend(["# not answered:", *("# " + line for line in source.splitlines())])
            continue
        lines.extend(_without_magics(source))
        lines.append("")
    return "\n".join(lines) + "\n"


def _source(source):
    if isinstance(source, list):
        source = "".join(source)
    if not isinstance(source, str):
        raise TypeError("a cell's source is not text")
    return source


def _without_magics(source: str):
    """IPython-only lines become comments, so the cell is plain Python; a non-Python cell magic comments the cell."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].strip()[2:].split(" ")[0]
        if magic not in CELL_MAGICS_THAT_RUN_PYTHON:
            return ["# " + line for line in lines]
        lines = ["# " + lines[0].strip(), *lines[1:]]
    converted = []
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            line = line[:len(line) - len(stripped)] + "# " + stripped
        converted.append(line)
    return converted
