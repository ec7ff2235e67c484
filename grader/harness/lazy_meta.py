"""Import torch without registering its Python meta kernels until something asks for them.

`import torch` ends with `from torch import _meta_registrations`, which builds torch's
primitives, references and decompositions and registers them for the "meta" device
(shapes without data, used by torch.compile, torch.export and fake tensors): ~0.3 s,
a quarter of the import, paid by every batch and every self-check. Eager CPU code,
which is all the exercises run, never dispatches there.

So the zygote imports torch with a stand-in under that name. The first attribute
anyone reads from it (torch._decomp does, for some decompositions) imports the real
module, which registers everything as usual. What stays different: a meta-device
operation with no C++ meta kernel fails until then, as torch.compile already does here
(light_dynamo). That stand-in matters here too: the real torch._dynamo imports
torch.utils._content_store, whose import of torch._prims circles back to it and fails
unless torch._prims was imported first, as the meta kernels would have done.
"""
import importlib
import sys
import types

NAME = "torch._meta_registrations"


class _Deferred(types.ModuleType):
    def __getattr__(self, attribute):
        if attribute.startswith("__"):  # import machinery and inspection probe dunders: stay a stand-in
            raise AttributeError(attribute)
        return getattr(load(), attribute)


def install():
    """Call before the first `import torch`; afterwards it would change nothing."""
    if "torch" not in sys.modules and NAME not in sys.modules:
        sys.modules[NAME] = _Deferred(NAME, "Stand-in until first use: see grader/harness/lazy_meta.py.")


def deferred():
    """Whether torch's meta kernels are still unregistered."""
    return isinstance(sys.modules.get(NAME), _Deferred)


def load():
    """Import the real module (registering the meta kernels) and put it where the stand-in was."""
    if deferred():
        del sys.modules[NAME]
        real = importlib.import_module(NAME)
        setattr(sys.modules["torch"], "_meta_registrations", real)
    return sys.modules[NAME]
