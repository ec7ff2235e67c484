"""Property-based tests that the reference solutions (solutions/) do the right maths.

Every reference is checked against an independent computation: exhaustive truth
tables, plain-Python re-implementations with exactly representable (dyadic)
numbers, `math` formulas, `torch.autograd` in float64 and central differences.

The contract is EXERCISES.md (the exercise contract). Randomness is deterministic:
hypothesis runs derandomized, without an example database; tensors come from a
`torch.Generator` seeded by a hypothesis-provided integer, and torch_mlp models from
`torch.manual_seed(seed)` inside `torch.random.fork_rng`, so global RNG state is untouched.
"""
import copy
import itertools
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

PROJECT_DIR = Path(__file__).resolve().parents[1]
if str(PROJECT_DIR) not in sys.path:  # so that a bare `pytest` finds the grader package
    sys.path.insert(0, str(PROJECT_DIR))

from grader.references import load_references  # noqa: E402

refs = load_references()

F64 = torch.float64
SETTINGS = settings(max_examples=50, deadline=None, derandomize=True, database=None)
MID = settings(max_examples=30, deadline=None, derandomize=True, database=None)
FEW = settings(max_examples=20, deadline=None, derandomize=True, database=None)

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def gen(seed):
    return torch.Generator().manual_seed(seed)


def as64(value):
    """A returned value as a float64 tensor, as the grader compares it."""
    return torch.as_tensor(value).to(F64)


