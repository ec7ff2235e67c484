"""The untrusted child: import each exercise file, make the calls, report.

It receives a plan (files, and per exercise its bans and calls with their
inputs) and writes one JSON line per event to the result pipe. It never
compares anything: it does not know what the right answers are.
"""
import contextlib
import json
import operator
import os
import time
import traceback
import warnings

import torch

import bans
import codec
import stand_ins
import student_import

MAX_MESSAGE = 600


_encode_event = json.JSONEncoder(allow_nan=False).encode  # one encoder, not one per event as json.dumps(allow_nan=...)


class Reporter:
    def __init__(self, fd):
        self.fd = fd

    def emit(self, event):
        data = (_encode_event(event) + "\n").encode()
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]


def _safe_text(value):
    try:
        text = str(value)
    except BaseException:  # noqa: BLE001 - a student __str__ may raise anything
        text = "<unprintable>"
    return text[:MAX_MESSAGE]


def describe_exception(exc, student_files):
    """Type, message and the traceback trimmed to the student's own files."""
    frames = []
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename in student_files:
            frames.append({"file": os.path.basename(frame.filename), "line": frame.lineno,
                           "function": frame.name, "code": (frame.line or "")[:200]})
    return {"type": type(exc).__name__, "message": _safe_text(exc), "frames": frames[-8:]}


GRAPH_OPERATIONS = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul,
}


def run_graph(value_class, program, with_backward=True):
    """Build a graph with the student's Value class, call backward on the last node.

    Program steps: ["leaf", x], [op, i, j] for op in add/sub/mul on nodes i and j,
    [op + "_const", i, c] (node op number), ["r" + op + "_const", c, i]
    (number op node), ["neg", i], ["pow", i, k], ["exp", i], ["sigmoid", i].
    Returns each node's data and grad.
    """
    nodes = []
    for step in program:
        op = step[0]
        if op == "leaf":
            node = value_class(step[1])
        elif op in GRAPH_OPERATIONS:
            node = GRAPH_OPERATIONS[op](nodes[step[1]], nodes[step[2]])
        elif op.endswith("_const") and op.startswith("r"):
            node = GRAPH_OPERATIONS[op[1:-6]](step[1], nodes[step[2]])
        elif op.endswith("_const"):
            node = GRAPH_OPERATIONS[op[:-6]](nodes[step[1]], step[2])
        elif op == "neg":
            node = -nodes[step[1]]
        elif op == "pow":
            node = nodes[step[1]] ** step[2]
        elif op in ("exp", "sigmoid"):
            node = getattr(nodes[step[1]], op)()
        else:
            raise ValueError(f"unknown graph step {op!r}")
        nodes.append(node)
    data = _numbers([getattr(node, "data", None) for node in nodes])
    if not with_backward:
        return {"mapping": {"data": data}}
    nodes[-1].backward()
    return {"mapping": {"data": data, "grad": _numbers([getattr(node, "grad", None) for node in nodes])}}


def _numbers(values):
    """Plain floats travel as one float64 array; anything else item by item, so the grader can say what it was."""
    if all(type(value) in (float, int) for value in values):
        import numpy

        return codec.encode_array(numpy.array(values, dtype=numpy.float64))
    return {"sequence": [codec.encode(value) for value in values]}


def resolve_inputs(payload):
    """Decode inputs; {"model": layers} becomes a fresh torch model."""
    if isinstance(payload, dict) and "model" in payload:
        return codec.build_model(codec.decode_input(payload["model"]))
    return codec.decode_input(payload)


def decode_inputs(call):
    """A call's inputs, rebuilt: {"args", "kwargs"} for a call, {"args", "state", "input"} for a module."""
    inputs = {"args": [resolve_inputs(arg) for arg in call.get("args", [])]}
    if call["kind"] == "call":
        inputs["kwargs"] = {key: resolve_inputs(value) for key, value in call.get("kwargs", {}).items()}
    elif call["kind"] == "module" and call.get("state") is not None:
        inputs["state"] = {key: resolve_inputs(value) for key, value in call["state"].items()}
        inputs["input"] = resolve_inputs(call["input"])
    return inputs


PREPARED = {}  # call id -> inputs the zygote decoded before forking (public calls, the same in every job)


def prepare(calls):
    """In the zygote: decode the inputs of calls that every job makes, once; each child gets its own copy (the
    fork's), so what one student's code does to them reaches no one else."""
    for call in calls:
        PREPARED[call["id"]] = decode_inputs(call)


def _inputs(call):
    return PREPARED[call["id"]] if call.get("prepared") else decode_inputs(call)


