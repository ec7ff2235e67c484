"""Checks for torch_mlp.py: the MLP module and its training loop."""
from grader.i18n import N_
from grader.checks.base import Check, Probe, Variant, encode_input
from grader.checks.mlp import feed_forward
from grader.compare import Mismatch, Number, Seq, Tensor, describe
from grader.lazy_imports import torch

LAST_SIGMOID = "torch_mlp.sigmoid_after_last_layer"
NO_ZERO_GRAD = "torch_mlp.gradients_never_zeroed"
LOSS_AFTER_STEP = "torch_mlp.loss_after_step"


def _structure_judge(sizes):
    expected_shapes = {}
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        expected_shapes[f"layers.{k}.weight"] = [n_out, n_in]
        expected_shapes[f"layers.{k}.bias"] = [n_out]

    def judge(received):
        if not isinstance(received, dict) or received.get("is_module") is None:
            return Mismatch("type", f"MLP({sizes})", "a torch.nn.Module", describe(received))
        if getattr(received["is_module"], "value", 0) != 1:
            return Mismatch("type", f"MLP({sizes})", "an instance of torch.nn.Module", "something else")
        layers_type = getattr(received.get("layers_type"), "type", "nothing")
        if layers_type != "ModuleList":
            return Mismatch("type", f"MLP({sizes}).layers", "a torch.nn.ModuleList", f"{layers_type}")
        kinds = [getattr(item, "type", "?") for item in received.get("layer_types", [])]
        if kinds != ["Linear"] * (len(sizes) - 1):
            return Mismatch("type", f"MLP({sizes}).layers", f"{len(sizes) - 1} torch.nn.Linear layers", f"{kinds}")
        shapes = received.get("state_shapes") or {}
        got = {key: [int(getattr(n, "value", -1)) for n in value] if isinstance(value, list) else value for key, value in shapes.items()}
        if got != expected_shapes:
            return Mismatch("shape", f"MLP({sizes}).state_dict()", str(expected_shapes), str(got)[:400])
        return None

    return judge


def _structure_probes(refs, rng):
    probes = []
    for sizes in ([2, 4, 1], [3, 5, 4, 2]):
        probes.append(Probe({"kind": "module", "name": "MLP", "args": [sizes]}, f"MLP({sizes})", _structure_judge(sizes)))
    return probes


def _state(rng, sizes):
    state = {}
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        state[f"layers.{k}.weight"] = torch.from_numpy(rng.normal(size=(n_out, n_in)))
        state[f"layers.{k}.bias"] = torch.from_numpy(rng.normal(size=n_out))
    return state


def network_output(layers, x):
    """The output of MLP's forward for float64 weights [(weight, bias), ...] in nn.Linear's layout.

    The oracle for forward and fit: the reference MLP's numbers (tests/test_reference_properties.py
    holds the two equal) without building a module and loading a state dict, ~0.5 ms a student.
    """
    return feed_forward(x, [(weight.T, bias) for weight, bias in layers])


def _forward_probe(refs, rng, sizes, m):
    state = _state(rng, sizes)
    x = torch.from_numpy(rng.normal(size=(m, sizes[0])))
    layers = [(state[f"layers.{k}.weight"], state[f"layers.{k}.bias"]) for k in range(len(sizes) - 1)]
    out = network_output(layers, x)

    def judge_output(received):
        from grader.compare import compare
        if not isinstance(received, dict) or "output" not in received:
            return Mismatch("type", f"MLP({sizes})", "a torch.nn.Module that accepts these weights", describe(received))
        return compare(Tensor(out.numpy()), received["output"], f"MLP({sizes}).forward(x)")

    def judge_variant(received):
        from grader.compare import compare
        wrong = torch.sigmoid(network_output(layers, x))
        return None if isinstance(received, dict) and compare(Tensor(wrong.numpy()), received.get("output")) is None else Mismatch("values", "", "", "")

    return Probe({"kind": "module", "name": "MLP", "args": [sizes], "state": encode_input(state), "input": encode_input(x)},
                 f"MLP({sizes}) with given float64 weights, forward(x) for x of shape {tuple(x.shape)}", judge_output,
                 variants=(Variant(judge_variant, LAST_SIGMOID),))


