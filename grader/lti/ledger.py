"""OUT/lti-ledger.sqlite: every score sent to a platform and what the platform answered.

A rerun reads it to skip scores the platform already holds, so publishing twice does
not post twice; a changed score is posted again. Each row is committed as soon as the
platform has answered, so an interrupted run loses nothing: what is not in the ledger
as posted is simply posted on the next run (AGS treats a repeated score as an update).
"""
import sqlite3
from pathlib import Path

from grader.i18n import _

LEDGER_NAME = "lti-ledger.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS published (
    id INTEGER PRIMARY KEY,
    student TEXT NOT NULL,
    user_id TEXT NOT NULL,
    lineitem TEXT NOT NULL,
    score_given REAL NOT NULL,
    score_maximum REAL NOT NULL,
    result_hash TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('posted', 'refused', 'failed')),
    http_status INTEGER,
    answer TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS published_by_student ON published (lineitem, student, outcome);
"""


class LedgerError(Exception):
    """The ledger file exists but cannot be used."""


class Ledger:
    """The ledger of one OUT folder. `read_only` opens an existing one without ever writing (for --dry-run)."""

    def __init__(self, path, *, read_only=False):
        self.path = Path(path)
        self.read_only = read_only
        try:
            if read_only:
                self._connection = (sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
                                    if self.path.exists() else None)
            else:
                self._connection = sqlite3.connect(self.path)
                with self._connection:
                    self._connection.executescript(SCHEMA)
            if self._connection is not None:
                self._connection.execute("SELECT count(*) FROM published").fetchone()
        except sqlite3.Error as exc:
            raise LedgerError(_("{file}: not a usable ledger ({problem})").format(file=self.path, problem=exc)) from None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def last_posted(self, lineitem, student):
        """The fingerprint of the score last accepted for this student on this line item, or None."""
        if self._connection is None:
            return None
        row = self._connection.execute(
            "SELECT fingerprint FROM published WHERE lineitem = ? AND student = ? AND outcome = 'posted' "
            "ORDER BY id DESC LIMIT 1", (lineitem, student)).fetchone()
        return row[0] if row else None

    def record(self, score, *, lineitem, timestamp, outcome, http_status, answer):
        """Add one row and commit it at once."""
        if self.read_only:
            raise LedgerError(_("{file}: opened read-only").format(file=self.path))
        with self._connection:
            self._connection.execute(
                "INSERT INTO published (student, user_id, lineitem, score_given, score_maximum, result_hash,"
                " fingerprint, timestamp, outcome, http_status, answer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (score.student, score.user_id, lineitem, score.score_given, score.score_maximum, score.result_hash,
                 score.fingerprint, timestamp, outcome, http_status, answer))

    def rows(self):
        """Every row as a dict, oldest first (for tests and audits)."""
        if self._connection is None:
            return []
        cursor = self._connection.execute("SELECT * FROM published ORDER BY id")
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
