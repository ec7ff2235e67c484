"""Batch grading throughput: `python -m grader grade` against nbgrader 0.9.6 `autograde`.

One run builds a mixed class of N students (correct, buggy and broken variants of the
six exercise files), grades it with our grader and with nbgrader (the same six
exercises as one nbgrader assignment, see bench/nbgrader_course.py), and prints
submissions per second for each, the ratio ours / nbgrader (target >= 100x) and our
grader's peak memory against 1 GiB: summed RSS (sampled every 0.1 s) and PSS (every 0.5 s) over its processes, and the peak of a memory cgroup holding just the command (where one can be made).

    python bench/batch_vs_nbgrader.py [--students 24] [--workers 2] [--nbgrader-students K] [--repeat 6] [--keep]

nbgrader lives in its own venv, bench/.venv-nbgrader (made on first use, ~1.5 min).
"""
import argparse
import csv
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nbgrader_course as course  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "submissions"
VENV = REPO / "bench" / ".venv-nbgrader"
PIP_SPEC = ["nbgrader==0.9.6", "torch==2.13.0", "ipykernel", "numpy"]  # torch pinned: the local CPU build
HAZARDS = {"infinite_loop", "segfault", "exit_at_import"}  # would time nbgrader's 30 s cell timeout, not grading
MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)
BUDGET_MIB = 1024


def ensure_venv() -> Path:
    """Create bench/.venv-nbgrader with nbgrader, torch and ipykernel unless it is ready."""
    stamp = VENV / ".bench-installed"
    if VENV.exists() and not (VENV / ".gitignore").exists():
        (VENV / ".gitignore").write_text("*\n")  # as Python 3.13's venv does: never commit it
    if stamp.exists() and stamp.read_text() == " ".join(PIP_SPEC):
        return VENV
    print(f"installing {' '.join(PIP_SPEC)} into {VENV} (first use) ...", flush=True)
    started = time.perf_counter()
    if not (VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        (VENV / ".gitignore").write_text("*\n")
    pip = subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", *PIP_SPEC],
                         capture_output=True, text=True)
    if pip.returncode:
        sys.exit(f"pip install failed:\n{pip.stderr[-3000:]}")
    stamp.write_text(" ".join(PIP_SPEC))
    print(f"nbgrader venv ready in {time.perf_counter() - started:.0f} s", flush=True)
    return VENV


def variants():
    """(correct, buggy): lists of (name, {exercise: source}); missing files come from solutions/."""
    reference = {ex: MARKER.sub("", (REPO / "solutions" / f"{ex}.py").read_text(encoding="utf-8"))
                 for ex in course.EXERCISES}
    correct, buggy = [("solutions", reference)], []
    for folder in sorted(p for p in FIXTURES.iterdir() if p.is_dir() and p.name not in HAZARDS):
        own = {f.stem: f.read_text(encoding="utf-8") for f in [*folder.glob("*.py"), *folder.glob("exercises/*.py")]
               if f.stem in course.EXERCISES}
        if own:  # near_miss_name has none of the six names: skip it
            (correct if folder.name.startswith("correct") else buggy).append((folder.name, {**reference, **own}))
    broken = "\n\ndef broken(x:\n    return x\n"  # made up: syntax errors in two files
    buggy.append(("made_up_syntax", {**reference, "mlp": reference["mlp"] + broken,
                                     "chain_rule": reference["chain_rule"] + broken}))
    stubs = {ex: (REPO / "exercises" / f"{ex}.py").read_text(encoding="utf-8") for ex in course.EXERCISES}
    buggy.append(("made_up_stubs", stubs))  # the untouched hand-out: not attempted
    return correct, buggy