def math_sigmoid(x):
    """1 / (1 + exp(-x)) in float64 with math.exp, never overflowing."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


# ---------------------------------------------------------------------------
# 1. step
# ---------------------------------------------------------------------------
step = refs.step.step


@pytest.mark.parametrize(
    "z, expected",
    [
        (0, 0), (0.0, 0), (-0.0, 0), (float("nan"), 0), (-float("nan"), 0),
        (1, 1), (-1, 0), (5e-324, 1), (-5e-324, 0), (float("inf"), 1),
        (float("-inf"), 0), (2.5, 1), (True, 1), (False, 0),
    ],
)
def test_step_truth_table_on_numbers(z, expected):
    result = step(z)
    assert type(result) in (int, float), type(result)
    assert result == expected


@SETTINGS
@given(st.one_of(st.integers(-(10**30), 10**30), st.floats(allow_nan=True, allow_infinity=True)))
def test_step_on_any_python_number(z):
    result = step(z)
    assert type(result) in (int, float)
    assert result == (1 if z > 0 else 0)


@SETTINGS
@given(
    arrays(
        dtype=st.sampled_from([np.float32, np.float64]),
        shape=array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
    )
)
def test_step_float_tensor_keeps_shape_and_dtype(arr):
    z = torch.from_numpy(arr.copy())
    result = step(z)
    assert isinstance(result, torch.Tensor)
    assert result.dtype == z.dtype
    assert result.shape == z.shape
    expected = [1.0 if v > 0 else 0.0 for v in arr.ravel().tolist()]  # NaN > 0 is False
    assert result.reshape(-1).tolist() == expected


def test_step_float_tensor_edge_values():
    for dtype in (torch.float32, torch.float64, torch.float16):
        z = torch.tensor([-1.0, -0.0, 0.0, float("nan"), 1e-30, -1e-30, 3.0, float("inf")], dtype=dtype)
        result = step(z)
        assert result.dtype == dtype
        tiny = 0.0 if dtype == torch.float16 else 1.0  # 1e-30 rounds to 0 in float16
        expected = [0.0, 0.0, 0.0, 0.0, tiny, 0.0, 1.0, 1.0]
        assert result.tolist() == expected


@SETTINGS
@given(
    arrays(
        dtype=st.sampled_from([np.int8, np.int16, np.int32, np.int64, np.uint8, np.bool_]),
        shape=array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
    )
)
def test_step_int_and_bool_tensor_give_floating(arr):
    z = torch.from_numpy(arr.copy())
    result = step(z)
    assert isinstance(result, torch.Tensor)
    assert result.is_floating_point()
    assert result.shape == z.shape
    expected = [1.0 if v > 0 else 0.0 for v in arr.ravel().tolist()]
    assert result.reshape(-1).tolist() == expected


# ---------------------------------------------------------------------------
# 2. perceptron
# ---------------------------------------------------------------------------
perceptron = refs.perceptron.perceptron
train_perceptron = refs.perceptron.train_perceptron

GATES = {
    "AND": (refs.perceptron.AND_PARAMS, lambda p, q: p and q),
    "OR": (refs.perceptron.OR_PARAMS, lambda p, q: p or q),
    "NAND": (refs.perceptron.NAND_PARAMS, lambda p, q: not (p and q)),
}
INPUTS = list(itertools.product([0, 1], repeat=2))


@pytest.mark.parametrize("gate", sorted(GATES))
def test_gate_params_give_exact_truth_table(gate):
    (w, b), truth = GATES[gate]
    assert len(w) == 2
    float(b)
    expected = [1.0 if truth(p, q) else 0.0 for p, q in INPUTS]
    for w_form in (w, list(w), torch.tensor([float(v) for v in w], dtype=F64)):
        for (p, q), want in zip(INPUTS, expected):
            for x in ((p, q), (float(p), float(q)), torch.tensor([p, q], dtype=F64)):
                out = as64(perceptron(x, w_form, b))
                assert out.shape == ()
                assert out.item() == want, (gate, (p, q))
        batch = as64(perceptron(torch.tensor(INPUTS, dtype=F64), w_form, b))
        assert batch.shape == (4,)
        assert batch.tolist() == expected


dyadic = st.integers(-8, 8).map(lambda k: k / 4)  # exact in float32 and float64


@st.composite
def perceptron_case(draw):
    n = draw(st.integers(1, 5))
    m = draw(st.integers(1, 6))
    X = draw(st.lists(st.lists(dyadic, min_size=n, max_size=n), min_size=m, max_size=m))
    w = draw(st.lists(dyadic, min_size=n, max_size=n))
    b = draw(dyadic)
    return X, w, b


@SETTINGS
@given(perceptron_case())
def test_perceptron_shapes_and_values(case):
    X, w, b = case
    expected = [1.0 if sum(xi * wi for xi, wi in zip(row, w)) + b > 0 else 0.0 for row in X]
    batch = as64(perceptron(torch.tensor(X, dtype=F64), torch.tensor(w, dtype=F64), b))
    assert batch.shape == (len(X),)
    assert batch.tolist() == expected
    for row, want in zip(X, expected):
        single = as64(perceptron(torch.tensor(row, dtype=F64), torch.tensor(w, dtype=F64), b))
        assert single.shape == ()
        assert single.item() == want


def python_train_perceptron(X, y, lr, epochs):
    """The perceptron learning rule, written out with Python floats."""
    w = [0.0] * len(X[0])
    b = 0.0
    for _ in range(epochs):
        for xi, yi in zip(X, y):
            z = sum(xj * wj for xj, wj in zip(xi, w)) + b
            out = 1.0 if z > 0 else 0.0
            err = yi - out
            w = [wj + lr * err * xj for wj, xj in zip(w, xi)]
            b = b + lr * err
    return w, b


@SETTINGS
@given(
    perceptron_case(),
    st.data(),
    st.sampled_from([1.0, 0.5, 0.25, 0.125]),
    st.integers(0, 8),
    st.sampled_from([torch.float64, torch.float32]),
)
def test_train_perceptron_equals_the_rule(case, data, lr, epochs, dtype):
    X, _, _ = case
    y = data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=len(X), max_size=len(X)))
    want_w, want_b = python_train_perceptron(X, y, lr, epochs)
    w, b = train_perceptron(torch.tensor(X, dtype=dtype), torch.tensor(y, dtype=dtype), lr=lr, epochs=epochs)
    assert isinstance(w, torch.Tensor)
    assert w.dtype == dtype
    assert w.shape == (len(X[0]),)
    assert torch.as_tensor(b).ndim == 0
    # dyadic data and learning rates: every operation is exact, so equality is exact
    assert w.tolist() == want_w
    assert float(b) == want_b


def test_train_perceptron_learns_and_with_defaults():
    X = torch.tensor(INPUTS, dtype=F64)
    y = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=F64)
    w, b = train_perceptron(X, y)
    want_w, want_b = python_train_perceptron([list(map(float, r)) for r in INPUTS], y.tolist(), 0.1, 10)
    assert w.shape == (2,)
    assert torch.allclose(as64(w), torch.tensor(want_w, dtype=F64), rtol=0, atol=1e-12)
    assert math.isclose(float(b), want_b, rel_tol=0, abs_tol=1e-12)
    assert as64(perceptron(X, w, b)).tolist() == [0.0, 0.0, 0.0, 1.0]
    # the docstring's worked example: the first change is on (1, 1)
    w1, b1 = train_perceptron(X, y, lr=0.1, epochs=1)
    assert torch.allclose(as64(w1), torch.tensor([0.1, 0.1], dtype=F64), rtol=0, atol=1e-15)
    assert math.isclose(float(b1), 0.1, abs_tol=1e-15)


def test_train_perceptron_zero_epochs_and_int_input():
    w, b = train_perceptron(torch.tensor(INPUTS, dtype=F64), torch.zeros(4, dtype=F64), epochs=0)
    assert w.tolist() == [0.0, 0.0] and float(b) == 0.0
    w, b = train_perceptron([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 1], lr=0.5, epochs=5)
    assert w.is_floating_point()
    want_w, want_b = python_train_perceptron([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 1], 0.5, 5)
    assert w.tolist() == want_w and float(b) == want_b


# ---------------------------------------------------------------------------
# 3. sigmoid
# ---------------------------------------------------------------------------
sigmoid = refs.sigmoid.sigmoid
sigmoid_grad = refs.sigmoid.sigmoid_grad
neuron = refs.sigmoid.neuron

shapes = array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=5)
bounded64 = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)
bounded32 = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False, width=32)


@SETTINGS
@given(arrays(np.float64, shapes, elements=st.floats(-40, 40)))
def test_sigmoid_equals_formula_float64(arr):
    x = torch.from_numpy(arr.copy())
    s = sigmoid(x)
    assert s.dtype == F64 and s.shape == x.shape
    for got, xv in zip(s.reshape(-1).tolist(), arr.ravel().tolist()):
        assert math.isclose(got, math_sigmoid(xv), rel_tol=1e-14, abs_tol=0), xv
        assert math.isclose(got, 1.0 / (1.0 + math.exp(-xv)), rel_tol=1e-14, abs_tol=0), xv


@SETTINGS
@given(arrays(np.float32, shapes, elements=st.floats(-30, 30, width=32)))
def test_sigmoid_equals_formula_float32(arr):
    x = torch.from_numpy(arr.copy())
    s = sigmoid(x)
    assert s.dtype == torch.float32 and s.shape == x.shape
    for got, xv in zip(s.reshape(-1).tolist(), arr.ravel().tolist()):
        assert math.isclose(got, math_sigmoid(xv), rel_tol=2e-6, abs_tol=0), xv


def check_bounded(arr):
    x = torch.from_numpy(arr.copy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = sigmoid(x)
        s_np = sigmoid(arr.copy())  # NumPy input: no overflow warning either
    for out in (s, torch.as_tensor(s_np)):
        assert out.dtype == x.dtype and out.shape == x.shape
        assert torch.isfinite(out).all()
        assert ((out >= 0) & (out <= 1)).all()
    # far from 0 the value is (close to) the limit, not a flush to the wrong side
    xs, ss = x.reshape(-1).tolist(), s.reshape(-1).tolist()
    for xv, sv in zip(xs, ss):
        if xv >= 20:
            assert sv > 0.999
        if xv <= -20:
            assert sv < 1e-8
        if xv == 0:
            assert sv == 0.5


@SETTINGS
@given(arrays(np.float64, shapes, elements=bounded64))
def test_sigmoid_finite_in_unit_interval_float64(arr):
    check_bounded(arr)


@SETTINGS
@given(arrays(np.float32, shapes, elements=bounded32))
def test_sigmoid_finite_in_unit_interval_float32(arr):
    check_bounded(arr)


def test_sigmoid_extreme_edges():
    edges = [-1e4, 1e4, -745.2, 745.2, -710.0, 710.0, -89.0, 89.0, -88.8, 88.8,
             -0.0, 0.0, 5e-324, -5e-324, 1e-45, -1e-45]
    check_bounded(np.array(edges, dtype=np.float64))
    check_bounded(np.array(edges, dtype=np.float32))
    assert sigmoid(torch.tensor(-1e4, dtype=F64)).item() == 0.0
    assert sigmoid(torch.tensor(1e4, dtype=torch.float32)).item() == 1.0


@SETTINGS
@given(arrays(st.sampled_from([np.float32, np.float64]), shapes, elements=bounded32))
def test_sigmoid_symmetry(arr):
    x = torch.from_numpy(arr.copy())
    tol = 1e-15 if x.dtype == F64 else 3e-7
    total = sigmoid(-x).to(F64) + sigmoid(x).to(F64)
    assert torch.allclose(total, torch.ones_like(total), rtol=0, atol=tol)


@SETTINGS
@given(arrays(np.float64, shapes, elements=st.floats(-40, 40)))
def test_sigmoid_grad_equals_autograd_and_differences(arr):
    x = torch.from_numpy(arr.copy())
    g = sigmoid_grad(x)
    assert g.dtype == F64 and g.shape == x.shape
    xr = x.clone().requires_grad_(True)
    (auto,) = torch.autograd.grad(torch.sigmoid(xr).sum(), xr)
    assert torch.allclose(g, auto, rtol=0, atol=1e-12)
    h = 1e-6
    central = (sigmoid(x + h) - sigmoid(x - h)) / (2 * h)
    assert torch.allclose(g, central, rtol=0, atol=1e-6)
    math_central = torch.tensor(
        [(math_sigmoid(v + h) - math_sigmoid(v - h)) / (2 * h) for v in arr.ravel().tolist()], dtype=F64
    ).reshape(x.shape)
    assert torch.allclose(g, math_central, rtol=0, atol=1e-6)


@SETTINGS
@given(arrays(np.float32, shapes, elements=bounded32))
def test_sigmoid_grad_float32(arr):
    x = torch.from_numpy(arr.copy())
    g = sigmoid_grad(x)
    assert g.dtype == torch.float32 and g.shape == x.shape
    assert torch.isfinite(g).all() and (g >= 0).all() and (g <= 0.25).all()
    want = torch.tensor([math_sigmoid(v) * (1 - math_sigmoid(v)) for v in arr.ravel().tolist()], dtype=F64)
    assert torch.allclose(g.to(F64).reshape(-1), want, rtol=1e-5, atol=1e-7)


def test_sigmoid_worked_examples():
    assert sigmoid(torch.tensor(0.0, dtype=F64)).item() == 0.5
    assert sigmoid_grad(torch.tensor(0.0, dtype=F64)).item() == 0.25
    assert math.isclose(sigmoid(torch.tensor(2.0, dtype=F64)).item(), 0.8807970779778823, rel_tol=1e-15)


@SETTINGS
@given(seeds, st.integers(1, 6), st.integers(1, 6), st.floats(-3, 3))
def test_neuron_equals_sigmoid_of_affine(seed, n, m, b):
    g = gen(seed)
    w = torch.randn(n, generator=g, dtype=F64)
    X = 2 * torch.randn(m, n, generator=g, dtype=F64)
    batch = neuron(X, w, b)
    assert as64(batch).shape == (m,)
    assert torch.equal(as64(batch), as64(sigmoid(X @ w + b)))
    assert torch.allclose(as64(batch), torch.sigmoid(X @ w + b), rtol=1e-14, atol=0)
    for i in range(m):
        one = as64(neuron(X[i], w, b))
        assert one.shape == ()
        z = sum(X[i, j].item() * w[j].item() for j in range(n)) + b
        assert math.isclose(one.item(), math_sigmoid(z), rel_tol=1e-12)


# ---------------------------------------------------------------------------
# 4. chain_rule
# ---------------------------------------------------------------------------
chain = refs.chain_rule
Value = chain.Value
moderate = st.floats(-100, 100, allow_nan=False, allow_infinity=False)


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@SETTINGS
@given(moderate, moderate)
def test_chain_rule_functions_equal_autograd(a, b):
    ta = torch.tensor(a, dtype=F64, requires_grad=True)
    tb = torch.tensor(b, dtype=F64, requires_grad=True)
    tc = ta + tb
    td = tb + 1
    te = tc * td

    fwd = chain.forward(a, b)
    assert set(fwd) == {"c", "d", "e"}
    assert all(is_number(v) for v in fwd.values())
    assert (fwd["c"], fwd["d"], fwd["e"]) == (tc.item(), td.item(), te.item())

    # each edge's derivative, with the edge's head treated as an input
    c_leaf = tc.detach().requires_grad_(True)
    d_leaf = td.detach().requires_grad_(True)
    de_dc, de_dd = torch.autograd.grad(c_leaf * d_leaf, (c_leaf, d_leaf))
    dc_da, dc_db = torch.autograd.grad(ta + tb, (ta, tb))
    (dd_db,) = torch.autograd.grad(tb + 1, (tb,))
    loc = chain.local_grads(a, b)
    want = {"de/dc": de_dc, "de/dd": de_dd, "dc/da": dc_da, "dc/db": dc_db, "dd/db": dd_db}
    assert set(loc) == set(want)
    for key, value in want.items():
        assert float(loc[key]) == value.item(), key

    da, db = torch.autograd.grad(te, (ta, tb))
    back = chain.backward(a, b)
    assert len(back) == 2 and all(is_number(v) for v in back)
    assert math.isclose(back[0], da.item(), rel_tol=1e-12, abs_tol=1e-12)
    assert math.isclose(back[1], db.item(), rel_tol=1e-12, abs_tol=1e-12)


def test_chain_rule_worked_example():
    assert chain.forward(2, 1) == {"c": 3, "d": 2, "e": 6}
    assert chain.backward(2, 1) == (2.0, 5.0)
    a, b = Value(2.0), Value(1)
    assert isinstance(b.data, float) and b.data == 1.0
    assert a.grad == 0.0 and b.grad == 0.0
    e = (a + b) * (b + 1)
    assert e.data == 6.0 and e.grad == 0.0
    e.backward()
    assert (e.grad, a.grad, b.grad) == (1.0, 2.0, 5.0)


UNARY = ["neg", "pow2", "pow3", "exp", "sigmoid", "cadd", "radd", "csub", "rsub", "cmul", "rmul"]
BINARY = ["add", "sub", "mul"]
constants = st.one_of(st.integers(-3, 3), st.floats(-3, 3))
GUARD = 5.0  # an operand beyond this goes through sigmoid instead: values stay bounded


def apply_op(op, a, b, c):
    """One operation, written the same way for a Value and for a torch tensor."""
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op == "neg":
        return -a
    if op == "pow2":
        return a**2
    if op == "pow3":
        return a**3
    if op == "exp":
        return a.exp()
    if op == "sigmoid":
        return a.sigmoid()
    if op == "cadd":
        return a + c
    if op == "radd":
        return c + a
    if op == "csub":
        return a - c
    if op == "rsub":
        return c - a
    if op == "cmul":
        return a * c
    if op == "rmul":
        return c * a
    raise AssertionError(op)


def build_pair(leaves, program):
    """Build the same graph from Values and from float64 tensors, in parallel."""
    nodes = [Value(x) for x in leaves]
    tensors = [torch.tensor(float(x), dtype=F64, requires_grad=True) for x in leaves]
    for op, i, j, c in program:
        # the first operand is one of the 3 newest nodes (long chains), the second any
        # earlier node (inner nodes get reused, some nodes stay unreachable)
        i = len(nodes) - 1 - i % min(3, len(nodes))
        j = j % len(nodes)
        a, b, ta, tb = nodes[i], nodes[j], tensors[i], tensors[j]
        if abs(a.data) > GUARD or (op in BINARY and abs(b.data) > GUARD):
            op = "sigmoid"
        v = apply_op(op, a, b, c)
        t = apply_op(op, ta, tb, c)
        t.retain_grad()
        assert isinstance(v, Value)
        nodes.append(v)
        tensors.append(t)
    return nodes, tensors


def compare_graph(nodes, tensors):
    out, tout = nodes[-1], tensors[-1]
    out.backward()
    tout.backward()
    auto_grads = [0.0 if t.grad is None else t.grad.item() for t in tensors]
    scale = max(1.0, max(abs(g) for g in auto_grads))
    for k, (v, t, tg) in enumerate(zip(nodes, tensors, auto_grads)):
        assert isinstance(v.data, float)
        assert math.isclose(v.data, t.item(), rel_tol=1e-12, abs_tol=1e-12), ("data", k)
        assert math.isclose(v.grad, tg, rel_tol=1e-9, abs_tol=1e-10 * scale), ("grad", k, v.grad, tg)
    assert out.grad == 1.0


@SETTINGS
@given(
    st.lists(st.floats(-3, 3), min_size=1, max_size=4),
    st.lists(
        st.tuples(
            st.sampled_from(UNARY + BINARY + BINARY),
            st.integers(0, 10**6),
            st.integers(0, 10**6),
            constants,
        ),
        min_size=6,
        max_size=40,
    ),
)
def test_value_random_graphs_equal_autograd(leaves, program):
    nodes, tensors = build_pair(leaves, program)
    compare_graph(nodes, tensors)


@SETTINGS
@given(st.floats(-3, 3), st.integers(2, 12))
def test_value_shared_inner_node_sums_paths(x, uses):
    # an inner node used `uses` times: its grad is the sum over all paths, once each
    a = Value(x)
    t = torch.tensor(x, dtype=F64, requires_grad=True)
    inner, tinner = a.sigmoid() * 2 + 1, torch.sigmoid(t) * 2 + 1
    tinner.retain_grad()
    total, ttotal = inner * 1, tinner * 1
    for k in range(uses - 1):
        total, ttotal = total + inner * (k + 1), ttotal + tinner * (k + 1)
    total.backward()
    ttotal.backward()
    assert math.isclose(inner.grad, tinner.grad.item(), rel_tol=1e-12)
    assert inner.grad == sum(range(1, uses)) + 1
    assert math.isclose(a.grad, t.grad.item(), rel_tol=1e-12)


def test_value_deep_chain_beyond_recursion_limit():
    steps = 1500  # > 6000 nodes deep: a recursive topological sort would overflow the stack
    assert steps * 4 > sys.getrecursionlimit()
    x = Value(0.3)
    tx = torch.tensor(0.3, dtype=F64, requires_grad=True)
    nodes, tensors = [x], [tx]
    v, t = x, tx
    for k in range(steps):
        # v is used twice per step: its grad must wait for both paths
        v = (v + 0.5 * v.sigmoid()) * 0.9 - 0.01 * (k % 3)
        t = (t + 0.5 * torch.sigmoid(t)) * 0.9 - 0.01 * (k % 3)
        t.retain_grad()
        nodes.append(v)
        tensors.append(t)
    compare_graph(nodes, tensors)
    assert x.grad != 0.0


# ---------------------------------------------------------------------------
# 5. mlp
# ---------------------------------------------------------------------------
mlp = refs.mlp


@st.composite
def mlp_case(draw):
    sizes = draw(st.lists(st.integers(1, 6), min_size=2, max_size=5))  # 1 to 4 layers
    m = draw(st.integers(1, 8))
    g = gen(draw(seeds))
    x = torch.randn(m, sizes[0], generator=g, dtype=F64)
    y = torch.randn(m, sizes[-1], generator=g, dtype=F64)
    params = [
        (torch.randn(a, b, generator=g, dtype=F64), torch.randn(b, generator=g, dtype=F64))
        for a, b in zip(sizes[:-1], sizes[1:])
    ]
    return x, y, params


def python_forward(x, params):
    """mlp_forward with Python lists and math only."""
    h = x.tolist()
    for k, (W, b) in enumerate(params):
        Wl, bl = W.tolist(), b.tolist()
        z = [[sum(row[i] * Wl[i][j] for i in range(len(row))) + bl[j] for j in range(len(bl))] for row in h]
        h = z if k == len(params) - 1 else [[math_sigmoid(v) for v in row] for row in z]
    return h


def python_mse(out, y):
    flat = [(o - t) ** 2 for orow, trow in zip(out, y) for o, t in zip(orow, trow)]
    return sum(flat) / len(flat)


def autograd_loss_and_grads(x, y, params):
    leaves = [(W.clone().requires_grad_(True), b.clone().requires_grad_(True)) for W, b in params]
    h = x
    for k, (W, b) in enumerate(leaves):
        h = h @ W + b
        if k < len(leaves) - 1:
            h = torch.sigmoid(h)
    loss = ((h - y) ** 2).mean()
    flat = torch.autograd.grad(loss, [p for pair in leaves for p in pair])
    return loss.item(), [(flat[2 * k], flat[2 * k + 1]) for k in range(len(leaves))]


@SETTINGS
@given(mlp_case())
def test_mlp_forward_and_mse_equal_direct_computation(case):
    x, y, params = case
    out = as64(mlp.mlp_forward(x, params))
    want = python_forward(x, params)
    assert out.shape == (x.shape[0], params[-1][0].shape[1])
    assert torch.allclose(out, torch.tensor(want, dtype=F64), rtol=1e-12, atol=1e-12)
    loss = mlp.mse_loss(out, y)
    assert torch.as_tensor(loss).ndim == 0
    assert math.isclose(float(loss), python_mse(out.tolist(), y.tolist()), rel_tol=1e-12, abs_tol=1e-15)


def test_mse_loss_worked_example():
    out = torch.tensor([[1.0], [3.0]], dtype=F64)
    y = torch.tensor([[0.0], [1.0]], dtype=F64)
    assert float(mlp.mse_loss(out, y)) == 2.5


@SETTINGS
@given(mlp_case())
def test_mlp_backward_equals_autograd(case):
    x, y, params = case
    loss, grads = mlp.mlp_backward(x, y, params)
    want_loss, want_grads = autograd_loss_and_grads(x, y, params)
    assert math.isclose(float(loss), want_loss, rel_tol=1e-12, abs_tol=1e-15)
    assert len(grads) == len(params)
    for (W, b), (dW, db), (aW, ab) in zip(params, grads, want_grads):
        dW, db = as64(dW), as64(db)
        assert dW.shape == W.shape and db.shape == b.shape
        assert torch.allclose(dW, aW, rtol=1e-9, atol=1e-9)
        assert torch.allclose(db, ab, rtol=1e-9, atol=1e-9)


@FEW
@given(seeds)
def test_mlp_backward_equals_central_differences(seed):
    g = gen(seed)
    sizes, m = [2, 3, 2, 1], 4
    x = torch.randn(m, sizes[0], generator=g, dtype=F64)
    y = torch.randn(m, sizes[-1], generator=g, dtype=F64)
    params = [(torch.randn(a, b, generator=g, dtype=F64), torch.randn(b, generator=g, dtype=F64))
              for a, b in zip(sizes[:-1], sizes[1:])]
    _, grads = mlp.mlp_backward(x, y, params)
    h = 1e-6

    def loss_at(ps):
        return python_mse(python_forward(x, ps), y.tolist())

    for k in range(len(params)):
        for which in (0, 1):
            tensor = params[k][which]
            numeric = torch.zeros_like(tensor)
            for idx in itertools.product(*(range(s) for s in tensor.shape)):
                values = []
                for sign in (1, -1):
                    bumped = tensor.clone()
                    bumped[idx] += sign * h
                    ps = [tuple(bumped if (kk, ww) == (k, which) else params[kk][ww] for ww in (0, 1))
                          for kk in range(len(params))]
                    values.append(loss_at(ps))
                numeric[idx] = (values[0] - values[1]) / (2 * h)
            assert torch.allclose(as64(grads[k][which]), numeric, rtol=0, atol=1e-5), (k, which)


@SETTINGS
@given(mlp_case(), st.sampled_from([0.01, 0.05, 0.1, 0.3]), st.integers(1, 12))
def test_mlp_train_equals_autograd_gradient_descent(case, lr, epochs):
    x, y, params = case
    originals = [(W.clone(), b.clone()) for W, b in params]
    new_params, losses = mlp.train(x, y, params, lr, epochs)

    want_losses, current = [], [(W.clone(), b.clone()) for W, b in originals]
    for _ in range(epochs):
        loss, grads = autograd_loss_and_grads(x, y, current)
        want_losses.append(loss)
        current = [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(current, grads)]

    assert len(losses) == epochs
    # the first loss is measured before any update
    first = python_mse(python_forward(x, originals), y.tolist())
    assert math.isclose(float(losses[0]), first, rel_tol=1e-12, abs_tol=1e-15)
    for got, want in zip(losses, want_losses):
        assert math.isclose(float(got), want, rel_tol=1e-9, abs_tol=1e-12)
    assert len(new_params) == len(params)
    for (W, b), (wW, wb) in zip(new_params, current):
        assert as64(W).shape == wW.shape and as64(b).shape == wb.shape
        assert torch.allclose(as64(W), wW, rtol=1e-9, atol=1e-9)
        assert torch.allclose(as64(b), wb, rtol=1e-9, atol=1e-9)


def test_mlp_train_one_epoch_is_one_step_from_the_start():
    g = gen(7)
    x, y = torch.randn(5, 3, generator=g, dtype=F64), torch.randn(5, 2, generator=g, dtype=F64)
    params = [(torch.randn(3, 4, generator=g, dtype=F64), torch.randn(4, generator=g, dtype=F64)),
              (torch.randn(4, 2, generator=g, dtype=F64), torch.randn(2, generator=g, dtype=F64))]
    loss0, grads0 = autograd_loss_and_grads(x, y, params)
    new_params, losses = mlp.train(x, y, params, 0.5, 1)
    assert losses == [pytest.approx(loss0, rel=1e-12)]
    for (W, b), (dW, db), (nW, nb) in zip(params, grads0, new_params):
        assert torch.allclose(as64(nW), W - 0.5 * dW, rtol=1e-12, atol=1e-12)
        assert torch.allclose(as64(nb), b - 0.5 * db, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------
# 6. torch_mlp
# ---------------------------------------------------------------------------
tm = refs.torch_mlp


def seeded_model(sizes, seed, dtype=F64):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return tm.MLP(sizes).to(dtype)


def manual_forward(x, weights_and_biases):
    h = x
    for k, (W, b) in enumerate(weights_and_biases):
        h = h @ W.T + b
        if k < len(weights_and_biases) - 1:
            h = 1 / (1 + torch.exp(-h))
    return h


def layer_params(model):
    sd = model.state_dict()
    return [(sd[f"layers.{k}.weight"], sd[f"layers.{k}.bias"]) for k in range(len(model.layers))]


sizes_st = st.lists(st.integers(1, 6), min_size=2, max_size=5)


@SETTINGS
@given(sizes_st, seeds)
def test_torch_mlp_structure(sizes, seed):
    model = seeded_model(sizes, seed, torch.float32)
    assert isinstance(model, torch.nn.Module)
    assert isinstance(model.layers, torch.nn.ModuleList)
    assert len(model.layers) == len(sizes) - 1
    for layer, a, b in zip(model.layers, sizes[:-1], sizes[1:]):
        assert isinstance(layer, torch.nn.Linear)
        assert (layer.in_features, layer.out_features) == (a, b)
    sd = model.state_dict()
    want_keys = [f"layers.{k}.{p}" for k in range(len(sizes) - 1) for p in ("weight", "bias")]
    assert list(sd.keys()) == want_keys
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        assert sd[f"layers.{k}.weight"].shape == (b, a)
        assert sd[f"layers.{k}.bias"].shape == (b,)
    assert sum(p.numel() for p in model.parameters()) == sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


@SETTINGS
@given(sizes_st, seeds, st.integers(1, 8))
def test_torch_mlp_forward_equals_manual(sizes, seed, m):
    model = seeded_model(sizes, seed)
    x = 2 * torch.randn(m, sizes[0], generator=gen(seed + 1), dtype=F64)
    with torch.no_grad():
        out = model(x)
        assert out.shape == (m, sizes[-1])
        assert torch.allclose(out, manual_forward(x, layer_params(model)), rtol=1e-12, atol=1e-12)
        model32 = seeded_model(sizes, seed, torch.float32)
        out32 = model32(x.float())
        assert out32.dtype == torch.float32
        assert torch.allclose(out32.double(), manual_forward(x, [(W.double(), b.double()) for W, b in layer_params(model32)]),
                              rtol=1e-5, atol=1e-5)


@MID
@given(sizes_st, seeds, st.integers(1, 8), st.sampled_from([0.01, 0.1, 0.5]), st.integers(2, 12))
def test_torch_mlp_fit_equals_hand_written_sgd(sizes, seed, m, lr, epochs):
    model = seeded_model(sizes, seed)
    twin = copy.deepcopy(model)
    g = gen(seed + 1)
    x = torch.randn(m, sizes[0], generator=g, dtype=F64)
    y = torch.randn(m, sizes[-1], generator=g, dtype=F64)

    losses = tm.fit(model, x, y, lr=lr, epochs=epochs)

    params = [(layer.weight, layer.bias) for layer in twin.layers]
    flat = [p for pair in params for p in pair]
    want = []
    for _ in range(epochs):
        loss = ((manual_forward(x, params) - y) ** 2).mean()
        want.append(loss.item())
        grads = torch.autograd.grad(loss, flat)
        with torch.no_grad():
            for p, gp in zip(flat, grads):
                p -= lr * gp

    assert isinstance(losses, list) and len(losses) == epochs
    assert all(isinstance(v, float) for v in losses)
    for got, w in zip(losses, want):
        assert math.isclose(got, w, rel_tol=1e-10, abs_tol=1e-14)
    for (name, p), (name2, q) in zip(model.state_dict().items(), twin.state_dict().items()):
        assert name == name2
        assert torch.allclose(p, q, rtol=1e-10, atol=1e-12), name


def test_torch_mlp_fit_defaults_and_no_gradient_pile_up():
    model = seeded_model([2, 3, 1], 3)
    twin = copy.deepcopy(model)
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=F64)
    y = torch.tensor([[0.0], [1.0], [1.0], [0.0]], dtype=F64)
    losses = tm.fit(model, x, y)
    assert len(losses) == 100
    params = [p for layer in twin.layers for p in (layer.weight, layer.bias)]
    for epoch in range(100):
        loss = ((twin(x) - y) ** 2).mean()
        assert math.isclose(losses[epoch], loss.item(), rel_tol=1e-10), epoch
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, gp in zip(params, grads):
                p -= 0.5 * gp


@FEW
@given(st.sampled_from([[1, 1], [1, 4, 1], [2, 3, 1], [2, 1]]), seeds)
def test_torch_mlp_fit_non_increasing_on_easy_regression(sizes, seed):
    model = seeded_model(sizes, seed)
    g = gen(seed + 1)
    x = torch.rand(32, sizes[0], generator=g, dtype=F64) * 2 - 1
    y = 0.5 * x.sum(dim=1, keepdim=True) + 0.2
    losses = tm.fit(model, x, y, lr=0.05, epochs=60)
    assert len(losses) == 60
    for before, after in zip(losses, losses[1:]):
        assert after <= before
    assert losses[-1] < losses[0]


@MID
@given(sizes_st, seeds, st.integers(1, 8), st.sampled_from([0.05, 0.1, 0.5]), st.integers(3, 10))
def test_torch_mlp_oracles_equal_the_reference_module(sizes, seed, m, lr, epochs):
    # The checks compute forward and fit's losses without building the reference MLP (per student, hidden):
    # they must give its numbers, and the two classic mistakes must give other numbers.
    from grader.checks.torch_mlp import network_output, sgd_losses

    model = seeded_model(sizes, seed)
    g = gen(seed + 1)
    x = torch.randn(m, sizes[0], generator=g, dtype=F64)
    y = torch.randn(m, sizes[-1], generator=g, dtype=F64)
    layers = [(W.clone(), b.clone()) for W, b in layer_params(model)]
    before = [tensor.clone() for pair in layers for tensor in pair]
    with torch.no_grad():
        assert torch.allclose(network_output(layers, x), model(x), rtol=1e-12, atol=1e-14)
    expected = sgd_losses(layers, x, y, lr, epochs)
    got = tm.fit(model, x, y, lr=lr, epochs=epochs)
    for k, (e, r) in enumerate(zip(expected, got, strict=True)):
        assert math.isclose(e, r, rel_tol=1e-10, abs_tol=1e-14), k
    assert all(torch.equal(a, b) for a, b in zip(before, [tensor for pair in layers for tensor in pair])), "weights moved"
    for wrong in (dict(zero_grad=False), dict(record_after=True)):
        assert any(not math.isclose(w, e, rel_tol=1e-6, abs_tol=1e-9)
                   for w, e in zip(sgd_losses(layers, x, y, lr, epochs, **wrong), expected)), wrong


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.sampled_from([12, 40, 200]))
def test_hidden_graph_oracle_in_floats_equals_autograd(seed, size):
    # The hidden Value graphs are judged against reverse mode in plain floats (fast, per student):
    # on the graphs that the hidden check really draws, it must give torch.autograd's numbers.
    from grader.checks.chain_rule import evaluate_graph, float_grads, random_program

    program = random_program(np.random.default_rng(seed), size)
    data, grads = float_grads(program)
    auto_data, auto_grads = evaluate_graph(program)
    scale = max(1.0, max(abs(g) for g in auto_grads))
    for k in range(len(program)):
        assert math.isclose(data[k], auto_data[k], rel_tol=1e-12, abs_tol=1e-12), ("data", k)
        assert math.isclose(grads[k], auto_grads[k], rel_tol=1e-9, abs_tol=1e-12 * scale), ("grad", k)


def test_a_wrong_float_oracle_would_be_caught():
    # The comparison above is not vacuous: the mistaken variants differ from autograd on such graphs.
    from grader.checks.chain_rule import evaluate_graph, float_grads, random_program

    def shows(mistake, program):
        auto = evaluate_graph(program)[1]
        return any(not math.isclose(g, a, rel_tol=1e-6, abs_tol=1e-9) for g, a in zip(float_grads(program, mistake)[1], auto))

    students = [[random_program(rng, size) for size in (12, 40, 200)]  # as the hidden check draws them
                for rng in (np.random.default_rng(seed) for seed in range(20))]
    for mistake in ("no_topological_order", "product_rule_own_data", "wrong_power_rule"):
        caught = sum(any(shows(mistake, program) for program in graphs) for graphs in students)
        assert caught >= 15, (mistake, caught)  # ~85-95% of students' graphs show each mistake


def test_steps_hidden_inputs_always_hold_a_zero_and_a_nan():
    """step.hidden promises zeros and NaN: the classic mistake (1 at z == 0) must show for every student, also
    when the random shape is tiny (a one-element tensor once had room for the NaN only)."""
    import numpy as np
    import torch

    from grader.checks import step
    from grader.checks.base import seed_for
    from grader.harness.codec import decode_input
    from grader.references import load_references

    references = load_references()
    (check,) = [check for check in step.CHECKS if check.id == "step.hidden"]
    for seed in range(300):
        for probe in check.make_probes(references, np.random.default_rng(seed_for(check.id, seed))):
            z = decode_input(probe.call["args"][0])
            assert torch.isnan(z).any() and (z == 0).any(), (seed, z)
