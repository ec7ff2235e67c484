"""nbgrader *source* assignments made from the reference solutions and the registry.

One notebook per exercise, `<exercise>.ipynb`: a read-only description (the
solution's module docstring), read-only setup cells (the given code outside
every SOLUTION region, such as the imports), solution cells holding the
reference code with its `### BEGIN SOLUTION` / `### END SOLUTION` markers
(nbgrader cuts those regions out on release), and one read-only autograder
test cell per check of the registry, worth that check's points. The test
cells call `grader.nbgrader_checks.run_check`, so a notebook is graded by the
same checks as `python -m grader grade`; hidden checks sit in `### BEGIN
HIDDEN TESTS` blocks, with the hidden seed, so students never see them.

The assignment also gets `step.py` and `sigmoid.py`: stand-ins (correct
versions from grader.harness.stand_ins, never the references) for the
notebooks that import them (`from step import step`), so that a bug in one
notebook is charged once, as in the batch grader. nbgrader's autograde puts
the source copies back, whatever a student handed in under those names.
"""
import ast
import re
from dataclasses import dataclass
from pathlib import Path

from grader import registry
from grader.config import SOLUTIONS_DIR
from grader.i18n import _, ngettext
from grader.stubs import find_regions

NBGRADER_SCHEMA = 3
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
# First line of every stand-in module this writes: tools that read a submitted
# assignment folder can tell such a file from a student's.
STAND_IN_MARKER = "# grader stand-in module: written by grader.notebooks, not a student file"
_GRADE_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]")  # nbgrader's schema allows only these in a grade_id
_ASSIGNMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
           "language_info": {"name": "python"}}


@dataclass(frozen=True)
class SourcePart:
    """A stretch of a solution file that becomes one cell: given code, or code with solution regions."""

    code: str
    is_solution: bool
    names: tuple  # the top-level names it defines, in order


@dataclass(frozen=True)
class WrittenNotebook:
    exercise: str
    path: Path
    points: float
    hidden_points: float


@dataclass(frozen=True)
class WrittenAssignment:
    directory: Path
    notebooks: tuple  # WrittenNotebook, in course order
    stand_ins: tuple  # paths of the stand-in modules
    hidden_seed: int

    @property
    def points(self) -> float:
        return sum(notebook.points for notebook in self.notebooks)


def _defined_names(statement):
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [statement.name]
    targets = []
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
        targets = [statement.target]
    names = []
    for target in targets:
        names.extend(node.id for node in ast.walk(target) if isinstance(node, ast.Name))
    return names


def split_solution(source: str, filename: str):
    """(module docstring, [SourcePart, ...]) for one solution file, in source order.

    Each top-level statement is a unit, and so is each top-level solution
    region (with the statements inside it); comment lines before a unit belong
    to it. Units with a region become solution cells, one each; runs of given
    units are merged into one setup cell.
    """
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as exc:
        raise ValueError(f"{filename}, line {exc.lineno}: the solution does not parse: {exc.msg}") from None
    regions = find_regions(source, filename)
    if not regions:
        raise ValueError(f"{filename}: no '### BEGIN SOLUTION' region, so the notebook would have nothing to solve")
    lines = source.splitlines()
    body = list(tree.body)
    docstring = ast.get_docstring(tree) or ""
    first_line = 1
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        first_line = body[0].end_lineno + 1
        body = body[1:]
    units = []  # [start, end, names], 1-based inclusive line numbers
    top_regions = [(begin, end) for begin, end, indent in regions if not indent]
    for statement in body:
        start = min([statement.lineno] + [node.lineno for node in getattr(statement, "decorator_list", [])])
        inside = next(((begin, end) for begin, end in top_regions if begin < start <= end), None)
        if inside and units and units[-1][:2] == list(inside):
            units[-1][2].extend(_defined_names(statement))
        elif inside:
            units.append([inside[0], inside[1], _defined_names(statement)])
        else:
            units.append([start, statement.end_lineno, _defined_names(statement)])
    for unit in units:  # a comment line such as '### END SOLUTION' may follow a body's last statement
        unit[1] = max([unit[1]] + [end for begin, end, _indent in regions if unit[0] <= begin <= unit[1]])
    parts, previous_end = [], first_line - 1
    for _start, end, names in units:
        code = "\n".join(lines[previous_end:end]).strip("\n")
        is_solution = any(previous_end < begin <= end for begin, _end, _indent in regions)
        previous_end = end
        if not is_solution and parts and not parts[-1].is_solution:
            merged = parts.pop()
            parts.append(SourcePart(merged.code + "\n\n" + code, False, merged.names + tuple(names)))
        else:
            parts.append(SourcePart(code, is_solution, tuple(names)))
    trailing = "\n".join(lines[previous_end:]).strip()
    if trailing and parts:
        last = parts.pop()
        parts.append(SourcePart(last.code + "\n\n" + trailing, last.is_solution, last.names))
    return docstring, parts


