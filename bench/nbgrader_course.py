"""The six exercises as an nbgrader course: source notebook, test cells, student notebooks.

Used by bench/batch_vs_nbgrader.py. Each exercise file becomes one nbgrader solution
cell (its `### BEGIN/END SOLUTION` regions become stubs in the release), followed by
locked, autograded test cells with plain asserts. Points: 100 in all, split as in
the grader (step 10, perceptron 15, sigmoid 15, chain_rule 20, mlp 25, torch_mlp 15).
"""
import json
import re
from pathlib import Path

EXERCISES = ("step", "perceptron", "sigmoid", "chain_rule", "mlp", "torch_mlp")
# `from step import step`, `from exercises.sigmoid import sigmoid`, `import mlp`, ...
CROSS_IMPORT = re.compile(r"^(from\s+(exercises\.)?(%s)\s+import\s.*|import\s+(exercises\.)?(%s)\b.*)$"
                          % ("|".join(EXERCISES), "|".join(EXERCISES)), re.M)

SETUP = "import math\nimport torch\ntorch.manual_seed(0)"

# (exercise, points, source) in notebook order; each runs right after its exercise's cell.
TESTS = {
    "step": [(5, """\
assert all(isinstance(step(v), (int, float)) for v in (2.5, 0, -1.0))
assert step(2.5) == 1 and step(0) == 0 and step(-1.0) == 0
z = torch.tensor([-1.0, 0.0, 3.0, float("nan")], dtype=torch.float64)
r = step(z)
assert isinstance(r, torch.Tensor) and r.dtype == torch.float64 and r.shape == z.shape
assert torch.equal(r, torch.tensor([0.0, 0.0, 1.0, 0.0], dtype=torch.float64))"""),
             (5, """\
z = torch.randn(3, 4)
r = step(z)
assert r.dtype == torch.float32 and torch.equal(r, (z > 0).float())""")],
    "perceptron": [(8, """\
X = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=torch.float64)
for (w, b), table in [(AND_PARAMS, [0, 0, 0, 1]), (OR_PARAMS, [0, 1, 1, 1]), (NAND_PARAMS, [1, 1, 1, 0])]:
    w = torch.as_tensor(w, dtype=torch.float64)
    out = torch.as_tensor(perceptron(X, w, b), dtype=torch.float64)
    assert out.shape == (4,) and out.tolist() == table, (table, out)
    assert float(perceptron(X[3], w, b)) == table[3]"""),
                   (7, """\
X = torch.rand(6, 3, dtype=torch.float64)
y = (X.sum(1) > 1.5).double()
rw, rb = torch.zeros(3, dtype=torch.float64), 0.0
for _ in range(5):
    for i in range(6):
        err = float(y[i]) - (1.0 if float(X[i] @ rw + rb) > 0 else 0.0)
        rw, rb = rw + 0.3 * err * X[i], rb + 0.3 * err
w, b = train_perceptron(X, y, lr=0.3, epochs=5)
assert torch.allclose(torch.as_tensor(w, dtype=torch.float64), rw) and abs(float(b) - rb) < 1e-9""")],
    "sigmoid": [(8, """\
banned = [(torch, "sigmoid"), (torch.Tensor, "sigmoid"), (torch.special, "expit"), (torch.nn.functional, "sigmoid")]
saved = [getattr(owner, name) for owner, name in banned]
def _banned(*args, **kwargs):
    raise AssertionError("a library sigmoid is not allowed here")
for dtype in (torch.float32, torch.float64):
    x = torch.linspace(-20, 20, 41, dtype=dtype)
    ref = torch.sigmoid(x)
    try:
        for owner, name in banned:
            setattr(owner, name, _banned)
        s, g = sigmoid(x), sigmoid_grad(x)
    finally:
        for (owner, name), fn in zip(banned, saved):
            setattr(owner, name, fn)
    assert s.dtype == dtype and s.shape == x.shape and torch.allclose(s, ref, atol=1e-6)
    assert g.dtype == dtype and torch.allclose(g, ref * (1 - ref), atol=1e-6)"""),
                (7, """\
for dtype in (torch.float32, torch.float64):
    s = sigmoid(torch.tensor([-1e4, -50.0, 50.0, 1e4], dtype=dtype))
    assert torch.isfinite(s).all() and (s >= 0).all() and (s <= 1).all()
x, w = torch.randn(5, 3, dtype=torch.float64), torch.randn(3, dtype=torch.float64)
out = neuron(x, w, 0.5)
assert out.shape == (5,) and torch.allclose(out, torch.sigmoid(x @ w + 0.5))
assert torch.allclose(torch.as_tensor(neuron(x[0], w, 0.5)), torch.sigmoid(x[0] @ w + 0.5))""")],
    "chain_rule": [(8, """\
v = forward(2, 1)
assert (v["c"], v["d"], v["e"]) == (3, 2, 6)
g = local_grads(2, 1)
assert (g["de/dc"], g["de/dd"], g["dc/da"], g["dc/db"], g["dd/db"]) == (2, 3, 1, 1, 1)
assert tuple(backward(2, 1)) == (2.0, 5.0)
a, b = 0.7, -1.3
assert all(abs(p - q) < 1e-9 for p, q in zip(backward(a, b), (b + 1, a + 2 * b + 1)))"""),
                   (12, """\
def graph(a, b, c, exp, sig):
    t = a * b + 1.5                      # an inner node used twice
    u = exp(t * 0.3) - c ** 2 + 2 * t
    return sig(u * (3 - b) + (-a) - t)
vals = (0.4, -1.2, 0.9)
nodes = [Value(x) for x in vals]
out = graph(*nodes, lambda v: v.exp(), lambda v: v.sigmoid())
out.backward()
ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in vals]
ref = graph(*ts, torch.exp, torch.sigmoid)
ref.backward()
assert abs(out.data - ref.item()) < 1e-9 and out.grad == 1.0
for n, t in zip(nodes, ts):
    assert abs(n.grad - t.grad.item()) < 1e-9, (n.grad, t.grad)""")],
    "mlp": [(8, """\
x = torch.randn(7, 3, dtype=torch.float64)
params = [(torch.randn(3, 5, dtype=torch.float64), torch.randn(5, dtype=torch.float64)),
          (torch.randn(5, 2, dtype=torch.float64), torch.randn(2, dtype=torch.float64))]
out = torch.as_tensor(mlp_forward(x, params))
assert out.shape == (7, 2)
assert torch.allclose(out, torch.sigmoid(x @ params[0][0] + params[0][1]) @ params[1][0] + params[1][1])
y = torch.randn(7, 2, dtype=torch.float64)
assert abs(float(mse_loss(out, y)) - ((out - y) ** 2).mean().item()) < 1e-9"""),
            (12, """\
x, y = torch.randn(6, 3, dtype=torch.float64), torch.randn(6, 2, dtype=torch.float64)
params = [(torch.randn(3, 4, dtype=torch.float64), torch.randn(4, dtype=torch.float64)),
          (torch.randn(4, 4, dtype=torch.float64), torch.randn(4, dtype=torch.float64)),
          (torch.randn(4, 2, dtype=torch.float64), torch.randn(2, dtype=torch.float64))]
with torch.no_grad():  # no autograd by hand-written back-propagation
    loss, grads = mlp_backward(x, y, params)
leaves = [t.clone().requires_grad_() for pair in params for t in pair]
h = x
for k in range(3):
    h = h @ leaves[2 * k] + leaves[2 * k + 1]
    h = torch.sigmoid(h) if k < 2 else h
ref = ((h - y) ** 2).mean()
ref.backward()
assert abs(float(loss) - ref.item()) < 1e-9 and len(grads) == 3
for got, leaf in zip([g for pair in grads for g in pair], leaves):
    assert torch.allclose(torch.as_tensor(got, dtype=torch.float64), leaf.grad, atol=1e-8)"""),
            (5, """\
x, y = torch.randn(8, 2, dtype=torch.float64), torch.randn(8, 1, dtype=torch.float64)
params = [(torch.randn(2, 3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)),
          (torch.randn(3, 1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64))]
new, losses = train(x, y, params, 0.1, 20)
assert len(losses) == 20 and float(losses[-1]) < float(losses[0])
assert abs(float(losses[0]) - float(mlp_backward(x, y, params)[0])) < 1e-9
stepped = [(W - 0.1 * dW, b - 0.1 * db) for (W, b), (dW, db) in zip(params, mlp_backward(x, y, params)[1])]
assert abs(float(losses[1]) - float(mlp_backward(x, y, stepped)[0])) < 1e-9""")],
    "torch_mlp": [(5, """\
model = MLP([2, 4, 1])
assert list(model.state_dict()) == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
x = torch.randn(5, 2)
l0, l1 = model.layers
assert torch.allclose(model(x), l1(torch.sigmoid(l0(x))))"""),
                  (10, """\
import copy
torch.manual_seed(1)
x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
y = torch.tensor([[0.0], [1.0], [1.0], [0.0]])
model = MLP([2, 8, 1])
twin = copy.deepcopy(model)
losses = fit(model, x, y, lr=0.5, epochs=100)
assert len(losses) == 100 and losses[-1] < losses[0]
opt, ref = torch.optim.SGD(twin.parameters(), lr=0.5), []
for _ in range(100):
    opt.zero_grad()
    loss = torch.nn.MSELoss()(twin(x), y)
    ref.append(loss.item())
    loss.backward()
    opt.step()
assert all(abs(a - b) < 1e-5 for a, b in zip(losses, ref))""")],
}
MAX_SCORE = sum(points for cells in TESTS.values() for points, _ in cells)


