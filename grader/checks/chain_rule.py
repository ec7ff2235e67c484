"""Checks for chain_rule.py: e = (a + b)(b + 1) by hand, and the Value class."""
import math
import random

from grader.i18n import N_
from grader.checks.base import Check, LazyText, Probe, Variant, call, shows
from grader.compare import Map, Number, Numbers, Seq
from grader.lazy_imports import np, torch

MISSING_PATH = "chain_rule.one_path_for_b"
SWAPPED = "chain_rule.local_grads_swapped"

SYMBOLS = {"add": "+", "sub": "-", "mul": "*"}
OPERATIONS = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y}


def _program_text(program, with_backward):
    lines = []
    for k, step in enumerate(program):
        op = step[0]
        if op == "leaf":
            text = f"Value({step[1]!r})"
        elif op in SYMBOLS:
            text = f"n{step[1]} {SYMBOLS[op]} n{step[2]}"
        elif op.startswith("r") and op.endswith("_const"):
            text = f"{step[1]!r} {SYMBOLS[op[1:-6]]} n{step[2]}"
        elif op.endswith("_const"):
            text = f"n{step[1]} {SYMBOLS[op[:-6]]} {step[2]!r}"
        elif op == "neg":
            text = f"-n{step[1]}"
        elif op == "pow":
            text = f"n{step[1]} ** {step[2]!r}"
        else:
            text = f"n{step[1]}.{op}()"
        lines.append(f"n{k} = {text}")
    if with_backward:
        lines.append(f"n{len(program) - 1}.backward()")
    return "; ".join(lines)


def evaluate_graph(program, with_backward=True):
    """Each node's data and grad with torch.autograd in float64 (the oracle)."""
    nodes = []
    for step in program:
        op = step[0]
        if op == "leaf":
            node = torch.tensor(float(step[1]), dtype=torch.float64, requires_grad=True)
        elif op in OPERATIONS:
            node = OPERATIONS[op](nodes[step[1]], nodes[step[2]])
        elif op.startswith("r") and op.endswith("_const"):
            node = OPERATIONS[op[1:-6]](step[1], nodes[step[2]])
        elif op.endswith("_const"):
            node = OPERATIONS[op[:-6]](nodes[step[1]], step[2])
        elif op == "neg":
            node = -nodes[step[1]]
        elif op == "pow":
            node = nodes[step[1]] ** step[2]
        elif op == "exp":
            node = torch.exp(nodes[step[1]])
        else:
            node = torch.sigmoid(nodes[step[1]])
        nodes.append(node)
    data = torch.stack(nodes).tolist()
    if not with_backward:
        return data, None
    grads = torch.autograd.grad(nodes[-1], nodes, allow_unused=True)
    return data, [0.0 if grad is None else float(grad) for grad in grads]


def float_grads(program, mistake=None):
    """Node data and gradients by reverse mode in plain floats, or as a Value class with one classic mistake would.

    With no mistake it is the oracle for the hidden random graphs, which every student pays for:
    the numbers of `evaluate_graph` at a tenth of the cost (tests/test_reference_properties.py
    holds it to torch.autograd on the graphs that check draws).
    mistake: "no_topological_order" (a recursive backward that passes on a node's grad
    each time it is reached, before it has all of it), "product_rule_own_data"
    (x.grad += x.data * out.grad for out = x * y), "wrong_power_rule" (k * x ** k).
    """
    data, parents = [], []
    for step in program:
        op = step[0]
        if op == "leaf":
            value, links = float(step[1]), []
        elif op in OPERATIONS:
            x, y = data[step[1]], data[step[2]]
            value = OPERATIONS[op](x, y)
            if op == "mul":
                own = mistake == "product_rule_own_data"
                links = [(step[1], x if own else y), (step[2], y if own else x)]
            else:
                links = [(step[1], 1.0), (step[2], 1.0 if op == "add" else -1.0)]
        elif op.startswith("r") and op.endswith("_const"):
            inner = op[1:-6]
            value = OPERATIONS[inner](step[1], data[step[2]])
            links = [(step[2], {"add": 1.0, "sub": -1.0, "mul": step[1]}[inner])]
        elif op.endswith("_const"):
            inner = op[:-6]
            value = OPERATIONS[inner](data[step[1]], step[2])
            local = {"add": 1.0, "sub": 1.0, "mul": step[2]}[inner]
            if inner == "mul" and mistake == "product_rule_own_data":
                local = data[step[1]]
            links = [(step[1], local)]
        elif op == "neg":
            value, links = -data[step[1]], [(step[1], -1.0)]
        elif op == "pow":
            x, k = data[step[1]], step[2]
            value = x**k
            links = [(step[1], k * x**k if mistake == "wrong_power_rule" else k * x ** (k - 1))]
        elif op == "exp":
            value = math.exp(data[step[1]])
            links = [(step[1], value)]
        else:
            x = data[step[1]]
            value = 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))
            links = [(step[1], value * (1 - value))]
        data.append(value)
        parents.append(links)
    grads = [0.0] * len(program)
    grads[-1] = 1.0
    if mistake == "no_topological_order":
        def visit(node):  # each visit passes on the node's grad as it stands, then recurses
            for child, local in parents[node]:
                grads[child] += local * grads[node]
            for child, _ in parents[node]:
                visit(child)
        visit(len(program) - 1)
    else:
        for node in range(len(program) - 1, -1, -1):  # program order is a topological order
            for child, local in parents[node]:
                grads[child] += local * grads[node]
    return data, grads


