"""Make the student stubs in exercises/ from the reference solutions.

Each `### BEGIN SOLUTION` ... `### END SOLUTION` region is cut out, so the
stubs never drift from the solutions and never leak them.
Run `python -m grader.stubs` to regenerate, `--check` to only compare.
"""
import argparse
import ast
import io
import re
import sys
from pathlib import Path

from grader.config import EXERCISES_DIR, SOLUTIONS_DIR
from grader.references import EXERCISE_MODULES

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
# Anything that looks like a marker; a near miss must not slip through as a comment.
_MARKER_LIKE = re.compile(r"^\s*#+\s*(BEGIN|END)\s+SOLUTION\b", re.IGNORECASE)


def _lines(source):
    """Lines with their own endings (\\n, \\r\\n or \\r), so joining them gives source back."""
    return io.StringIO(source, newline="").readlines()


def _ending(line):
    """The line ending of line, or \\n for a last line without one."""
    stripped = line.rstrip("\r\n")
    return line[len(stripped):] or "\n"


def _marker(line, filename, lineno):
    """BEGIN, END or None for this line; a malformed marker is an error."""
    text = line.strip()
    if text in (BEGIN, END):
        return text
    if _MARKER_LIKE.match(line):
        raise ValueError(
            f"{filename}, line {lineno}: malformed solution marker {text!r}; "
            f"write exactly {BEGIN!r} or {END!r}"
        )
    return None


def find_regions(source, filename):
    """The solution regions as (begin_lineno, end_lineno, indent), 1-based, in order."""
    regions, open_at = [], None
    for lineno, line in enumerate(_lines(source), start=1):
        kind = _marker(line, filename, lineno)
        if kind is None:
            continue
        indent = line[: len(line) - len(line.lstrip())]
        if kind == BEGIN:
            if open_at is not None:
                raise ValueError(
                    f"{filename}, line {lineno}: nested {BEGIN!r}; "
                    f"the region opened at line {open_at[0]} has no {END!r} yet"
                )
            open_at = (lineno, indent)
        else:
            if open_at is None:
                raise ValueError(f"{filename}, line {lineno}: {END!r} without a {BEGIN!r} before it")
            if indent != open_at[1]:
                raise ValueError(
                    f"{filename}, line {lineno}: {END!r} is indented {indent!r} but its "
                    f"{BEGIN!r} at line {open_at[0]} is indented {open_at[1]!r}"
                )
            regions.append((open_at[0], lineno, indent))
            open_at = None
    if open_at is not None:
        raise ValueError(f"{filename}, line {open_at[0]}: {BEGIN!r} without a matching {END!r}")
    return regions


def _statement_lines_in_functions(tree):
    """Line numbers of the statements that lie inside some function body."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for child in ast.walk(node):
                if child is not node and isinstance(child, ast.stmt):
                    lines.add(child.lineno)
    return lines


def _bound_names(body_source, filename, lineno):
    """Names a module-level region binds at its top level, in order of first binding."""
    try:
        tree = ast.parse(body_source)
    except SyntaxError as exc:
        raise ValueError(f"{filename}, line {lineno}: solution region does not parse: {exc.msg}") from None
    names = []

    def add_target(target):
        if isinstance(target, ast.Name):
            names.append(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                add_target(element)
        elif isinstance(target, ast.Starred):
            add_target(target.value)

    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                add_target(target)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            add_target(node.target)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
    return list(dict.fromkeys(names))


def make_stub(source: str, filename: str) -> str:
    """The student stub for one solution file: every solution region cut out.

    A region in a function becomes `raise NotImplementedError`; one at module
    level becomes `NAME = None` for each name it binds. Other text is kept as is.
    """
    regions = find_regions(source, filename)
    lines = _lines(source)
    out, cursor = [], 0  # cursor: 0-based index of the next line to copy
    raises = {}  # stub line number of each inserted raise: the region's BEGIN line
    for begin, end, indent in regions:
        out.extend(lines[cursor : begin - 1])
        newline = _ending(lines[begin - 1])
        if indent:
            out.append(f"{indent}# YOUR CODE HERE{newline}")
            out.append(f"{indent}raise NotImplementedError{newline}")
            raises[len(out)] = begin
        else:
            names = _bound_names("".join(lines[begin : end - 1]), filename, begin)
            if not names:
                out.append(f"# YOUR CODE HERE{newline}")
            for name in names:
                out.append(f"{name} = None  # YOUR ANSWER HERE{newline}")
        cursor = end
    out.extend(lines[cursor:])
    stub = "".join(out)
    try:
        compile(stub, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise ValueError(f"{filename}: the generated stub does not compile: {exc}") from None
    in_functions = _statement_lines_in_functions(ast.parse(stub, filename))
    for stub_line, begin in raises.items():
        if stub_line not in in_functions:
            # It would raise on import, e.g. in a class body or under a module-level if.
            raise ValueError(
                f"{filename}, line {begin}: an indented solution region must lie in a function body"
            )
    return stub


def _read(path):
    """Text exactly as stored: no newline translation."""
    return path.read_bytes().decode("utf-8")


def _expected(solutions_dir):
    """{exercise file name: stub text} for every exercise, in the fixed order."""
    return {
        f"{name}.py": make_stub(_read(Path(solutions_dir) / f"{name}.py"), f"{name}.py")
        for name in EXERCISE_MODULES
    }


def generate_stubs(*, solutions_dir: Path, exercises_dir: Path) -> list[Path]:
    """Write exercises/<name>.py for each exercise; all stubs are made before any is written."""
    stubs = _expected(solutions_dir)
    exercises_dir = Path(exercises_dir)
    exercises_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, stub in stubs.items():
        path = exercises_dir / file_name
        path.write_bytes(stub.encode("utf-8"))
        written.append(path)
    return written


def stale_stubs(*, solutions_dir: Path, exercises_dir: Path) -> list[str]:
    """Exercise file names that are missing or differ from what generate_stubs would write."""
    stale = []
    for file_name, stub in _expected(solutions_dir).items():
        path = Path(exercises_dir) / file_name
        if not path.is_file() or path.read_bytes() != stub.encode("utf-8"):
            stale.append(file_name)
    return stale


def main(argv=None):
    """Regenerate exercises/ from solutions/, or with --check report stale stubs."""
    parser = argparse.ArgumentParser(prog="python -m grader.stubs", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a stub is stale")
    parser.add_argument("--solutions-dir", type=Path, default=SOLUTIONS_DIR)
    parser.add_argument("--exercises-dir", type=Path, default=EXERCISES_DIR)
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = stale_stubs(solutions_dir=args.solutions_dir, exercises_dir=args.exercises_dir)
            for file_name in stale:
                print(f"stale: {args.exercises_dir / file_name}")
            if stale:
                print("run `python -m grader.stubs` to regenerate them", file=sys.stderr)
                return 1
            return 0
        for path in generate_stubs(solutions_dir=args.solutions_dir, exercises_dir=args.exercises_dir):
            print(f"wrote {path}")
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
