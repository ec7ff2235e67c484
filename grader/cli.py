"""Command line: a thin shell over the library functions."""
import argparse
import sys
from pathlib import Path

from grader import __version__
from grader.config import EXERCISE_IDS, EXERCISES_DIR, ConfigError, load_settings


def _parser():
    parser = argparse.ArgumentParser(prog="python -m grader", description="Auto-grader for the neural-network exercises.")
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="self-check your exercise files against the public checks")
    check.add_argument("exercises", nargs="*", metavar="EXERCISE",
                       help=f"exercises to check (default: all): {', '.join(EXERCISE_IDS)}")
    check.add_argument("--dir", type=Path, default=None, help="folder with your exercise files (default: exercises/)")
    check.add_argument("--timeout", default=None, help="seconds each exercise may run (default: per exercise)")
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
    return 0 if all(check.status == "passed" for check in result.checks) else 1


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "check":
        unknown = [name for name in args.exercises if name not in EXERCISE_IDS]
        if unknown:
            parser.error(f"unknown exercise {unknown[0]!r}; choose from {', '.join(EXERCISE_IDS)}")
        directory = args.dir if args.dir is not None else (Path("exercises") if Path("exercises").is_dir() else EXERCISES_DIR)
        if not directory.is_dir():
            print(f"error: {directory} is not a folder", file=sys.stderr)
            return 2
        try:
            return run_check(exercises=args.exercises, directory=directory, timeout=args.timeout)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return 2
