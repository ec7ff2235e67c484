"""`python -m grader submission`: build the student's submission.zip (see grader.handin)."""
import sys
from pathlib import Path

from grader.i18n import _


def register(commands):
    parser = commands.add_parser("submission", help="pack your exercise files into submission.zip, ready to hand in")
    parser.add_argument("--lang", choices=("en", "zh"), default=None,
                        help="language of messages (default: from the locale, else English)")
    parser.add_argument("--dir", type=Path, default=Path("exercises"), help="folder with your exercise files (default: exercises/)")
    parser.add_argument("--output", type=Path, default=Path("submission.zip"), help="the zip to write (default: submission.zip)")
    parser.set_defaults(handler=run)


def run(args, out=sys.stdout):
    from grader.handin import HandInError, build

    try:
        path, manifest, missing = build(args.dir, args.output)
    except HandInError as exc:
        print(_("error: {problem}").format(problem=exc), file=sys.stderr)
        return 2
    except OSError as exc:
        print(_("error: {problem}").format(problem=_("{file} cannot be written: {problem}").format(
            file=args.output, problem=exc.strerror)), file=sys.stderr)
        return 2
    print(_("Wrote {zip} with {count} files and a manifest (grader {version}).").format(
        zip=path, count=len(manifest["files"]), version=manifest["grader_version"]), file=out)
    if missing:
        print(_("Not included, because they are not in {folder}: {names}").format(folder=args.dir, names=", ".join(missing)),
              file=out)
    print(_("Check it with `python -m grader check`, then upload {zip}.").format(zip=path.name), file=out)
    return 0
