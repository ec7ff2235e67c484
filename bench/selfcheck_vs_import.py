"""Self-check of all six exercises against a bare `import torch`, in one run.

Target (issue 2): the self-check takes at most 1.5x the time of
`python -c 'import torch'`. The two commands alternate, round by round, so
that both see the same machine load; medians are compared.

    python bench/selfcheck_vs_import.py [--rounds N] [--dir solutions]
"""
import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def wall_seconds(command):
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--dir", default="solutions", help="submission to self-check (default: the references)")
    args = parser.parse_args(argv)
    baseline_command = [sys.executable, "-c", "import torch"]
    check_command = [sys.executable, "-m", "grader", "check", "--dir", args.dir]
    wall_seconds(baseline_command)  # warm the page cache for both
    wall_seconds(check_command)
    baseline, check = [], []
    for _ in range(args.rounds):
        baseline.append(wall_seconds(baseline_command))
        check.append(wall_seconds(check_command))
    base, mine = statistics.median(baseline), statistics.median(check)
    print(f"python -c 'import torch'          median {base:.3f} s  (runs: {', '.join(f'{t:.2f}' for t in baseline)})")
    print(f"python -m grader check --dir {args.dir}  median {mine:.3f} s  (runs: {', '.join(f'{t:.2f}' for t in check)})")
    print(f"ratio self-check / import torch: {mine / base:.2f}  (target <= 1.5)")


if __name__ == "__main__":
    main()
