"""Table-driven tests of the comparison: coarse to fine, first mismatch described."""
import numpy as np
import pytest

from grader.compare import (DecodeError, Map, Number, Numbers, ReceivedArray, ReceivedNumber, ReceivedObject, Seq,
                            Tensor, compare, decode)
from grader.harness.codec import decode_input, decode_tensor_info, encode_array, tensor_payload


def array(values, dtype="float64", source="tensor"):
    return ReceivedArray(np.asarray(values, dtype=np.float64), dtype, source)


CASES = [
    ("equal tensor", Tensor(np.array([1.0, 2.0]), dtype="float64"), array([1.0, 2.0]), None),
    ("list accepted like torch.as_tensor", Tensor(np.array([1.0, 2.0])), [ReceivedNumber(1, "int"), ReceivedNumber(2.0, "float")], None),
    ("numpy array of matching dtype", Tensor(np.array([1.0]), dtype="float32"), array([1.0], "float32", "numpy"), None),
    ("wrong type", Tensor(np.array([1.0])), ReceivedObject("builtins.str"), "type"),
    ("None", Tensor(np.array([1.0])), None, "type"),
    ("wrong shape", Tensor(np.zeros((2, 3))), array(np.zeros((3, 2))), "shape"),
    ("0-d against (1,)", Tensor(np.array(1.0)), array([1.0]), "shape"),
    ("wrong dtype", Tensor(np.array([1.0]), dtype="float32"), array([1.0], "float64"), "dtype"),
    ("bool where floating needed", Tensor(np.array([1.0]), floating=True), array([1.0], "bool"), "dtype"),
    ("wrong values", Tensor(np.array([1.0, 2.0])), array([1.0, 2.5]), "values"),
    ("NaN never equals", Tensor(np.array([0.0])), array([np.nan]), "values"),
    ("within tolerance", Number(1.0), ReceivedNumber(1.0 + 1e-9, "float"), None),
    ("0-d tensor is a number", Number(2.0), array(2.0), None),
    ("python number required", Number(1.0, python_only=True), array(1.0), "type"),
    ("sequence length", Seq((Number(1.0), Number(2.0))), (ReceivedNumber(1, "int"),), "shape"),
    ("pair of numbers from a 1-d tensor", Seq((Number(1.0), Number(2.0))), array([1.0, 2.0]), None),
    ("list of numbers within tolerance", Seq((Number(1.0), Number(2.0, atol=0.1))), array([1.0 + 1e-9, 2.05]), None),
    ("list of numbers, one off", Seq((Number(1.0), Number(2.0))), array([1.0, 2.1]), "values"),
    ("infinities in a list of numbers match", Seq((Number(np.inf), Number(-np.inf))), array([np.inf, -np.inf]), None),
    ("NaN in a list of numbers", Seq((Number(1.0), Number(2.0))), array([1.0, np.nan]), "values"),
    ("missing key", Map({"c": Number(1.0)}), {"d": ReceivedNumber(1, "int")}, "type"),
    ("nested value", Map({"c": Number(1.0)}), {"c": ReceivedNumber(3, "int")}, "values"),
]


