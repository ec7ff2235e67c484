"""Student id -> LTI user id, from a CSV with the columns `student` and `user_id`.

The platform knows students by its own opaque id (the `sub` of a launch), not by
the name of their submission; this file is the bridge. Two students mapped to one
user would overwrite each other's grade, so that is refused.
"""
import csv
import io
from pathlib import Path

from grader.config import ConfigError
from grader.i18n import _

COLUMNS = ("student", "user_id")


def read_users(path):
    """{student: user_id} from the CSV at `path`; a ConfigError names the file and line of any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(_("{file}: cannot be read ({problem})").format(file=path, problem=exc.strerror)) from None
    except UnicodeDecodeError:
        raise ConfigError(_("{file}: not UTF-8 text").format(file=path)) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise ConfigError(_("{file}: the header must name the columns {columns}; missing {names}")
                          .format(file=path, columns=", ".join(COLUMNS), names=", ".join(missing)))
    reader.fieldnames = header
    users, owners = {}, {}
    for row in reader:
        line = reader.line_num
        student = (row.get("student") or "").strip()
        user_id = (row.get("user_id") or "").strip()
        if not student and not user_id:
            continue
        if not student or not user_id:
            raise ConfigError(_("{file}, line {line}: both student and user_id are needed")
                              .format(file=path, line=line))
        if users.get(student, user_id) != user_id:
            raise ConfigError(_("{file}, line {line}: student {student} is listed twice with different user ids")
                              .format(file=path, line=line, student=student))
        if owners.get(user_id, student) != student:
            raise ConfigError(_("{file}, line {line}: user id {user_id} is given to both {first} and {second}")
                              .format(file=path, line=line, user_id=user_id, first=owners[user_id], second=student))
        users[student], owners[user_id] = user_id, student
    return users
