"""Keep torch.optim from importing torch._dynamo in the child.

Creating any optimizer calls functions wrapped by torch._disable_dynamo, whose
first call imports torch._dynamo: about a second, as long as importing torch
itself. Student code here never compiles, so the zygote registers this small
stand-in with the three entry points that eager optimizers use.
"""
import sys
import types


def _disable(fn=None, recursive=True, **kwargs):  # noqa: ARG001 - torch's signature
    if fn is None:
        return lambda inner: inner
    return fn


def install():
    if "torch._dynamo" in sys.modules:
        return
    import torch

    module = types.ModuleType("torch._dynamo", "Stand-in: torch.compile is not available while grading.")
    module.disable = _disable
    module.graph_break = lambda *args, **kwargs: None
    module.is_compiling = lambda: False
    sys.modules["torch._dynamo"] = module
    torch._dynamo = module
