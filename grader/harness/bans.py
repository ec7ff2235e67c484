"""Detect banned calls while student code runs.

Two bans from the exercise contract: no library sigmoid in sigmoid.py, no
autograd in mlp_backward and train. Both are enforced where every route ends,
so that no alias, getattr or private path gets around them, and without a
hook on every torch call (a TorchFunctionMode here cost ~3 us a torch call,
~4 ms a student):
  sigmoid   torch's dispatcher gets, for the block, a kernel for aten::sigmoid
            (and its in-place and out= forms) that flags the call. torch.sigmoid,
            Tensor.sigmoid, torch.special.expit, F.sigmoid, nn.Sigmoid and
            torch.ops.aten.sigmoid all arrive there, on dense or sparse tensors,
            with or without grad mode. scipy's expit, a numpy ufunc, is wrapped.
  autograd  the backward engine is swapped for one that flags (Tensor.backward,
            torch.autograd.backward and .grad, torch.func's gradients all run it);
            a saved-tensors hook flags any computation recorded for autograd
            (a tensor that requires grad, however it was made); requires_grad_,
            nn.Parameter and forward-mode dual tensors flag where they are called.
A banned call records a violation and raises ForbiddenCall, a BaseException so
that a plain `except Exception` in student code does not swallow it; the
violation is kept even if the student catches that too.
"""
import contextlib
import sys
import warnings

import torch
from torch.autograd.variable import Variable


class ForbiddenCall(BaseException):
    """Raised in student code at a banned call."""


_violations = []


def violations():
    return list(_violations)


def clear():
    _violations.clear()


def _flag(name):
    _violations.append(name)
    raise ForbiddenCall(f"{name} is not allowed here")


class _KernelBan:
    """Kernels that flag, put in front of torch's own for some aten operators.

    Registered at the CPU key and at the Autograd alias (every backend's autograd key), so that
    inference mode, which skips the autograd keys, and sparse tensors, which have kernels of their own,
    meet one of them. Registering costs ~10 us a kernel: see holding()."""

    KEYS = ("CPU", "Autograd")

    def __init__(self, names):
        self.names = names  # operator (overload) -> the public name reported
        self.library = None

    def hold(self):
        if self.library is not None:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "overriding a previously registered kernel": that is the point
            library = torch.library.Library("aten", "IMPL")
            for operator, public in self.names.items():
                def banned(*args, _public=public, **kwargs):
                    _flag(_public)
                for key in self.KEYS:
                    library.impl(operator, banned, key)
        self.library = library

    def release(self):
        library, self.library = self.library, None
        if library is not None:  # torch's kernels are the ones used again
            getattr(library, "_destroy", lambda: None)()  # torch >= 2.2; before, dropping the last reference did it


SIGMOID_KERNELS = {"sigmoid": "torch.sigmoid", "sigmoid_": "Tensor.sigmoid_", "sigmoid.out": "torch.sigmoid"}
DUAL_KERNELS = {"_make_dual": "forward-mode autograd (dual tensors)"}
KERNEL_BANS = {"sigmoid": _KernelBan(SIGMOID_KERNELS), "autograd": _KernelBan(DUAL_KERNELS)}  # ban -> its kernels


_holding = []  # non-empty inside holding(): kernel bans outlive their block


def _release():
    for kernels in KERNEL_BANS.values():
        kernels.release()


@contextlib.contextmanager
def holding():
    """Within this block (one exercise in the child), a kernel ban stays from one guarded block to the next
    that wants it, rather than being registered for each call; it is lifted at a block without it and here
    at the end. The harness's own code between two calls never uses the banned operators."""
    _holding.append(True)
    try:
        yield
    finally:
        _holding.pop()
        _release()


class _BannedEngine:
    """Stands in for torch's autograd engine: running a backward pass is the banned call."""

    def __init__(self, engine):
        self.engine = engine

    def run_backward(self, *args, **kwargs):
        _flag("Tensor.backward" if kwargs.get("accumulate_grad", True) else "torch.autograd.grad")

    def __getattr__(self, name):
        return getattr(self.engine, name)


