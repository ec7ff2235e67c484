"""Checks for perceptron.py: the perceptron, three gates, the learning rule."""
import itertools

from grader.lazy_imports import np

from grader.i18n import N_
from grader.checks.base import Check, Probe, Variant, call, shows
from grader.compare import Mismatch, Number, Seq, Tensor, _as_array, format_array
from grader.lazy_imports import torch


def _truth_inputs():
    """The four rows of a two-input truth table, as float64 (made on use: torch is imported lazily)."""
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=2)), dtype=torch.float64)


TRUTH_TABLES = {
    "AND": [0.0, 0.0, 0.0, 1.0],
    "OR": [0.0, 1.0, 1.0, 1.0],
    "NAND": [1.0, 1.0, 1.0, 0.0],
    "NOR": [1.0, 0.0, 0.0, 0.0],
    "XOR": [0.0, 1.0, 1.0, 0.0],
}


def _perceptron_probe(refs, x, w, b):
    expected = refs.perceptron.perceptron(x, w, b)
    return Probe(call("perceptron", x, w, b), shows("perceptron", x, w, b), Tensor(expected.numpy()))


def _single_probes(refs, rng):
    w = torch.tensor([0.5, 0.5], dtype=torch.float64)
    return [_perceptron_probe(refs, torch.tensor(x, dtype=torch.float64), w, -0.8)
            for x in ([1.0, 1.0], [1.0, 0.0], [0.0, 0.0])]


def _batch_probes(refs, rng):
    w = torch.tensor([0.5, 0.5], dtype=torch.float64)
    x = torch.from_numpy(rng.normal(size=(5, 3)))
    w3 = torch.from_numpy(rng.normal(size=3))
    return [_perceptron_probe(refs, _truth_inputs(), w, -0.8), _perceptron_probe(refs, x, w3, 0.3)]


def _gate_judge(refs, gate):
    """Judge a (w, b) pair by the truth table the reference perceptron gives with it."""

    def judge(received):
        pair = received if isinstance(received, (list, tuple)) else None
        w = _as_array(pair[0]) if pair is not None and len(pair) == 2 else None
        b = _as_array(pair[1]) if w is not None else None
        if w is None or b is None or w.shape != (2,) or b.size != 1:
            from grader.compare import describe
            if received is None:
                return Mismatch("type", f"{gate}_PARAMS", "a pair (w, b)", "None (not attempted yet)")
            return Mismatch("type", f"{gate}_PARAMS", "a pair (w, b): w two numbers, b a number", describe(received))
        outputs = refs.perceptron.perceptron(_truth_inputs(), torch.from_numpy(w), float(b.reshape(())))
        got = outputs.numpy()
        if list(got) == TRUTH_TABLES[gate]:
            return None
        other = [name for name, table in TRUTH_TABLES.items() if list(got) == table]
        detail = f"with w = {format_array(w)} and b = {float(b.reshape(())):.6g} the outputs on (0,0), (0,1), (1,0), (1,1) are {format_array(got)}"
        if other:
            detail += f": that is the {other[0]} gate"
        return Mismatch("values", f"{gate}_PARAMS", format_array(np.array(TRUTH_TABLES[gate])), format_array(got), detail)

    return judge


def _other_gate(refs, gate):
    """Matches (judges as None) when the pair realises some other known gate."""

    def judge(received):
        mismatch = _gate_judge(refs, gate)(received)
        return None if mismatch is not None and "that is the" in mismatch.detail else mismatch or Mismatch("values", "", "", "")

    return judge


def _gate_probes(gate):
    def make(refs, rng):
        return [Probe({"kind": "attribute", "name": f"{gate}_PARAMS"}, f"{gate}_PARAMS", _gate_judge(refs, gate),
                      variants=(Variant(_other_gate(refs, gate), "perceptron.other_gate"),))]

    return make


