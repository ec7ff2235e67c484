"""`python -m grader lti publish OUT --config lti.toml`: send the class's scores to the LMS over LTI 1.3 AGS."""
import sys
from pathlib import Path

from grader.i18n import _

LANG_HELP = "language of messages (default: from the locale, else English)"


def register(commands):
    lti = commands.add_parser("lti", help="LTI 1.3 Assignment and Grade Services: publish scores to the LMS")
    actions = lti.add_subparsers(dest="lti_command", required=True)
    publish = actions.add_parser(
        "publish", help="post each student's score and a short comment to the assignment's line item",
        description="Post OUT/results/<student>.json to the AGS line item in the config. Scores the platform "
                    "already holds (see OUT/lti-ledger.sqlite) are skipped; changed ones are posted again.")
    publish.add_argument("out", type=Path, metavar="OUT", help="the --out folder of `grade`")
    publish.add_argument("--config", type=Path, required=True,
                         help="TOML file with an [lti] table: client_id, token_url, lineitem, private_key_file, key_id")
    publish.add_argument("--users", type=Path, default=None,
                         help="CSV with columns student,user_id (default: the student id is the LTI user id)")
    publish.add_argument("--dry-run", action="store_true", help="show what would be posted; send and write nothing")
    publish.add_argument("--force", action="store_true", help="post again scores the platform already holds")
    publish.add_argument("--lang", choices=("en", "zh"), default=None, help=LANG_HELP)
    publish.set_defaults(handler=run_publish)
    lti.set_defaults(lang=None)


def run_publish(args, out=None):
    """Publish and print a line per student sent plus a summary; 1 when any score was not published, 2 on bad input."""
    from grader.lti import load_lti_config, publish_scores, read_users
    from grader.lti.ledger import LedgerError
    from grader.lti.scores import ResultsMissing

    out = out or sys.stdout
    try:
        config = load_lti_config(args.config)
        users = read_users(args.users) if args.users else None
        summary = publish_scores(out_dir=args.out, config=config, users=users, dry_run=args.dry_run,
                                 force=args.force, on_outcome=lambda outcome: _print_outcome(outcome, args, out))
    except (ResultsMissing, LedgerError) as exc:
        print(_("error: {problem}").format(problem=exc), file=sys.stderr)
        return 2
    except ImportError as exc:
        print(_("error: {problem}").format(problem=_("publishing needs {module}: pip install 'nn-grader[lms]'")
                                            .format(module=exc.name)), file=sys.stderr)
        return 2
    _print_summary(summary, args, out)
    return 0 if summary.ok else 1


def _score_text(outcome):
    return f"{outcome.score:g}/{outcome.max_score:g}"


def _print_outcome(outcome, args, out):
    """One line for each student whose score moved, or could not."""
    lines = {
        "posted": _("posted      {student} -> {user_id}: {score}"),
        "updated": _("updated     {student} -> {user_id}: {score}"),
        "would_post": _("would post  {student} -> {user_id}: {score}"),
        "would_update": _("would update {student} -> {user_id}: {score}"),
        "refused": _("REFUSED     {student} -> {user_id}: {detail}"),
        "failed": _("FAILED      {student} -> {user_id}: {detail}"),
        "unknown_user": _("UNKNOWN     {student}: not in {users}"),
        "unreadable": _("UNREADABLE  {detail}"),
    }
    if outcome.kind not in lines:
        return
    score = _score_text(outcome) if outcome.score is not None else ""
    print(lines[outcome.kind].format(student=outcome.student, user_id=outcome.user_id, score=score,
                                     detail=outcome.detail, users=args.users), file=out)


def _print_summary(summary, args, out):
    count = lambda *kinds: len(summary.of(*kinds))  # noqa: E731
    print(_("line item: {url}").format(url=summary.lineitem), file=out)
    if summary.dry_run:
        print(_("dry run: {new} would be posted, {updates} would be updated, {unchanged} unchanged; nothing was sent")
              .format(new=count("would_post"), updates=count("would_update"), unchanged=count("unchanged")), file=out)
    else:
        print(_("{posted} posted, {updated} updated, {unchanged} unchanged (skipped), {refused} refused, "
                "{failed} failed").format(posted=count("posted"), updated=count("updated"),
                                          unchanged=count("unchanged"), refused=count("refused"),
                                          failed=count("failed")), file=out)
    if summary.stopped:
        print(_("stopped: {reason}").format(reason=summary.stopped), file=out)
        names = [outcome.student for outcome in summary.of("not_sent")]
        print(_("not sent, will be sent by the next run: {names}").format(names=", ".join(names)), file=out)
    unknown = [outcome.student for outcome in summary.of("unknown_user")]
    if unknown:
        print(_("unknown users (not in {users}), not sent: {names}").format(users=args.users, names=", ".join(unknown)),
              file=out)
    if count("unreadable"):
        print(_("{count} results file(s) could not be read (see above)").format(count=count("unreadable")), file=out)
    if not summary.dry_run:
        print(_("ledger: {path}").format(path=summary.ledger), file=out)
