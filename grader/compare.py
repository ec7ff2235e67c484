"""Compare what the child sent back with what the references expect.

Received values are decoded from untrusted JSON into plain numpy data; this
module never calls a method of a student object (it never sees one). The
comparison goes coarse to fine: type, then shape, then dtype, then values,
and stops at the first mismatch, which it describes.
"""
from __future__ import annotations  # `np.ndarray` in annotations stays a name: numpy loads on first use

from dataclasses import dataclass, field

from grader.harness.codec import decode_tensor_info, read_float
from grader.i18n import N_, _, ngettext
from grader.lazy_imports import np

FLOATING = {"float16", "bfloat16", "float32", "float64"}
STAGES = (N_("type"), N_("shape"), N_("dtype"), N_("values"))  # coarse to fine; named in hidden-check feedback
RESULT = N_("the result")
NUMBER_TYPES = {"int", "float", "bool"}


# ---- received values -------------------------------------------------------

@dataclass(frozen=True)
class ReceivedArray:
    values: np.ndarray
    dtype: str
    source: str  # "tensor" or "numpy"
    requires_grad: bool = False

    def describe(self):
        if self.source == "tensor":
            return _("a tensor of shape {shape} and dtype {dtype}").format(shape=tuple(self.values.shape), dtype=self.dtype)
        return _("a NumPy array of shape {shape} and dtype {dtype}").format(shape=tuple(self.values.shape), dtype=self.dtype)


@dataclass(frozen=True)
class ReceivedNumber:
    value: float
    type: str

    def describe(self):
        return _("a Python {type}").format(type=self.type) if self.type in NUMBER_TYPES else _("a {type}").format(type=self.type)


@dataclass(frozen=True)
class ReceivedObject:
    type: str

    def describe(self):
        return _("an object of type {type}").format(type=self.type)


class DecodeError(ValueError):
    """The child's result is malformed."""


def decode(payload, depth=0):
    """Untrusted encoded value -> ReceivedArray/Number/Object, list, tuple, dict or None."""
    if depth > 10 or not isinstance(payload, dict) or len(payload) > 4 and "mapping" not in payload:
        raise DecodeError("malformed value")
    try:
        if "tensor" in payload and "object" not in payload:
            values, dtype = decode_tensor_info(payload["tensor"])
            return ReceivedArray(values, dtype, "tensor", bool(payload["tensor"].get("requires_grad")))
        if "array" in payload:
            values, dtype = decode_tensor_info(payload["array"])
            return ReceivedArray(values, dtype, "numpy")
        if "number" in payload:
            return ReceivedNumber(read_float(payload["number"]), str(payload.get("type", "number"))[:40])
        if "sequence" in payload:
            items = payload["sequence"]
            if not isinstance(items, list):
                raise DecodeError("malformed sequence")
            decoded = [decode(item, depth + 1) for item in items]
            return tuple(decoded) if payload.get("type") == "tuple" else decoded
        if "mapping" in payload:
            items = payload["mapping"]
            if not isinstance(items, dict):
                raise DecodeError("malformed mapping")
            return {str(key)[:100]: decode(value, depth + 1) for key, value in items.items()}
        if "none" in payload:
            return None
        if "object" in payload:
            return ReceivedObject(str(payload["object"])[:120])
    except (ValueError, TypeError, KeyError) as exc:
        raise DecodeError(f"malformed value: {exc}") from None
    raise DecodeError("malformed value")


def describe(received):
    if received is None:
        return "None"
    if isinstance(received, list):
        return _("a list of {count} items").format(count=len(received))
    if isinstance(received, tuple):
        return _("a tuple of {count} items").format(count=len(received))
    if isinstance(received, dict):
        return _("a dict with keys {keys}").format(keys=sorted(received)[:8])
    return received.describe()


# ---- expectations ------------------------------------------------------------

@dataclass(frozen=True)
class Tensor:
    """Expect an array of these values and shape.

    dtype: required dtype of a tensor/ndarray result (None: any); floating:
    any floating dtype is required (used for step on integer input).
    """

    values: np.ndarray
    dtype: str = None
    floating: bool = False
    atol: float = 1e-6
    rtol: float = 1e-5


@dataclass(frozen=True)
class Number:
    """Expect a number; python_only requires a Python int/float, not a tensor."""

    value: float
    python_only: bool = False
    atol: float = 1e-6
    rtol: float = 1e-5