VALUE_MISTAKES = ("no_topological_order", "product_rule_own_data", "wrong_power_rule")


def _value_variants(program):
    """Each Value mistake as a lazily computed wrong answer for the same graph."""
    def make(mistake):
        def expectation():
            data, grads = float_grads(program, mistake)
            return Map({"data": Numbers(np.array(data, dtype=np.float64), atol=1e-9, rtol=1e-7),
                        "grad": Numbers(np.array(grads, dtype=np.float64), atol=1e-7, rtol=1e-6)})
        return expectation

    return tuple(Variant(misconception=f"chain_rule.{mistake}", make=make(mistake)) for mistake in VALUE_MISTAKES)


def _graph_probe(program, with_backward=True, variants=None, oracle=evaluate_graph):
    if variants is None:
        variants = _value_variants(program) if with_backward else ()
    data, grads = oracle(program, with_backward)
    expected = {"data": Numbers(np.array(data, dtype=np.float64), atol=1e-9, rtol=1e-7, name=N_("list of node values"))}
    if with_backward:
        expected["grad"] = Numbers(np.array(grads, dtype=np.float64), atol=1e-7, rtol=1e-6, name=N_("list of node gradients"))
    return Probe({"kind": "graph", "name": "Value", "program": program, "backward": with_backward},
                 LazyText(lambda: _program_text(program, with_backward)), Map(expected), variants=variants)


E_GRAPH = [["leaf", 2.0], ["leaf", 1.0], ["add", 0, 1], ["add_const", 1, 1.0], ["mul", 2, 3]]


def _forward_probes(refs, rng):
    probes = []
    for a, b in ((2.0, 1.0), (-1.5, 3.0)):
        values = refs.chain_rule.forward(a, b)
        probes.append(Probe(call("forward", a, b), shows("forward", a, b),
                            Map({key: Number(float(values[key])) for key in ("c", "d", "e")})))
    return probes


def _local_probes(refs, rng):
    probes = []
    for a, b in ((2.0, 1.0), (0.5, -2.0)):
        grads = refs.chain_rule.local_grads(a, b)
        swapped = dict(grads, **{"de/dc": grads["de/dd"], "de/dd": grads["de/dc"]})
        probes.append(Probe(call("local_grads", a, b), shows("local_grads", a, b),
                            Map({key: Number(float(value)) for key, value in grads.items()}),
                            variants=(Variant(Map({key: Number(float(v)) for key, v in swapped.items()}), SWAPPED),)))
    return probes


def _autograd_backward(a, b):
    ta = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    ((ta + tb) * (tb + 1)).backward()
    return ta.grad.item(), tb.grad.item()


def _backward_probe(a, b):
    da, db = _autograd_backward(a, b)
    one_path = [Variant(Seq((Number(da), Number(value))), MISSING_PATH) for value in (b + 1, a + b)]
    return Probe(call("backward", a, b), shows("backward", a, b), Seq((Number(da), Number(db)), name=N_("pair")),
                 variants=tuple(one_path))


def _backward_probes(refs, rng):
    return [_backward_probe(2.0, 1.0), _backward_probe(-3.0, 0.5)]


def _hidden_backward_probes(refs, rng):
    return [_backward_probe(float(rng.uniform(-10, 10)), float(rng.uniform(-10, 10))) for _ in range(3)]


