"""Turn what the child reported into check results: the grader's verdicts.

Runs in the trusted process only. Public checks show the call, the expected
and the received values; hidden checks say which property failed and never
show their inputs or expected values.
"""
from grader.compare import DecodeError, compare, decode
from grader.misconceptions import CATALOGUE
from grader.results import CheckResult

BAN_REASONS = {
    "sigmoid.py": "writing the sigmoid yourself is the exercise",
    "mlp.py": "computing the gradients by hand is the exercise",
}
ENDINGS = {
    "timeout": ("timeout", "{file} did not finish within {seconds:g} s (an endless loop, or a very slow computation?)"),
    "output_overflow": ("error", "{file} printed far too much output; it was stopped"),
    "result_overflow": ("error", "{file} returned a result far too large to check; it was stopped"),
}


def describe_error(error, shows, file):
    """One line for an exception raised in student code, pointing at the student's own line."""
    kind = str(error.get("type", "Exception"))[:80]
    message = str(error.get("message", ""))[:300]
    frames = error.get("frames") or []
    where = ""
    if frames and isinstance(frames[-1], dict):
        last = frames[-1]
        code = f": {last.get('code')}" if last.get("code") else ""
        where = f" ({last.get('file', file)}, line {last.get('line')}{code})"
    return f"{shows} raised {kind}: {message}{where}" if message else f"{shows} raised {kind}{where}"


def student_trace(error):
    """The traceback trimmed to the student's own files, one frame a line, innermost last."""
    lines = []
    for frame in (error.get("frames") or [])[-8:]:
        if isinstance(frame, dict):
            code = f": {str(frame.get('code'))[:160]}" if frame.get("code") else ""
            lines.append(f"{str(frame.get('file'))[:60]}, line {frame.get('line')}, in {str(frame.get('function'))[:60]}{code}")
    return "\n".join(lines)


def describe_hidden_call(call):
    """What a hidden probe was called with, by kind and shape only: never a value."""
    def describe(payload):
        if isinstance(payload, dict) and "tensor" in payload:
            info = payload["tensor"]
            shape = tuple(info.get("shape", ()))
            return f"a {info.get('dtype')} tensor of shape {shape}" if shape else f"a 0-d {info.get('dtype')} tensor"
        if isinstance(payload, dict) and "model" in payload:
            return f"a network of {len(payload['model'])} layers"
        if isinstance(payload, dict) and "tuple" in payload:
            return "a pair" if len(payload["tuple"]) == 2 else f"a tuple of {len(payload['tuple'])} items"
        if isinstance(payload, list):
            return f"a list of {len(payload)} items"
        return "a number"

    kind = call.get("kind")
    if kind == "graph":
        reused = len({tuple(step[1:]) for step in call["program"]}) < len(call["program"])
        return f"a graph of {len(call['program'])} Value nodes" + (" with shared inner nodes" if reused else "")
    if kind == "module":
        return f"{call['name']} with {len(call.get('args', [[]])[0]) - 1} layers"
    if kind == "attribute":
        return call["name"]
    parts = [describe(arg) for arg in call.get("args", [])] + [f"{key}=a number" for key in call.get("kwargs", {})]
    return f"{call['name']}({', '.join(parts)})"


def _crash_message(run, file):
    status = run.status or "unknown"
    if status.startswith("signal:"):
        text = f"the process running {file} was killed by {status[7:]}"
        if status == "signal:SIGKILL":
            text += " (it may have used too much memory)"
        elif status == "signal:SIGXCPU":
            text += " (it used too much CPU time)"
        return text
    return f"the process running {file} stopped early with {status.replace(':', ' status ')} (sys.exit, os._exit or a crash in your code?)"


class _Verdict(Exception):
    def __init__(self, status, message, hint="", not_attempted=False, misconception="", trace=""):
        super().__init__(message)
        self.status, self.message, self.hint, self.not_attempted = status, message, hint, not_attempted
        self.misconception, self.trace = misconception, trace


def _hint(value, mismatch=None):
    """(hint text, misconception id) from a catalogue id, a plain hint, or a function giving one."""
    if callable(value):
        value = value(mismatch)
    if value in CATALOGUE:
        return CATALOGUE[value].hint, value
    return value or "", ""