def inspect_module(module_class, call, inputs):
    model = module_class(*inputs["args"])
    result = {"is_module": codec.encode(isinstance(model, torch.nn.Module))}
    if isinstance(model, torch.nn.Module):
        layers = getattr(model, "layers", None)
        result["layers_type"] = {"object": type(layers).__name__}
        if isinstance(layers, torch.nn.ModuleList):
            result["layer_types"] = {"sequence": [{"object": type(layer).__name__} for layer in layers]}
        state = model.state_dict()
        result["state_shapes"] = {"mapping": {key: codec.encode(list(value.shape)) for key, value in state.items()}}
        if "state" in inputs:
            model = model.to(torch.float64)
            model.load_state_dict(inputs["state"])
            with torch.no_grad():
                result["output"] = codec.encode(model(inputs["input"]))
    return {"mapping": result}


class Returned:
    """A plain return value, encoded after the bans are lifted: the encoding is ours, not the student's."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def perform(module, call):
    """Make one call on the student's module; return its encoded result (or a Returned to encode)."""
    kind = call["kind"]
    if kind == "attribute":
        return Returned(getattr(module, call["name"]))
    target = getattr(module, call["name"])
    if kind == "call":
        inputs = _inputs(call)
        return Returned(target(*inputs["args"], **inputs["kwargs"]))
    if kind == "graph":
        return run_graph(target, call["program"], call.get("backward", True))
    if kind == "module":
        return inspect_module(target, call, _inputs(call))
    raise ValueError(f"unknown call kind {kind!r}")


@contextlib.contextmanager
def recorded_warnings():
    """Every warning, recorded in a list instead of shown; run_call takes the ones its call adds."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def run_call(module, call, student_files, module_globals, caught):
    """Make one call and describe how it went. `caught` is the record of warnings kept around all the calls of
    an exercise (recorded_warnings); this call's warnings are those it adds."""
    started = time.perf_counter()
    outcome = {}
    bans.clear()
    first = len(caught)
    name = call.get("name")
    if not hasattr(module, name):
        outcome["missing"] = name
    else:
        try:
            with bans.guarded(call.get("bans", ()), module_globals):
                value = perform(module, call)
            outcome["value"] = codec.encode(value.value) if isinstance(value, Returned) else value
        except codec.EncodeLimit as exc:
            outcome["error"] = {"type": "ResultTooLarge", "message": str(exc), "frames": []}
        except BaseException as exc:  # noqa: BLE001 - student code may raise anything
            outcome["error"] = describe_exception(exc, student_files)
    if bans.violations():
        outcome["forbidden"] = bans.violations()[0]
    outcome["warnings"] = [f"{w.category.__name__}: {_safe_text(w.message)}" for w in caught[first:first + 5]]
    outcome["seconds"] = time.perf_counter() - started
    return outcome


def _run_exercise(exercise, path, compiled, reporter, student_files, exercise_names, stand_in_modules):
    """Import one exercise file under its bans, then make its calls; each step reported as it ends."""
    name = exercise["name"]
    student_import.prepare_context(name, exercise_names, stand_in_modules)
    bans.clear()
    load = {"event": "loaded", "exercise": name}
    module = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with bans.guarded(exercise.get("import_bans", ())):
                module = student_import.load(name, path, compiled)
        except BaseException as exc:  # noqa: BLE001
            load["error"] = describe_exception(exc, student_files)
    if bans.violations():
        load["forbidden"] = bans.violations()[0]
    reporter.emit(load)
    if module is None or "forbidden" in load:
        return
    with recorded_warnings() as caught:  # one record for all the calls: per call, ~15 us a call, ~75 calls a student
        for call in exercise["calls"]:
            outcome = run_call(module, call, student_files, vars(module), caught)
            reporter.emit({"event": "call", "exercise": name, "call": call["id"], **outcome})


def run_plan(plan, reporter):
    files = plan["files"]
    exercise_names = plan["exercise_names"]
    student_files = set(files.values()) | {student_import.compiled_name(f"{name}.py") for name in files}
    student_import.install(files)
    student_import.new_exercises_package()
    stand_in_modules = stand_ins.make_stand_ins()
    for exercise in plan["exercises"]:
        name = exercise["name"]
        reporter.emit({"event": "begin", "exercise": name})
        with bans.holding():  # the import and the calls of one exercise share their bans' kernels
            _run_exercise(exercise, files[name], plan.get("compiled", {}).get(name), reporter,
                          student_files, exercise_names, stand_in_modules)
        reporter.emit({"event": "end", "exercise": name})