def build_class(n: int, dest: Path):
    """Write dest/<sid>/<exercise>.py for n students, every other one correct; return the roster."""
    correct, buggy = variants()
    roster = []
    for i in range(n):
        pool = correct if i % 2 == 0 else buggy
        name, files = pool[(i // 2) % len(pool)]
        sid = f"s{i + 1:03d}_{name}"
        (dest / sid).mkdir(parents=True)
        for ex, text in files.items():
            (dest / sid / f"{ex}.py").write_text(text, encoding="utf-8")
        roster.append((sid, name, files, pool is correct))
    return roster


class TreeMemory(threading.Thread):
    """Every 0.1 s, sum Rss over a process and all its descendants; every 0.5 s, Pss too; keep the peaks.

    Rss comes from /proc/PID/statm (a counter); Pss needs smaps_rollup, which walks the page tables
    (~0.7 ms per torch process): read every 0.1 s for ~8 processes, it took ~5% of a core from the
    command being measured."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak_rss, self.peak_pss, self.max_procs = pid, 0, 0, 0
        self.stopped = threading.Event()
        self.resting = threading.Event()  # set while the command is frozen: no sampling (it would cost another's CPU)

    def tree(self):
        children = {}
        for entry in os.listdir("/proc"):
            try:
                if entry.isdigit():
                    stat = Path(f"/proc/{entry}/stat").read_text()
                    children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
            except OSError:
                pass
        found, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, []))
        return found

    def run(self):
        page = os.sysconf("SC_PAGE_SIZE")
        tick = 0
        while not self.stopped.wait(0.1):
            if self.resting.is_set():
                continue
            rss = pss = 0
            procs = self.tree()
            for pid in procs:
                try:
                    rss += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
                    if tick % 5 == 0:
                        pss += sum(int(line.split()[1]) * 1024 for line in
                                   Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines() if line.startswith("Pss:"))
                except OSError:
                    pass
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            self.max_procs = max(self.max_procs, len(procs))
            tick += 1


class Cgroups:
    """A cgroup-v1 memory cgroup and a cpuacct cgroup for one command: the kernel's own peak of the memory its
    processes hold (each page once, however many processes share it) and the CPU time of all of them, those
    that no one reaps included; with `freezer`, also a freezer cgroup that stops all of them at once. None of
    it where cgroups cannot be made (not root, cgroup v2 only)."""

    ROOT = Path("/sys/fs/cgroup")

    def __init__(self, freezer=False):
        self.paths, self.peak, self.cpu, self.why = [], None, None, ""
        name = f"bench-{os.getpid()}-{time.monotonic_ns()}"
        for controller in ("memory", "cpuacct") + (("freezer",) if freezer else ()):
            try:
                path = self.ROOT / controller / name
                path.mkdir()
                self.paths.append(path)
            except OSError as exc:
                self.why = f"no {controller} cgroup ({exc.strerror})"
                self.close()
                self.paths = []
                return

    def join(self):
        """preexec_fn: the command's process enters the cgroups before it execs; its descendants follow."""
        for path in self.paths:
            (path / "cgroup.procs").write_text("0")

    @classmethod
    def can_freeze(cls):
        """Whether a freezer cgroup can be made here."""
        probe = cls(freezer=True)
        probe.close()
        return bool(probe.paths)

    def freeze(self, frozen=True):
        """Stop (or start again) every process of the command; returns once the kernel says it is done."""
        state = next(path for path in self.paths if path.parent.name == "freezer") / "freezer.state"
        wanted = "FROZEN" if frozen else "THAWED"
        state.write_text(wanted)
        while state.read_text().strip() != wanted:
            time.sleep(0.001)

    def close(self):
        for path in self.paths:
            if path.parent.name == "memory":
                self.peak = int((path / "memory.max_usage_in_bytes").read_text())
            elif path.parent.name == "cpuacct":
                self.cpu = int((path / "cpuacct.usage").read_text()) / 1e9
            for _attempt in range(50):  # the last processes may still be leaving
                try:
                    path.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)


def timed(cmd, cwd, env=None, pause_at=None):
    """Run cmd; return (returncode, output, wall s, CPU s of all its processes, memory sampler with the cgroup peak).

    CPU comes from the cpuacct cgroup where there is one: getrusage(RUSAGE_CHILDREN) misses processes that
    nobody here reaps (a forked worker whose parent exits first).

    pause_at(line), if given, sees each line of output as it comes; when it returns a function, that function
    runs while the command is frozen (all its processes stopped by a freezer cgroup), and the time it takes is
    left out of the command's wall time (its CPU time has none of it: frozen processes do not run)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cgroup = Cgroups(freezer=pause_at is not None)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=cgroup.join)
    sampler = TreeMemory(proc.pid)
    sampler.start()
    paused, lines = 0.0, []
    for line in proc.stdout:
        lines.append(line)
        meanwhile = pause_at(line) if pause_at else None
        if meanwhile is not None:
            frozen_at = time.perf_counter()
            sampler.resting.set()
            cgroup.freeze()
            try:
                meanwhile()
            finally:
                cgroup.freeze(False)
                sampler.resting.clear()
                paused += time.perf_counter() - frozen_at
    proc.wait()
    output = "".join(lines)
    wall = time.perf_counter() - started - paused
    sampler.stopped.set()
    sampler.join()
    cgroup.close()
    sampler.cgroup_peak, sampler.cgroup_why = cgroup.peak, cgroup.why
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)  # only what was reaped
    return proc.returncode, output, wall, cgroup.cpu if cgroup.cpu is not None else cpu, sampler


def run_ours(class_dir: Path, out: Path, workers: int):
    """Time `python -m grader grade`; return (stats or None, {sid: score}, why not)."""
    cmd = [sys.executable, "-m", "grader", "grade", str(class_dir), "--out", str(out),
           "--workers", str(workers), "--secret", "bench-secret", "--force"]
    rc, output, wall, cpu, mem = timed(cmd, REPO)
    grades = out / "grades.csv"
    if rc != 0 or not grades.exists():
        last = (output.strip().splitlines() or ["(no output)"])[-1]
        return None, {}, f"exit {rc}: {last[:160]}"
    with grades.open(newline="") as f:
        scores = {row["student"]: float(row["score"]) for row in csv.DictReader(f)}
    return (wall, cpu, mem), scores, ""


def steady_rate(out: Path):
    """Submissions per second between the first and the last one recorded in the gradebook (start-up left out)."""
    import sqlite3
    from datetime import datetime

    with sqlite3.connect(out / "gradebook.sqlite") as db:
        stamps = sorted(datetime.fromisoformat(row[0]) for row in db.execute("SELECT graded_at FROM gradings"))
    span = (stamps[-1] - stamps[0]).total_seconds() if len(stamps) > 1 else 0.0
    return (len(stamps) - 1) / span if span > 0 else float("nan")


STUDENT_LINE = re.compile(r"Creating/updating student with ID '([^']+)'")  # autograde's first line for a student


def run_nbgrader(root: Path, roster, venv: Path, meanwhile=None):
    """Build the course, release it, submit the class, time `nbgrader autograde ps1`.

    meanwhile: {student id: function}; each runs with nbgrader frozen just before it starts on that student
    (between two notebooks: no kernel is running, no cell's timeout is ticking), its time left out of nbgrader's."""
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}", "VIRTUAL_ENV": str(venv)}
    env.pop("PYTHONPATH", None)
    nbgrader = str(venv / "bin" / "nbgrader")
    course.write_course(root, REPO / "solutions")
    started = time.perf_counter()
    rc, output, *_ = timed([nbgrader, "generate_assignment", "ps1", "--force"], root, env)
    if rc or not (root / "release" / "ps1" / "ps1.ipynb").exists():
        sys.exit(f"nbgrader generate_assignment failed:\n{output[-3000:]}")
    print(f"nbgrader generate_assignment: {time.perf_counter() - started:.1f} s (not timed)", flush=True)
    for sid, _, files, _ in roster:
        course.write_submission(root, sid, files)
    shutil.rmtree(root / "autograded", ignore_errors=True)  # a fresh course: nothing to restore
    def pause_at(line):
        found = STUDENT_LINE.search(line)
        return meanwhile.pop(found.group(1), None) if found and meanwhile else None

    rc, output, wall, cpu, mem = timed([nbgrader, "autograde", "ps1"], root, env, pause_at=pause_at if meanwhile else None)
    (root / "autograde.log").write_text(output)
    if rc:
        print(f"WARNING: nbgrader autograde exited {rc}; log: {root / 'autograde.log'}")
    timed([nbgrader, "export"], root, env)
    scores = {}
    if (root / "grades.csv").exists():
        with (root / "grades.csv").open(newline="") as f:
            scores = {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)}
    return (wall, cpu, mem), scores


@contextmanager
def scratch(prefix, keep):
    """A temp dir for one benchmark run: removed afterwards, or kept and its path printed."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield tmp
    finally:
        if keep:
            print(f"\nkept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def check_scores(label, roster, scores, full):
    """Warn when a correct submission misses full marks or a student has no score."""
    problems = [f"{sid}: {scores.get(sid, 'no score')}" for sid, _, _, ok in roster
                if sid not in scores or (ok and abs(scores[sid] - full) > 1e-6)]
    if problems:
        print(f"WARNING: {label}: {len(problems)} unexpected totals (correct ones should get {full:g}): "
              + "; ".join(problems[:8]))
    else:
        print(f"{label}: all {len(roster)} students scored; every correct one got full marks ({full:g}).")


def run_ours_once(tmp, args, attempt, runs, when):
    """Our grader on the class into its own OUT; appends (stats, scores, why, out) to runs."""
    out = tmp / f"ours-out-{attempt}"
    stats, scores, why = run_ours(tmp / "class", out, args.workers)
    runs.append((stats, scores, why, out))
    if stats is not None:
        # the CPU seconds show the host's drift: the same work costs more of them when the host is slower
        print(f"ours, run {attempt + 1} of {args.repeat} ({when}): {stats[0]:.2f} s, "
              f"{args.students / stats[0]:.2f} subs/s, {stats[1]:.2f} s of CPU", flush=True)


def interleaving(sample, during):
    """Where in nbgrader's sample it pauses for one of our runs, before that student: `during` places, evenly spaced."""
    return [round(k * len(sample) / (during + 1)) for k in range(1, during + 1)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--nbgrader-students", type=int, default=None, metavar="K",
                        help="let nbgrader grade only the first K students (default: all). nbgrader grades one "
                             "notebook after another at a steady cost each, so its rate from a prefix of the class "
                             "(which cycles through every variant) stands for the whole; a class of 200 takes it "
                             "about half an hour")
    parser.add_argument("--repeat", type=int, default=6,
                        help="run ours this many times and rate it by the mean of their times (the table shows the "
                             "median run): one before nbgrader, one after, "
                             "the others while nbgrader is frozen between two of its notebooks, evenly spread over "
                             "its minutes, so that both graders meet the host's drift alike (where no freezer "
                             "cgroup can be made: half before nbgrader, half after)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir and print its path")
    args = parser.parse_args(argv)
    venv = ensure_venv()
    with scratch("bench-batch-", args.keep) as tmp:
        roster = build_class(args.students, tmp / "class")
        kinds = sorted({name for _, name, _, _ in roster})
        print(f"class: {len(roster)} students, {len(kinds)} variants: {', '.join(kinds)}", flush=True)
        sample = roster[:args.nbgrader_students] if args.nbgrader_students else roster
        # ours runs on both sides of nbgrader's minutes, and in them where it can be frozen: the host's speed drifts
        during = max(args.repeat - 2, 0) if args.repeat > 2 and Cgroups.can_freeze() else 0
        before = 1 if during else (args.repeat + 1) // 2
        runs = []
        for attempt in range(before):
            run_ours_once(tmp, args, attempt, runs, "before nbgrader")
        meanwhile = {}
        if runs and runs[0][0] is not None:
            for k, position in enumerate(interleaving(sample, during)):
                meanwhile[sample[position][0]] = (lambda attempt=before + k, position=position: run_ours_once(
                    tmp, args, attempt, runs, f"nbgrader frozen before its student {position + 1} of {len(sample)}"))
        nbg, nbg_scores = run_nbgrader(tmp / "course", sample, venv, meanwhile)
        if meanwhile:
            print(f"WARNING: nbgrader never reached {len(meanwhile)} of the students to pause at; ours ran less often")
        if runs and runs[0][0] is not None:
            for attempt in range(len(runs), args.repeat):
                run_ours_once(tmp, args, attempt, runs, "after nbgrader")
        walls = [run[0][0] for run in runs if run[0]]
        runs.sort(key=lambda run: run[0][0] if run[0] else 0)
        ours, our_scores, why, our_out = runs[len(runs) // 2]  # the median run by wall time (the slower one of two)
        if len(runs) > 1:
            print(f"ours: {len(runs)} runs ({before} before nbgrader, {during - len(meanwhile)} while it was frozen, "
                  f"{len(runs) - before - during + len(meanwhile)} after); the table shows the median run, the "
                  f"throughput is from the mean of their times, as nbgrader's is from its whole run", flush=True)
        rows = [("ours (grade --workers %d)" % args.workers, ours, roster),
                ("nbgrader 0.9.6 autograde", nbg, sample)]
        print(f"\n{'grader':<28}{'subs':>6}{'wall s':>9}{'subs/s':>9}{'CPU s':>9}{'peak RSS MiB':>14}{'PSS MiB':>9}"
              f"{'cgroup MiB':>12}")
        for label, stats, graded in rows:
            if stats is None:
                print(f"{label:<28}  grader grade not available ({why})")
                continue
            wall, cpu, mem = stats
            cgroup = f"{mem.cgroup_peak / 2**20:>12.0f}" if mem.cgroup_peak else f"{'n/a':>12}"
            print(f"{label:<28}{len(graded):>6}{wall:>9.2f}{len(graded) / wall:>9.2f}{cpu:>9.2f}"
                  f"{mem.peak_rss / 2**20:>14.0f}{mem.peak_pss / 2**20:>9.0f}{cgroup}")
        if ours:
            nbg_rate = len(sample) / nbg[0]
            mean_wall = sum(walls) / len(walls)  # over the host's phases, as nbgrader's run is: a median would skip slow ones
            print(f"\nours / nbgrader throughput: {len(roster) / mean_wall / nbg_rate:.1f}x (target >= 100x; ours "
                  f"{len(roster) / mean_wall:.2f} subs/s, the mean of {len(walls)} runs' {mean_wall:.2f} s; the median "
                  f"run alone {len(roster) / ours[0] / nbg_rate:.1f}x)"
                  + (f" (nbgrader's rate from the first {len(sample)} of the {len(roster)} students)"
                     if len(sample) < len(roster) else ""))
            steady = steady_rate(our_out)
            print(f"ours once started (first to last graded, start-up and reports left out): {steady:.2f} subs/s, "
                  f"{steady / nbg_rate:.0f}x nbgrader's whole-command rate")
            memory = ours[2]
            print(f"our peak memory: summed RSS {memory.peak_rss / 2**20:.0f} MiB over up to {memory.max_procs} "
                  f"processes (a page shared by forked processes counts once per process), summed PSS "
                  f"{memory.peak_pss / 2**20:.0f} MiB (shared pages split between their users)")
            if memory.cgroup_peak:
                peak = memory.cgroup_peak / 2**20
                print(f"peak of the grader's memory cgroup (the kernel's count, every page once): {peak:.0f} MiB "
                      f"vs budget {BUDGET_MIB} MiB: " + ("OK" if peak <= BUDGET_MIB else "OVER BUDGET"))
            else:
                print(f"memory cgroup: n/a ({memory.cgroup_why}); budget {BUDGET_MIB} MiB against summed PSS: "
                      + ("OK" if memory.peak_pss / 2**20 <= BUDGET_MIB else "OVER BUDGET"))
            check_scores("ours", roster, our_scores, 100.0)
        else:
            print("\nours / nbgrader throughput: n/a (grader grade not available)")
        check_scores("nbgrader", sample, nbg_scores, float(course.MAX_SCORE))
        first = {}
        for entry in roster:  # each variant's first student: the one nbgrader graded too, if it graded a prefix
            first.setdefault(entry[1], entry)
        print("\nper variant (ours / nbgrader):  " + ", ".join(
            f"{name} {our_scores.get(sid, '-')}/{nbg_scores.get(sid, '-')}" for sid, name, _, _ in first.values()))


if __name__ == "__main__":
    main()