def _mistaken_rule(X, y, lr, epochs, step, mistake):
    """The learning rule with one classic mistake, for recognising it."""
    start = 1.0 if mistake == "not_from_zeros" else 0.0
    w = torch.full((X.shape[1],), start, dtype=X.dtype)
    b = start
    for _ in range(epochs):
        if mistake == "batch_update":
            err = y - step(X @ w + b)
            w = w + lr * (err @ X)
            b = b + lr * err.sum()
            continue
        for i in range(X.shape[0]):
            err = y[i] - step(X[i] @ w + b)
            w = w + lr * err * X[i]
            b = b + (err if mistake == "b_without_lr" else lr * err)
    return w, b


def _train_probe(refs, X, y, lr, epochs):
    w, b = refs.perceptron.train_perceptron(X, y, lr=lr, epochs=epochs)

    def mistaken(mistake):
        def expectation():
            wrong_w, wrong_b = _mistaken_rule(X, y, lr, epochs, refs.step.step, mistake)
            return Seq((Tensor(wrong_w.numpy(), atol=1e-9), Number(float(wrong_b), atol=1e-9)))
        return Variant(misconception=f"perceptron.{mistake}", make=expectation)

    return Probe(call("train_perceptron", X, y, lr=lr, epochs=epochs), shows("train_perceptron", X, y, lr=lr, epochs=epochs),
                 Seq((Tensor(w.numpy(), atol=1e-9), Number(float(b), atol=1e-9)), name=N_("pair (w, b)")),
                 variants=tuple(mistaken(mistake) for mistake in ("b_without_lr", "not_from_zeros", "batch_update")))


def _train_probes(refs, rng):
    y_and = torch.tensor(TRUTH_TABLES["AND"], dtype=torch.float64)
    y_or = torch.tensor(TRUTH_TABLES["OR"], dtype=torch.float64)
    return [_train_probe(refs, _truth_inputs(), y_and, 0.1, 10), _train_probe(refs, _truth_inputs(), y_or, 0.25, 3)]


def _hidden_probes(refs, rng):
    m, n = int(rng.integers(3, 9)), int(rng.integers(2, 6))
    x = torch.from_numpy(rng.normal(size=(m, n)))
    w = torch.from_numpy(rng.normal(size=n))
    return [_perceptron_probe(refs, x, w, float(rng.normal())), _perceptron_probe(refs, x[0], w, float(rng.normal()))]


def _hidden_train_probes(refs, rng):
    m, n = int(rng.integers(4, 9)), int(rng.integers(2, 5))
    X = torch.from_numpy(rng.integers(0, 2, size=(m, n)).astype(np.float64))
    y = torch.from_numpy(rng.integers(0, 2, size=m).astype(np.float64))
    lr = float(rng.choice([0.5, 0.25, 0.125]))  # dyadic: every sum is exact
    return [_train_probe(refs, X, y, lr, int(rng.integers(2, 7)))]


CHECKS = (
    Check("perceptron.single", "perceptron", 2, "public", N_("perceptron on one input gives a 0-d result"), "perceptron", _single_probes),
    Check("perceptron.batch", "perceptron", 2, "public", N_("perceptron on a batch of inputs gives one output per row"), "perceptron", _batch_probes),
    Check("perceptron.and_gate", "perceptron", 1, "public", N_("AND_PARAMS realise the AND truth table"), "AND_PARAMS", _gate_probes("AND")),
    Check("perceptron.or_gate", "perceptron", 1, "public", N_("OR_PARAMS realise the OR truth table"), "OR_PARAMS", _gate_probes("OR")),
    Check("perceptron.nand_gate", "perceptron", 1, "public", N_("NAND_PARAMS realise the NAND truth table"), "NAND_PARAMS", _gate_probes("NAND")),
    Check("perceptron.train", "perceptron", 3, "public", N_("train_perceptron follows the learning rule exactly"), "train_perceptron", _train_probes),
    Check("perceptron.hidden", "perceptron", 2, "hidden", N_("perceptron on random inputs and weights"), "perceptron", _hidden_probes),
    Check("perceptron.train_hidden", "perceptron", 3, "hidden", N_("train_perceptron on random binary data"), "train_perceptron", _hidden_train_probes),
)
