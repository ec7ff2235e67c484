"""Checks for sigmoid.py: the sigmoid, its derivative, one neuron."""
from grader.lazy_imports import np
from grader.i18n import N_
from grader.checks.base import Check, Probe, Variant, call, shows
from grader.compare import Tensor
from grader.lazy_imports import torch

SIGN = "sigmoid.sign_error"
OVERFLOW = "sigmoid.exp_ratio_overflow"
OVERFLOW_WARNING = "sigmoid.overflow_warning"
GRAD_OF_X = "sigmoid.grad_of_x"
NO_BIAS = "sigmoid.neuron_without_bias"


def _overflow(mismatch):
    """NaN where the exact answer is 1 or 0 comes from inf / inf: an overflowing exponential."""
    return OVERFLOW if mismatch.facts.get("nan") else ""


def _autograd_grad(x):
    """d sigmoid / dx from torch.autograd, in float64."""
    leaf = x.detach().to(torch.float64).requires_grad_()
    torch.sigmoid(leaf).sum().backward()
    return leaf.grad.to(x.dtype)


def _dtype(x):
    return str(x.dtype).replace("torch.", "")


def _sigmoid_probe(refs, x, atol=1e-6, no_warnings=False):
    expected = refs.sigmoid.sigmoid(x)
    with np.errstate(over="ignore"):
        wrong_sign = 1 / (1 + np.exp(x.double().numpy()))
    return Probe(call("sigmoid", x, bans=("sigmoid",)), shows("sigmoid", x),
                 Tensor(expected.double().numpy(), dtype=_dtype(x), atol=atol), no_warnings=no_warnings,
                 variants=(Variant(Tensor(wrong_sign, atol=atol), SIGN),))


def _grad_probe(refs, x):
    expected = _autograd_grad(x)
    wrong = (x * (1 - x)).double().numpy()
    return Probe(call("sigmoid_grad", x, bans=("sigmoid",)), shows("sigmoid_grad", x),
                 Tensor(expected.double().numpy(), dtype=_dtype(x), atol=1e-6, rtol=1e-5),
                 variants=(Variant(Tensor(wrong), GRAD_OF_X),))


def _neuron_probe(refs, x, w, b):
    expected = refs.sigmoid.neuron(x, w, b)
    return Probe(call("neuron", x, w, b, bans=("sigmoid",)), shows("neuron", x, w, b), Tensor(expected.numpy()),
                 variants=(Variant(Tensor(refs.sigmoid.neuron(x, w, 0.0).numpy()), NO_BIAS),))


def _values_probes(refs, rng):
    x = torch.tensor([[-4.0, -1.0, 0.0, 0.5, 2.0], [6.0, -0.25, 1.0, -2.0, 3.0]], dtype=torch.float64)
    return [_sigmoid_probe(refs, x), _sigmoid_probe(refs, torch.from_numpy(rng.normal(size=(3, 4)) * 3))]


def _float32_probes(refs, rng):
    return [_sigmoid_probe(refs, torch.tensor([-3.0, -0.5, 0.0, 0.5, 3.0], dtype=torch.float32))]


def _extreme_probes(refs, rng):
    values = [-1e4, -1000.0, -100.0, -50.0, -20.0, 0.0, 20.0, 50.0, 100.0, 1000.0, 1e4]
    return [_sigmoid_probe(refs, torch.tensor(values, dtype=dtype), no_warnings=True)
            for dtype in (torch.float64, torch.float32)]


def _grad_probes(refs, rng):
    return [_grad_probe(refs, torch.tensor([[-2.0, 0.0, 0.5], [1.0, 3.0, -0.75]], dtype=torch.float64)),
            _grad_probe(refs, torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float32))]


def _neuron_probes(refs, rng):
    w = torch.tensor([0.5, 0.5], dtype=torch.float64)
    x = torch.tensor([1.0, 1.0], dtype=torch.float64)
    batch = torch.from_numpy(rng.normal(size=(4, 3)))
    return [_neuron_probe(refs, x, w, -0.8), _neuron_probe(refs, batch, torch.from_numpy(rng.normal(size=3)), 0.7)]


def _hidden_probes(refs, rng):
    shape = tuple(int(n) for n in rng.integers(1, 6, size=int(rng.integers(1, 4))))
    x = torch.from_numpy(rng.normal(size=shape) * 5)
    m, n = int(rng.integers(2, 7)), int(rng.integers(1, 5))
    return [_sigmoid_probe(refs, x), _grad_probe(refs, x.float()),
            _neuron_probe(refs, torch.from_numpy(rng.normal(size=(m, n))), torch.from_numpy(rng.normal(size=n)), float(rng.normal()))]


CHECKS = (
    Check("sigmoid.values", "sigmoid", 3, "public", N_("sigmoid values on float64 tensors"), "sigmoid", _values_probes),
    Check("sigmoid.float32", "sigmoid", 1, "public", N_("sigmoid keeps a float32 input float32"), "sigmoid", _float32_probes),
    Check("sigmoid.extremes", "sigmoid", 3, "public", N_("sigmoid stays finite, in [0, 1] and warning-free up to |x| = 1e4"),
          "sigmoid", _extreme_probes, stage_hints={"values": _overflow, "warnings": OVERFLOW_WARNING}),
    Check("sigmoid.grad", "sigmoid", 3, "public", N_("sigmoid_grad matches torch.autograd"), "sigmoid_grad", _grad_probes),
    Check("sigmoid.neuron", "sigmoid", 2, "public", N_("neuron on one input and on a batch"), "neuron", _neuron_probes),
    Check("sigmoid.hidden", "sigmoid", 3, "hidden", N_("sigmoid, sigmoid_grad and neuron on random inputs"), "sigmoid", _hidden_probes),
)
