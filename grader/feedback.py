"""Plain-text feedback for the terminal: one line per check, details for failures."""
import textwrap
import unicodedata

from grader import registry
from grader.i18n import N_, _
from grader.misconceptions import CATALOGUE

MARKS = {"passed": N_("PASS"), "failed": N_("FAIL"), "error": N_("ERROR"), "timeout": N_("TIMEOUT"),
         "forbidden": N_("FORBIDDEN"), "missing": N_("MISSING")}
NOT_ATTEMPTED = N_("NOT ATTEMPTED")


def _points(value):
    return f"{value:g}"


def _pad(text, width):
    """Pad to a width in terminal columns: a Chinese character takes two."""
    columns = sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)
    return text + " " * max(0, width - columns)


def _wide(text):
    """Chinese text has no spaces to break at: let the wrapper break inside it."""
    return any(unicodedata.east_asian_width(char) in "WF" for char in text)


def detail_lines(check):
    """The paragraphs under a failed check, wherever it is shown (self-check, Gradescope, nbgrader): the
    message, the student's own frames, a known mistake, a hint. A hidden check gives its message only."""
    public = check.visibility == "public"
    trace = _("Your code: {frames}").format(frames=" <- ".join(reversed(check.trace.splitlines()))) \
        if public and check.trace else ""
    known = _("Looks like a known mistake: {name}.").format(name=_(CATALOGUE[check.misconception].name)) \
        if public and check.misconception in CATALOGUE else ""
    hint = _("Hint: {hint}").format(hint=check.hint) if public and check.hint else ""
    return [paragraph for paragraph in (check.message, trace, known, hint) if paragraph]


def render_check_report(result, *, directory, width=100):
    """The self-check's printout for a SubmissionResult, in the active language."""
    lines = [_("Checking the exercises in {folder} (public checks only)").format(folder=directory), ""]
    for exercise_result in result.exercises:
        exercise = registry.exercise(exercise_result.exercise)
        lines.append(f"{exercise.filename}: {_(exercise.title)}  "
                     f"[{_points(exercise_result.score)}/{_points(exercise_result.max_score)}]")
        for check in exercise_result.checks:
            mark = _(NOT_ATTEMPTED) if check.not_attempted else _(MARKS[check.status])
            lines.append(f"  {_pad(mark, 13)} {check.check_id:<26} {_(check.description)}")
            if check.status != "passed":
                for paragraph in detail_lines(check):
                    lines.extend(textwrap.wrap(paragraph, width=width, initial_indent=" " * 16,
                                               subsequent_indent=" " * 18, break_long_words=_wide(paragraph)))
        lines.append("")
    passed = sum(check.status == "passed" for check in result.checks)
    lines.append(_("Score: {score}/{total} points on public checks; {passed} of {count} checks passed.").format(
        score=_points(result.score), total=_points(result.max_score), passed=passed, count=len(result.checks)))
    if passed == len(result.checks):
        lines.append(_("Every public check passes. Hidden checks with other inputs run when your work is graded."))
    else:
        lines.append(_("Fix the first failing check of each file first: later ones often follow from it."))
    return "\n".join(lines)
