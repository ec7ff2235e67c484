"""`python -m grader export {canvas,canvas-api,moodle,nbgrader} OUT ...`: grades out to an LMS.

A thin shell over grader.lms: parse, call, print what happened and what did not.
Exit status: 0 done; 1 some grades could not be posted, or --strict and the
roster and the results do not match one to one; 2 bad input, nothing written.
"""
import argparse
import os
import sys
from pathlib import Path

from grader.i18n import _


def register(commands):
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("out", type=Path, metavar="OUT", help="the --out folder of `grade`")
    common.add_argument("--strict", action="store_true",
                        help="exit 1 when a graded student has no roster row or a roster row has no result")
    common.add_argument("--lang", choices=("en", "zh"), default=None,
                        help="language of messages (default: from the locale, else English)")
    export = commands.add_parser("export", help="export grades for Canvas, Moodle or nbgrader")
    systems = export.add_subparsers(dest="system", required=True, metavar="{canvas,canvas-api,moodle,nbgrader}")

    canvas = systems.add_parser("canvas", parents=[common], help="fill a gradebook CSV exported from Canvas")
    canvas.add_argument("--gradebook", type=Path, required=True, help="the CSV exported from Canvas's gradebook")
    canvas.add_argument("--assignment", required=True,
                        help='the assignment column, as in the CSV: "Title (123)" (or its id alone, 123)')
    canvas.add_argument("--match", choices=("id", "sis_login"), default="id",
                        help="match students by Canvas ID (default) or SIS Login ID")
    canvas.add_argument("--scale", type=_positive, default=None, metavar="POINTS",
                        help="grade out of POINTS (default: the column's Points Possible)")
    canvas.add_argument("--output", type=Path, required=True, help="the CSV to import into Canvas")
    canvas.set_defaults(handler=run_canvas)

    api = systems.add_parser("canvas-api", parents=[common],
                             help="post grades through the Canvas API (the token comes from $CANVAS_API_TOKEN)")
    api.add_argument("--url", required=True, help="the Canvas site, e.g. https://canvas.example.edu")
    api.add_argument("--course", required=True, type=int, help="the course id")
    api.add_argument("--assignment", required=True, type=int, help="the assignment id")
    api.add_argument("--comment-from-reports", action="store_true",
                     help="also post OUT/reports/<student>.md as a submission comment")
    api.set_defaults(handler=run_canvas_api)

    moodle = systems.add_parser("moodle", parents=[common], help="fill a Moodle offline grading worksheet")
    moodle.add_argument("--worksheet", type=Path, required=True, help="the grading worksheet downloaded from Moodle")
    moodle.add_argument("--output", type=Path, required=True, help="the worksheet to upload")
    moodle.add_argument("--no-feedback", action="store_true", help="leave the Feedback comments column as it is")
    moodle.add_argument("--header", action="append", default=[], metavar="KEY=NAME",
                        help="the site's name of a column, for a site in another language; KEY is one of "
                             "identifier, fullname, grade, maximum, changeable, modified, feedback")
    moodle.add_argument("--timezone", default=None,
                        help="time zone of the Moodle server for Last modified (grade) (default: local time)")
    moodle.set_defaults(handler=run_moodle)

    nbgrader = systems.add_parser("nbgrader", parents=[common],
                                  help="write nbgrader's export CSV and/or scores into an nbgrader gradebook")
    nbgrader.add_argument("--assignment", required=True, help="the nbgrader assignment name")
    nbgrader.add_argument("--output", type=Path, default=None, help="write the `nbgrader export` CSV here")
    nbgrader.add_argument("--to-gradebook", default=None, metavar="URL",
                          help="write the scores into this nbgrader gradebook (sqlite:///path/gradebook.db)")
    nbgrader.add_argument("--create-assignment", action="store_true",
                          help="add the assignment to the gradebook when it is not there")
    nbgrader.add_argument("--create-students", action="store_true",
                          help="add graded students missing from the gradebook")
    nbgrader.set_defaults(handler=run_nbgrader)


