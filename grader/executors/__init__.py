"""Where submissions are run: the seam between the batch coordinator and its workers.

The coordinator (grader.batch) hands an executor plain jobs and gets plain
outcomes back, in the order they finish. `local` forks judge processes on this
machine; `dask` runs the isolated part on the workers of a Dask cluster and
keeps planning and judging here.
"""
from grader.executors.base import Executor, Job, Outcome

__all__ = ["Executor", "Job", "Outcome", "make_executor"]


def make_executor(*, workers=1, dask=None):
    """The local executor with `workers` judges, or the Dask one when a `dask` address is given."""
    if dask:
        from grader.executors.address import parse_address

        parse_address(dask)  # a bad value (or no Dask here) is a ConfigError, before dask.py imports distributed
        from grader.executors.dask import DaskExecutor

        return DaskExecutor(dask)
    from grader.executors.local import LocalExecutor

    return LocalExecutor(workers)
