"""The trusted side of isolated execution: drive a zygote, collect raw outcomes.

The coordinator sends a job (file paths, calls with their inputs, limits) to a
zygote process and reads back what the child reported. Everything read back
is untrusted: lines are parsed as size-capped JSON, accepted only in the order
the plan expects (begin, loaded, calls, end for one exercise after another),
and the first outcome per call wins. When a child dies or times out inside an
exercise, that exercise gets the ending and the rest run in a fresh child.
"""
import json
import marshal
import os
import subprocess
import sys
from dataclasses import dataclass, field

from grader.config import HARNESS_DIR, SANDBOX_UID_BASE, Limits

MAX_LINE = 8 * 1024 * 1024


class RunnerError(RuntimeError):
    """The zygote itself failed (not the student's code)."""


@dataclass
class ExerciseRun:
    """What the child reported for one exercise, still unjudged."""

    exercise: str
    loaded: dict = None
    calls: dict = field(default_factory=dict)
    ending: str = ""  # "", or "timeout", "crashed", "output_overflow", "result_overflow", "tampered"
    status: str = ""  # how the child process ended, e.g. "signal:SIGSEGV"
    log: str = ""
    seconds: float = 0.0


def child_environment():
    """What an exec'd worker process may see of the environment: nothing secret."""
    keep = {key: os.environ[key] for key in ("PATH", "LANG", "LC_ALL", "TZ") if key in os.environ}
    keep.update({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
                 "PYTHONHASHSEED": "0", "HOME": "/nonexistent"})
    return keep


