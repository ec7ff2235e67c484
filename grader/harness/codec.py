"""Plain-data encoding of values that cross the process boundary.

Both directions use JSON: tensors travel as dtype, shape and float64 bytes in
base64, never as pickles. The untrusted side only encodes what it can describe
exactly (exact torch.Tensor, numpy.ndarray, Python numbers, lists, tuples,
dicts with string keys); anything else is reported by type name only.
This module imports neither torch nor numpy at module level so that the
trusted side can use `decode` without torch.
"""
import base64
import math

MAX_DEPTH = 8
MAX_ELEMENTS = 2_000_000


class EncodeLimit(Exception):
    """The value is too deep or too large to send back."""


def encode_tensor(tensor):
    """Encode an exact torch.Tensor as {"tensor": {...}} (float64 bytes)."""
    import torch

    info = {"dtype": str(tensor.dtype).replace("torch.", ""), "shape": list(tensor.shape)}
    if tensor.layout is not torch.strided or not tensor.is_cpu or tensor.is_complex():
        return {"object": f"torch.Tensor ({info['dtype']}, {tensor.layout}, {tensor.device})"}
    if tensor.numel() > MAX_ELEMENTS:
        raise EncodeLimit(f"a tensor with {tensor.numel()} elements")
    values = tensor.detach()
    if values.dtype is not torch.float64:
        values = values.to(torch.float64)
    info["data"] = base64.b64encode(values.numpy().tobytes()).decode("ascii")  # tobytes: row-major, whatever the strides
    info["requires_grad"] = bool(tensor.requires_grad)
    return {"tensor": info}


def encode_array(array):
    """Encode an exact numpy.ndarray of numbers like a tensor."""
    import numpy

    info = {"dtype": str(array.dtype), "shape": list(array.shape)}
    if array.dtype.kind not in "biuf":
        return {"object": f"numpy.ndarray of {array.dtype}"}
    if array.size > MAX_ELEMENTS:
        raise EncodeLimit(f"an array with {array.size} elements")
    flat = numpy.ascontiguousarray(array, dtype=numpy.float64).reshape(-1)
    info["data"] = base64.b64encode(flat.tobytes()).decode("ascii")
    return {"array": info}


def encode(value, depth=0):
    """Describe `value` as plain JSON-able data; see the module docstring."""
    if depth > MAX_DEPTH:
        raise EncodeLimit("a value nested too deeply")
    kind = type(value)
    if value is None:
        return {"none": True}
    if kind in (bool, int, float):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf if value > 0 else -math.inf
        return {"number": _json_float(number), "type": kind.__name__}
    if kind in (list, tuple):
        if len(value) > MAX_ELEMENTS:
            raise EncodeLimit(f"a {kind.__name__} of {len(value)} items")
        return {"sequence": [encode(item, depth + 1) for item in value], "type": kind.__name__}
    if kind is dict:
        if not all(type(key) is str for key in value):
            return {"object": "dict with non-string keys"}
        return {"mapping": {key: encode(item, depth + 1) for key, item in value.items()}}
    module = getattr(kind, "__module__", "")
    if module == "torch" and kind.__name__ == "Tensor":
        return encode_tensor(value)
    if module == "numpy" and kind.__name__ == "ndarray":
        return encode_array(value)
    if module == "numpy" and kind.__name__ in ("float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8", "bool_", "bool"):
        return {"number": _json_float(float(value)), "type": f"numpy.{kind.__name__}"}
    if module.startswith("torch") and kind.__name__ == "Parameter":
        return {"object": "torch.nn.Parameter", "tensor": encode_tensor(value.data)["tensor"]}
    return {"object": f"{module}.{kind.__qualname__}" if module else kind.__qualname__}


def _json_float(number):
    """JSON has no NaN or infinity: spell them as strings."""
    if math.isnan(number):
        return "nan"
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    return number


def read_float(raw):
    """Inverse of _json_float; rejects anything that is not a number."""
    if isinstance(raw, str):
        if raw in ("nan", "inf", "-inf"):
            return float(raw)
        raise ValueError(f"not a number: {raw[:20]!r}")
    if type(raw) in (int, float):
        return float(raw)
    raise ValueError(f"not a number: {type(raw).__name__}")


def tensor_payload(array_like, dtype="float64"):
    """Encode trusted input data (a numpy array) for the child to rebuild."""
    import numpy

    array = numpy.asarray(array_like, dtype=numpy.float64)
    return {
        "tensor": {
            "dtype": dtype,
            "shape": list(array.shape),
            "data": base64.b64encode(numpy.ascontiguousarray(array).reshape(-1).tobytes()).decode("ascii"),
        }
    }


def decode_tensor_info(info):
    """Rebuild (numpy float64 array, dtype name) from a tensor/array payload.

    Validates everything, since the payload may come from student code.
    """
    import numpy

    if not isinstance(info, dict):
        raise ValueError("tensor payload is not an object")
    shape = info.get("shape")
    dtype = info.get("dtype")
    data = info.get("data")
    if not isinstance(dtype, str) or len(dtype) > 40:
        raise ValueError("bad dtype")
    if not isinstance(shape, list) or len(shape) > 16 or not all(type(d) is int and 0 <= d <= MAX_ELEMENTS for d in shape):
        raise ValueError("bad shape")
    count = math.prod(shape)
    if count > MAX_ELEMENTS or not isinstance(data, str):
        raise ValueError("bad data")
    raw = base64.b64decode(data.encode("ascii"), validate=True)
    if len(raw) != 8 * count:
        raise ValueError(f"data holds {len(raw) // 8} values for shape {tuple(shape)}")
    return numpy.frombuffer(raw, dtype=numpy.float64).reshape(shape).copy(), dtype


def decode_input(payload):
    """Child side: rebuild trusted inputs (tensors in their dtype, lists, numbers).

    Inputs come from the grader (tensor_payload), never from student code: no validation, ~3x faster."""
    import torch

    if isinstance(payload, dict):
        if "tensor" in payload:
            info = payload["tensor"]
            raw = base64.b64decode(info["data"])
            tensor = (torch.frombuffer(bytearray(raw), dtype=torch.float64).reshape(info["shape"]) if raw
                      else torch.zeros(info["shape"], dtype=torch.float64))  # frombuffer refuses an empty buffer
            return tensor if info["dtype"] == "float64" else tensor.to(getattr(torch, info["dtype"]))
        if "tuple" in payload:
            return tuple(decode_input(item) for item in payload["tuple"])
        if "float" in payload:
            return read_float(payload["float"])
        return {key: decode_input(item) for key, item in payload.items()}
    if isinstance(payload, list):
        return [decode_input(item) for item in payload]
    return payload


def build_model(layers):
    """A float64 torch model from [(weight, bias), ...] in nn.Linear layout, sigmoids between.

    The child builds the model it hands to a student's fit; the grader's oracle computes the
    same network without a module (checks/torch_mlp.network_output).
    """
    import torch

    modules = []
    for k, (weight, bias) in enumerate(layers):
        linear = torch.nn.Linear(weight.shape[1], weight.shape[0], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.as_tensor(weight, dtype=torch.float64))
            linear.bias.copy_(torch.as_tensor(bias, dtype=torch.float64))
        modules.append(linear)
        if k < len(layers) - 1:
            modules.append(torch.nn.Sigmoid())
    return torch.nn.Sequential(*modules)
