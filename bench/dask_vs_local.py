"""Batch throughput of the Dask executor against the local one, on the same cores.

One run builds a mixed class of N students (bench/batch_vs_nbgrader.py's class
builder), grades it four times in this process with `grade_class(..., force=True)`:
local executor with 1 and 2 workers, Dask LocalCluster with 1 and 2 worker processes
(1 thread each), and prints for each the steady-state throughput (submissions per
second between the first and the last graded submission, so zygote and cluster
start-up are left out), the whole call's wall time (start-up, reports included),
the scaling efficiency (2 workers vs 1) and Dask's overhead against local on the
same number of workers (target <= 20%). It also checks that all four gave the
same grades.csv.

    python bench/dask_vs_local.py [--students 60] [--keep]
"""
import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(Path(__file__).resolve().parent)]

from batch_vs_nbgrader import build_class, scratch  # noqa: E402

from grader.batch import grade_class  # noqa: E402
from grader.executors.dask import DaskExecutor  # noqa: E402
from grader.executors.local import LocalExecutor  # noqa: E402

TARGET_OVERHEAD = 0.20


def timed_batch(class_dir, out_dir, executor):
    """(steady-state submissions/s, wall s of the whole call, graded count) for one batch."""
    graded_at = []

    def on_progress(event, **info):
        if event == "graded":
            graded_at.append(time.perf_counter())

    started = time.perf_counter()
    grade_class(submissions_dir=class_dir, out_dir=out_dir, secret="bench-secret", force=True, executor=executor,
                on_progress=on_progress)
    wall = time.perf_counter() - started
    steady = (len(graded_at) - 1) / (graded_at[-1] - graded_at[0]) if len(graded_at) > 1 else float("nan")
    return steady, wall, len(graded_at)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir and print its path")
    args = parser.parse_args(argv)
    with scratch("bench-dask-", args.keep) as tmp:
        roster = build_class(args.students, tmp / "class")
        print(f"class: {len(roster)} students; {os.cpu_count()} CPUs; load average before: "
              f"{', '.join(f'{value:.2f}' for value in os.getloadavg())}", flush=True)
        runs = [("local", 1, lambda: LocalExecutor(1)), ("local", 2, lambda: LocalExecutor(2)),
                ("dask", 1, lambda: DaskExecutor("local:1")), ("dask", 2, lambda: DaskExecutor("local:2"))]
        rates = {}
        grades = {}
        print(f"\n{'executor':<22}{'subs':>6}{'subs/s':>9}{'wall s':>9}")
        for kind, workers, make in runs:
            out = tmp / f"{kind}-{workers}"
            steady, wall, count = timed_batch(tmp / "class", out, make())
            rates[kind, workers] = steady
            grades[kind, workers] = (out / "grades.csv").read_text()
            label = f"{kind} ({'--workers' if kind == 'local' else 'local:'}{' ' if kind == 'local' else ''}{workers})"
            print(f"{label:<22}{count:>6}{steady:>9.2f}{wall:>9.2f}", flush=True)
        print()
        for kind in ("local", "dask"):
            print(f"{kind} scaling, 2 workers vs 1: {rates[kind, 2] / rates[kind, 1]:.2f}x "
                  f"(efficiency {rates[kind, 2] / (2 * rates[kind, 1]):.0%})")
        for workers in (1, 2):
            overhead = rates["local", workers] / rates["dask", workers] - 1
            verdict = "OK" if overhead <= TARGET_OVERHEAD else "OVER TARGET"
            print(f"dask overhead vs local, {workers} worker(s): {overhead:+.0%} (target <= {TARGET_OVERHEAD:.0%}): {verdict}")
        same = len(set(grades.values())) == 1
        print("grades.csv identical across the four runs" if same else "WARNING: the four runs gave different grades.csv")
        print(f"load average after: {', '.join(f'{value:.2f}' for value in os.getloadavg())} "
              "(a shared machine: rerun for stable numbers)")


if __name__ == "__main__":
    main()