def _value_ops_probes(refs, rng):
    programs = [
        [["leaf", 2.0], ["leaf", -3.0], ["add", 0, 1], ["sub", 0, 1], ["mul", 0, 1], ["neg", 1]],
        [["leaf", 1.5], ["add_const", 0, 2.0], ["radd_const", 2.0, 0], ["sub_const", 0, 0.5], ["rsub_const", 4.0, 0],
         ["mul_const", 0, 3.0], ["rmul_const", -2.0, 0]],
        [["leaf", 0.5], ["pow", 0, 2], ["pow", 0, 3], ["pow", 0, -1], ["exp", 0], ["sigmoid", 0]],
    ]
    return [_graph_probe(program, with_backward=False) for program in programs]


def _value_backward_probes(refs, rng):
    shared = [["leaf", 0.5], ["leaf", -1.25], ["mul", 0, 1], ["mul", 2, 2], ["exp", 2], ["add", 3, 4],
              ["sigmoid", 5], ["mul", 6, 2]]
    every_op = [["leaf", 1.5], ["leaf", 0.75], ["sub", 0, 1], ["pow", 2, 3], ["rsub_const", 2.0, 3], ["neg", 4],
                ["sigmoid", 5], ["exp", 1], ["rmul_const", 3.0, 7], ["add", 6, 8], ["sub_const", 9, 1.0],
                ["radd_const", 0.5, 10]]
    return [_graph_probe(E_GRAPH), _graph_probe(shared), _graph_probe(every_op)]


RANDOM_OPERATIONS = ("add", "sub", "mul", "add_const", "rmul_const", "rsub_const", "neg", "pow", "exp", "sigmoid")


def random_program(rng, size):
    """A random graph of about `size` nodes with reused inner nodes and bounded values.

    The numbers come from a random.Random seeded by `rng`: a numpy draw per number cost more than
    the rest of the node (~4 draws a node, 250 nodes a student).
    """
    uniform = random.Random(int(rng.integers(0, 2**63))).random  # in [0, 1)

    def below(n):
        return int(uniform() * n)

    program, values = [], []
    for _ in range(2 + below(3)):
        value = uniform() * 20 - 10
        program.append(["leaf", value])
        values.append(value)
    while len(program) < size:
        recent = max(0, len(program) - 6)
        i, j = recent + below(len(program) - recent), below(len(program))
        op = RANDOM_OPERATIONS[below(len(RANDOM_OPERATIONS))]
        x, y = values[i], values[j]
        constant = round(uniform() * 6 - 3, 3)
        if op in OPERATIONS:
            step, value = [op, i, j], OPERATIONS[op](x, y)
        elif op == "add_const":
            step, value = [op, i, constant], x + constant
        elif op in ("rmul_const", "rsub_const"):
            step, value = [op, constant, i], OPERATIONS[op[1:-6]](constant, x)
        elif op == "neg":
            step, value = [op, i], -x
        elif op == "pow" and abs(x) <= 3:
            exponent = 2 + below(2)
            step, value = [op, i, exponent], x**exponent
        elif op == "exp" and abs(x) <= 3:
            step, value = [op, i], math.exp(x)
        else:
            step, value = ["sigmoid", i], 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))
        program.append(step)
        values.append(value)
        if abs(value) > 10:
            program.append(["sigmoid", len(program) - 1])
            values.append(1 / (1 + math.exp(-value)) if value >= 0 else math.exp(value) / (1 + math.exp(value)))
    return program


def _hidden_value_probes(refs, rng):
    return [_graph_probe(random_program(rng, size), oracle=lambda program, _backward: float_grads(program))
            for size in (12, 40, 200)]


CHECKS = (
    Check("chain_rule.forward", "chain_rule", 2, "public", N_("forward gives c, d and e"), "forward", _forward_probes),
    Check("chain_rule.local_grads", "chain_rule", 3, "public", N_("local_grads gives the derivative along each edge"),
          "local_grads", _local_probes),
    Check("chain_rule.backward", "chain_rule", 3, "public", N_("backward gives (de/da, de/db) by the chain rule"), "backward", _backward_probes),
    Check("chain_rule.backward_hidden", "chain_rule", 2, "hidden", N_("backward at random points, against torch.autograd"),
          "backward", _hidden_backward_probes),
    Check("chain_rule.value_ops", "chain_rule", 4, "public", N_("Value operations compute the right data"), "Value", _value_ops_probes),
    Check("chain_rule.value_backward", "chain_rule", 3, "public", N_("Value.backward gives every node's gradient, shared nodes included"),
          "Value", _value_backward_probes),
    Check("chain_rule.value_hidden", "chain_rule", 3, "hidden", N_("Value.backward on random graphs up to 200 nodes with shared inner nodes"),
          "Value", _hidden_value_probes),
)
