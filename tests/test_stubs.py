"""The stubs in exercises/ match the solutions and give nothing of them away."""
import ast
import shutil
import textwrap

import pytest

from grader import stubs
from grader.config import EXERCISES_DIR, SOLUTIONS_DIR
from grader.references import EXERCISE_MODULES

FILE_NAMES = [f"{name}.py" for name in EXERCISE_MODULES]


def solution_text(file_name):
    return (SOLUTIONS_DIR / file_name).read_bytes().decode("utf-8")


def stub_text(file_name):
    return (EXERCISES_DIR / file_name).read_bytes().decode("utf-8")


def split_regions(source):
    """(lines inside solution regions, lines outside them), markers dropped."""
    inside, outside, in_region = [], [], False
    for line in source.splitlines():
        if line.strip() == stubs.BEGIN:
            in_region = True
        elif line.strip() == stubs.END:
            in_region = False
        else:
            (inside if in_region else outside).append(line)
    return inside, outside


def public_names(source):
    """Public top-level names, and each public class's own public names."""
    names, members = set(), {}

    def add_target(target, into):
        if isinstance(target, ast.Name):
            into.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                add_target(element, into)

    def collect(body, into):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                into.add(node.name)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    add_target(target, into)
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                add_target(node.target, into)
            if isinstance(node, ast.ClassDef):
                members[node.name] = set()
                collect(node.body, members[node.name])

    collect(ast.parse(source).body, names)
    public = {n for n in names if not n.startswith("_")}
    return public, {cls: own for cls, own in members.items() if cls in public}


# (1) exercises/ is up to date, and the check notices when it is not.


def test_exercises_are_up_to_date():
    stale = stubs.stale_stubs(solutions_dir=SOLUTIONS_DIR, exercises_dir=EXERCISES_DIR)
    assert stale == [], (
        f"exercises/ is out of date with solutions/ for {stale}; "
        "run `python -m grader.stubs` to regenerate the stubs"
    )


def test_stale_stubs_reports_a_changed_solution_and_a_missing_stub(tmp_path):
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    shutil.copytree(SOLUTIONS_DIR, solutions)
    written = stubs.generate_stubs(solutions_dir=solutions, exercises_dir=exercises)
    assert written == [exercises / name for name in FILE_NAMES]
    assert sorted(p.name for p in exercises.iterdir()) == sorted(FILE_NAMES)
    assert stubs.stale_stubs(solutions_dir=solutions, exercises_dir=exercises) == []

    sigmoid = solutions / "sigmoid.py"
    sigmoid.write_text(sigmoid.read_text(encoding="utf-8").replace("Worked example", "Example"), encoding="utf-8")
    (exercises / "mlp.py").unlink()
    assert stubs.stale_stubs(solutions_dir=solutions, exercises_dir=exercises) == ["sigmoid.py", "mlp.py"]


def test_check_flag_exits_1_and_writes_nothing(tmp_path, capsys):
    exercises = tmp_path / "exercises"
    exercises.mkdir()
    argv = ["--check", "--solutions-dir", str(SOLUTIONS_DIR), "--exercises-dir", str(exercises)]
    assert stubs.main(argv) == 1
    assert list(exercises.iterdir()) == []
    assert "step.py" in capsys.readouterr().out
    assert stubs.main(["--solutions-dir", str(SOLUTIONS_DIR), "--exercises-dir", str(exercises)]) == 0
    assert stubs.main(argv) == 0


# (2) make_stub on small sources.


def test_function_region_becomes_raise_at_its_indent():
    source = textwrap.dedent('''\
        import math


        def f(x):
            """Doc."""
            ### BEGIN SOLUTION
            y = math.sqrt(x)
            return y
            ### END SOLUTION
        ''')
    assert stubs.make_stub(source, "f.py") == textwrap.dedent('''\
        import math


        def f(x):
            """Doc."""
            # YOUR CODE HERE
            raise NotImplementedError
        ''')


def test_method_region_becomes_raise_at_its_indent():
    source = textwrap.dedent("""\
        class A:
            def __init__(self):
                self.x = 1

            def g(self):
                ### BEGIN SOLUTION
                return self.x
                ### END SOLUTION
        """)
    assert stubs.make_stub(source, "a.py") == textwrap.dedent("""\
        class A:
            def __init__(self):
                self.x = 1

            def g(self):
                # YOUR CODE HERE
                raise NotImplementedError
        """)


def test_module_level_region_keeps_every_assigned_name():
    source = textwrap.dedent("""\
        # Pick the gates.
        ### BEGIN SOLUTION
        AND = (1, 2)
        OR, NOR = 3, 4
        AND = 5
        ### END SOLUTION
        X = 1
        """)
    assert stubs.make_stub(source, "m.py") == textwrap.dedent("""\
        # Pick the gates.
        AND = None  # YOUR ANSWER HERE
        OR = None  # YOUR ANSWER HERE
        NOR = None  # YOUR ANSWER HERE
        X = 1
        """)


