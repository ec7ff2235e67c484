"""Code that runs next to student code, in the untrusted child process.

These modules import each other by plain module name, since the zygote runs
with only this folder on its path: nothing of the grader's trusted side (the
registry, the references, hidden inputs) is importable from here.
"""
