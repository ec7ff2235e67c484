"""The gradebook: every grading of every student, in SQL through SQLAlchemy.

SQLite by default (OUT/gradebook.sqlite); any SQLAlchemy URL works, e.g.
postgresql://... Each student's grading is written in one transaction, so a
grader killed mid-batch leaves every student either fully recorded or not at
all. A grading is keyed by (student, submission hash, grader version, seed):
recording the same key again replaces the old row, so each submission is
graded exactly once however often the batch is rerun.
"""
import json
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import lru_cache

from sqlalchemy import (Column, DateTime, Float, ForeignKey, Integer, MetaData, String, Table, Text, UniqueConstraint,
                        bindparam, create_engine, delete, event, func, insert, inspect, select, text, update)

from grader.results import CheckResult, ExerciseResult, SubmissionResult

metadata = MetaData()

grading_runs = Table(
    "grading_runs", metadata,
    Column("id", Integer, primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("grader_version", String(40), nullable=False),
    Column("command", Text, nullable=False),
    Column("workers", Integer, nullable=False),
)

gradings = Table(
    "gradings", metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("grading_runs.id"), nullable=False),
    Column("student", String(128), nullable=False, index=True),
    Column("submission_hash", String(64), nullable=False),
    Column("grader_version", String(40), nullable=False),
    Column("seed", String(40), nullable=False),
    Column("score", Float, nullable=False),
    Column("max_score", Float, nullable=False),
    Column("problem", Text, nullable=False, default=""),
    Column("seconds", Float, nullable=False),
    Column("meta", Text, nullable=False, default="{}"),  # JSON: where the submission came from (LMS, late flag)
    Column("graded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("student", "submission_hash", "grader_version", "seed", name="one_grading_per_submission"),
)

check_results = Table(
    "check_results", metadata,
    Column("id", Integer, primary_key=True),
    Column("grading_id", Integer, ForeignKey("gradings.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("exercise", String(40), nullable=False),
    Column("check_id", String(80), nullable=False),
    Column("status", String(16), nullable=False),
    Column("score", Float, nullable=False),
    Column("max_score", Float, nullable=False),
    Column("visibility", String(10), nullable=False),
    Column("message", Text, nullable=False),
    Column("hint", Text, nullable=False),
    Column("not_attempted", Integer, nullable=False),
    Column("misconception", String(80), nullable=False, default=""),
    Column("trace", Text, nullable=False, default=""),
)


@dataclass(frozen=True)
class Grading:
    """One row of `gradings` as record() wrote it: what a row read back by latest() holds."""

    id: int
    run_id: int
    student: str
    submission_hash: str
    grader_version: str
    seed: str
    score: float
    max_score: float
    problem: str
    seconds: float
    meta: str
    graded_at: datetime


# Built once: building a statement and its cache key for every student cost more than running it.
_SAME_SUBMISSION = select(gradings.c.id).where(
    gradings.c.student == bindparam("same_student"), gradings.c.submission_hash == bindparam("same_hash"),
    gradings.c.grader_version == bindparam("same_version"), gradings.c.seed == bindparam("same_seed"))
_NEW_GRADING, _NEW_CHECKS = insert(gradings), insert(check_results)


def _same_submission(student, submission_hash, grader_version, seed):
    """_SAME_SUBMISSION's parameters: the gradings of this submission by this grader with this seed."""
    return {"same_student": student, "same_hash": submission_hash, "same_version": grader_version,
            "same_seed": str(seed)}


def _sqlite_pragmas(connection, _record):
    """WAL: a killed grader loses nothing committed, and commits do not wait for a full sync."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _now():
    return datetime.now(timezone.utc)


class Gradebook:
    def __init__(self, url: str):
        self.url = url
        self.engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata.create_all(self.engine)
        self._add_missing_columns()

    def _add_missing_columns(self):
        """Gradebooks written by an older grader lack newer columns; add them in place, keeping every row."""
        present = {column["name"] for column in inspect(self.engine).get_columns("gradings")}
        if "meta" not in present:
            with self.engine.begin() as connection:
                connection.execute(text("ALTER TABLE gradings ADD COLUMN meta TEXT NOT NULL DEFAULT '{}'"))

    def start_run(self, *, grader_version, command, workers) -> int:
        with self.engine.begin() as connection:
            return connection.execute(insert(grading_runs).values(
                started_at=_now(), grader_version=grader_version, command=command, workers=workers)).inserted_primary_key[0]

    def finish_run(self, run_id):
        with self.engine.begin() as connection:
            connection.execute(update(grading_runs).where(grading_runs.c.id == run_id).values(finished_at=_now()))

    def is_graded(self, *, student, submission_hash, grader_version, seed) -> bool:
        with self.engine.connect() as connection:
            return connection.execute(_SAME_SUBMISSION, _same_submission(student, submission_hash, grader_version,
                                                                         seed)).first() is not None

    def record(self, *, run_id, result: SubmissionResult, submission_hash, grader_version, seed, seconds, problem=""):
        """Store one student's grading, replacing a grading of the same submission, atomically.

        Returns (result, Grading) as latest() would read them back, so that a batch need not read back what it
        has just written."""
        with self.engine.begin() as connection:
            old = [row.id for row in connection.execute(
                _SAME_SUBMISSION, _same_submission(result.student, submission_hash, grader_version, seed))]
            if old:
                connection.execute(delete(check_results).where(check_results.c.grading_id.in_(old)))
                connection.execute(delete(gradings).where(gradings.c.id.in_(old)))
            row = dict(run_id=run_id, student=result.student, submission_hash=submission_hash,
                       grader_version=grader_version, seed=str(seed), score=result.score, max_score=result.max_score,
                       problem=problem, seconds=seconds, meta=json.dumps(result.submission, sort_keys=True),
                       graded_at=_now())
            grading_id = connection.execute(_NEW_GRADING, row).inserted_primary_key[0]
            rows = [dict(grading_id=grading_id, position=position, exercise=exercise.exercise, check_id=check.check_id,
                         status=check.status, score=check.score, max_score=check.max_score,
                         visibility=check.visibility, message=check.message, hint=check.hint,
                         not_attempted=int(check.not_attempted), misconception=check.misconception,
                         trace=check.trace)
                    for position, (exercise, check) in enumerate(
                        (exercise, check) for exercise in result.exercises for check in exercise.checks)]
            if rows:
                connection.execute(_NEW_CHECKS, rows)
        return replace(result, submission=json.loads(row["meta"])), Grading(id=grading_id, **row)

    def count_gradings(self, student=None) -> int:
        query = select(func.count()).select_from(gradings)
        if student is not None:
            query = query.where(gradings.c.student == student)
        with self.engine.connect() as connection:
            return connection.execute(query).scalar_one()

    def latest(self, students=None):
        """The most recent grading of each student, as (SubmissionResult, grading row)."""
        with self.engine.connect() as connection:
            newest = select(gradings.c.student, func.max(gradings.c.id).label("id")).group_by(gradings.c.student).subquery()
            rows = connection.execute(select(gradings).join(newest, gradings.c.id == newest.c.id)
                                      .order_by(gradings.c.student)).all()
            if students is not None:
                rows = [row for row in rows if row.student in students]
            checks = connection.execute(select(check_results).where(
                check_results.c.grading_id.in_([row.id for row in rows])).order_by(
                check_results.c.grading_id, check_results.c.position)).all()
        by_grading = {}
        for check in checks:
            by_grading.setdefault(check.grading_id, []).append(check)
        results = []
        for row in rows:
            exercises = {}
            for check in by_grading.get(row.id, []):
                exercises.setdefault(check.exercise, []).append(CheckResult(
                    check.check_id, check.status, check.max_score, check.message, check.visibility,
                    _description(check.check_id), check.hint, bool(check.not_attempted), check.misconception,
                    check.trace))
            result = SubmissionResult(row.student, tuple(ExerciseResult(name, tuple(items)) for name, items in exercises.items()),
                                      json.loads(row.meta or "{}"))
            results.append((result, row))
        return results

    def close(self):
        self.engine.dispose()


def _description(check_id):
    return _descriptions().get(check_id, "")


@lru_cache(maxsize=1)
def _descriptions():
    from grader.registry import ALL_CHECKS

    return {check.id: check.description for check in ALL_CHECKS}
