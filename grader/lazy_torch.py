"""`torch`, imported on first use.

The checks name torch at module level, but the coordinator only reads their
ids, points and descriptions (intake, gradebook, reports): with this stand-in
it never pays for importing torch, which happens where probes are built.
"""
import importlib


class _LazyTorch:
    def __getattr__(self, name):
        module = importlib.import_module("torch")
        if "Tensor" not in self.__dict__:
            self.__dict__.update(vars(module))  # later look-ups are plain attribute reads
        return getattr(module, name)

    def __repr__(self):
        return "<torch, imported on first use>"


torch = _LazyTorch()
