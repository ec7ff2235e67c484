"""Command line: a thin shell over the library functions."""
import argparse
import sys
from pathlib import Path

from grader import __version__
from grader.config import EXERCISE_IDS, EXERCISES_DIR, ConfigError, load_settings
from grader.i18n import _


def _parser():
    parser = argparse.ArgumentParser(prog="python -m grader", description="Auto-grader for the neural-network exercises.")
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="self-check your exercise files against the public checks")
    check.add_argument("--lang", choices=("en", "zh"), default=None,
                       help="language of messages and reports (default: from the locale, else English)")
    check.add_argument("exercises", nargs="*", metavar="EXERCISE",
                       help=f"exercises to check (default: all): {', '.join(EXERCISE_IDS)}")
    check.add_argument("--dir", type=Path, default=None, help="folder with your exercise files (default: exercises/)")
    check.add_argument("--timeout", default=None, help="seconds each exercise may run (default: per exercise)")

    grade = commands.add_parser("grade", help="grade a whole class of submissions")
    grade.add_argument("--lang", choices=("en", "zh"), default=None,
                       help="language of messages and reports (default: from the locale, else English)")
    grade.add_argument("submissions", type=Path, metavar="SUBMISSIONS",
                       help="folder with one entry per student (a folder or a .zip named by the student id), "
                            "or a Canvas or Moodle download (zip or folder), or nbgrader's submitted/ folder")
    grade.add_argument("--out", type=Path, required=True, help="where results, grades.csv and the gradebook go")
    grade.add_argument("--workers", default=None, help="parallel workers (default: the number of CPUs)")
    grade.add_argument("--student", action="append", default=None, metavar="ID",
                       help="grade only this student (repeatable)")
    grade.add_argument("--force", action="store_true", help="regrade submissions that are already graded")
    grade.add_argument("--timeout", default=None, help="seconds each exercise may run (default: per exercise)")
    grade.add_argument("--secret", default=None, help="course secret for the per-student hidden inputs")
    grade.add_argument("--config", type=Path, default=None, help="course config file (TOML, a [grader] table)")
    grade.add_argument("--gradebook", default=None, help="SQLAlchemy URL (default: sqlite in OUT)")
    grade.add_argument("--assignment", default=None, metavar="NAME",
                       help="nbgrader submissions: the assignment to grade when submitted/ holds several")
    grade.add_argument("--dask", default=None, metavar="ADDRESS",
                       help="run submissions on a Dask cluster: a scheduler (tcp://host:8786) or local:N worker processes")

    report = commands.add_parser("report", help="re-render the reports in OUT/reports from the gradebook (runs no student code)")
    report.add_argument("--lang", choices=("en", "zh"), default=None,
                       help="language of messages and reports (default: from the locale, else English)")
    report.add_argument("out", type=Path, metavar="OUT", help="the --out folder of `grade`")
    report.add_argument("--gradebook", default=None, help="SQLAlchemy URL (default: sqlite in OUT)")
    report.add_argument("--config", type=Path, default=None, help="course config file (TOML, a [grader] table)")

    from grader.commands import register_all

    register_all(commands)
    return parser


def run_check(*, exercises, directory, timeout=None, out=sys.stdout):
    """The self-check; returns the exit status (0 only when every selected check passes)."""
    from grader.runner import Zygote

    settings = load_settings(timeout=timeout)
    # Start the worker before importing torch here: the two imports overlap.
    with Zygote() as zygote:
        from grader.feedback import render_check_report
        from grader.grading import grade_submission

        result = grade_submission(directory, exercise_ids=exercises or None, visibilities=("public",),
                                  settings=settings, zygote=zygote)
    print(render_check_report(result, directory=directory), file=out)
    passed = all(check.status == "passed" for check in result.checks)
    if passed and not exercises:
        from grader.handin import state

        print(state(directory, Path("submission.zip")).message, file=out)
    return 0 if passed else 1


def run_grade(args, out=sys.stdout):
    """The instructor's batch grading; exit 0 when the batch finished, whatever the scores."""
    import os

    from grader.config import pick, read_course_config, workers_from
    from grader.executors import make_executor

    file_values = read_course_config(args.config) if args.config else {}
    file_name = str(args.config) if args.config else "the course config"
    settings = load_settings(timeout=args.timeout, file_values=file_values, file_name=file_name)
    workers = workers_from(*pick("workers", cli=args.workers, file_values=file_values, file_name=file_name,
                                 default=os.cpu_count() or 1))
    secret, _where = pick("secret", cli=args.secret, file_values=file_values, file_name=file_name)
    gradebook, _where = pick("gradebook", cli=args.gradebook, file_values=file_values, file_name=file_name)
    executor = make_executor(workers=workers, dask=args.dask)  # a bad --dask value is a ConfigError, before any work
    executor.warm()  # the local workers' torch import starts now, before this process imports the rest
    from grader.batch import BatchError, grade_class
    from grader.progress import BatchProgress

    with BatchProgress(out) as progress:
        try:
            summary = grade_class(submissions_dir=args.submissions, out_dir=args.out, workers=workers,
                                  students=args.student, force=args.force, settings=settings, secret=secret,
                                  gradebook_url=gradebook, on_progress=progress.update, assignment=args.assignment,
                                  executor=executor, command=" ".join(["grade", *sys.argv[2:]]))
        except BatchError as exc:
            print(_("error: {problem}").format(problem=exc), file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(_("interrupted: every student graded so far is in the gradebook; run the same command again to go on"),
                  file=sys.stderr)
            return 130
        finally:
            executor.release()
    progress.print_summary(summary)
    return 0


def run_report(args, out=sys.stdout):
    """Every student's report and the class summary, from the gradebook alone; prints the summary's path."""
    from grader.config import pick, read_course_config
    from grader.reports import render_all

    file_values = read_course_config(args.config) if args.config else {}
    gradebook, _where = pick("gradebook", cli=args.gradebook, file_values=file_values,
                        file_name=str(args.config) if args.config else "the course config")
    try:
        written = render_all(out_dir=args.out, gradebook_url=gradebook)
    except (FileNotFoundError, LookupError) as exc:
        print(_("error: {problem}").format(problem=exc), file=sys.stderr)
        return 2
    print(f"{len(written) // 3} student report(s) in {written[-1].parent}", file=out)
    print(_("class summary: {path}").format(path=written[-1]), file=out)
    return 0


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    from grader.i18n import choose_language, set_language

    try:
        set_language(choose_language(args.lang))
    except ValueError as exc:
        parser.error(str(exc))
    try:
        return _run(parser, args)
    except ConfigError as exc:
        print(_("error: {problem}").format(problem=exc), file=sys.stderr)
        return 2


def _run(parser, args):
    """Dispatch to the command; configuration errors are reported once, by main."""
    if getattr(args, "handler", None) is not None:
        return args.handler(args)
    if args.command == "grade":
        return run_grade(args)
    if args.command == "report":
        return run_report(args)
    unknown = [name for name in args.exercises if name not in EXERCISE_IDS]
    if unknown:
        parser.error(_("unknown exercise {name}; choose from {names}").format(name=repr(unknown[0]), names=", ".join(EXERCISE_IDS)))
    directory = args.dir if args.dir is not None else (Path("exercises") if Path("exercises").is_dir() else EXERCISES_DIR)
    if not directory.is_dir():
        print(_("error: {problem}").format(problem=_("{folder} is not a folder").format(folder=directory)), file=sys.stderr)
        return 2
    return run_check(exercises=args.exercises, directory=directory, timeout=args.timeout)
