"""Who is who: pair each graded student with a row of the LMS's roster, for every exporter.

A student with no roster row and a roster row with no result are both kept in
the match and shown to the instructor; nothing is dropped silently. An id that
appears twice on either side is an error, because a grade could then land on the
wrong student.
"""
from dataclasses import dataclass

from grader.i18n import _


class RosterError(ValueError):
    """The roster or the results cannot be paired safely; the message says where."""


@dataclass(frozen=True)
class RosterEntry:
    key: str  # the id the LMS knows the student by, compared as text
    where: str  # where the row is, for messages: "line 7", "user 57"
    label: str = ""  # a name to show the instructor, when the roster has one
    handle: object = None  # the exporter's own object for the row (a CSV row, a Canvas submission)


@dataclass(frozen=True)
class RosterMatch:
    source: str  # the roster's name in messages: a file name, "the Canvas course"
    pairs: tuple  # (StudentScore, RosterEntry)
    unknown: tuple  # StudentScore with no roster entry
    missing: tuple  # RosterEntry with no result

    @property
    def complete(self) -> bool:
        return not self.unknown and not self.missing


def match_roster(scores, entries, *, key_of, source: str, source_path=None) -> RosterMatch:
    """Pair scores and entries by key: `key_of(score)` against `entry.key`; errors name `source_path` if given."""
    by_key = {}
    for entry in entries:
        key = entry.key.strip()
        if key in by_key:
            raise RosterError(_("{source}: the id {key} appears twice ({first} and {second}); "
                                "each student must have one row").format(
                source=source_path or source, key=repr(key), first=by_key[key].where, second=entry.where))
        by_key[key] = entry
    seen, pairs, unknown = {}, [], []
    for score in scores:
        key = str(key_of(score)).strip()
        if key in seen:
            raise RosterError(_("two results are for the same student {key}: {first} and {second}").format(
                key=repr(key), first=seen[key].path or seen[key].student, second=score.path or score.student))
        seen[key] = score
        if key in by_key:
            pairs.append((score, by_key[key]))
        else:
            unknown.append(score)
    missing = [entry for key, entry in by_key.items() if key not in seen]
    return RosterMatch(source, tuple(pairs), tuple(unknown), tuple(missing))


def describe_problems(match: RosterMatch) -> list:
    """Lines for the instructor: results with no roster row, roster rows with no result."""
    lines = []
    if match.unknown:
        lines.append(_("{count} graded student(s) have no row in {source}, so no grade was exported for them:").format(
            count=len(match.unknown), source=match.source))
        lines.extend(f"  {score.student}" for score in match.unknown)
    if match.missing:
        lines.append(_("{count} row(s) of {source} have no result, so they were left as they were:").format(
            count=len(match.missing), source=match.source))
        lines.extend(f"  {entry.key} ({entry.where}{', ' + entry.label if entry.label else ''})"
                     for entry in match.missing)
    return lines