def _judge_probe(check, probe, outcome, public, file):
    if outcome.get("forbidden"):
        raise _Verdict("forbidden", f"{probe.call.get('name', check.target)} used {outcome['forbidden']}, which is not "
                                    f"allowed in {file}: {BAN_REASONS.get(file, 'it is banned here')}")
    if outcome.get("missing"):
        raise _Verdict("missing", f"{file} does not define {outcome['missing']}")
    error = outcome.get("error")
    if isinstance(error, dict):
        if error.get("type") == "NotImplementedError":
            raise _Verdict("failed", f"not attempted: {check.target} still raises NotImplementedError", not_attempted=True)
        raise _Verdict("error", describe_error(error, probe.shows if public else describe_hidden_call(probe.call), file),
                       trace=student_trace(error))
    try:
        received = decode(outcome.get("value"))
    except DecodeError as exc:
        raise _Verdict("failed", f"{probe.shows if public else check.target} returned something the grader could not read ({exc})") from None
    if received is None and check.target.endswith("_PARAMS"):
        raise _Verdict("failed", f"not attempted: {check.target} is still None", not_attempted=True)
    mismatch = probe.expected(received) if callable(probe.expected) else compare(probe.expected, received)
    if mismatch is None and probe.no_warnings and outcome.get("warnings"):
        warning = str(outcome["warnings"][0])[:200]
        hint, known = _hint(check.stage_hints.get("warnings", ""))
        raise _Verdict("failed", f"{probe.shows if public else check.target} gave a warning: {warning}", hint,
                       misconception=known)
    if mismatch is None:
        return
    hint, known = "", ""
    for variant in probe.variants if mismatch.stage == "values" else ():
        wrong = variant.expectation()
        if (wrong(received) is None) if callable(wrong) else (compare(wrong, received) is None):
            hint, known = _hint(variant.misconception)
            break
    if not hint:
        hint, known = _hint(check.stage_hints.get(mismatch.stage, ""), mismatch)
    if public:
        if mismatch.expected.startswith("an array of shape") and mismatch.detail:
            text = f"{probe.shows}: {mismatch.path} is wrong: {mismatch.detail}"
        else:
            text = f"{probe.shows}: {mismatch.path} should be {mismatch.expected}, got {mismatch.received}"
            if mismatch.detail:
                text += f" ({mismatch.detail})"
    else:
        text = (f"wrong on hidden inputs: {describe_hidden_call(probe.call)} gave a result with the wrong "
                f"{mismatch.stage} ({mismatch.path}); the check: {check.description}")
    raise _Verdict("failed", text, hint, misconception=known)


def judge_check(check, probes, run, file, timeout):
    """The verdict of one check from its probes and the exercise's run."""
    public = check.visibility == "public"

    def result(status, message, hint="", not_attempted=False, misconception="", trace=""):
        return CheckResult(check.id, status, float(check.points), message, check.visibility, check.description, hint,
                           not_attempted, misconception, trace)

    if run.ending == "tampered":
        return result("error", f"{file} wrote to the grader's private result channel; its results cannot be trusted")
    loaded = run.loaded or {}
    if loaded.get("forbidden"):
        return result("forbidden", f"importing {file} used {loaded['forbidden']}, which is not allowed in {file}")
    if isinstance(loaded.get("error"), dict):
        return result("error", describe_error(loaded["error"], f"importing {file}", file),
                      trace=student_trace(loaded["error"]))
    for index, probe in enumerate(probes):
        outcome = run.calls.get(f"{check.id}#{index}")
        if outcome is None:
            if run.ending in ENDINGS:
                status, template = ENDINGS[run.ending]
                return result(status, template.format(file=file, seconds=timeout))
            if run.ending:
                return result("error", _crash_message(run, file))
            return result("error", f"no result came back from {file}")
        try:
            _judge_probe(check, probe, outcome, public, file)
        except _Verdict as verdict:
            return result(verdict.status, verdict.message, verdict.hint, verdict.not_attempted, verdict.misconception,
                          verdict.trace)
    return result("passed", "")
