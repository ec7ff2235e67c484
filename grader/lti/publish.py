"""Publish a graded class to one AGS line item, once: new and changed scores are posted, the rest skipped.

Each student ends in exactly one outcome. Nothing is lost: a score that was not
accepted is not marked as posted, so the next run sends it again.
"""
from dataclasses import dataclass
from pathlib import Path

from grader.i18n import _
from grader.lti.ledger import LEDGER_NAME, Ledger
from grader.lti.platform import AgsClient, TokenRefused
from grader.lti.scores import ScoreToPublish, comment_for, read_report, read_results

# Outcome kinds, in the order a summary lists them.
POSTED, UPDATED, UNCHANGED, WOULD_POST, WOULD_UPDATE = "posted", "updated", "unchanged", "would_post", "would_update"
REFUSED, FAILED, NOT_SENT, UNKNOWN_USER, UNREADABLE = "refused", "failed", "not_sent", "unknown_user", "unreadable"
PROBLEMS = (REFUSED, FAILED, NOT_SENT, UNREADABLE)
FAILURES_BEFORE_STOPPING = 3  # students in a row the platform failed for, before the rest are left for later


@dataclass(frozen=True)
class Outcome:
    """What became of one student's score."""

    student: str
    kind: str
    user_id: str = ""
    score: float = None
    max_score: float = None
    detail: str = ""  # the platform's answer, or why it was not sent


@dataclass(frozen=True)
class PublishSummary:
    lineitem: str
    outcomes: tuple
    ledger: Path
    dry_run: bool = False
    stopped: str = ""  # why publishing stopped before the end, when it did

    def of(self, *kinds):
        return [outcome for outcome in self.outcomes if outcome.kind in kinds]

    @property
    def ok(self):
        """True when nothing was refused, failed, left unsent or unreadable."""
        return not self.of(*PROBLEMS) and not self.stopped


def publish_scores(*, out_dir, config, users=None, dry_run=False, force=False, client=None, on_outcome=None):
    """Post each OUT/results/<student>.json as an AGS Score to `config.lineitem`; returns a PublishSummary.

    `users` maps student ids to LTI user ids; without it the student id is the user id. A dry run
    contacts nobody and writes nothing, and says what a real run would post.
    """
    out_dir = Path(out_dir)
    results, unreadable = read_results(out_dir)
    outcomes = [Outcome(item.path.stem, UNREADABLE, detail=_("{file}: {problem}").format(file=item.path,
                                                                                       problem=item.problem))
                for item in unreadable]
    ledger_path = out_dir / LEDGER_NAME
    own_client = client is None and not dry_run
    client = AgsClient(config) if own_client else client
    report = on_outcome or (lambda outcome: None)
    for outcome in outcomes:
        report(outcome)
    stopped, failures_in_a_row = "", 0
    try:
        with Ledger(ledger_path, read_only=dry_run) as ledger:
            for result in results:
                score = _score_for(result, users, out_dir, config)
                previous = ledger.last_posted(config.lineitem, result.student) if score else None
                if score is None:
                    outcome = Outcome(result.student, UNKNOWN_USER, score=result.score, max_score=result.max_score)
                elif previous == score.fingerprint and not force:
                    outcome = _outcome(score, UNCHANGED)
                elif dry_run:
                    outcome = _outcome(score, WOULD_POST if previous is None else WOULD_UPDATE)
                elif stopped:
                    outcome = _outcome(score, NOT_SENT, stopped)
                else:
                    outcome, stopped = _send(client, ledger, config, score, updating=previous is not None)
                    failures_in_a_row = failures_in_a_row + 1 if outcome.kind == FAILED else 0
                    if failures_in_a_row >= FAILURES_BEFORE_STOPPING and not stopped:
                        stopped = _("the platform failed for {count} students in a row; the others were not sent")\
                            .format(count=failures_in_a_row)
                outcomes.append(outcome)
                report(outcome)
    finally:
        if own_client:
            client.close()
    return PublishSummary(lineitem=config.lineitem, outcomes=tuple(outcomes), ledger=ledger_path,
                          dry_run=dry_run, stopped=stopped)


def _score_for(result, users, out_dir, config):
    """The Score to publish for one result, or None when the users file does not know the student."""
    user_id = result.student if users is None else users.get(result.student)
    if user_id is None:
        return None
    comment = comment_for(result, read_report(out_dir, result.student), max_checks=config.comment_checks)
    return ScoreToPublish(student=result.student, user_id=user_id, score_given=result.score,
                          score_maximum=result.max_score, comment=comment, result_hash=result.content_hash)


def _outcome(score, kind, detail=""):
    return Outcome(score.student, kind, user_id=score.user_id, score=score.score_given,
                   max_score=score.score_maximum, detail=detail)


def _send(client, ledger, config, score, *, updating):
    """Post one score and record the answer; returns (outcome, why publishing must stop or "")."""
    try:
        answer, timestamp = client.post_score(score)
    except TokenRefused as exc:
        return _outcome(score, NOT_SENT, str(exc)), str(exc)
    if answer.ok:
        kind, outcome_name = (UPDATED if updating else POSTED), "posted"
    elif answer.transient:
        kind, outcome_name = FAILED, "failed"
    else:
        kind, outcome_name = REFUSED, "refused"
    detail = answer.describe() if not answer.ok else ""
    if answer.transient and not answer.ok:
        detail = _("{answer} (after {attempts} tries)").format(answer=detail, attempts=answer.attempts)
    ledger.record(score, lineitem=config.lineitem, timestamp=timestamp.isoformat(timespec="milliseconds"),
                  outcome=outcome_name, http_status=answer.status, answer=answer.describe())
    return _outcome(score, kind, detail), ""