@dataclass(frozen=True)
class Seq:
    items: tuple
    name: str = N_("sequence")


@dataclass(frozen=True, eq=False)
class Numbers:
    """Expect a sequence of numbers, as a Seq of Number with one tolerance would, held as one float64 array.

    A random Value graph's expectation is ~500 numbers a student: as Number objects, built and then
    gathered back into an array by compare, they cost about as much as computing them."""

    values: np.ndarray
    atol: float = 1e-6
    rtol: float = 1e-5
    name: str = N_("sequence")

    def as_seq(self):
        return Seq(tuple(Number(float(value), atol=self.atol, rtol=self.rtol) for value in self.values), name=self.name)


@dataclass(frozen=True)
class Map:
    items: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Mismatch:
    """The first way a result differs from what was expected."""

    stage: str  # "type", "shape", "dtype", "values"
    path: str
    expected: str  # these three are text for people, in the active language
    received: str
    detail: str = ""
    facts: dict = field(default_factory=dict)  # the same, as data for code: shapes, dtype, NaN count, ...


def _as_array(received):
    """Accept what torch.as_tensor would turn into numbers; else None."""
    if isinstance(received, ReceivedArray):
        return received.values
    if isinstance(received, ReceivedNumber):
        return np.asarray(received.value, dtype=np.float64)
    if isinstance(received, (list, tuple)):
        parts = [_as_array(item) for item in received]
        if any(part is None for part in parts):
            return None
        if parts and any(part.shape != parts[0].shape for part in parts):
            return None
        return np.stack(parts) if parts else np.zeros((0,))
    return None


def format_array(values, limit=8):
    values = np.asarray(values)
    if values.ndim == 0:
        return format_number(float(values))
    if values.size <= limit:
        return np.array2string(values, precision=6, separator=", ", suppress_small=False).replace("\n", "")
    return _("an array of shape {shape}").format(shape=tuple(values.shape))


def format_number(value):
    return f"{value:.6g}" if not (np.isfinite(value) and value == int(value)) else f"{value:.1f}"


def _index(index):
    return "(" + ", ".join(str(int(i)) for i in index) + ("," if len(index) == 1 else "") + ")"


def _closeness(got, expected, atol, rtol):
    """numpy.isclose(got, expected) (NaN never close), or None when every value is close: that common case is
    decided by isclose's own test in one pass, without its overhead; infinities and NaN take the full path."""
    with np.errstate(invalid="ignore", over="ignore"):
        if (np.abs(got - expected) <= atol + rtol * np.abs(expected)).all():
            return None
    close = np.isclose(got, expected, atol=atol, rtol=rtol, equal_nan=False)
    return None if close.all() else close


def _values_mismatch(path, expected, got, atol, rtol):
    close = _closeness(got, expected, atol, rtol)
    if close is None:
        return None
    facts = {"nan": int(np.isnan(got).sum()), "summarised": expected.size > 8}
    if expected.ndim == 0:
        return Mismatch("values", path, format_number(float(expected)), format_number(float(got)), facts=facts)
    wrong = ~close
    error = np.abs(got - expected)
    error = np.where(np.isnan(error), np.inf, error)
    parts = [_("{wrong} of {count} values differ").format(wrong=int(wrong.sum()), count=wrong.size)]
    if facts["nan"]:
        parts.append(ngettext("{count} is NaN", "{count} are NaN", facts["nan"]).format(count=facts["nan"]))
    infinite = int(np.isinf(got).sum())
    if infinite:
        parts.append(ngettext("{count} is infinite", "{count} are infinite", infinite).format(count=infinite))
    worst = np.unravel_index(int(np.argmax(error)), error.shape)
    parts.append(_("largest absolute error {error} at index {index}").format(error=f"{float(error[worst]):.3g}",
                                                                             index=_index(worst)))
    for index in np.argwhere(wrong)[:3]:
        index = tuple(index)
        parts.append(_("at {index} expected {expected}, got {received}").format(
            index=_index(index), expected=format_number(float(expected[index])), received=format_number(float(got[index]))))
    return Mismatch("values", path, format_array(expected), format_array(got), "; ".join(parts), facts)


_NOT_FLAT = object()


