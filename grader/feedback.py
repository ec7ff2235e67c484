"""Plain-text feedback for the terminal: one line per check, details for failures."""
import textwrap

from grader import registry
from grader.misconceptions import CATALOGUE

MARKS = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "timeout": "TIMEOUT", "forbidden": "FORBIDDEN",
         "missing": "MISSING"}


def _points(value):
    return f"{value:g}"


def render_check_report(result, *, directory, width=100):
    """The self-check's printout for a SubmissionResult."""
    lines = [f"Checking the exercises in {directory} (public checks only)", ""]
    for exercise_result in result.exercises:
        exercise = registry.exercise(exercise_result.exercise)
        lines.append(f"{exercise.filename}: {exercise.title}  "
                     f"[{_points(exercise_result.score)}/{_points(exercise_result.max_score)}]")
        for check in exercise_result.checks:
            mark = "NOT ATTEMPTED" if check.not_attempted else MARKS[check.status]
            lines.append(f"  {mark:<13} {check.check_id:<26} {check.description}")
            if check.status != "passed":
                known = f"Looks like a known mistake: {CATALOGUE[check.misconception].name}." if check.misconception else ""
                trace = "Your code: " + " <- ".join(reversed(check.trace.splitlines())) if check.trace else ""
                for paragraph in (check.message, trace, known, f"Hint: {check.hint}" if check.hint else ""):
                    if paragraph:
                        lines.extend(textwrap.wrap(paragraph, width=width, initial_indent=" " * 16,
                                                   subsequent_indent=" " * 18, break_long_words=False))
        lines.append("")
    passed = sum(check.status == "passed" for check in result.checks)
    lines.append(f"Score: {_points(result.score)}/{_points(result.max_score)} points on public checks; "
                 f"{passed} of {len(result.checks)} checks passed.")
    if passed == len(result.checks):
        lines.append("Every public check passes. Hidden checks with other inputs run when your work is graded.")
    else:
        lines.append("Fix the first failing check of each file first: later ones often follow from it.")
    return "\n".join(lines)