def _positive(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{value} is not a number").format(value=repr(text))) from None
    if not value > 0:
        raise argparse.ArgumentTypeError(_("{value} must be more than 0").format(value=repr(text)))
    return value


def _input_errors():
    """The errors that mean bad input (a message for the instructor), not a bug."""
    from grader.lms.canvas_csv import CanvasGradebookError
    from grader.lms.csvtable import CsvFormatError
    from grader.lms.moodle import MoodleWorksheetError
    from grader.lms.nbgrader import NbgraderError
    from grader.lms.results import ResultsError
    from grader.lms.roster import RosterError

    return (CsvFormatError, ResultsError, RosterError, CanvasGradebookError, MoodleWorksheetError, NbgraderError)


def _fail(problem) -> int:
    print(_("error: {problem}").format(problem=problem), file=sys.stderr)
    return 2


def _write(path: Path, text: str):
    from grader.exports import write_atomically

    write_atomically(path, text)


def _finish(match, strict: bool, out) -> int:
    """Print the roster problems; exit 1 for them only under --strict."""
    from grader.lms.roster import describe_problems

    for line in describe_problems(match):
        print(line, file=out)
    return 1 if strict and not match.complete else 0


def run_canvas(args, out=sys.stdout) -> int:
    from grader.lms.canvas_csv import fill_canvas_gradebook

    try:
        result = fill_canvas_gradebook(out_dir=args.out, gradebook=args.gradebook, assignment=args.assignment,
                                       match=args.match, scale=args.scale)
        _write(args.output, result.text)
    except _input_errors() as exc:
        return _fail(exc)
    except OSError as exc:
        return _fail(_("{file} cannot be written: {problem}").format(file=args.output, problem=exc.strerror))
    for note in result.notes:
        print(note, file=out)
    scale = (_("out of {points} points").format(points=f"{result.scaled_to:g}") if result.scaled_to is not None
             else _("as they are"))
    print(_("Filled {count} grade(s) of {column} ({scale}) into {file}; import it in Canvas's gradebook "
            "(Import).").format(count=result.filled, column=result.column, scale=scale, file=args.output), file=out)
    if result.excused:
        print(_("Kept EX (excused) for: {students}").format(students=", ".join(result.excused)), file=out)
    if result.unmatchable:
        print(_("Rows with no {column} to match on: {rows}").format(
            column="SIS Login ID" if args.match == "sis_login" else "ID", rows=", ".join(result.unmatchable)), file=out)
    return _finish(result.match, args.strict, out)


def run_canvas_api(args, out=sys.stdout) -> int:
    from grader.lms.canvas_api import TOKEN_VARIABLE, CanvasApiError, post_grades

    from importlib.util import find_spec

    if find_spec("canvasapi") is None:  # an optional dependency: say how to get it
        return _fail(_("posting to Canvas needs the canvasapi package: pip install 'nn-grader[lms]'"))
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        return _fail(_("set the environment variable {variable} to a Canvas access token (Account > Settings > "
                       "New access token)").format(variable=TOKEN_VARIABLE))
    if args.url.startswith("http://") and not _loopback(args.url):
        print(_("warning: {url} is not https: the token is sent in clear text").format(url=args.url), file=sys.stderr)
    try:
        result = post_grades(out_dir=args.out, url=args.url, course_id=args.course, assignment_id=args.assignment,
                             token=token, comments=args.comment_from_reports)
    except CanvasApiError as exc:
        return _fail(exc)
    except _input_errors() as exc:
        return _fail(exc)
    if result.points_possible is None:
        print(_("The assignment has no points possible: grades were posted as our scores, out of 100."), file=out)
    commented = sum(item.commented for item in result.posted)
    print(_("Posted {count} grade(s) to {assignment} ({comments} with a comment).").format(
        count=len(result.posted), assignment=result.assignment, comments=commented), file=out)
    status = _finish(result.match, args.strict, out)
    if result.failed:
        print(_("{count} grade(s) could not be posted:").format(count=len(result.failed)), file=out)
        for failure in result.failed:
            print(f"  {failure.student} (user {failure.user_id}): {failure.problem}", file=out)
        return 1
    return status


def _loopback(url: str) -> bool:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname in ("localhost", "127.0.0.1", "::1")


def run_moodle(args, out=sys.stdout) -> int:
    from grader.lms.moodle import HEADERS, fill_moodle_worksheet, graded_now

    headers = {}
    for item in args.header:
        key, equals, name = item.partition("=")
        if not equals or key.strip() not in HEADERS or not name.strip():
            return _fail(_("--header {item}: expected KEY=NAME with KEY one of {keys}").format(
                item=repr(item), keys=", ".join(HEADERS)))
        headers[key.strip()] = name.strip()
    try:
        result = fill_moodle_worksheet(out_dir=args.out, worksheet=args.worksheet, headers=headers,
                                       graded_at=graded_now(args.timezone), feedback=not args.no_feedback)
        _write(args.output, result.text)
    except _input_errors() as exc:
        return _fail(exc)
    except OSError as exc:
        return _fail(_("{file} cannot be written: {problem}").format(file=args.output, problem=exc.strerror))
    for note in result.notes:
        print(note, file=out)
    print(_("Filled {count} grade(s) ({feedback} with feedback) into {file}, marked as graded {when}; upload it "
            "with \"Upload grading worksheet\".").format(count=result.filled, feedback=result.with_feedback,
                                                       file=args.output, when=result.graded_at), file=out)
    if result.locked:
        print(_("Left as they were, because Moodle says their grade cannot be changed: {students}").format(
            students=", ".join(result.locked)), file=out)
    return _finish(result.match, args.strict, out)


def run_nbgrader(args, out=sys.stdout) -> int:
    from grader.lms import nbgrader as exporter
    from grader.lms.results import load_scores

    if args.output is None and args.to_gradebook is None:
        return _fail(_("say where the grades go: --output grades.csv, --to-gradebook sqlite:///gradebook.db, "
                       "or both"))
    try:
        scores = load_scores(args.out)
        students, duedate, match = None, "", None
        if args.to_gradebook:
            gradebook = exporter.open_gradebook(args.to_gradebook)
            try:
                written = exporter.write_to_gradebook(gradebook, scores=scores, assignment=args.assignment,
                                                      create_assignment=args.create_assignment,
                                                      create_students=args.create_students)
                students = exporter.gradebook_students(gradebook, args.assignment)
                duedate = gradebook.find_assignment(args.assignment).duedate
            finally:
                gradebook.close()
            match = written.match
            if written.created_assignment:
                print(_("Added the assignment {name} to the gradebook.").format(name=args.assignment), file=out)
            if written.added_students:
                print(_("Added {count} student(s) to the gradebook: {students}").format(
                    count=len(written.added_students), students=", ".join(written.added_students)), file=out)
            print(_("Wrote {count} score(s) into the notebook {notebook} of {name} in {url}.").format(
                count=written.written, notebook=exporter.NOTEBOOK, name=args.assignment, url=args.to_gradebook),
                file=out)
        if args.output:
            _write(args.output, exporter.grades_csv(scores=scores, assignment=args.assignment, students=students,
                                                    duedate=duedate))
            print(_("Wrote {file} in the form of `nbgrader export`.").format(file=args.output), file=out)
    except _input_errors() as exc:
        return _fail(exc)
    except OSError as exc:
        return _fail(_("{file} cannot be written: {problem}").format(file=args.output, problem=exc.strerror))
    if match is None:
        return 0
    if args.create_students:
        from dataclasses import replace

        match = replace(match, unknown=())  # they were added, and said so above
    status = _finish(match, args.strict, out)
    if match.unknown:
        print(_("Pass --create-students to add them to the gradebook."), file=out)
    return status
