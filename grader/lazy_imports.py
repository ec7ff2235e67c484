"""`torch` and `numpy`, each imported on first use.

The checks and the comparisons name them at module level, but the coordinator
only reads the checks' ids, points and descriptions (intake, gradebook,
reports): with these stand-ins it pays for neither import (torch ~1-2 s, numpy
~0.15 s of a batch's start-up); they happen where probes are built and judged.
"""
import importlib


class _Lazy:
    def __init__(self, name, marker):
        self.__dict__["_lazy"] = (name, marker)

    def __getattr__(self, attribute):
        name, marker = self.__dict__["_lazy"]
        module = importlib.import_module(name)
        if marker not in self.__dict__:
            self.__dict__.update(vars(module))  # later look-ups are plain attribute reads
        return getattr(module, attribute)

    def __repr__(self):
        return f"<{self.__dict__['_lazy'][0]}, imported on first use>"


torch = _Lazy("torch", "Tensor")
np = _Lazy("numpy", "ndarray")