def _forward_probes(refs, rng):
    return [_forward_probe(refs, rng, [2, 4, 1], 5), _forward_probe(refs, rng, [3, 6, 2], 4)]


def _model_layers(rng, sizes):
    return [(torch.from_numpy(rng.normal(size=(n_out, n_in))), torch.from_numpy(rng.normal(size=n_out)))
            for n_in, n_out in zip(sizes[:-1], sizes[1:])]


def sgd_losses(layers, x, y, lr, epochs, *, zero_grad=True, record_after=False):
    """fit's losses from torch.autograd and a plain SGD update (the oracle), in float64.

    zero_grad=False and record_after=True give two classic wrong versions.
    """
    parameters = [tensor.detach().clone().requires_grad_() for pair in layers for tensor in pair]
    pairs = list(zip(parameters[::2], parameters[1::2]))
    losses, grads = [], None
    for _ in range(epochs):
        loss = ((network_output(pairs, x) - y) ** 2).mean()
        new = torch.autograd.grad(loss, parameters)
        grads = new if zero_grad or grads is None else [old + step for old, step in zip(grads, new)]
        with torch.no_grad():
            for parameter, grad in zip(parameters, grads):
                parameter -= lr * grad
            if record_after:
                loss = ((network_output(pairs, x) - y) ** 2).mean()
        losses.append(loss.item())
    return losses


def _losses(values):
    return Seq(tuple(Number(value, atol=1e-8, rtol=1e-6) for value in values), name=N_("list of losses"))


def _fit_probe(refs, rng, sizes, m, lr, epochs):
    layers = _model_layers(rng, sizes)
    x = torch.from_numpy(rng.normal(size=(m, sizes[0])))
    y = torch.from_numpy(rng.normal(size=(m, sizes[-1])))
    expected = sgd_losses(layers, x, y, lr, epochs)
    model_input = {"model": [encode_input(tuple(pair)) for pair in layers]}
    text = f"fit(model, x, y, lr={lr}, epochs={epochs}) on a float64 network of sizes {sizes} and x of shape {tuple(x.shape)}"
    return Probe({"kind": "call", "name": "fit", "args": [model_input, encode_input(x), encode_input(y)],
                  "kwargs": {"lr": lr, "epochs": epochs}, "bans": []}, text, _losses(expected),
                 variants=(Variant(misconception=NO_ZERO_GRAD, make=lambda: _losses(sgd_losses(layers, x, y, lr, epochs, zero_grad=False))),
                           Variant(misconception=LOSS_AFTER_STEP, make=lambda: _losses(sgd_losses(layers, x, y, lr, epochs, record_after=True)))))


def _fit_probes(refs, rng):
    return [_fit_probe(refs, rng, [2, 3, 1], 4, 0.5, 6)]  # six SGD steps show each known mistake


def _hidden_probes(refs, rng):
    sizes = [int(n) for n in rng.integers(1, 6, size=int(rng.integers(2, 5)))]
    return [_forward_probe(refs, rng, sizes, int(rng.integers(1, 7))),
            _fit_probe(refs, rng, sizes, int(rng.integers(2, 7)), float(rng.choice([0.05, 0.1, 0.5])), int(rng.integers(3, 10)))]


CHECKS = (
    Check("torch_mlp.structure", "torch_mlp", 3, "public", N_("MLP holds a ModuleList of Linear layers with the right shapes"), "MLP", _structure_probes),
    Check("torch_mlp.forward", "torch_mlp", 3, "public", N_("MLP.forward matches the network with the same weights"), "MLP", _forward_probes),
    Check("torch_mlp.fit", "torch_mlp", 5, "public", N_("fit's losses follow SGD on the mean squared error"), "fit", _fit_probes),
    Check("torch_mlp.hidden", "torch_mlp", 4, "hidden", N_("MLP.forward and fit on a random network"), "MLP", _hidden_probes),
)
