"""Checks for mlp.py: forward, loss, hand-written backward, training loop."""
from grader.i18n import N_
from grader.checks.base import Check, Probe, Variant, call, shows
from grader.compare import Number, Seq, Tensor
from grader.lazy_imports import torch

OUTPUT_SIGMOID = "mlp.output_sigmoid"
SUM_NOT_MEAN = "mlp.sum_not_mean"
MISSING_TWO = "mlp.missing_factor_2"
MISSING_SIGMOID_DERIVATIVE = "mlp.missing_sigmoid_derivative"
LOSS_AFTER_UPDATE = "mlp.loss_after_update"


def random_params(rng, sizes):
    return [(torch.from_numpy(rng.normal(size=(n_in, n_out))), torch.from_numpy(rng.normal(size=n_out) * 0.5))
            for n_in, n_out in zip(sizes[:-1], sizes[1:])]


def feed_forward(x, params, *, output_sigmoid=False):
    """The network for [(W, b), ...] with W of shape (n_in, n_out): a sigmoid after every layer but the last
    (and after the last too with output_sigmoid). The oracles' forward pass, for mlp and torch_mlp."""
    h = x
    for k, (W, b) in enumerate(params):
        h = torch.addmm(b, h, W)
        if k < len(params) - 1 or output_sigmoid:
            h = torch.sigmoid(h)
    return h


def autograd_loss_and_grads(x, y, params, *, reduction="mean", output_sigmoid=False):
    """The loss and d loss / d params from torch.autograd in float64 (the oracle)."""
    leaves = [tensor.detach().requires_grad_() for pair in params for tensor in pair]  # new leaves, same storage
    h = feed_forward(x, list(zip(leaves[::2], leaves[1::2])), output_sigmoid=output_sigmoid)
    squared = (h - y) ** 2
    loss = squared.mean() if reduction == "mean" else squared.sum()
    grads = torch.autograd.grad(loss, leaves)
    return loss.item(), list(zip(grads[::2], grads[1::2]))


def _hand_grads_without_sigmoid_derivative(x, y, params):
    activations, h = [x], x
    for k, (W, b) in enumerate(params):
        h = h @ W + b
        if k < len(params) - 1:
            h = torch.sigmoid(h)
        activations.append(h)
    d = 2 * (activations[-1] - y) / activations[-1].numel()
    grads = [None] * len(params)
    for k in range(len(params) - 1, -1, -1):
        grads[k] = (activations[k].T @ d, d.sum(dim=0))
        d = d @ params[k][0].T
    return grads


def _grads_expectation(loss, grads, atol=1e-7):
    pairs = tuple(Seq((Tensor(dW.numpy(), atol=atol, rtol=1e-5), Tensor(db.numpy(), atol=atol, rtol=1e-5)), name=N_("pair (dW, db)"))
                  for dW, db in grads)
    return Seq((Number(loss, atol=1e-9), Seq(pairs, name=N_("list of (dW, db) pairs"))), name=N_("pair (loss, grads)"))


def _backward_probe(x, y, params):
    loss, grads = autograd_loss_and_grads(x, y, params)
    variants = (
        Variant(misconception=SUM_NOT_MEAN, make=lambda: _grads_expectation(*autograd_loss_and_grads(x, y, params, reduction="sum"))),
        Variant(misconception=MISSING_TWO, make=lambda: _grads_expectation(loss, [(dW / 2, db / 2) for dW, db in grads])),
        Variant(misconception=MISSING_SIGMOID_DERIVATIVE,
                make=lambda: _grads_expectation(loss, _hand_grads_without_sigmoid_derivative(x, y, params))),
    )
    return Probe(call("mlp_backward", x, y, params, bans=("autograd",)), shows("mlp_backward", x, y, params),
                 _grads_expectation(loss, grads), variants=variants)


def _gradient_descent(x, y, params, lr, epochs, record_after=False):
    losses = []
    for _ in range(epochs):
        loss, grads = autograd_loss_and_grads(x, y, params)
        params = [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(params, grads)]
        losses.append(autograd_loss_and_grads(x, y, params)[0] if record_after else loss)
    return params, losses


def _train_expectation(params, losses):
    return Seq((Seq(tuple(Seq((Tensor(W.numpy(), atol=1e-7), Tensor(b.numpy(), atol=1e-7))) for W, b in params), name=N_("list of (W, b) pairs")),
                Seq(tuple(Number(loss, atol=1e-8, rtol=1e-6) for loss in losses), name=N_("list of losses"))),
               name=N_("pair (params, losses)"))


