"""Detect banned calls while student code runs.

Two bans from the exercise contract: no library sigmoid in sigmoid.py, no
autograd in mlp_backward and train. A TorchFunctionMode sees every torch call,
whatever name or alias the student reached it by; scipy's expit is wrapped.
A banned call records a violation and raises ForbiddenCall, a BaseException so
that a plain `except Exception` in student code does not swallow it; the
violation is kept even if the student catches that too.
"""
import sys

import torch
from torch.overrides import TorchFunctionMode


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


def _sigmoid_functions():
    return {
        torch.sigmoid: "torch.sigmoid",
        torch.sigmoid_: "torch.sigmoid_",
        torch.Tensor.sigmoid: "Tensor.sigmoid",
        torch.Tensor.sigmoid_: "Tensor.sigmoid_",
        torch.special.expit: "torch.special.expit",
        torch.nn.functional.sigmoid: "torch.nn.functional.sigmoid",
    }


def _autograd_functions():
    return {
        torch.Tensor.backward: "Tensor.backward",
        torch.autograd.backward: "torch.autograd.backward",
        torch.autograd.grad: "torch.autograd.grad",
        torch.Tensor.requires_grad_: "Tensor.requires_grad_",
    }


class _Guard(TorchFunctionMode):
    def __init__(self, banned, ban_requires_grad):
        super().__init__()
        self.banned = banned
        self.ban_requires_grad = ban_requires_grad

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = self.banned.get(func)
        if name is not None:
            _flag(name)
        if self.ban_requires_grad:
            if kwargs.get("requires_grad"):
                _flag(f"requires_grad=True in {getattr(func, '__name__', 'a tensor factory')}")
            if getattr(func, "__name__", "") == "__set__" and getattr(func, "__self__", None) is torch._C.TensorBase.requires_grad:
                _flag("setting .requires_grad")
        return func(*args, **kwargs)


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
        banned = {}
        if "sigmoid" in self.bans:
            banned.update(_sigmoid_functions())
            self.stack.append(_ExpitTrap(self.module_globals))
        if "autograd" in self.bans:
            banned.update(_autograd_functions())
            self.stack.append(_ParameterTrap())
        if banned:
            self.stack.append(_Guard(banned, "autograd" in self.bans))
        for manager in self.stack:
            manager.__enter__()
        return self

    def __exit__(self, *exc):
        for manager in reversed(self.stack):
            manager.__exit__(None, None, None)
        self.stack.clear()
        return False
