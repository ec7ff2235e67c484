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


def write_result(out_dir: Path, result) -> Path:
    path = results_path(out_dir, result.student)
    write_atomically(path, json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
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
