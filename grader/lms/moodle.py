"""Moodle: fill the assignment's offline grading worksheet (download, fill, upload).

Moodle's importer finds its columns by their names in the site's language, so the
worksheet's header and every column we do not fill are written back verbatim.
Only Grade (scaled to Maximum Grade), Feedback comments (HTML, the comments
plugin's format) and Last modified (grade) change, on the rows we have results
for (lms-formats research, section 2.1).
"""
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from grader.i18n import _
from grader.lms.csvtable import CsvFormatError, format_points, parse_number, read_table
from grader.lms.results import load_scores, report_markdown
from grader.lms.roster import RosterEntry, RosterMatch, match_roster

WHAT = "Moodle grading worksheet"
# English names of the columns we read or fill; a site in another language overrides them (--header KEY=NAME).
HEADERS = {"identifier": "Identifier", "fullname": "Full name", "grade": "Grade", "maximum": "Maximum Grade",
           "changeable": "Grade can be changed", "modified": "Last modified (grade)",
           "feedback": "Feedback comments"}
REQUIRED = ("identifier", "grade", "maximum", "modified")
PARTICIPANT = re.compile(r"(\d+)\s*\Z")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


class MoodleWorksheetError(ValueError):
    """The worksheet cannot take these grades; the message says why."""


@dataclass(frozen=True)
class MoodleFill:
    text: str
    match: RosterMatch
    filled: int
    with_feedback: int
    locked: tuple  # students whose row says the grade cannot be changed (left as it was)
    graded_at: str  # the Last modified (grade) written, in Moodle's format
    notes: tuple


def moodle_time(moment: datetime) -> str:
    """A time as Moodle's English worksheet shows it (strftimedaydatetime): "Monday, 3 March 2025, 9:05 AM"."""
    hour = moment.hour % 12 or 12
    noon = "AM" if moment.hour < 12 else "PM"
    return f"{DAYS[moment.weekday()]}, {moment.day} {MONTHS[moment.month - 1]} {moment.year}, {hour}:{moment:%M} {noon}"


def graded_now(timezone: str = None) -> datetime:
    """Now, in `timezone` (an IANA name such as Europe/Berlin: the Moodle server's), else in local time."""
    if not timezone:
        return datetime.now().astimezone()
    try:
        return datetime.now(ZoneInfo(timezone))
    except (ZoneInfoNotFoundError, ValueError):
        raise MoodleWorksheetError(_("unknown time zone {zone}: use a name such as Europe/Berlin").format(
            zone=repr(timezone))) from None


def feedback_html(markdown: str) -> str:
    """The Markdown report as HTML, the format Moodle stores feedback comments in; raw HTML is escaped."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).render(markdown).strip()


def fill_moodle_worksheet(*, out_dir, worksheet, headers=None, graded_at: datetime = None,
                          feedback: bool = True) -> MoodleFill:
    """The worksheet with Grade, Feedback comments and Last modified (grade) filled from OUT."""
    names = {**HEADERS, **(headers or {})}
    scores = load_scores(out_dir)
    table = read_table(worksheet, what=WHAT)
    columns = {key: table.column(name) for key, name in names.items()}
    absent = [names[key] for key in REQUIRED if columns[key] is None]
    if absent:
        hint = (_("grades on a scale cannot be exported; use a point grade") if table.column("Scale") is not None
                else _("for a site in another language, name the columns with --header KEY=NAME"))
        raise CsvFormatError(_("{file} lacks the column(s) {absent} of a Moodle grading worksheet (its header is: "
                               "{header}); {hint}").format(file=table.path, absent=", ".join(absent),
                                                           header=", ".join(table.header.values), hint=hint))
    moment = graded_at or graded_now()
    stamp = moodle_time(moment)
    entries = []
    for row in table.rows:
        if row.blank:
            continue
        identifier = row.values[columns["identifier"]]
        found = PARTICIPANT.search(identifier)
        if not found:
            raise CsvFormatError(_("{file}, line {line}: the identifier {value} does not end in a participant "
                                   "number (like \"Participant 1234567\")").format(
                file=table.path, line=row.line, value=repr(identifier)))
        label = row.values[columns["fullname"]] if columns["fullname"] is not None else ""
        entries.append(RosterEntry(found.group(1), _("line {line}").format(line=row.line), label, row))
    matched = match_roster(scores, entries, key_of=participant_of, source=table.path.name,
                           source_path=table.path)
    notes = []
    if feedback and columns["feedback"] is None:
        notes.append(_("{file} has no {column} column, so no feedback was added; turn on feedback comments in "
                       "the assignment's settings and download the worksheet again").format(
            file=table.path.name, column=names["feedback"]))
    filled, with_feedback, locked = 0, 0, []
    for score, entry in matched.pairs:
        row = entry.handle
        if columns["changeable"] is not None and row.values[columns["changeable"]].strip().lower() == "no":
            locked.append(score.student)
            continue
        maximum_text = row.values[columns["maximum"]]
        maximum = parse_number(maximum_text)
        if maximum is None or maximum <= 0:
            raise MoodleWorksheetError(_("{file}, line {line}: the maximum grade {value} is not a number of "
                                         "points").format(file=table.path, line=row.line, value=repr(maximum_text)))
        row.filled[columns["grade"]] = format_points(score.fraction * maximum, like=maximum_text)
        row.filled[columns["modified"]] = stamp
        filled += 1
        if feedback and columns["feedback"] is not None:
            markdown = report_markdown(out_dir, score.student)
            if markdown is not None:
                row.filled[columns["feedback"]] = feedback_html(markdown)
                with_feedback += 1
    return MoodleFill(table.render(), matched, filled, with_feedback, tuple(locked), stamp, tuple(notes))


def participant_of(score) -> str:
    """The Moodle participant number a result is for: the intake's, else the student id ("Participant 12" -> 12)."""
    if score.meta.get("lms") == "moodle" and score.meta.get("participant_id") not in (None, ""):
        return str(score.meta["participant_id"])
    found = re.fullmatch(r"(?i)participant[\s_]*(\d+)", score.student)
    return found.group(1) if found else score.student
