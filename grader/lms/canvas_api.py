"""Canvas: post each grade (and, when asked, the report as a comment) through the REST API.

Uses canvasapi: the assignment's submissions are the roster, and each matched one
gets `PUT .../submissions/:user_id` with submission[posted_grade] and
comment[text_comment]. One student's failure (401, 500, a dropped connection) is
recorded and the others are still posted; only a failure to reach the course or
the assignment stops everything.
"""
import warnings
from dataclasses import dataclass

from grader.i18n import _
from grader.lms.csvtable import format_points
from grader.lms.results import load_scores, report_markdown
from grader.lms.roster import RosterEntry, RosterMatch, match_roster

TOKEN_VARIABLE = "CANVAS_API_TOKEN"


class CanvasApiError(RuntimeError):
    """Canvas could not be used at all (bad token, no such course); nothing was posted."""


@dataclass(frozen=True)
class Posted:
    student: str
    user_id: str
    grade: str
    commented: bool


@dataclass(frozen=True)
class PostFailure:
    student: str
    user_id: str
    problem: str


@dataclass(frozen=True)
class CanvasPost:
    assignment: str  # its name in Canvas
    points_possible: float  # None: grades were posted as our scores, out of 100
    match: RosterMatch
    posted: tuple
    failed: tuple


def post_grades(*, out_dir, url: str, course_id, assignment_id, token: str, comments: bool = False) -> CanvasPost:
    """Post every result's grade to the Canvas assignment; failures are collected, not raised."""
    from canvasapi import Canvas

    scores = load_scores(out_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # canvasapi warns about http:// URLs; the command says so itself
        canvas = Canvas(url.rstrip("/"), token)
    try:
        course = canvas.get_course(course_id)
        assignment = course.get_assignment(assignment_id)
        submissions = list(assignment.get_submissions())
    except Exception as exc:  # canvasapi's errors, requests' errors, and JSON errors from odd answers
        raise CanvasApiError(_("cannot reach course {course}, assignment {assignment} at {url}: {problem}").format(
            url=url, course=course_id, assignment=assignment_id, problem=describe_failure(exc))) from None
    entries = [RosterEntry(str(item.user_id), _("user {id}").format(id=item.user_id), "", item)
               for item in submissions]
    name = getattr(assignment, "name", str(assignment_id))
    matched = match_roster(scores, entries, key_of=canvas_user_id,
                           source=_("the Canvas assignment {name}").format(name=repr(name)))
    points = getattr(assignment, "points_possible", None)
    points = float(points) if points else None
    posted, failed = [], []
    for score, entry in matched.pairs:
        grade = format_points(score.fraction * points if points else score.score)
        arguments = {"submission": {"posted_grade": grade}}
        text = report_markdown(out_dir, score.student) if comments else None
        if text:
            arguments["comment"] = {"text_comment": text}
        try:
            entry.handle.edit(**arguments)
        except Exception as exc:  # one student's failure must not stop the others
            failed.append(PostFailure(score.student, entry.key, describe_failure(exc)))
        else:
            posted.append(Posted(score.student, entry.key, grade, bool(text)))
    return CanvasPost(name, points, matched, tuple(posted), tuple(failed))


def canvas_user_id(score) -> str:
    if score.meta.get("lms") == "canvas" and score.meta.get("canvas_user_id") not in (None, ""):
        return str(score.meta["canvas_user_id"])
    return score.student


def describe_failure(exc) -> str:
    """What went wrong with a request, with the HTTP status when Canvas answered."""
    from canvasapi import exceptions
    from requests import RequestException

    statuses = ((exceptions.InvalidAccessToken, 401), (exceptions.Unauthorized, 401), (exceptions.BadRequest, 400),
                (exceptions.RateLimitExceeded, 429), (exceptions.Forbidden, 403),
                (exceptions.ResourceDoesNotExist, 404), (exceptions.Conflict, 409),
                (exceptions.UnprocessableEntity, 422))
    for kind, status in statuses:
        if isinstance(exc, kind):
            return _("HTTP {status}: {message}").format(status=status, message=_flat(exc))
    if isinstance(exc, exceptions.CanvasException):
        return _flat(exc)
    if isinstance(exc, RequestException):
        return _("no answer from Canvas ({problem})").format(problem=type(exc).__name__)
    return _("an unexpected answer from Canvas ({problem})").format(problem=_flat(exc) or type(exc).__name__)


def _flat(exc) -> str:
    """The exception's text on one line; Canvas's {"errors": [{"message": ...}]} as its messages."""
    message = getattr(exc, "message", None)
    if isinstance(message, list) and all(isinstance(item, dict) and "message" in item for item in message):
        text = "; ".join(str(item["message"]) for item in message)
    else:
        text = str(exc)
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."
