"""Per-student hidden seeds: derived from a course secret and the student id.

The same student always gets the same hidden inputs (so a regrade gives the
same score), and without the secret nobody can work out which inputs those are.
"""
import hashlib
import hmac
import os
import secrets
from pathlib import Path

SECRET_FILE = ".grader-secret"


def hidden_seed(secret: str, student: str) -> int:
    digest = hmac.new(secret.encode(), student.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big")


def course_secret(*, given=None, out_dir: Path, environ=None) -> str:
    """The secret from --secret, else GRADER_SECRET, else OUT/.grader-secret (made once, mode 0600)."""
    environ = os.environ if environ is None else environ
    if given:
        return given
    if environ.get("GRADER_SECRET"):
        return environ["GRADER_SECRET"]
    path = Path(out_dir) / SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(value + "\n")
    return value
