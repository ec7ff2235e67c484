"""Load the reference solutions, in the trusted process only."""
import importlib.util
import sys
import types
from functools import lru_cache
from pathlib import Path

from grader.config import EXERCISE_IDS as EXERCISE_MODULES, SOLUTIONS_DIR
from grader.harness.student_import import ExerciseFinder



@lru_cache(maxsize=4)
def load_references(solutions_dir: Path = SOLUTIONS_DIR) -> types.SimpleNamespace:
    """Every solution module by exercise id, e.g. `load_references().sigmoid.sigmoid`.

    The modules import each other by plain name (`from step import step`); a
    finder serves those names from solutions_dir while loading, then is removed
    so that nothing else in this process sees the plain names.
    """
    files = {name: str(Path(solutions_dir) / f"{name}.py") for name in EXERCISE_MODULES}
    finder = ExerciseFinder(files)
    saved = {name: sys.modules.pop(name, None) for name in EXERCISE_MODULES}
    sys.meta_path.insert(0, finder)
    loaded = {}
    try:
        for name in EXERCISE_MODULES:
            spec = importlib.util.spec_from_file_location(name, files[name])
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            loaded[name] = module
    finally:
        sys.meta_path.remove(finder)
        for name in EXERCISE_MODULES:
            sys.modules.pop(name, None)
            if saved[name] is not None:
                sys.modules[name] = saved[name]
    return types.SimpleNamespace(**loaded)
