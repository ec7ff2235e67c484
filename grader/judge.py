"""Turn what the child reported into check results: the grader's verdicts.

Runs in the trusted process only. Public checks show the call, the expected
and the received values; hidden checks say which property failed and never
show their inputs or expected values.
"""
from grader.compare import DecodeError, compare, decode
from grader.i18n import N_, _
from grader.misconceptions import CATALOGUE
from grader.results import CheckResult

BANNED_HERE = N_("it is banned here")
BAN_REASONS = {  # by exercise id
    "sigmoid": N_("writing the sigmoid yourself is the exercise"),
    "mlp": N_("computing the gradients by hand is the exercise"),
}
ENDINGS = {
    "timeout": ("timeout", N_("{file} did not finish within {seconds:g} s (an endless loop, or a very slow computation?)")),
    "output_overflow": ("error", N_("{file} printed far too much output; it was stopped")),
    "result_overflow": ("error", N_("{file} returned a result far too large to check; it was stopped")),
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
        where = " (" + _("{file}, line {line}").format(file=last.get("file", file), line=last.get("line")) + f"{code})"
    if message:
        return _("{call} raised {error}: {message}{where}").format(call=shows, error=kind, message=message, where=where)
    return _("{call} raised {error}{where}").format(call=shows, error=kind, where=where)


def student_trace(error):
    """The traceback trimmed to the student's own files, one frame a line, innermost last."""
    lines = []
    for frame in (error.get("frames") or [])[-8:]:
        if isinstance(frame, dict):
            code = f": {str(frame.get('code'))[:160]}" if frame.get("code") else ""
            lines.append(_("{file}, line {line}, in {function}").format(
                file=str(frame.get("file"))[:60], line=frame.get("line"), function=str(frame.get("function"))[:60]) + code)
    return "\n".join(lines)


def describe_hidden_call(call):
    """What a hidden probe was called with, by kind and shape only: never a value."""
    def describe(payload):
        if isinstance(payload, dict) and "tensor" in payload:
            info = payload["tensor"]
            shape = tuple(info.get("shape", ()))
            if shape:
                return _("a {dtype} tensor of shape {shape}").format(dtype=info.get("dtype"), shape=shape)
            return _("a 0-d {dtype} tensor").format(dtype=info.get("dtype"))
        if isinstance(payload, dict) and "model" in payload:
            return _("a network of {count} layers").format(count=len(payload["model"]))
        if isinstance(payload, dict) and "tuple" in payload:
            return _("a pair") if len(payload["tuple"]) == 2 else _("a tuple of {count} items").format(count=len(payload["tuple"]))
        if isinstance(payload, list):
            return _("a list of {count} items").format(count=len(payload))
        return _("a number")

    kind = call.get("kind")
    if kind == "graph":
        reused = len({tuple(step[1:]) for step in call["program"]}) < len(call["program"])
        if reused:
            return _("a graph of {count} Value nodes with shared inner nodes").format(count=len(call["program"]))
        return _("a graph of {count} Value nodes").format(count=len(call["program"]))
    if kind == "module":
        return _("{name} with {count} layers").format(name=call["name"], count=len(call.get("args", [[]])[0]) - 1)
    if kind == "attribute":
        return call["name"]
    parts = [describe(arg) for arg in call.get("args", [])] + [f"{key}={_('a number')}" for key in call.get("kwargs", {})]
    return f"{call['name']}({', '.join(parts)})"


def _crash_message(run, file):
    status = run.status or "unknown"
    if status.startswith("signal:"):
        text = _("the process running {file} was killed by {signal}").format(file=file, signal=status[7:])
        if status == "signal:SIGKILL":
            text += " " + _("(it may have used too much memory)")
        elif status == "signal:SIGXCPU":
            text += " " + _("(it used too much CPU time)")
        return text
    return _("the process running {file} stopped early with {status} (sys.exit, os._exit or a crash in your code?)").format(
        file=file, status=status.replace(":", " status "))


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
        return _(CATALOGUE[value].hint), value
    return (_(value) if value else ""), ""


def _judge_probe(check, probe, outcome, public, file):
    if outcome.get("forbidden"):
        raise _Verdict("forbidden", _("{name} used {banned}, which is not allowed in {file}: {reason}").format(
            name=probe.call.get("name", check.target), banned=outcome["forbidden"], file=file,
            reason=_(BAN_REASONS.get(check.exercise, BANNED_HERE))))
    if outcome.get("missing"):
        raise _Verdict("missing", _("{file} does not define {name}").format(file=file, name=outcome["missing"]))
    error = outcome.get("error")
    if isinstance(error, dict):
        if error.get("type") == "NotImplementedError":
            raise _Verdict("failed", _("not attempted: {name} still raises NotImplementedError").format(name=check.target),
                           not_attempted=True)
        raise _Verdict("error", describe_error(error, probe.shows if public else describe_hidden_call(probe.call), file),
                       trace=student_trace(error))
    try:
        received = decode(outcome.get("value"))
    except DecodeError as exc:
        raise _Verdict("failed", _("{call} returned something the grader could not read ({problem})").format(
            call=probe.shows if public else check.target, problem=exc)) from None
    if received is None and check.target.endswith("_PARAMS"):
        raise _Verdict("failed", _("not attempted: {name} is still None").format(name=check.target), not_attempted=True)
    mismatch = probe.expected(received) if callable(probe.expected) else compare(probe.expected, received)
    if mismatch is None and probe.no_warnings and outcome.get("warnings"):
        warning = str(outcome["warnings"][0])[:200]
        hint, known = _hint(check.stage_hints.get("warnings", ""))
        raise _Verdict("failed", _("{call} gave a warning: {warning}").format(
            call=probe.shows if public else check.target, warning=warning), hint, misconception=known)
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
        if mismatch.facts.get("summarised") and mismatch.detail:
            text = _("{call}: {path} is wrong: {detail}").format(call=probe.shows, path=mismatch.path, detail=mismatch.detail)
        else:
            text = _("{call}: {path} should be {expected}, got {received}").format(
                call=probe.shows, path=mismatch.path, expected=mismatch.expected, received=mismatch.received)
            if mismatch.detail:
                text += f" ({mismatch.detail})"
    else:
        text = _("wrong on hidden inputs: {call} gave a result with the wrong {stage} ({path}); the check: {check}").format(
            call=describe_hidden_call(probe.call), stage=_(mismatch.stage), path=mismatch.path, check=_(check.description))
    raise _Verdict("failed", text, hint, misconception=known)


def judge_check(check, probes, run, file, timeout):
    """The verdict of one check from its probes and the exercise's run."""
    public = check.visibility == "public"

    def result(status, message, hint="", not_attempted=False, misconception="", trace=""):
        return CheckResult(check.id, status, float(check.points), message, check.visibility, check.description, hint,
                           not_attempted, misconception, trace)

    if run.ending == "tampered":
        return result("error", _("{file} wrote to the grader's private result channel; its results cannot be trusted").format(
            file=file))
    loaded = run.loaded or {}
    if loaded.get("forbidden"):
        return result("forbidden", _("importing {file} used {banned}, which is not allowed in {file}").format(
            file=file, banned=loaded["forbidden"]))
    if isinstance(loaded.get("error"), dict):
        return result("error", describe_error(loaded["error"], _("importing {file}").format(file=file), file),
                      trace=student_trace(loaded["error"]))
    for index, probe in enumerate(probes):
        outcome = run.calls.get(f"{check.id}#{index}")
        if outcome is None:
            if run.ending in ENDINGS:
                status, template = ENDINGS[run.ending]
                return result(status, _(template).format(file=file, seconds=timeout))
            if run.ending:
                return result("error", _crash_message(run, file))
            return result("error", _("no result came back from {file}").format(file=file))
        try:
            _judge_probe(check, probe, outcome, public, file)
        except _Verdict as verdict:
            return result(verdict.status, verdict.message, verdict.hint, verdict.not_attempted, verdict.misconception,
                          verdict.trace)
    return result("passed", "")
