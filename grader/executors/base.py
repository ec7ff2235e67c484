"""The executor protocol and the plain records that cross it."""
from dataclasses import dataclass, field
from typing import Iterator, Protocol

from grader.config import Settings
from grader.intake import Submission
from grader.results import SubmissionResult

BOTH = ("public", "hidden")


class BatchError(Exception):
    """The grader itself cannot do its job (unreadable SUBMISSIONS, unwritable OUT, workers or scheduler gone)."""


@dataclass(frozen=True)
class Job:
    """One readable submission to grade, with what the gradebook keys it by."""

    submission: Submission
    digest: str
    seed: int
    located: dict = field(default=None, compare=False)  # grading.locate_staged's answer, when the coordinator has it


@dataclass(frozen=True)
class Outcome:
    """A job's grading: its result, or `failure` when the grader itself could not grade it."""

    job: Job
    result: SubmissionResult = None
    seconds: float = 0.0
    isolation: dict = field(default_factory=dict)  # layer -> "on" or why not, as the sandbox reported
    failure: str = ""


class Executor(Protocol):
    """Runs jobs and yields their outcomes as they finish; used as a context manager around `grade`."""

    workers: int  # how many submissions run at once, for the gradebook's run record

    def warm(self) -> None: ...  # start what is slow to start, before the batch's own work (may do nothing)

    def release(self) -> None: ...  # stop what warm() started, whether or not grading happened

    def starting(self) -> bool: ...  # whether warm()'s workers are still starting: the coordinator has time to spare

    def __enter__(self) -> "Executor": ...

    def __exit__(self, *exc) -> None: ...

    def grade(self, jobs: list, *, settings: Settings, hide: tuple) -> Iterator[Outcome]: ...