class _EngineTrap:
    def __enter__(self):
        self.engine = Variable.__dict__["_execution_engine"]
        Variable._execution_engine = _BannedEngine(self.engine)
        return self

    def __exit__(self, *exc):
        Variable._execution_engine = self.engine
        return False


def _recorded(tensor):
    _flag("requires_grad (a computation recorded for autograd)")


def _func_transform(message):
    _flag("torch.func (grad, vjp, jacrev, hessian)")


class _RecordingTrap:
    """A saved-tensors hook runs only when an operation records itself for a backward pass.

    torch.func's gradient transforms refuse to run under such a hook: the call that says so is
    where they are flagged."""

    def __enter__(self):
        self.hooks = torch.autograd.graph.saved_tensors_hooks(_recorded, lambda packed: packed)
        self.hooks.__enter__()
        self.disable = torch._C._autograd._saved_tensors_hooks_disable
        torch._C._autograd._saved_tensors_hooks_disable = _func_transform
        return self

    def __exit__(self, *exc):
        torch._C._autograd._saved_tensors_hooks_disable = self.disable
        self.hooks.__exit__(None, None, None)
        return False


class _RequiresGradTrap:
    """Tensor.requires_grad_(), flagged where it is called (torch.Tensor inherits it from C)."""

    def __enter__(self):
        self.own = torch.Tensor.__dict__.get("requires_grad_")

        def trapped(tensor, requires_grad=True):
            if requires_grad:
                _flag("Tensor.requires_grad_")
            return torch._C.TensorBase.requires_grad_(tensor, requires_grad)

        torch.Tensor.requires_grad_ = trapped
        return self

    def __exit__(self, *exc):
        if self.own is None:
            del torch.Tensor.requires_grad_
        else:
            torch.Tensor.requires_grad_ = self.own
        return False


class _ParameterTrap:
    """nn.Parameter(...) makes a leaf that requires grad: autograd by another door."""

    def __init__(self):
        self.original = torch.nn.Parameter.__new__

    def __enter__(self):
        original = self.original

        def trapped(cls, data=None, requires_grad=True):
            if requires_grad:
                _flag("torch.nn.Parameter")
            return original(cls, data, requires_grad)

        torch.nn.Parameter.__new__ = trapped
        return self

    def __exit__(self, *exc):
        torch.nn.Parameter.__new__ = self.original
        return False


class _ExpitTrap:
    """scipy.special.expit is a numpy ufunc, outside torch's view: wrap it."""

    def __init__(self, module_globals):
        self.module_globals = module_globals
        self.saved = []

    def __enter__(self):
        special = sys.modules.get("scipy.special")
        if special is None:
            return self
        original = getattr(special, "expit", None)
        if original is None:
            return self

        def trapped(*args, **kwargs):
            _flag("scipy.special.expit")

        for namespace in (special.__dict__, self.module_globals or {}):
            for key, value in list(namespace.items()):
                if value is original:
                    self.saved.append((namespace, key, value))
                    namespace[key] = trapped
        return self

    def __exit__(self, *exc):
        for namespace, key, value in self.saved:
            namespace[key] = value
        self.saved.clear()
        return False


class guarded:
    """Context manager: apply the named bans ("sigmoid", "autograd") to a block."""

    def __init__(self, bans, module_globals=None):
        self.bans = tuple(bans)
        self.module_globals = module_globals
        self.stack = []

    def __enter__(self):
        for ban, kernels in KERNEL_BANS.items():
            if ban in self.bans:
                kernels.hold()
            else:
                kernels.release()
        if "sigmoid" in self.bans:
            self.stack.append(_ExpitTrap(self.module_globals))
        if "autograd" in self.bans:
            self.stack += [_EngineTrap(), _RecordingTrap(), _RequiresGradTrap(), _ParameterTrap()]
        for manager in self.stack:
            manager.__enter__()
        return self

    def __exit__(self, *exc):
        for manager in reversed(self.stack):
            manager.__exit__(None, None, None)
        self.stack.clear()
        if not _holding:
            _release()
        return False