@pytest.mark.parametrize("expected, received, stage", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_compare_reports_the_first_mismatch(expected, received, stage):
    mismatch = compare(expected, received)
    assert (mismatch.stage if mismatch else None) == stage


def test_values_mismatch_names_count_error_and_positions():
    mismatch = compare(Tensor(np.zeros((2, 2))), array([[0.0, 1.0], [0.0, np.nan]]))
    assert "2 of 4 values differ" in mismatch.detail
    assert "1 is NaN" in mismatch.detail
    assert "at (0, 1) expected 0.0, got 1.0" in mismatch.detail


@pytest.mark.parametrize("payload", [
    {"tensor": {"dtype": "float64", "shape": [3], "data": "AAAA"}},  # too few bytes for the shape
    {"tensor": {"dtype": "float64", "shape": [-1], "data": ""}},
    {"tensor": {"dtype": "float64", "shape": "big", "data": ""}},
    {"sequence": "not a list"},
    {"number": "one"},
    "just a string",
    {"unknown": 1},
])
def test_malformed_results_are_rejected(payload):
    with pytest.raises(DecodeError):
        decode(payload)


def test_round_trip_of_an_array():
    payload = encode_array(np.arange(6, dtype=np.float32).reshape(2, 3))
    received = decode(payload)
    assert received.dtype == "float32" and received.values.shape == (2, 3)
    assert compare(Tensor(np.arange(6.0).reshape(2, 3), dtype="float32"), received) is None
    assert decode(tensor_payload(np.ones(2))).values.tolist() == [1.0, 1.0]


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "int64", "bool"])
@pytest.mark.parametrize("shape", [(3, 2), (5,), (), (0,), (2, 0, 3)], ids=str)
def test_the_child_rebuilds_inputs_exactly_and_writable(dtype, shape):
    import torch

    values = np.random.default_rng(0).normal(size=shape) * 3
    payload = tensor_payload(values, dtype)
    rebuilt = decode_input({"tuple": [payload, {"float": 0.5}]})[0]
    checked, _dtype = decode_tensor_info(payload["tensor"])  # the validating reader of untrusted payloads
    assert rebuilt.dtype == getattr(torch, dtype) and tuple(rebuilt.shape) == shape
    assert torch.equal(rebuilt, torch.from_numpy(checked).to(getattr(torch, dtype)))
    rebuilt.zero_()  # the student's to change in place


def _student_tensors():
    """Tensors as student code returns them: views with any strides, other dtypes, a graph behind them."""
    import torch

    base = torch.arange(24, dtype=torch.float64).reshape(2, 3, 4) / 7
    return {"contiguous": base, "transposed": base[0].T, "a column": base[1, :, 2], "permuted": base.permute(2, 0, 1),
            "every other": base[:, ::2, 1::2], "float32": base.float(), "int64": base.long(), "bool": base > 1,
            "0-d": base[1, 2, 3], "empty": base[:, :0], "requires grad": base.clone().requires_grad_() * 2,
            "NaN and infinities": torch.tensor([float("nan"), float("inf"), -float("inf")])}


@pytest.mark.parametrize("name", list(_student_tensors()))
def test_a_returned_tensor_travels_in_row_major_order_as_float64(name):
    """The child sends tensor.tolist()'s values, whatever the view's strides or dtype (codec.encode)."""
    from grader.harness.codec import encode

    tensor = _student_tensors()[name]
    received = decode(encode(tensor))
    assert received.dtype == str(tensor.dtype).replace("torch.", "") and received.values.shape == tuple(tensor.shape)
    assert received.requires_grad == tensor.requires_grad
    np.testing.assert_array_equal(received.values, np.array(tensor.detach().tolist(), dtype=np.float64).reshape(tensor.shape))


NUMBERS = np.array([0.5, -1.25, 3.0, 1e-12, 7.5])
RECEIVED_FOR_NUMBERS = {
    "equal": array(NUMBERS),
    "one value off": array(np.where(np.arange(5) == 2, 3.1, NUMBERS)),
    "within tolerance": array(NUMBERS + 1e-10),
    "NaN": array(np.where(np.arange(5) == 4, np.nan, NUMBERS)),
    "too short": array(NUMBERS[:3]),
    "2-d": array(NUMBERS.reshape(5, 1)),
    "a list of floats, one off": [ReceivedNumber(float(v) + (1.0 if i == 1 else 0.0), "float") for i, v in enumerate(NUMBERS)],
    "a list holding an object": [ReceivedObject("Value")] * 5,
    "an object": ReceivedObject("Value"),
    "None": None,
}


@pytest.mark.parametrize("case", sorted(RECEIVED_FOR_NUMBERS))
def test_numbers_say_what_a_seq_of_numbers_says(case):
    """Numbers is Seq of Number held as one array: every verdict and message is the same."""
    received = RECEIVED_FOR_NUMBERS[case]
    packed = Numbers(NUMBERS, atol=1e-9, rtol=1e-7, name="list of node values")
    items = Seq(tuple(Number(float(v), atol=1e-9, rtol=1e-7) for v in NUMBERS), name="list of node values")
    assert compare(packed, received) == compare(items, received)
    assert (compare(packed, received) is None) == (case in ("equal", "within tolerance"))