def _metadata(grade_id, *, grade=False, solution=False, locked=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": NBGRADER_SCHEMA,
            "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def autograder_cell_source(check, *, hidden_seed):
    """The code of an autograder test cell: public checks visible, hidden ones in a HIDDEN TESTS block."""
    import_line = "from grader.nbgrader_checks import run_check"
    points = ngettext("{points:g} point", "{points:g} points", check.points).format(points=check.points)
    if check.visibility == "public":
        header = _("# Check: {description} ({points})").format(description=_(check.description), points=points)
        return f'{header}\n{import_line}\n\nrun_check("{check.id}", globals())'
    header = _("# Hidden check, run when your work is graded: {description} ({points})").format(
        description=_(check.description), points=points)
    return (f"{header}\n{import_line}\n\n{HIDDEN_BEGIN}\n"
            f'run_check("{check.id}", globals(), hidden_seed={int(hidden_seed)})\n{HIDDEN_END}')


def called_names(check, hidden_seed):
    """The notebook names a check calls: its target and whatever else its probes call."""
    from grader.grading import build_probes

    probes = build_probes([check], hidden_seed=hidden_seed)[check.id]
    return list(dict.fromkeys([check.target] + [probe.call["name"] for probe in probes]))


def _description(exercise, docstring):
    public = sum(check.points for check in exercise.checks if check.visibility == "public")
    lines = [f"# {_(exercise.title)}", "", docstring.strip(), "",
             _("Replace each `raise NotImplementedError()` with your code and run the cells below it: each "
               "check cell says what it checks and is worth its points. This notebook is worth {points:g} "
               "points: {public:g} from the checks you can run, {hidden:g} from hidden checks that run on "
               "other inputs when your work is graded.").format(
                 points=exercise.points, public=public, hidden=exercise.points - public)]
    return "\n".join(lines)


def exercise_notebook(exercise, source: str, *, hidden_seed: int):
    """The nbgrader source notebook of one exercise, from its solution's text."""
    import nbformat

    docstring, parts = split_solution(source, exercise.filename)
    v4 = nbformat.v4
    cells = [v4.new_markdown_cell(_description(exercise, docstring),
                                  metadata=_metadata(f"{exercise.id}-description", locked=True))]
    defined = {}
    for index, part in enumerate(parts):
        if part.is_solution:
            label = _GRADE_ID_UNSAFE.sub("_", part.names[0]) if part.names else str(index)
            cell = v4.new_code_cell(part.code, metadata=_metadata(f"{exercise.id}-solution-{label}", solution=True))
        else:
            cell = v4.new_code_cell(part.code, metadata=_metadata(f"{exercise.id}-setup-{index}", locked=True))
        cells.append(cell)
        for name in part.names:
            defined.setdefault(name, len(cells) - 1)
    placed = {}  # cell index -> test cells to insert after it: the last cell defining a name the check calls
    for check in exercise.checks:
        names = called_names(check, hidden_seed)
        missing = [name for name in names if name not in defined]
        if missing:
            raise ValueError(f"{exercise.filename}: check {check.id} uses {missing[0]}, which the solution does not define")
        cell = v4.new_code_cell(autograder_cell_source(check, hidden_seed=hidden_seed), metadata=_metadata(
            check.id.replace(".", "-"), grade=True, locked=True, points=float(check.points)))
        placed.setdefault(max(defined[name] for name in names), []).append(cell)
    ordered = []
    for index, cell in enumerate(cells):
        ordered.append(cell)
        ordered.extend(placed.get(index, []))
    grade_ids = [cell.metadata["nbgrader"]["grade_id"] for cell in ordered]
    duplicates = sorted({grade_id for grade_id in grade_ids if grade_ids.count(grade_id) > 1})
    if duplicates:
        raise ValueError(f"{exercise.filename}: two cells would share the nbgrader grade_id {duplicates[0]!r}")
    notebook = v4.new_notebook(cells=ordered, metadata=dict(_KERNEL))
    nbformat.validate(notebook)
    return notebook


def stand_in_source(name: str) -> str:
    """A module that re-exports the correct stand-in functions of one exercise (see grader.harness.stand_ins)."""
    from grader.harness.stand_ins import make_stand_ins

    functions = sorted(key for key in vars(make_stand_ins()[name]) if not key.startswith("_"))
    lines = [STAND_IN_MARKER,
             f'"""Correct {", ".join(functions)} for the notebooks that import {name}.',
             "",
             f"Your own {name}.ipynb is graded on its own; the notebooks that build on it use these,",
             'so that a mistake there is not counted twice. Do not edit: grading uses its own copy."""',
             "from grader.harness.stand_ins import make_stand_ins as _make_stand_ins",
             "",
             f"_module = _make_stand_ins()[{name!r}]"]
    lines.extend(f"{function} = _module.{function}" for function in functions)
    return "\n".join(lines) + "\n"


def write_assignment(*, output: Path, assignment: str = "neural_networks", hidden_seed: int,
                     solutions_dir: Path = SOLUTIONS_DIR, exercise_ids=None):
    """Write OUTPUT/source/<assignment>/: a notebook per exercise and the stand-in modules.

    Every notebook is made (and checked) before any file is written.
    """
    import nbformat

    if not _ASSIGNMENT_NAME.match(assignment or ""):
        raise ValueError(_("the assignment name {name} is not usable as a folder name: use letters, digits, "
                           "'_', '-' and '.', starting with a letter or digit").format(name=repr(assignment)))
    if not 0 <= int(hidden_seed) < 2**64:
        raise ValueError(_("the hidden seed must be a whole number from 0 to 2**64 - 1, got {value}").format(
            value=hidden_seed))
    exercises = [registry.exercise(name) for name in (exercise_ids or registry.EXERCISE_IDS)]
    made = []
    for exercise in exercises:
        path = Path(solutions_dir) / exercise.filename
        try:
            source = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(_("{file} cannot be read: {problem}").format(file=path, problem=exc.strerror)) from None
        made.append((exercise, exercise_notebook(exercise, source, hidden_seed=hidden_seed)))
    directory = Path(output) / "source" / assignment
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for exercise, notebook in made:
        path = directory / f"{exercise.id}.ipynb"
        nbformat.write(notebook, str(path))
        hidden = sum(check.points for check in exercise.checks if check.visibility == "hidden")
        written.append(WrittenNotebook(exercise.id, path, float(exercise.points), float(hidden)))
    stand_ins = []
    from grader.harness.stand_ins import make_stand_ins

    for name in make_stand_ins():
        path = directory / f"{name}.py"
        path.write_text(stand_in_source(name), encoding="utf-8")
        stand_ins.append(path)
    return WrittenAssignment(directory, tuple(written), tuple(stand_ins), int(hidden_seed))