def student_code(text: str) -> str:
    """A student's file as notebook code: cross-exercise imports removed (one namespace)."""
    return CROSS_IMPORT.sub("", text)


def _cell(grade_id, source, solution=False, grade=False, points=None):
    """One nbgrader code cell (schema 3)."""
    meta = {"grade": grade, "grade_id": grade_id, "locked": not solution, "schema_version": 3,
            "solution": solution}
    if grade:
        meta["points"] = points
    return {"cell_type": "code", "execution_count": None, "id": grade_id.replace("_", "-"),
            "metadata": {"nbgrader": meta}, "outputs": [], "source": source}


def source_notebook(solutions_dir: Path) -> dict:
    """The instructor's ps1.ipynb: setup, then per exercise its solution cell and tests."""
    cells = [_cell("setup", SETUP)]
    for ex in EXERCISES:
        code = student_code((solutions_dir / f"{ex}.py").read_text(encoding="utf-8"))
        cells.append(_cell(f"code_{ex}", code, solution=True))
        for i, (points, test) in enumerate(TESTS[ex]):
            cells.append(_cell(f"test_{ex}_{i}", test, grade=True, points=points))
    return {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                         "language_info": {"name": "python"}}}


def write_course(root: Path, solutions_dir: Path) -> None:
    """nbgrader_config.py and source/ps1/ps1.ipynb under root."""
    (root / "source" / "ps1").mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.course_id = "bench"\n'
        f'c.CourseDirectory.root = {str(root)!r}\n', encoding="utf-8")
    nb = source_notebook(solutions_dir)
    (root / "source" / "ps1" / "ps1.ipynb").write_text(json.dumps(nb, indent=1), encoding="utf-8")


def write_submission(root: Path, sid: str, files: dict) -> None:
    """submitted/<sid>/ps1/ps1.ipynb: the release notebook with the student's code in
    each solution cell (files maps exercise id -> source; a missing one keeps the stub)."""
    nb = json.loads((root / "release" / "ps1" / "ps1.ipynb").read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id", "")
        if grade_id.startswith("code_") and grade_id[5:] in files:
            cell["source"] = student_code(files[grade_id[5:]])
    out = root / "submitted" / sid / "ps1"
    out.mkdir(parents=True, exist_ok=True)
    (out / "ps1.ipynb").write_text(json.dumps(nb, indent=1), encoding="utf-8")
