"""What a remote run sends back: the untrusted run data as JSON bytes, and its strict reading.

A worker never returns objects, only this text; the coordinator reads it with
json (which runs no code), checks every field's type and size against the plan
it made, and rebuilds ExerciseRuns for the judge. Anything else is refused.
"""
import json

from grader import __version__
from grader.runner import ExerciseRun

MAX_REPLY = 256 * 1024 * 1024
MAX_LOG = 4000


class WireError(ValueError):
    """A worker's reply is not what this grader sends: a bug, or a different grader version."""


def encode_runs(runs, *, isolation=None, seconds=0.0):
    """The worker's reply for {exercise: ExerciseRun}."""
    return json.dumps({
        "grader": __version__,
        "seconds": float(seconds),
        "isolation": dict(isolation or {}),
        "runs": {name: {"loaded": run.loaded, "calls": run.calls, "ending": run.ending, "status": run.status,
                        "log": run.log, "seconds": float(run.seconds)} for name, run in runs.items()},
    }).encode()


def encode_failure(problem):
    """The worker's reply when the grader itself failed there (its zygote would not run)."""
    return json.dumps({"grader": __version__, "failure": str(problem)[:2000]}).encode()


def decode_runs(reply, calls):
    """(runs, isolation, seconds, failure) from a reply, checked against the plan's `calls`; raises WireError."""
    if not isinstance(reply, (bytes, str)) or len(reply) > MAX_REPLY:
        raise WireError(f"the reply is not JSON text of at most {MAX_REPLY} bytes but {type(reply).__name__}")
    try:
        data = json.loads(reply)
    except (ValueError, RecursionError) as exc:
        raise WireError(f"the reply is not valid JSON ({str(exc)[:200]})") from None
    if not isinstance(data, dict):
        raise WireError("the reply is not a JSON object")
    if data.get("grader") != __version__:
        raise WireError(f"the worker runs grader {str(data.get('grader'))[:40]}, this is grader {__version__}")
    if "failure" in data:
        return {}, {}, 0.0, _text(data["failure"], 2000, "failure")
    wanted = {exercise["name"]: {call["id"] for call in exercise["calls"]} for exercise in calls}
    runs = data.get("runs")
    if not isinstance(runs, dict) or set(runs) != set(wanted):
        raise WireError(f"the reply's exercises are not {sorted(wanted)}")
    isolation = data.get("isolation")
    if not isinstance(isolation, dict):
        raise WireError("the reply's isolation report is not an object")
    return ({name: _exercise_run(name, runs[name], wanted[name]) for name in wanted},
            {_text(key, 40, "layer"): _text(value, 200, "layer state") for key, value in isolation.items()},
            _number(data.get("seconds"), "seconds"), "")


def _exercise_run(name, raw, call_ids):
    if not isinstance(raw, dict):
        raise WireError(f"the run of {name} is not an object")
    loaded, calls = raw.get("loaded"), raw.get("calls")
    if loaded is not None and not isinstance(loaded, dict):
        raise WireError(f"the run of {name}: 'loaded' is not an object")
    if not isinstance(calls, dict) or not set(calls) <= call_ids or not all(isinstance(value, dict) for value in calls.values()):
        raise WireError(f"the run of {name}: 'calls' are not outcomes of the planned calls")
    return ExerciseRun(name, loaded, calls, _text(raw.get("ending"), 40, "ending"), _text(raw.get("status"), 100, "status"),
                       _text(raw.get("log"), MAX_LOG * 4, "log")[-MAX_LOG:], _number(raw.get("seconds"), "seconds"))


def _text(value, limit, what):
    if not isinstance(value, str) or len(value) > limit:
        raise WireError(f"the reply's {what} is not text of at most {limit} characters")
    return value


def _number(value, what):
    if type(value) not in (int, float) or not 0 <= value < 1e7:
        raise WireError(f"the reply's {what} is not a number of seconds")
    return float(value)