def _flat_numbers(want, atol, rtol, received, path, item):
    """Numbers expected as one float64 array against a result of the same flat shape, all at once: None when every
    value is close, else the first one that is not, judged as item(index) (a Number) would be; _NOT_FLAT when the
    result is not an array of that shape."""
    got = _as_array(received)
    if not want.size or got is None or got.shape != want.shape:
        return _NOT_FLAT
    close = _closeness(got, want, atol, rtol)
    if close is None:
        return None
    index = int(np.argmin(close))
    return compare(item(index), ReceivedNumber(float(got[index]), "float"), f"{path}[{index}]")


def compare(expected, received, path=None):
    """Return the first Mismatch between an expectation and a decoded result, or None."""
    path = _(RESULT) if path is None else path
    if isinstance(expected, Number):
        if expected.python_only and not (isinstance(received, ReceivedNumber) and received.type in NUMBER_TYPES):
            return Mismatch("type", path, _("a Python number (int or float)"), describe(received))
        got = _as_array(received)
        if got is None or got.size != 1:
            return Mismatch("type", path, _("a number"), describe(received))
        return _values_mismatch(path, np.float64(expected.value), np.float64(got.reshape(())), expected.atol, expected.rtol)
    if isinstance(expected, Tensor):
        want = np.asarray(expected.values, dtype=np.float64)
        got = _as_array(received)
        if got is None:
            return Mismatch("type", path, _("a tensor of shape {shape}").format(shape=tuple(want.shape)), describe(received))
        if got.shape != want.shape:
            return Mismatch("shape", path, _("shape {shape}").format(shape=tuple(want.shape)),
                            _("shape {shape}").format(shape=tuple(got.shape)),
                            facts={"expected_shape": tuple(want.shape), "received_shape": tuple(got.shape)})
        if isinstance(received, ReceivedArray):
            if expected.dtype and received.dtype != expected.dtype:
                return Mismatch("dtype", path, _("dtype {dtype}").format(dtype=expected.dtype),
                                _("dtype {dtype}").format(dtype=received.dtype), facts={"received_dtype": received.dtype})
            if expected.floating and received.dtype not in FLOATING:
                return Mismatch("dtype", path, _("a floating dtype"), _("dtype {dtype}").format(dtype=received.dtype),
                                facts={"received_dtype": received.dtype})
        return _values_mismatch(path, want, got, expected.atol, expected.rtol)
    if isinstance(expected, Numbers):
        mismatch = _flat_numbers(expected.values, expected.atol, expected.rtol, received, path, lambda index: Number(
            float(expected.values[index]), atol=expected.atol, rtol=expected.rtol))
        if mismatch is not _NOT_FLAT:
            return mismatch
        return compare(expected.as_seq(), received, path)  # not a flat array of that length: say how, item by item
    if isinstance(expected, Seq):
        if expected.items and all(isinstance(item, Number) and not item.python_only for item in expected.items):
            mismatch = _flat_numbers(np.array([item.value for item in expected.items], dtype=np.float64),
                                     np.array([item.atol for item in expected.items]),
                                     np.array([item.rtol for item in expected.items]),
                                     received, path, expected.items.__getitem__)
            if mismatch is not _NOT_FLAT:
                return mismatch
        if not isinstance(received, (list, tuple)):
            return Mismatch("type", path, _("a {kind} of {count} items").format(kind=_(expected.name), count=len(expected.items)),
                            describe(received))
        if len(received) != len(expected.items):
            return Mismatch("shape", path, _("{count} items").format(count=len(expected.items)),
                            _("{count} items").format(count=len(received)))
        for index, (item, got) in enumerate(zip(expected.items, received)):
            mismatch = compare(item, got, f"{path}[{index}]")
            if mismatch:
                return mismatch
        return None
    if isinstance(expected, Map):
        if not isinstance(received, dict):
            return Mismatch("type", path, _("a dict with keys {keys}").format(keys=sorted(expected.items)), describe(received))
        for key, item in expected.items.items():
            if key not in received:
                return Mismatch("type", path, _("a dict with key {key}").format(key=repr(key)),
                                _("a dict with keys {keys}").format(keys=sorted(received)[:8]))
            mismatch = compare(item, received[key], f"{path}[{key!r}]")
            if mismatch:
                return mismatch
        return None
    raise TypeError(f"unknown expectation {expected!r}")

