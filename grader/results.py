"""Plain result types passed between stages: check -> exercise -> submission.

Scores are derived from the parts, never stored twice.
"""
from dataclasses import dataclass, field
from typing import Literal

Status = Literal["passed", "failed", "error", "timeout", "forbidden", "missing"]


@dataclass(frozen=True)
class CheckResult:
    check_id: str
    status: Status
    max_score: float
    message: str
    visibility: str = "public"
    description: str = ""
    hint: str = ""
    not_attempted: bool = False
    misconception: str = ""  # id of a recognised known mistake (grader.misconceptions)
    trace: str = ""  # for an error: the traceback trimmed to the student's own files

    @property
    def score(self) -> float:
        return self.max_score if self.status == "passed" else 0.0

    def to_json(self) -> dict:
        data = {"id": self.check_id, "status": self.status, "score": self.score,
                "max_score": self.max_score, "message": self.message}
        if self.hint:
            data["hint"] = self.hint
        if self.misconception:
            data["misconception"] = self.misconception
        if self.trace:
            data["trace"] = self.trace
        data["visibility"] = self.visibility
        return data


@dataclass(frozen=True)
class ExerciseResult:
    exercise: str
    checks: tuple

    @property
    def score(self) -> float:
        return sum(check.score for check in self.checks)

    @property
    def max_score(self) -> float:
        return sum(check.max_score for check in self.checks)

    def to_json(self) -> dict:
        return {"score": self.score, "max_score": self.max_score,
                "checks": [check.to_json() for check in self.checks]}


@dataclass(frozen=True)
class SubmissionResult:
    student: str
    exercises: tuple
    submission: dict = field(default_factory=dict, compare=False)  # where it came from: LMS, late flag, files


    @property
    def score(self) -> float:
        return sum(exercise.score for exercise in self.exercises)

    @property
    def max_score(self) -> float:
        return sum(exercise.max_score for exercise in self.exercises)

    @property
    def checks(self):
        return [check for exercise in self.exercises for check in exercise.checks]

    def to_json(self) -> dict:
        data = {"student": self.student, "score": self.score, "max_score": self.max_score,
                "exercises": {exercise.exercise: exercise.to_json() for exercise in self.exercises}}
        if self.submission:
            data["submission"] = dict(self.submission)
        return data
