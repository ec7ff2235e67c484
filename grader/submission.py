"""Find a submission's exercise files and check what can be checked without running them."""
import ast
import difflib
import marshal
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from grader.harness.student_import import compiled_name
from grader.i18n import _
from grader.registry import EXERCISE_IDS


@dataclass(frozen=True)
class ExerciseFile:
    """One exercise's file in a submission: where it is, or why it is not usable."""

    exercise: str
    path: Path = None
    problem: str = ""  # "" when the file is present and compiles
    status: str = ""  # "missing" or "error" when problem is set
    code: bytes = field(default=None, compare=False, repr=False)  # the file compiled (marshal), when it compiles


def _candidates(directory: Path):
    for folder in (directory, directory / "exercises"):
        if folder.is_dir():
            yield from (entry for entry in folder.iterdir() if entry.is_file())


def _near_miss(directory: Path, filename: str):
    names = {entry.name: entry for entry in _candidates(directory)}
    stem = filename[:-3]
    for name, entry in names.items():
        lowered = name.lower().replace(" ", "").replace("-", "_")
        if name != filename and (lowered == filename or lowered.startswith(stem) and lowered.endswith(".py")
                                 or lowered in (filename + ".txt", stem + ".ipynb")):
            return entry
    close = difflib.get_close_matches(filename, list(names), n=1, cutoff=0.85)
    return names[close[0]] if close else None


def _compile(path: Path):
    """(the code as marshal bytes, "") for a file that compiles, else (None, why not)."""
    try:
        with tokenize.open(path) as handle:  # Python's rules: UTF-8 unless a coding line says otherwise
            source = handle.read()
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        return None, _("{file} could not be read as Python source: {problem}").format(file=path.name, problem=exc)
    except OSError as exc:
        return None, _("{file} could not be read: {problem}").format(file=path.name, problem=exc.strerror)
    try:
        return marshal.dumps(compile(source, compiled_name(path.name), "exec", dont_inherit=True)), ""
    except SyntaxError as exc:
        where = _("line {line}").format(line=exc.lineno) if exc.lineno else _("somewhere")
        text = f": {exc.text.strip()}" if exc.text and exc.text.strip() else ""
        return None, _("{file} does not compile ({where}): {problem}").format(file=path.name, where=where + text,
                                                                              problem=exc.msg)
    except ValueError as exc:
        return None, _("{file} does not compile: {problem}").format(file=path.name, problem=exc)


def locate(directory: Path, exercises=EXERCISE_IDS, shown_as=None):
    """Each exercise's file, at the submission's root or under exercises/.

    shown_as names the folder in messages (e.g. "the submission" for a staged copy).
    """
    directory = Path(directory)
    shown_as = _(shown_as) if shown_as else str(directory)
    found = {}
    for exercise in exercises:
        filename = f"{exercise}.py"
        path = next((folder / filename for folder in (directory, directory / "exercises")
                     if (folder / filename).is_file()), None)
        if path is None:
            near = _near_miss(directory, filename)
            message = _("{file} was not found in {folder}").format(file=filename, folder=shown_as)
            if near is not None:
                message += " " + _("(there is {near}: the file must be named exactly {file})").format(
                    near=near.relative_to(directory), file=filename)
            found[exercise] = ExerciseFile(exercise, None, message, "missing")
            continue
        code, problem = _compile(path)
        found[exercise] = ExerciseFile(exercise, path.resolve(), problem, "error" if problem else "", code)
    return found


BANNED_SIGMOID_NAMES = {"sigmoid", "sigmoid_", "expit", "Sigmoid"}
AUTOGRAD_NAMES = {"backward", "autograd", "requires_grad", "requires_grad_", "func", "grad", "Parameter"}


def banned_mentions(path: Path, bans):
    """Static hint for the message: lines that seem to use a banned API.

    Only the runtime ban decides the status; this finds where, for a clear message.
    """
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError, OSError):
        return []
    mentions = []
    if "sigmoid" in bans:
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in BANNED_SIGMOID_NAMES:
                mentions.append((node.lineno, ast.unparse(node)))
            elif isinstance(node, ast.ImportFrom) and any(alias.name in BANNED_SIGMOID_NAMES for alias in node.names):
                mentions.append((node.lineno, f"from {node.module} import ..."))
    if "autograd" in bans:
        scopes = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name in ("mlp_backward", "train")]
        for scope in scopes:
            for node in ast.walk(scope):
                if isinstance(node, ast.Attribute) and node.attr in AUTOGRAD_NAMES - {"grad"}:
                    mentions.append((node.lineno, ast.unparse(node)))
                elif isinstance(node, ast.keyword) and node.arg == "requires_grad":
                    mentions.append((node.value.lineno, "requires_grad=..."))
    return sorted(set(mentions))[:3]
