"""Checks for step.py: the step activation."""
from grader.i18n import N_
from grader.checks.base import Check, Probe, Variant, call, shows
from grader.compare import Number, Tensor
from grader.lazy_imports import torch

AT_ZERO = "step.true_at_zero"
AS_FLOAT = "step.bool_or_int_dtype"
KEEP_DTYPE = N_("Keep the input's floating dtype: a float32 tensor in gives a float32 tensor out.")


def _dtype_hint(mismatch):
    """bool or integer results come from an unconverted comparison; other dtypes from a conversion."""
    received = mismatch.facts.get("received_dtype", "")
    return AS_FLOAT if received == "bool" or received.startswith(("int", "uint")) else KEEP_DTYPE


def _scalar_probes(refs, rng):
    probes = []
    for z in (-2, -0.5, 0, 0.0, -0.0, 1e-9, 3, 2.5):
        probes.append(Probe(call("step", z), shows("step", z), Number(refs.step.step(z), python_only=True),
                            variants=(Variant(Number(1 if z >= 0 else 0), AT_ZERO),)))
    return probes


def _tensor_probe(refs, z):
    expected = refs.step.step(z)
    return Probe(call("step", z), shows("step", z),
                 Tensor(expected.numpy(), dtype=str(expected.dtype).replace("torch.", ""), atol=0, rtol=0),
                 variants=(Variant(Tensor((z >= 0).double().numpy(), atol=0, rtol=0), AT_ZERO),))


def _tensor_probes(refs, rng):
    z64 = torch.tensor([[-1.5, 0.0, 2.0, 0.25], [3.0, -0.0, -7.0, 1e-12]], dtype=torch.float64)
    z32 = torch.tensor([0.5, -0.5, 0.0, 4.0, -1e-6], dtype=torch.float32)
    return [_tensor_probe(refs, z64), _tensor_probe(refs, z32)]


def _integer_probes(refs, rng):
    z = torch.tensor([-2, -1, 0, 1, 2], dtype=torch.int64)
    return [Probe(call("step", z), shows("step", z), Tensor(refs.step.step(z).numpy(), floating=True, atol=0, rtol=0),
                  variants=(Variant(Tensor((z >= 0).double().numpy(), atol=0, rtol=0), AT_ZERO),))]


def _hidden_probes(refs, rng):
    probes = []
    for dtype in (torch.float64, torch.float32):
        shape = tuple(int(n) for n in rng.integers(1, 6, size=int(rng.integers(1, 4))))
        values = torch.from_numpy(rng.normal(size=shape)).to(dtype)
        values = torch.where(torch.from_numpy(rng.random(shape) < 0.2), torch.zeros((), dtype=dtype), values)
        if values.numel() < 2:  # room for a NaN and a zero
            values = torch.cat([values.reshape(-1), torch.zeros(1, dtype=dtype)])
        flat = values.view(-1)
        flat[0] = float("nan")
        if not (flat[1:] == 0).any():  # the check promises a zero: the classic mistake is at z == 0
            flat[1 + int(rng.integers(flat.numel() - 1))] = 0.0
        probes.append(_tensor_probe(refs, values))
    return probes


CHECKS = (
    Check("step.scalar", "step", 2, "public", N_("step on Python numbers returns 1 or 0"), "step", _scalar_probes),
    Check("step.tensor", "step", 3, "public", N_("step on tensors keeps shape and floating dtype"), "step",
          _tensor_probes, stage_hints={"dtype": _dtype_hint}),
    Check("step.integer_input", "step", 2, "public", N_("step on an integer tensor gives floating 1.0 and 0.0"),
          "step", _integer_probes, stage_hints={"dtype": _dtype_hint}),
    Check("step.hidden", "step", 3, "hidden", N_("step on random tensors, with zeros and NaN, in float32 and float64"),
          "step", _hidden_probes, stage_hints={"dtype": _dtype_hint}),
)
