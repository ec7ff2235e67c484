"""From OUT/results/<student>.json (and the student's Markdown report) to the AGS Score to post.

The comment is short on purpose: LMS gradebooks show it in a narrow cell. It is the
report's score line and its first failing checks, in the language the report was
rendered in, with the Markdown marks taken out.
"""
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from grader.i18n import _

SCORE_MEDIA_TYPE = "application/vnd.ims.lis.v1.score+json"
COMMENT_LIMIT = 2000  # characters; longer comments are cut


class ResultsMissing(Exception):
    """OUT has no results folder: nothing was graded there."""


@dataclass(frozen=True)
class GradedResult:
    """What publishing needs from one results file."""

    student: str
    score: float
    max_score: float
    failing_checks: tuple  # (id, status) of each check that did not pass, in report order
    content_hash: str  # sha256 of the result's canonical JSON
    path: Path


@dataclass(frozen=True)
class Unreadable:
    """A results file that cannot be published, and why."""

    path: Path
    problem: str


@dataclass(frozen=True)
class ScoreToPublish:
    """One student's Score, everything but the timestamp (which is taken when it is sent)."""

    student: str
    user_id: str
    score_given: float
    score_maximum: float
    comment: str
    result_hash: str

    @property
    def fingerprint(self):
        """What the platform would see, less the timestamp: equal fingerprints need no new post."""
        seen = {"userId": self.user_id, "scoreGiven": self.score_given,
                "scoreMaximum": self.score_maximum, "comment": self.comment}
        return hashlib.sha256(json.dumps(seen, sort_keys=True).encode("utf-8")).hexdigest()

    def body(self, timestamp):
        """The Score object of LTI AGS 2.0, with an ISO 8601 timestamp that carries its time zone."""
        return {
            "userId": self.user_id,
            "scoreGiven": self.score_given,
            "scoreMaximum": self.score_maximum,
            "comment": self.comment,
            "timestamp": timestamp.isoformat(timespec="milliseconds"),
            "activityProgress": "Completed",
            "gradingProgress": "FullyGraded",
        }


def _number(data, key):
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ValueError(_("{key} must be a number, got {value}").format(key=key, value=repr(value)))
    return float(value)


def parse_result(data, path):
    """A GradedResult from one results file's JSON (the contract of RESULTS.md); ValueError says what is wrong."""
    if not isinstance(data, dict):
        raise ValueError(_("the file must hold a JSON object"))
    student = data.get("student")
    if student != path.stem:
        raise ValueError(_("it names the student {student}, but the file is {name}")
                         .format(student=repr(student), name=path.name))
    score, max_score = _number(data, "score"), _number(data, "max_score")
    if max_score <= 0 or not 0 <= score <= max_score:
        raise ValueError(_("score {score} is not between 0 and max_score {max_score}")
                         .format(score=score, max_score=max_score))
    exercises = data.get("exercises")
    if not isinstance(exercises, dict):
        raise ValueError(_("exercises must be a JSON object"))
    failing = []
    for exercise in exercises.values():
        for check in (exercise or {}).get("checks", []) if isinstance(exercise, dict) else []:
            if isinstance(check, dict) and check.get("status") != "passed":
                failing.append((str(check.get("id")), str(check.get("status"))))
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return GradedResult(student=student, score=score, max_score=max_score, failing_checks=tuple(failing),
                        content_hash=hashlib.sha256(canonical.encode("utf-8")).hexdigest(), path=path)


def read_results(out_dir):
    """Every OUT/results/*.json, as (results, unreadable files with the reason)."""
    folder = Path(out_dir) / "results"
    if not folder.is_dir():
        raise ResultsMissing(_("{folder} is not a folder: run `python -m grader grade SUBMISSIONS --out {out}` first")
                             .format(folder=folder, out=out_dir))
    results, unreadable = [], []
    for path in sorted(folder.glob("*.json")):
        try:
            results.append(parse_result(json.loads(path.read_text(encoding="utf-8")), path))
        except OSError as exc:
            unreadable.append(Unreadable(path, _("cannot be read ({problem})").format(problem=exc.strerror)))
        except UnicodeDecodeError:
            unreadable.append(Unreadable(path, _("not UTF-8 text")))
        except json.JSONDecodeError as exc:
            unreadable.append(Unreadable(path, _("not valid JSON ({problem})").format(problem=exc)))
        except ValueError as exc:
            unreadable.append(Unreadable(path, str(exc)))
    return results, unreadable


def _plain(markdown_line):
    """A Markdown line of the report as plain text: no list dash, bold marks, code ticks or escapes."""
    text = markdown_line.strip()
    text = re.sub(r"^- ", "", text)
    text = text.replace("**", "").replace("`", "")
    return re.sub(r"\\(.)", r"\1", text)


def _number_text(value):
    return f"{value:g}"


def comment_for(result, report_markdown=None, *, max_checks=3):
    """The score line and up to `max_checks` failing checks, from the report when there is one.

    When the report says the submission could not be graded at all, that sentence replaces the checks
    (they all failed for that one reason).
    """
    lines = report_markdown.splitlines() if report_markdown else []
    head = []
    for line in lines:
        if line.startswith("## "):
            break
        if re.match(r"\*\*.+?\*\*\S*\s+\S", line):  # bold words followed by more text: score, problem
            head.append(_plain(line))
    parts = head[:2] or [_("Score: {score} of {max_score} points").format(
        score=_number_text(result.score), max_score=_number_text(result.max_score))]
    if len(head) < 2:
        parts += [_check_lines(check_id, status, lines) for check_id, status in result.failing_checks[:max_checks]]
        hidden = len(result.failing_checks) - max_checks
        if hidden > 0:
            parts.append(_("... and {count} more; the full report lists every check.").format(count=hidden))
    comment = "\n".join(parts)
    return comment if len(comment) <= COMMENT_LIMIT else comment[:COMMENT_LIMIT - 1] + "…"


def _check_lines(check_id, status, lines):
    """The report's line for one check and the first line of its feedback; without a report, id and status."""
    for index, line in enumerate(lines):
        if line.startswith("- ") and f"`{check_id}`" in line:
            found = [_plain(line)]
            following = lines[index + 1] if index + 1 < len(lines) else ""
            if following.startswith("  - ") and not following.strip().startswith("- *"):
                found.append("  " + _plain(following)[:300])
            return "\n".join(found)
    return _("{check}: {status}").format(check=check_id, status=status)


def read_report(out_dir, student):
    """OUT/reports/<student>.md, or None when there is none (the comment is then made from the result)."""
    from grader.exports import report_path

    try:
        return report_path(out_dir, student, "md").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
