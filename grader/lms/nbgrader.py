"""nbgrader: the `nbgrader export` CSV, and scores written into a real nbgrader gradebook.

In the gradebook our scores live in a notebook of their own, `nn-grader`, in the
named assignment, with one autograded cell per exercise, so nbgrader's own views
and `nbgrader export` show them. The assignment must already exist (a misspelt
name would otherwise make a new one) unless create_assignment is set; students
missing from the gradebook are only added with create_students, as with
`nbgrader autograde --create`.
"""
import csv
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from grader.i18n import _
from grader.lms.roster import RosterEntry, RosterMatch, match_roster

# The columns of nbgrader 0.9's CsvExportPlugin, in its order.
CSV_COLUMNS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
               "raw_score", "late_submission_penalty", "score", "max_score")
NOTEBOOK = "nn-grader"


class NbgraderError(ValueError):
    """The gradebook cannot take these scores; the message says why."""


@dataclass(frozen=True)
class GradebookWrite:
    match: RosterMatch  # gradebook students against results, before any were added
    written: int
    added_students: tuple
    created_assignment: bool


def grades_csv(*, scores, assignment: str, students=None, duedate="") -> str:
    """One row per student in `nbgrader export`'s form. `students` (from gradebook_students) supplies names,
    emails and submission times, and adds the gradebook's students without a result as nbgrader does: no
    timestamp and zero points."""
    students = students or {}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    max_score = max((score.max_score for score in scores), default=0.0)
    by_id = {score.student: score for score in scores}
    for student in sorted(set(by_id) | set(students)):
        score = by_id.get(student)
        fallback = ("", "", "", score.meta.get("timestamp", "") if score else "")
        last, first, email, timestamp = students.get(student, fallback)
        raw = score.score if score else 0.0
        writer.writerow([assignment, _text(duedate), _text(timestamp), student, _text(last), _text(first),
                         _text(email), str(raw), str(0.0), str(max(0.0, raw - 0.0)),
                         str(score.max_score if score else max_score)])
    return buffer.getvalue()


def _text(value):
    return "" if value is None else str(value)


def open_gradebook(url: str):
    """A Gradebook for `url`; a sqlite file must already exist (a typo would otherwise make an empty one)."""
    from sqlalchemy import create_engine, inspect

    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        if not path.is_file():
            raise NbgraderError(_("there is no nbgrader gradebook at {path}").format(path=path))
    try:
        engine = create_engine(url)
        try:
            tables = set(inspect(engine).get_table_names())
        finally:
            engine.dispose()
        if not {"assignment", "student", "submitted_assignment"} <= tables:
            raise NbgraderError(_("{url} is not an nbgrader gradebook (it has no nbgrader tables); make one with "
                                  "nbgrader first, e.g. `nbgrader db assignment add NAME`").format(url=url))
        from nbgrader.api import Gradebook  # slow to import: only once the gradebook is known to be there

        return Gradebook(url)
    except NbgraderError:
        raise
    except Exception as exc:  # SQLAlchemy and nbgrader's migrations raise many kinds
        raise NbgraderError(_("the nbgrader gradebook {url} cannot be opened: {problem}").format(
            url=url, problem=exc)) from None


def gradebook_students(gradebook, assignment: str) -> dict:
    """id -> (last name, first name, email, submission time or None), as nbgrader's export shows them."""
    from nbgrader.api import MissingEntry

    students = {}
    for student in gradebook.students:
        try:
            timestamp = gradebook.find_submission(assignment, student.id).timestamp
        except MissingEntry:
            timestamp = None
        students[student.id] = (student.last_name, student.first_name, student.email, timestamp)
    return students


def write_to_gradebook(gradebook, *, scores, assignment: str, create_assignment=False,
                       create_students=False) -> GradebookWrite:
    """Each result's exercise scores as the auto scores of the `nn-grader` notebook of `assignment`."""
    from nbgrader.api import MissingEntry
    from sqlalchemy.exc import SAWarning

    created = False
    try:
        gradebook.find_assignment(assignment)
    except MissingEntry:
        if not create_assignment:
            existing = ", ".join(item.name for item in gradebook.assignments) or _("none")
            raise NbgraderError(_("the nbgrader gradebook has no assignment {name} (it has: {existing}); check the "
                                  "name, or pass --create-assignment to add it").format(
                name=repr(assignment), existing=existing)) from None
        gradebook.add_assignment(assignment)
        created = True
    entries = [RosterEntry(student.id, _("student {id}").format(id=student.id),
                           " ".join(part for part in (student.first_name, student.last_name) if part))
               for student in gradebook.students]
    matched = match_roster(scores, entries, key_of=lambda score: score.student, source=_("the nbgrader gradebook"))
    added = []
    if create_students:
        for score in matched.unknown:
            gradebook.add_student(score.student)
            added.append(score.student)
    to_write = [score for score, _entry in matched.pairs] + [score for score in matched.unknown if score.student in added]
    with warnings.catch_warnings():
        # nbgrader's add_submission builds objects before adding them: SQLAlchemy warns, harmlessly, on autoflush
        warnings.simplefilter("ignore", SAWarning)
        _ensure_cells(gradebook, assignment, scores)
        for score in to_write:
            _write_scores(gradebook, assignment, score)
        gradebook.db.commit()
    return GradebookWrite(matched, len(to_write), tuple(added), created)


def _cell_name(exercise: str) -> str:
    return f"{NOTEBOOK}-{exercise}"


def _ensure_cells(gradebook, assignment, scores):
    """The nn-grader notebook and one autograded code cell per exercise, worth that exercise's points."""
    maxima = {}
    for score in scores:
        for part in score.exercises:
            maxima[part.exercise] = max(maxima.get(part.exercise, 0.0), part.max_score)
    gradebook.update_or_create_notebook(NOTEBOOK, assignment)
    for exercise, max_score in maxima.items():
        gradebook.update_or_create_grade_cell(_cell_name(exercise), NOTEBOOK, assignment, max_score=max_score,
                                              cell_type="code")


def _write_scores(gradebook, assignment, score):
    from nbgrader.api import Grade, MissingEntry, SubmittedNotebook

    try:
        submission = gradebook.find_submission(assignment, score.student)
    except MissingEntry:
        submission = None
        if score.meta.get("timestamp"):  # nbgrader's own timestamp.txt, kept by the intake
            try:
                submission = gradebook.add_submission(assignment, score.student, timestamp=score.meta["timestamp"])
            except (ValueError, OverflowError):
                gradebook.db.rollback()
        if submission is None:
            submission = gradebook.add_submission(assignment, score.student)  # mirrors every notebook and cell
    try:
        notebook = gradebook.find_submission_notebook(NOTEBOOK, assignment, score.student)
    except MissingEntry:  # a submission made before the nn-grader notebook existed
        notebook = SubmittedNotebook(notebook=gradebook.find_notebook(NOTEBOOK, assignment), assignment=submission)
        gradebook.db.add(notebook)
    for part in score.exercises:
        cell = gradebook.find_grade_cell(_cell_name(part.exercise), NOTEBOOK, assignment)
        grade = next((item for item in notebook.grades if item.cell_id == cell.id), None)
        if grade is None:
            grade = Grade(cell_id=cell.id, notebook=notebook)
            gradebook.db.add(grade)
        grade.auto_score = part.score
        grade.needs_manual_grade = False
