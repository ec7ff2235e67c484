"""Files written by `grade`: OUT/results/<student>.json and OUT/grades.csv.

Written atomically (a temporary file in the same folder, then a rename), so a
reader never sees half a file, even when the grader is killed.
"""
import csv
import io
import json
import os
import tempfile
from pathlib import Path

from grader.config import EXERCISE_IDS


def write_atomically(path: Path, text: str):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(temporary, 0o644)  # mkstemp makes 0600; results are meant to be shared and uploaded
        os.replace(temporary, path)  # atomic against a killed grader; the gradebook is the durable record
    except BaseException:
        os.unlink(temporary)
        raise


def results_path(out_dir: Path, student: str) -> Path:
    return Path(out_dir) / "results" / f"{student}.json"


def reports_dir(out_dir) -> Path:
    return Path(out_dir) / "reports"


def report_stem(student: str) -> str:
    """The file name of a student's reports, without suffix: the id, unless it would clash with the index."""
    return f"student-{student}" if student.lower() == "index" else student


def report_path(out_dir, student: str, fmt: str) -> Path:
    """OUT/reports/<student>.<fmt>: where `grade` and `report` write a student's report."""
    return reports_dir(out_dir) / f"{report_stem(student)}.{fmt}"


_compact_json = json.JSONEncoder(ensure_ascii=False).encode


def layered_json(value, levels=4, indent="  ") -> str:
    """JSON with the outer `levels` of objects and arrays one entry per line and each deeper value on one line.

    A results file then reads as RESULTS.md shows it, one line per check; and it is written by the
    C encoder (json.dumps with indent= falls back to pure Python: ~2 ms per student in a batch).
    """
    if levels <= 0 or not isinstance(value, (dict, list, tuple)) or not value:
        return _compact_json(value)
    if isinstance(value, dict):
        items = [f"{_compact_json(str(key))}: {layered_json(item, levels - 1, indent)}" for key, item in value.items()]
        opening, closing = "{", "}"
    else:
        items = [layered_json(item, levels - 1, indent) for item in value]
        opening, closing = "[", "]"
    body = ",\n".join(items).replace("\n", "\n" + indent)  # compact JSON holds no raw newline
    return f"{opening}\n{indent}{body}\n{closing}"


def write_result(out_dir: Path, result) -> Path:
    path = results_path(out_dir, result.student)
    write_atomically(path, layered_json(result.to_json()) + "\n")
    return path


def grades_csv(results) -> str:
    """One row per student: student, score, max_score, then each exercise's score."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "score", "max_score", *EXERCISE_IDS])
    for result in sorted(results, key=lambda item: item.student):
        scores = {exercise.exercise: exercise.score for exercise in result.exercises}
        writer.writerow([result.student, _number(result.score), _number(result.max_score),
                         *(_number(scores.get(exercise, 0.0)) for exercise in EXERCISE_IDS)])
    return buffer.getvalue()


def _number(value: float) -> str:
    return f"{value:g}"


def write_grades(out_dir: Path, results) -> Path:
    path = Path(out_dir) / "grades.csv"
    write_atomically(path, grades_csv(results))
    return path
