"""Read what `grade` wrote, for the exporters: OUT/results/*.json and the Markdown reports.

Exporters never read the gradebook tables: the results files are the contract
(RESULTS.md), and a broken one stops the export with its name rather than
quietly leaving a student out.
"""
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from grader.i18n import _


class ResultsError(ValueError):
    """OUT or one of its results files cannot be used; the message names the file."""


@dataclass(frozen=True)
class ExerciseScore:
    exercise: str
    score: float
    max_score: float


@dataclass(frozen=True)
class StudentScore:
    """One student's total, the per-exercise parts, and the intake's LMS facts (may be empty)."""

    student: str
    score: float
    max_score: float
    exercises: tuple = ()
    meta: dict = field(default_factory=dict, compare=False)
    path: Path = None

    @property
    def fraction(self) -> float:
        return self.score / self.max_score if self.max_score else 0.0


def load_scores(out_dir) -> list:
    """Every OUT/results/<student>.json, sorted by student id."""
    folder = Path(out_dir) / "results"
    if not folder.is_dir():
        raise ResultsError(_("{folder} does not exist: is {out} the --out folder of `grade`?").format(
            folder=folder, out=out_dir))
    scores = [read_score(path) for path in sorted(folder.glob("*.json")) if not path.name.startswith(".")]
    if not scores:
        raise ResultsError(_("{folder} holds no results (*.json): run `grade` first").format(folder=folder))
    return scores


def read_score(path: Path) -> StudentScore:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ResultsError(_("{file} cannot be read: {problem}").format(file=path, problem=exc.strerror)) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsError(_("{file} is not valid JSON: {problem}").format(file=path, problem=exc)) from None
    if not isinstance(data, dict):
        raise ResultsError(_("{file}: expected a JSON object").format(file=path))
    student = data.get("student")
    if not isinstance(student, str) or not student:
        raise ResultsError(_("{file}: \"student\" is missing or not a string").format(file=path))
    if student != path.stem:
        raise ResultsError(_("{file}: \"student\" is {student}, but the file is named for {stem}").format(
            file=path, student=repr(student), stem=repr(path.stem)))
    score, max_score = _number(data, "score", path), _number(data, "max_score", path)
    exercises = data.get("exercises", {})
    if not isinstance(exercises, dict):
        raise ResultsError(_("{file}: \"exercises\" must be an object").format(file=path))
    parts = tuple(ExerciseScore(name, _number(part, "score", path, name), _number(part, "max_score", path, name))
                  for name, part in exercises.items())
    meta = data.get("submission") or {}
    if not isinstance(meta, dict):
        raise ResultsError(_("{file}: \"submission\" must be an object").format(file=path))
    return StudentScore(student, score, max_score, parts, meta, Path(path))


def _number(data, key, path, where=None):
    value = data.get(key) if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        place = f"exercises.{where}.{key}" if where else key
        raise ResultsError(_("{file}: \"{key}\" must be a number of points, got {value}").format(
            file=path, key=place, value=repr(value)))
    return float(value)


def report_markdown(out_dir, student: str):
    """The student's Markdown report (OUT/reports/<student>.md), or None when there is none."""
    from grader.exports import report_path

    path = report_path(out_dir, student, "md")
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(_("{file} cannot be read: {problem}").format(file=path, problem=exc)) from None
