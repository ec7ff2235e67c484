"""What a check is: which student name it uses, on which inputs, judged how.

A check builds its probes from a seed: each probe is one call for the child
(with inputs encoded as plain data) plus the expectation computed here, in
the trusted process, from the references or torch.autograd. Known wrong
answers (variants) can ride along so that feedback can name the mistake.
"""
import math
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

from grader.lazy_imports import np

from grader.harness.codec import tensor_payload


@dataclass(frozen=True)
class Variant:
    """A known wrong answer for the same inputs: which misconception of the catalogue it shows.

    `expected` is an expectation from grader.compare or a judge function;
    `make` builds the expectation on demand, for variants that cost a
    computation and are only needed when a result is wrong.
    """

    expected: Any = None
    misconception: str = ""  # an id of grader.misconceptions.CATALOGUE
    make: Callable = None

    def expectation(self):
        return self.make() if self.make is not None else self.expected


@dataclass(frozen=True)
class Probe:
    """One call the child makes, and what the grader expects back.

    expected is an expectation (grader.compare.Tensor, Number, Seq, Map) or a
    function received -> Mismatch | None for judgements that need the
    references (e.g. a gate's truth table from the student's weights).
    """

    call: dict
    display: Any  # how the call reads in feedback, e.g. "step(0.0)": a str or a LazyText made on first use
    expected: Any
    variants: tuple = ()
    no_warnings: bool = False

    @property
    def shows(self) -> str:
        return str(self.display)


@dataclass(frozen=True)
class Check:
    id: str
    exercise: str
    points: float
    visibility: str  # "public" or "hidden"
    description: str  # what is checked, one line, safe to show for hidden checks
    target: str  # the student name the check uses
    make_probes: Callable  # (references, numpy Generator) -> list[Probe]
    # mismatch stage -> a misconception id or a plain hint, or a function of the Mismatch giving one
    stage_hints: dict = field(default_factory=dict)


def seed_for(check_id: str, base_seed: int = 0) -> int:
    """A stable seed per check: public checks use base 0, hidden ones a per-student base."""
    return zlib.crc32(f"{base_seed}:{check_id}".encode())


def encode_input(value):
    """Trusted input -> plain data for the child (see codec.decode_input)."""
    import torch

    if isinstance(value, torch.Tensor):
        return tensor_payload(value.detach().to(torch.float64).numpy(), str(value.dtype).replace("torch.", ""))
    if isinstance(value, np.ndarray):
        return tensor_payload(value, str(value.dtype))
    if isinstance(value, tuple):
        return {"tuple": [encode_input(item) for item in value]}
    if isinstance(value, list):
        return [encode_input(item) for item in value]
    if isinstance(value, dict):
        return {key: encode_input(item) for key, item in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": str(value)}
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    raise TypeError(f"cannot send {type(value).__name__} to the child")


def call(name, *args, bans=(), **kwargs):
    """A plain function call on the student's module."""
    return {"kind": "call", "name": name, "args": [encode_input(a) for a in args],
            "kwargs": {key: encode_input(v) for key, v in kwargs.items()}, "bans": list(bans)}


def show_value(value, limit=12):
    """Short text for an input value in public feedback."""
    import torch

    if isinstance(value, torch.Tensor):
        if value.numel() <= limit:
            shown = value.detach() if not value.is_floating_point() else value.detach().to(torch.float64)
            text = np.array2string(shown.numpy(), precision=4, separator=", ")
            text = text.replace("\n", "")
            return f"tensor({text}, dtype={str(value.dtype).replace('torch.', '')})"
        return f"a {str(value.dtype).replace('torch.', '')} tensor of shape {tuple(value.shape)}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(show_value(item, limit) for item in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    return repr(value)


class LazyText:
    """Text made only when first read: most probes pass, or are hidden, and are never shown."""

    __slots__ = ("_make", "_text")

    def __init__(self, make):
        self._make, self._text = make, None

    def __str__(self):
        if self._text is None:
            self._text = self._make()
            self._make = None
        return self._text

    def __repr__(self):
        return repr(str(self))

    def __eq__(self, other):
        return str(self) == str(other)

    def __hash__(self):
        return hash(str(self))


def shows(name, *args, **kwargs):
    """How a call reads in feedback (made lazily): values in full when short, else tensors by shape."""
    return LazyText(lambda: _shows_now(name, *args, **kwargs))


def _shows_now(name, *args, **kwargs):
    for limit in (12, 0):
        parts = [show_value(arg, limit) for arg in args] + [f"{key}={show_value(value, limit)}" for key, value in kwargs.items()]
        text = f"{name}({', '.join(parts)})"
        if len(text) <= 160:
            break
    return text
