"""`gradescope`: build the autograder zip; `gradescope-run`: what run_autograder calls inside Gradescope."""
import sys
from pathlib import Path

from grader.i18n import _

LANG_HELP = "language of the feedback (default: the one baked in at build time, else the locale, else English)"


def register(commands):
    build = commands.add_parser("gradescope", help="build autograder.zip for a Gradescope programming assignment")
    build.add_argument("--lang", choices=("en", "zh"), default=None,
                       help="language of the feedback students get on Gradescope (default: the locale there, usually English)")
    build.add_argument("--output", type=Path, default=Path("autograder.zip"), help="the zip to write (default: autograder.zip)")
    build.add_argument("--secret", default=None, help="course secret for the per-student hidden inputs")
    build.add_argument("--config", type=Path, default=None, help="course config file (TOML, a [grader] table)")
    build.add_argument("--timeout", default=None, help="seconds each exercise may run (default: per exercise)")
    build.set_defaults(handler=run_build)

    run = commands.add_parser("gradescope-run", help="grade /autograder/submission into /autograder/results/results.json")
    run.add_argument("--lang", choices=("en", "zh"), default=None, help=LANG_HELP)
    run.add_argument("--root", type=Path, default=None, help="Gradescope's folder (default: $AUTOGRADER_ROOT, else /autograder)")
    run.add_argument("--submission", type=Path, default=None, help="the submission (default: ROOT/submission)")
    run.add_argument("--results", type=Path, default=None, help="where results.json goes (default: ROOT/results)")
    run.add_argument("--metadata", type=Path, default=None, help="default: ROOT/submission_metadata.json")
    run.set_defaults(handler=run_grading)


def run_build(args, out=sys.stdout):
    """Bake the course settings into the zip; a secret is made once and kept next to the zip when none is given."""
    from grader.config import pick, read_course_config, timeout_from
    from grader.gradescope import CourseSettings, build_autograder
    from grader.seeds import SECRET_FILE, course_secret

    file_values = read_course_config(args.config) if args.config else {}
    file_name = str(args.config) if args.config else "the course config"
    timeout, source = pick("timeout", cli=args.timeout, file_values=file_values, file_name=file_name)
    seconds = timeout_from(str(timeout), source) if timeout is not None else None  # a bad value: ConfigError
    secret, where = pick("secret", cli=args.secret, file_values=file_values, file_name=file_name)
    try:
        if not secret:
            secret, where = course_secret(out_dir=args.output.parent), str(args.output.parent / SECRET_FILE)
        settings = CourseSettings(str(secret), seconds, args.lang)
        built = build_autograder(output=args.output, settings=settings)
    except OSError as exc:
        print(_("error: {problem}").format(problem=_("{file} cannot be written: {problem}").format(
            file=exc.filename or args.output, problem=exc.strerror or exc)), file=sys.stderr)
        return 2
    print(_("autograder: {path} ({count} files)").format(path=built.path, count=len(built.names)), file=out)
    print(_("course secret from {where}").format(where=where), file=out)
    print(_("Upload the zip on Gradescope under Configure Autograder; it holds the course secret, so keep it private."),
          file=out)
    return 0


def run_grading(args, out=sys.stdout):
    """Inside Gradescope: grade the submission and write results.json; non-zero only when the grader failed."""
    from grader.gradescope import autograder_paths, run_autograder

    paths = autograder_paths(root=args.root, submission=args.submission, results=args.results, metadata=args.metadata)
    return run_autograder(paths, lang_given=args.lang is not None, out=out)
