"""Settings in one place: paths, time limits and resource limits.

Precedence, where a value can be set several ways: command line, then the
environment (GRADER_*), then these defaults.
"""
import os
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
SOLUTIONS_DIR = PROJECT_DIR / "solutions"
EXERCISES_DIR = PROJECT_DIR / "exercises"
HARNESS_DIR = PACKAGE_DIR / "harness"

# The six exercises in course order (grader.registry declares their checks).
EXERCISE_IDS = ("step", "perceptron", "sigmoid", "chain_rule", "mlp", "torch_mlp")

# Wall-clock seconds each exercise may run in the child, imports included.
DEFAULT_TIMEOUTS = {
    "step": 3.0,
    "perceptron": 3.0,
    "sigmoid": 3.0,
    "chain_rule": 5.0,
    "mlp": 10.0,
    "torch_mlp": 10.0,
}


class ConfigError(ValueError):
    """A setting has a bad value; the message says where it came from."""


@dataclass(frozen=True)
class Limits:
    """Resource limits for the process that runs student code."""

    memory_bytes: int = 2 * 1024**3
    file_bytes: int = 16 * 1024**2
    open_files: int = 256


@dataclass(frozen=True)
class Settings:
    timeouts: dict = field(default_factory=lambda: dict(DEFAULT_TIMEOUTS))
    limits: Limits = Limits()
    solutions_dir: Path = SOLUTIONS_DIR


def _timeout_from(value, source):
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(f"{source}: timeout must be a number of seconds, got {value!r}") from None
    if not 0 < seconds <= 3600:
        raise ConfigError(f"{source}: timeout must be between 0 and 3600 seconds, got {value!r}")
    return seconds


def load_settings(*, timeout=None, environ=None):
    """Settings from the command line (timeout=) over GRADER_TIMEOUT over defaults.

    A single timeout replaces every exercise's limit.
    """
    environ = os.environ if environ is None else environ
    timeouts = dict(DEFAULT_TIMEOUTS)
    if timeout is not None:
        seconds = _timeout_from(timeout, "--timeout")
    elif environ.get("GRADER_TIMEOUT"):
        seconds = _timeout_from(environ["GRADER_TIMEOUT"], "environment variable GRADER_TIMEOUT")
    else:
        seconds = None
    if seconds is not None:
        timeouts = {name: seconds for name in timeouts}
    return Settings(timeouts=timeouts)
