"""Canvas: fill one assignment's column of the gradebook CSV the instructor exported.

Canvas imports its own export best, so every other column and row (SIS ids,
sections, the Points Possible row, the muted-assignment row, totals) is written
back as it was. Header and rows follow Canvas's gradebook exporter and importer
(lms-formats research, sections 1.1 and 1.2).
"""
import difflib
import re
from dataclasses import dataclass

from grader.i18n import _
from grader.lms.csvtable import CsvFormatError, format_points, parse_number, read_table
from grader.lms.results import load_scores
from grader.lms.roster import RosterEntry, RosterMatch, match_roster

WHAT = "Canvas gradebook export"
MATCH_COLUMNS = {"id": "ID", "sis_login": "SIS Login ID"}
STUDENT_COLUMNS = {"Student", "LastName", "FirstName", "ID", "SIS User ID", "SIS Login ID", "Section",
                   "Integration ID", "Root Account"}
COMPUTED_COLUMN = re.compile(r"(Unposted )?(Current|Final|Override) (Score|Points|Grade|Status)")
TITLE_WITH_ID = re.compile(r"\A(.*)\s\((\d+)\)\Z")  # Canvas's Assignment.title_and_id
READ_ONLY = re.compile(r"read\s+only", re.IGNORECASE)


class CanvasGradebookError(ValueError):
    """The gradebook export cannot take this assignment's grades; the message says why."""


@dataclass(frozen=True)
class CanvasFill:
    text: str  # the filled CSV, ready to import
    column: str
    scaled_to: float  # points the grades are out of; None: our scores as they are
    match: RosterMatch
    filled: int
    excused: tuple  # students whose EX (excused) cell was kept
    unmatchable: tuple  # "line N" of rows with no id to match on
    notes: tuple


def fill_canvas_gradebook(*, out_dir, gradebook, assignment: str, match: str = "id", scale=None) -> CanvasFill:
    """The gradebook export with `assignment`'s column filled from OUT/results."""
    if match not in MATCH_COLUMNS:
        raise ValueError(f"match must be one of {', '.join(MATCH_COLUMNS)}, not {match!r}")
    scores = load_scores(out_dir)
    table = read_table(gradebook, what=WHAT)
    header = table.header.values
    _check_header(table)
    key_column = table.column(MATCH_COLUMNS[match])
    if key_column is None:
        raise CsvFormatError(_("{file}: there is no {column} column to match students on (the header is: "
                               "{header})").format(file=table.path, column=MATCH_COLUMNS[match],
                                                   header=", ".join(header)))
    column = _assignment_column(table, assignment)
    points_row = next((row for row in table.rows if row.values and row.values[0].strip() == "Points Possible"), None)
    points = None
    if points_row is not None:
        if READ_ONLY.search(points_row.values[column]):
            raise CanvasGradebookError(_("{file}: the column {column} is read only in Canvas; pick an "
                                         "assignment column").format(file=table.path, column=header[column]))
        points = parse_number(points_row.values[column])
    notes = []
    if scale is not None:
        scaled_to = float(scale)
        if points is not None and abs(points - scaled_to) > 1e-9:
            notes.append(_("--scale {scale} differs from the column's Points Possible ({points}); grades are out "
                           "of {scale}").format(scale=format_points(scaled_to), points=format_points(points)))
    elif points is not None and points > 0:
        scaled_to = points
    else:
        scaled_to = None
        notes.append(_("{file} gives no Points Possible for {column} and there is no --scale: grades are our "
                       "scores as they are, out of {max}").format(
            file=table.path.name, column=header[column], max=format_points(max(s.max_score for s in scores))))
    name_column = 0
    entries, unmatchable = [], []
    for row in table.rows:
        if row.blank or row is points_row or not row.values[table.column("ID")].strip():
            continue  # muted / manual-posting rows and separators have no student
        key = row.values[key_column].strip()
        if not key:
            unmatchable.append(_("line {line}").format(line=row.line))
            continue
        entries.append(RosterEntry(key, _("line {line}").format(line=row.line), row.values[name_column], row))
    matched = match_roster(scores, entries, key_of=_key_of(match), source=table.path.name,
                           source_path=table.path)
    excused, filled = [], 0
    for score, entry in matched.pairs:
        current = entry.handle.values[column]
        if current.strip().upper() == "EX":
            excused.append(score.student)
            continue
        value = score.fraction * scaled_to if scaled_to is not None else score.score
        like = current if current.strip() else (points_row.values[column] if points_row else "")
        entry.handle.filled[column] = format_points(value, like=like)
        filled += 1
    return CanvasFill(table.render(), header[column], scaled_to, matched, filled, tuple(excused),
                      tuple(unmatchable), tuple(notes))


def _check_header(table):
    header = table.header.values
    first = header[0] if header else ""
    if len(header) < 3 or not ("Student" in first or first == "LastName") or "ID" not in header:
        raise CsvFormatError(_("{file} does not look like a Canvas gradebook export: its first row should begin "
                               "with Student, ID, ... (found: {found})").format(
            file=table.path, found=", ".join(header[:6]) or _("nothing")))


def _assignment_columns(header):
    return [name for name in header if name not in STUDENT_COLUMNS and not COMPUTED_COLUMN.search(name)]


def _assignment_column(table, assignment: str) -> int:
    """The column for `assignment`: its exact header, or its Canvas id alone ("123")."""
    header = table.header.values
    wanted = assignment.strip()
    if wanted in header and wanted not in _assignment_columns(header):
        raise CanvasGradebookError(_("{file}: {column} is not an assignment column (Canvas fills it itself)").format(
            file=table.path, column=wanted))
    if wanted in header:
        return header.index(wanted)
    if wanted.isdigit():
        by_id = [index for index, name in enumerate(header)
                 if (found := TITLE_WITH_ID.match(name)) and found.group(2) == wanted]
        if len(by_id) == 1:
            return by_id[0]
    candidates = _assignment_columns(header)
    title = (TITLE_WITH_ID.match(wanted).group(1) if TITLE_WITH_ID.match(wanted) else wanted).lower()
    identifier = TITLE_WITH_ID.match(wanted).group(2) if TITLE_WITH_ID.match(wanted) else wanted
    similar = [name for name in candidates
               if title and title in name.lower() or (identifier.isdigit() and f"({identifier})" in name)]
    similar += [name for name in difflib.get_close_matches(wanted, candidates, n=5, cutoff=0.5) if name not in similar]
    if similar:
        raise CanvasGradebookError(_("{file} has no column {column}; similar columns: {similar}").format(
            file=table.path, column=repr(wanted), similar="; ".join(similar)))
    raise CanvasGradebookError(_("{file} has no column {column}; its assignment columns are: {columns}").format(
        file=table.path, column=repr(wanted), columns="; ".join(candidates) or _("none")))


def _key_of(match):
    def canvas_user_id(score):
        if score.meta.get("lms") == "canvas" and score.meta.get("canvas_user_id") not in (None, ""):
            return score.meta["canvas_user_id"]
        return score.student

    def sis_login(score):
        return score.meta.get("sis_login_id") or score.student

    return canvas_user_id if match == "id" else sis_login