def test_text_outside_regions_is_kept_byte_for_byte():
    source = (
        '"""Module doc\r\nwith CRLF."""\r\n'
        "import os  # unused, kept\r\n"
        "\r\n"
        "def f():\r\n"
        "    '''Doc, \u611f\u77e5\u5668.'''\r\n"
        "    ### BEGIN SOLUTION\r\n"
        "    return os.sep\r\n"
        "    ### END SOLUTION\r\n"
        "\r\n"
        "\r\n"
        "# trailing comment, no final newline"
    )
    assert stubs.make_stub(source, "f.py") == source.replace(
        "    ### BEGIN SOLUTION\r\n    return os.sep\r\n    ### END SOLUTION\r\n",
        "    # YOUR CODE HERE\r\n    raise NotImplementedError\r\n",
    )
    assert stubs.make_stub("x = 1\n", "plain.py") == "x = 1\n"


# (3) Malformed markers.

MALFORMED = {
    "begin without end": ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", 2),
    "nested begin": (
        "def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n",
        3,
    ),
    "end without begin": ("def f():\n    return 1\n    ### END SOLUTION\n", 3),
    "end after a closed region": (
        "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n    ### END SOLUTION\n",
        5,
    ),
    "indents differ": (
        "def f():\n    ### BEGIN SOLUTION\n    if True:\n        return 1\n        ### END SOLUTION\n",
        5,
    ),
    "near-miss marker": ("def f():\n    ## BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n", 2),
    "indented region outside a function": (
        "class A:\n    ### BEGIN SOLUTION\n    x = 1\n    ### END SOLUTION\n",
        2,
    ),
}


@pytest.mark.parametrize("source, line", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_markers_raise_naming_file_and_line(source, line):
    with pytest.raises(ValueError, match=rf"^bad\.py, line {line}:"):
        stubs.make_stub(source, "bad.py")


def test_generate_writes_nothing_when_a_solution_is_malformed(tmp_path):
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    shutil.copytree(SOLUTIONS_DIR, solutions)
    with open(solutions / "torch_mlp.py", "a", encoding="utf-8") as f:
        f.write("\n### END SOLUTION\n")
    with pytest.raises(ValueError, match=r"torch_mlp\.py, line \d+:"):
        stubs.generate_stubs(solutions_dir=solutions, exercises_dir=exercises)
    assert not exercises.exists() or list(exercises.iterdir()) == []


# (4) and (5): the real stubs.


@pytest.mark.parametrize("file_name", FILE_NAMES)
def test_stub_leaks_no_solution_line(file_name):
    inside, outside = split_regions(solution_text(file_name))
    assert inside, f"{file_name} has no solution region"
    secret = {line.strip() for line in inside} - {line.strip() for line in outside} - {""}
    leaked = secret & {line.strip() for line in stub_text(file_name).splitlines()}
    assert not leaked, f"exercises/{file_name} contains solution lines: {sorted(leaked)}"
    assert stubs.BEGIN not in stub_text(file_name) and stubs.END not in stub_text(file_name)


@pytest.mark.parametrize("file_name", FILE_NAMES)
def test_stub_compiles_and_keeps_public_names(file_name):
    compile(stub_text(file_name), file_name, "exec")
    assert public_names(stub_text(file_name)) == public_names(solution_text(file_name))


@pytest.mark.parametrize("file_name", FILE_NAMES)
def test_every_function_with_a_region_is_a_bare_stub(file_name):
    """Its body is the docstring, if any, then only `raise NotImplementedError`."""
    solution, stub = solution_text(file_name), stub_text(file_name)

    def functions(source):
        """Top-level functions and methods; functions nested in them may be cut out."""
        found = []
        for node in ast.parse(source).body:
            for member in node.body if isinstance(node, ast.ClassDef) else [node]:
                if isinstance(member, ast.FunctionDef):
                    found.append(member)
        return found

    lines = solution.splitlines()
    stubbed = 0
    for original, node in zip(functions(solution), functions(stub), strict=True):
        assert original.name == node.name
        # The END marker is the line after the function's last statement.
        span = lines[original.lineno - 1 : original.end_lineno + 1]
        if not any(line.strip() == stubs.BEGIN for line in span):
            assert ast.dump(original) == ast.dump(node), node.name
            continue
        body = node.body
        if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
        assert [ast.unparse(stmt) for stmt in body] == ["raise NotImplementedError"], node.name
        stubbed += 1
    assert stubbed, f"{file_name}: no function was stubbed"
