"""`python -m grader notebooks`: write an nbgrader source assignment (see grader.notebooks)."""
import secrets
import sys
from pathlib import Path

from grader.i18n import _


def register(commands):
    parser = commands.add_parser("notebooks", help="write an nbgrader source assignment: one notebook per exercise")
    parser.add_argument("--lang", choices=("en", "zh"), default=None,
                        help="language of messages and of the notebooks' text (default: from the locale, else English)")
    parser.add_argument("--output", type=Path, required=True,
                        help="the nbgrader course folder: notebooks go to OUTPUT/source/ASSIGNMENT/")
    parser.add_argument("--assignment", default="neural_networks", help="assignment name (default: neural_networks)")
    parser.add_argument("--hidden-seed", default=None,
                        help="seed of the hidden checks' inputs (default: from --secret or GRADER_SECRET, else random)")
    parser.add_argument("--secret", default=None, help="course secret to derive the hidden seed from")
    parser.set_defaults(handler=run)


def hidden_seed_from(*, given, secret, assignment):
    """(seed, where it came from): --hidden-seed, else HMAC(secret, assignment), else a fresh random seed."""
    from grader.config import ConfigError, pick
    from grader.seeds import hidden_seed

    if given is not None:
        try:
            return int(given), "--hidden-seed"
        except ValueError:
            raise ConfigError(_("--hidden-seed must be a whole number, got {value}").format(value=repr(given))) from None
    secret, where = pick("secret", cli=secret)
    if secret:
        return hidden_seed(secret, f"nbgrader:{assignment}"), where
    return secrets.randbits(63), _("a fresh random number")


def run(args, out=sys.stdout):
    from grader.notebooks import write_assignment

    seed, where = hidden_seed_from(given=args.hidden_seed, secret=args.secret, assignment=args.assignment)
    try:
        written = write_assignment(output=args.output, assignment=args.assignment, hidden_seed=seed)
    except ValueError as exc:
        print(_("error: {problem}").format(problem=exc), file=sys.stderr)
        return 2
    except OSError as exc:
        print(_("error: {problem}").format(problem=_("{file} cannot be written: {problem}").format(
            file=exc.filename or args.output, problem=exc.strerror)), file=sys.stderr)
        return 2
    for notebook in written.notebooks:
        print(_("{path}: {points:g} points ({hidden:g} of them hidden)").format(
            path=notebook.path, points=notebook.points, hidden=notebook.hidden_points), file=out)
    print(_("Stand-ins for the notebooks that import another exercise: {paths}").format(
        paths=", ".join(path.name for path in written.stand_ins)), file=out)
    print(_("Assignment {name}: {points:g} points in all; hidden seed from {where}, kept in the hidden test cells.").format(
        name=args.assignment, points=written.points, where=where), file=out)
    print(_("Next: `nbgrader generate_assignment {name}` in {folder}, with this project's Python as the kernel "
            "and the grader package importable there (the test cells import grader.nbgrader_checks).").format(
        name=args.assignment, folder=args.output), file=out)
    return 0
