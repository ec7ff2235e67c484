"""Import exercise files by name, and nothing else from a submission.

Exercise files may import each other as `<module>` or `exercises.<module>`.
A meta-path finder serves exactly those names from the submission's resolved
files (or from stand-ins); the submission folder itself is never put on
sys.path, so a helper module or a file named torch.py in it is never run.
"""
import importlib.abc
import importlib.util
import marshal
import sys
import types


def compiled_name(filename):
    """The name an exercise file is compiled under by the grader, wherever the file was staged.

    The child runs that code where the judge wrote the file, at another path; giving every code
    object the child's path again cost ~1 ms a child. Under this name the child knows the frames as
    the student's (tracebacks), and tracebacks and inspect still show the source: linecache cannot
    open the name, so it asks the module's loader (SourceOnlyLoader.get_source).
    """
    return f"<submission>/{filename}"


class SourceOnlyLoader(importlib.abc.Loader):
    """Run a file's source text, never a cached .pyc beside it, and write no bytecode.

    `code` may hold that source as the grader already compiled it (marshal bytes, under
    compiled_name): a fresh child then skips the compiler, ~3 ms per submission.
    """

    def __init__(self, path, code=None):
        self.path = path
        self.code = code

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        if self.code is not None:
            code = marshal.loads(self.code)
        else:
            with open(self.path, "rb") as handle:
                source = handle.read()
            code = compile(source, self.path, "exec", dont_inherit=True)
        module.__file__ = self.path
        exec(code, module.__dict__)

    def get_source(self, fullname):
        with open(self.path, "rb") as handle:
            return importlib.util.decode_source(handle.read())


def source_spec(name, path, code=None):
    return importlib.util.spec_from_file_location(name, path, loader=SourceOnlyLoader(path, code))


class ExerciseFinder(importlib.abc.MetaPathFinder):
    def __init__(self, files):
        self.files = dict(files)  # module name -> path of the file to run

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "exercises":
            spec = importlib.util.spec_from_loader("exercises", loader=None, is_package=True)
            spec.submodule_search_locations = []
            return spec
        name = fullname.removeprefix("exercises.")
        if name in self.files:
            return source_spec(fullname, self.files[name])
        return None


def install(files):
    finder = ExerciseFinder(files)
    sys.meta_path.insert(0, finder)
    return finder


def prepare_context(exercise, exercise_names, stand_ins):
    """Make `import <other exercise>` give stand-ins, and forget earlier imports."""
    for name in exercise_names:
        sys.modules.pop(name, None)
        sys.modules.pop(f"exercises.{name}", None)
    package = sys.modules.get("exercises")
    for name, module in stand_ins.items():
        if name != exercise:
            sys.modules[name] = module
            sys.modules[f"exercises.{name}"] = module
            if package is not None:
                setattr(package, name, module)


def load(exercise, path, code=None):
    """Execute the exercise file as module `exercise` (also `exercises.<name>`); `code`: see SourceOnlyLoader."""
    spec = source_spec(exercise, path, code)
    module = importlib.util.module_from_spec(spec)
    sys.modules[exercise] = module
    sys.modules[f"exercises.{exercise}"] = module
    spec.loader.exec_module(module)
    return module


def new_exercises_package():
    package = types.ModuleType("exercises")
    package.__path__ = []
    sys.modules["exercises"] = package
    return package
