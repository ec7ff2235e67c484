"""Settings in one place: paths, time limits and resource limits.

Precedence, where a value can be set several ways: command line, then the
environment (GRADER_*), then these defaults.
"""
import os
from dataclasses import dataclass, field
from pathlib import Path

from grader.i18n import _

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


ISOLATION_LAYERS = ("namespaces", "mounts", "rlimits", "uid", "privileges", "landlock", "seccomp")
SANDBOX_UID_BASE = 61000  # worker slot k runs student code as uid SANDBOX_UID_BASE + k


@dataclass(frozen=True)
class Settings:
    timeouts: dict = field(default_factory=lambda: dict(DEFAULT_TIMEOUTS))
    limits: Limits = Limits()
    solutions_dir: Path = SOLUTIONS_DIR
    isolation: tuple = ISOLATION_LAYERS  # layers to apply (grader/harness/sandbox.py); tests narrow it


def timeout_from(value, source):
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(_("{source}: timeout must be a number of seconds, got {value}").format(source=source, value=repr(value))) from None
    if not 0 < seconds <= 3600:
        raise ConfigError(_("{source}: timeout must be between 0 and 3600 seconds, got {value}").format(source=source, value=repr(value)))
    return seconds


def read_toml(path) -> dict:
    """A TOML file as a dict; ConfigError naming the file when it cannot be read or parsed."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(_("{file}: cannot be read ({problem})").format(file=path, problem=exc.strerror)) from None
    except UnicodeDecodeError:
        raise ConfigError(_("{file}: not valid TOML ({problem})").format(file=path, problem=_("not UTF-8 text"))) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_("{file}: not valid TOML ({problem})").format(file=path, problem=exc)) from None


def read_course_config(path):
    """The [grader] table of a course config file (TOML): secret, timeout, workers, gradebook."""
    path = Path(path)
    data = read_toml(path)
    table = data.get("grader", {})
    unknown = set(table) - {"secret", "timeout", "workers", "gradebook"}
    if not isinstance(table, dict) or unknown:
        raise ConfigError(_("{file}: unknown setting(s) in [grader]: {names}").format(file=path, names=", ".join(sorted(unknown))))
    return table


def pick(name, *, cli=None, environ=None, file_values=None, file_name="the course config", default=None):
    """One setting by the one precedence: command line, then GRADER_<NAME>, then the file, then the default.

    Returns (value, where it came from) so that an error can say where a bad value came from.
    """
    environ = os.environ if environ is None else environ
    if cli is not None:
        return cli, f"--{name}"
    variable = f"GRADER_{name.upper()}"
    if environ.get(variable):
        return environ[variable], f"environment variable {variable}"
    if file_values and name in file_values:
        return file_values[name], f"{file_name} ({name} = ...)"
    return default, "the default"


def workers_from(value, source):
    try:
        workers = int(value)
    except (TypeError, ValueError):
        raise ConfigError(_("{source}: workers must be a whole number, got {value}").format(source=source, value=repr(value))) from None
    if not 1 <= workers <= 256:
        raise ConfigError(_("{source}: workers must be between 1 and 256, got {value}").format(source=source, value=workers))
    return workers


def load_settings(*, timeout=None, environ=None, file_values=None, file_name="the course config"):
    """Settings from the command line (timeout=) over GRADER_TIMEOUT over the course config over defaults.

    A single timeout replaces every exercise's limit.
    """
    value, source = pick("timeout", cli=timeout, environ=environ, file_values=file_values, file_name=file_name)
    seconds = timeout_from(str(value), source) if value is not None else None
    timeouts = dict(DEFAULT_TIMEOUTS)
    if seconds is not None:
        timeouts = {name: seconds for name in timeouts}
    return Settings(timeouts=timeouts)