class Zygote:
    """One warm process with torch imported, started by exec, forking a child per job."""

    def __init__(self, python=None, slot=0, pipes=None):
        """Exec a new zygote; or, with pipes=(requests_fd, replies_fd), reach one that the family process
        (harness/family.py) forked. Either way, if it dies, `start()` replaces it with an exec'd one."""
        self.python = python or sys.executable
        self.slot = slot
        self.last_sandbox = {}  # layer -> "on" or why not, as the last child reported before running student code
        self.jobs = 0
        if pipes is None:
            self.start()
        else:
            self.process, self.ready = _Piped(*pipes), False

    def start(self):
        self.process = subprocess.Popen(
            [self.python, "-I", str(HARNESS_DIR / "zygote.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=child_environment(), cwd="/", close_fds=True, start_new_session=True,
        )
        self.ready = False

    def _read_message(self):
        line = self.process.stdout.readline(MAX_LINE)
        if not line:
            code = self.process.poll()
            status = f" (exit status {code})" if code is not None else ""
            raise RunnerError(f"the grading worker process stopped unexpectedly{status}")
        if line.startswith(b"E "):  # a child's line, relayed untouched: b"E <job> <line>"
            _, job, raw = line.rstrip(b"\n").split(b" ", 2)
            return {"job": int(job), "kind": "event", "line": raw.decode("utf-8", "replace")}
        return json.loads(line)

    def _wait_ready(self):
        if not self.ready:
            message = self._read_message()
            if message.get("kind") != "ready":
                raise RunnerError("the grading worker process did not start properly")
            self.ready = True

    def run(self, plan, timeouts, limits, sandbox=None):
        """Run one job; return (child event lines, final message)."""
        self._wait_ready()
        self.jobs += 1
        job_id = self.jobs
        cpu_seconds = sum(timeouts[exercise["name"]] for exercise in plan["exercises"]) + 1
        job = {"id": job_id, "plan": plan, "timeouts": timeouts, "student_dir": plan["student_dir"],
               "sandbox": dict(sandbox or {}, uid=SANDBOX_UID_BASE + self.slot),
               "limits": {"cpu_seconds": cpu_seconds, "memory_bytes": limits.memory_bytes,
                          "file_bytes": limits.file_bytes, "open_files": limits.open_files}}
        try:
            self.process.stdin.write(frame_job(job))
            self.process.stdin.flush()
        except BrokenPipeError:
            raise RunnerError("the grading worker process stopped unexpectedly") from None
        lines = []
        while True:
            message = self._read_message()
            if message.get("job") != job_id:
                continue
            if message.get("kind") == "event":
                if not lines:  # the child's first line is written before any student code runs
                    self.last_sandbox = _sandbox_report(message.get("line", ""))
                lines.append(message.get("line", ""))
            elif message.get("kind") == "done":
                return lines, message

    def close(self):
        """Stop the zygote: it holds nothing worth a slow interpreter shutdown."""
        if isinstance(self.process, _Piped):
            self.process.close()  # it ends when its pipes close; its parent, the family process, reaps it
        elif self.process is not None:
            end_process(self.process, grace=0.2)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def frame_job(job):
    """A job as the zygote reads it: its length in ASCII digits and a newline, then the job in marshal's format.

    Jobs are plain data (dicts, lists, strings, numbers, bytes) going from trusted code to a zygote of the
    same interpreter: marshal writes and reads them ~5x faster than JSON (~2.5 ms a job), and carries the
    compiled files as bytes. What comes back from the child stays JSON, parsed as untrusted input.
    """
    payload = marshal.dumps(job)
    return b"%d\n" % len(payload) + payload


def end_process(process, grace):
    """Close a child's stdin (its sign to end), give it `grace` seconds, then kill it; it is reaped either way."""
    if process.poll() is None:
        try:
            process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class _Piped:
    """The pipes to a zygote that is not this process's child: it ends when they close, its parent reaps it."""

    def __init__(self, requests_fd, replies_fd):
        self.stdin, self.stdout = open(requests_fd, "wb"), open(replies_fd, "rb")

    def poll(self):
        return None  # the exit status belongs to its parent

    def close(self):
        for pipe in (self.stdin, self.stdout):
            try:
                pipe.close()
            except OSError:
                pass


def with_restart(zygote, action):
    """action(zygote); if the zygote itself died (the OOM killer can do that, student code cannot), once more
    on a restarted one. A second RunnerError is the caller's to report."""
    try:
        return action(zygote)
    except RunnerError:
        zygote.close()
        zygote.start()
        return action(zygote)


def _sandbox_report(line):
    event = _parse(line) or {}
    layers = event.get("layers") if event.get("event") == "sandbox" else None
    return {str(key): str(value)[:200] for key, value in layers.items()} if isinstance(layers, dict) else {}


def _parse(line):
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def collect(lines, expected_order, call_ids):
    """Turn untrusted event lines into ExerciseRuns, accepting only the expected order.

    The harness sends begin, loaded, calls, end for one exercise after another,
    each control event once. A repeated or out-of-order control event can only
    come from student code writing to the pipe: the exercise it happened in is
    marked "tampered". Returns (runs of exercises that began, exercise still open).
    """
    runs = {}
    order = list(expected_order)
    current = None
    for line in lines:
        event = _parse(line)
        if event is None:
            continue
        kind, exercise = event.get("event"), event.get("exercise")
        if kind == "begin" and current is None and order and exercise == order[0]:
            current = order.pop(0)
            runs[current] = ExerciseRun(current)
        elif current is None:
            continue
        elif exercise != current or kind == "begin" or (kind == "loaded" and runs[current].loaded is not None) \
                or (kind in ("call", "end") and runs[current].loaded is None):
            runs[current].ending = "tampered"
        elif kind == "loaded":
            runs[current].loaded = event
        elif kind == "call" and event.get("call") in call_ids.get(current, ()):
            runs[current].calls.setdefault(event["call"], event)
        elif kind == "end":
            current = None
    return runs, current


def run_exercises(zygote, plan, timeouts, limits=Limits(), sandbox=None):
    """Run every exercise of the plan, re-forking after a child that died.

    Returns {exercise: ExerciseRun} for each exercise in the plan.
    """
    call_ids = {exercise["name"]: {call["id"] for call in exercise["calls"]} for exercise in plan["exercises"]}
    remaining = list(plan["exercises"])
    results = {}
    while remaining:
        sub_plan = dict(plan, exercises=remaining)
        lines, done = zygote.run(sub_plan, timeouts, limits, sandbox)
        names = [exercise["name"] for exercise in remaining]
        runs, still_open = collect(lines, names, call_ids)
        if any(run.ending == "tampered" for run in runs.values()):
            # Forged control events mean nothing this child reported can be trusted.
            for run in runs.values():
                run.ending = "tampered"
        results.update(runs)
        if still_open is None and len(runs) < len(names):
            # The child ended between exercises: charge the next one.
            still_open = names[len(runs)]
            results[still_open] = ExerciseRun(still_open)
        if still_open is not None:
            run = results[still_open]
            run.ending = done.get("ending") if done.get("ending") != "exited" else "crashed"
            run.status = str(done.get("status", ""))[:100]
            run.log = str(done.get("log", ""))[-4000:]
        finished = set(results)
        if still_open is None and len(runs) == len(names):
            break
        remaining = [exercise for exercise in remaining if exercise["name"] not in finished]
    return results