def _train_probe(x, y, params, lr, epochs):
    final, losses = _gradient_descent(x, y, params, lr, epochs)
    return Probe(call("train", x, y, params, lr, epochs, bans=("autograd",)), shows("train", x, y, params, lr, epochs),
                 _train_expectation(final, losses),
                 variants=(Variant(misconception=LOSS_AFTER_UPDATE, make=lambda: _train_expectation(
                     *_gradient_descent(x, y, params, lr, epochs, record_after=True))),))


def _data(rng, m, sizes):
    return torch.from_numpy(rng.normal(size=(m, sizes[0]))), torch.from_numpy(rng.normal(size=(m, sizes[-1])))


def _forward_probes(refs, rng):
    probes = []
    for sizes, m in (([3, 4, 2], 5), ([2, 3], 4), ([2, 5, 3, 1], 3)):
        x, _ = _data(rng, m, sizes)
        params = random_params(rng, sizes)
        out = refs.mlp.mlp_forward(x, params)
        wrong = torch.sigmoid(out)
        probes.append(Probe(call("mlp_forward", x, params), shows("mlp_forward", x, params), Tensor(out.numpy()),
                            variants=(Variant(Tensor(wrong.numpy()), OUTPUT_SIGMOID),)))
    return probes


def _loss_probes(refs, rng):
    out = torch.tensor([[1.0], [3.0]], dtype=torch.float64)
    y = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    out2, y2 = (torch.from_numpy(rng.normal(size=(4, 3))) for _ in range(2))
    probes = []
    for o, t in ((out, y), (out2, y2)):
        probes.append(Probe(call("mse_loss", o, t), shows("mse_loss", o, t), Number(refs.mlp.mse_loss(o, t).item()),
                            variants=(Variant(Number(((o - t) ** 2).sum().item()), SUM_NOT_MEAN),)))
    return probes


def _backward_probes(refs, rng):
    probes = []
    for sizes, m in (([3, 4, 2], 5), ([2, 3, 1], 4)):
        x, y = _data(rng, m, sizes)
        probes.append(_backward_probe(x, y, random_params(rng, sizes)))
    return probes


def _train_probes(refs, rng):
    sizes = [2, 3, 1]
    x, y = _data(rng, 4, sizes)
    return [_train_probe(x, y, random_params(rng, sizes), 0.5, 5)]


def _random_sizes(rng):
    return [int(n) for n in rng.integers(1, 7, size=int(rng.integers(2, 5)))]


def _hidden_backward_probes(refs, rng):
    probes = []
    for _ in range(2):
        sizes = _random_sizes(rng)
        x, y = _data(rng, int(rng.integers(1, 9)), sizes)
        probes.append(_backward_probe(x, y, random_params(rng, sizes)))
    return probes


def _hidden_train_probes(refs, rng):
    sizes = _random_sizes(rng)
    x, y = _data(rng, int(rng.integers(2, 9)), sizes)
    return [_train_probe(x, y, random_params(rng, sizes), float(rng.choice([0.05, 0.1, 0.3])), int(rng.integers(3, 9)))]


def _shape_mistake(mismatch):
    """A gradient of the wrong shape: db kept per row, or dW transposed."""
    if "[1][" not in mismatch.path:  # only the grads list: result[1][layer][0 or 1]
        return ""
    if mismatch.path.endswith("[1]"):
        return "mlp.db_not_summed"
    expected, received = mismatch.facts.get("expected_shape"), mismatch.facts.get("received_shape")
    return "mlp.dw_transposed" if expected and received == expected[::-1] else ""


SHAPE_HINTS = {"shape": _shape_mistake}

CHECKS = (
    Check("mlp.forward", "mlp", 4, "public", N_("mlp_forward on networks of one to three layers"), "mlp_forward", _forward_probes),
    Check("mlp.mse_loss", "mlp", 2, "public", N_("mse_loss is the mean of the squared errors"), "mse_loss", _loss_probes),
    Check("mlp.backward", "mlp", 6, "public", N_("mlp_backward gives the loss and the gradients of torch.autograd"), "mlp_backward",
          _backward_probes, stage_hints=SHAPE_HINTS),
    Check("mlp.train", "mlp", 4, "public", N_("train follows full-batch gradient descent, losses recorded before each update"),
          "train", _train_probes),
    Check("mlp.backward_hidden", "mlp", 5, "hidden", N_("mlp_backward on random layer sizes and batches"), "mlp_backward",
          _hidden_backward_probes, stage_hints=SHAPE_HINTS),
    Check("mlp.train_hidden", "mlp", 4, "hidden", N_("train on a random network"), "train", _hidden_train_probes),
)
