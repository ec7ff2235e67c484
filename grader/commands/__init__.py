"""Extra subcommands of `python -m grader`, one module each.

Each module here defines `register(commands)`, which adds its subparser to the
argparse subparsers `commands` and sets `handler=<function(args) -> exit status>`
with `set_defaults`. The CLI finds them by listing this package, so a new
command is a new file, with no edit to grader/cli.py.
"""
import importlib
import pkgutil


def register_all(commands):
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        importlib.import_module(f"{__name__}.{module.name}").register(commands)
