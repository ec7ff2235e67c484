"""A warm process that forks one child per grading job.

Started by exec (never by fork from the grader), it imports torch once and
holds nothing secret: jobs arrive on stdin (marshal frames from the judge) and carry only file
paths, call inputs and time limits. For each job it forks a child that runs
`child.run_plan`, supervises it (per-exercise wall-clock deadline, capped log,
capped result size), kills the child's whole process group at the end, and
relays the child's result lines, uninterpreted but for framing, on stdout,
all at once when the child is done.
"""
import gc

gc.disable()  # until prepare(): collections while torch imports cost ~10% of the import, and prepare() freezes all
import json
import marshal
import os
import select
import selectors
import shutil
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script's folder off
sys.dont_write_bytecode = True  # never leave __pycache__ in a submission

import lazy_meta  # noqa: E402

lazy_meta.install()  # torch's Python meta kernels wait for their first use: ~0.3 s of the import
import numpy  # noqa: E402,F401 - warm the import for children
import torch  # noqa: E402

import child  # noqa: E402
import light_dynamo  # noqa: E402
import sandbox  # noqa: E402

LOG_KEEP = 64 * 1024
LOG_KILL = 8 * 1024 * 1024
RESULT_LINE_MAX = 4 * 1024 * 1024
RESULT_TOTAL_MAX = 64 * 1024 * 1024
BETWEEN_EXERCISES = 5.0
CONTROL_LINE_MAX = 200  # begin/end markers are short JSON lines
GATHER_SECONDS = 0.002  # after reading, let the child's next lines gather this long (its exit still ends the wait)


def send(message):
    sys.stdout.buffer.write(json.dumps(message).encode() + b"\n")
    sys.stdout.flush()


def relay(job_id, lines, message):
    """Pass child lines on as they are, each as b"E <job> <line>" (lines never contain a newline), then
    `message`, in one write: the judge wakes once per job, not once per line."""
    prefix = b"E %d " % job_id
    sys.stdout.buffer.write(b"".join(prefix + line + b"\n" for line in lines) + json.dumps(message).encode() + b"\n")
    sys.stdout.flush()


ISOLATION = None  # sandbox.Isolation, prepared once in main()
RUNTIME_PATHS = []  # what the interpreter and the harness need to stay importable


def child_main(job, result_w, log_w):
    """In the forked child: isolate, then run the plan."""
    os.setsid()
    sandbox.prctl(sandbox.PR_SET_PDEATHSIG, signal.SIGKILL)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(log_w, 1)
    os.dup2(log_w, 2)
    os.dup2(result_w, 3)
    kept = ISOLATION.network  # the shared network namespace (fd >= 10): entered, then closed, by ISOLATION.enter
    os.closerange(4, kept if kept is not None else 65536)
    if kept is not None:
        os.closerange(kept + 1, 65536)
    student_dir = job["student_dir"]
    sandbox_settings = dict(job.get("sandbox", {}))
    sandbox_settings["expose"] = RUNTIME_PATHS
    scratch = "/tmp/work" if _private_tmp(job) else job["scratch"]
    report = ISOLATION.enter(job=dict(job, sandbox=sandbox_settings), student_dir=student_dir, scratch=scratch,
                             enabled=sandbox_settings.get("layers", sandbox.LAYERS))
    reporter = child.Reporter(3)
    reporter.emit({"event": "sandbox", "layers": report})
    torch.set_num_threads(1)
    child.run_plan(job["plan"], reporter)
    sys.stdout.flush()
    sys.stderr.flush()


def supervise(pid, result_r, log_r, job):
    """Gather result lines, enforce deadlines and caps; return (lines, ending)."""
    timeouts = job["timeouts"]
    selector = selectors.DefaultSelector()
    pidfd = os.pidfd_open(pid)
    selector.register(result_r, selectors.EVENT_READ, "result")
    selector.register(log_r, selectors.EVENT_READ, "log")
    selector.register(pidfd, selectors.EVENT_READ, "exit")
    deadline = time.monotonic() + BETWEEN_EXERCISES
    current = None
    pending = b""
    log = bytearray()
    log_total = 0
    result_total = 0
    ending = None
    exited = False
    gathered = []
    started = time.monotonic()
    while ending is None:
        has_pipes = any(data in ("result", "log") for data in (k.data for k in selector.get_map().values()))
        if exited and not has_pipes:
            break
        remaining = deadline - time.monotonic()
        if not exited and remaining <= 0:
            ending = {"ending": "timeout", "exercise": current}
            break
        # After the child exits, descendants may still hold the pipes: drain briefly.
        ready = selector.select(timeout=0.2 if exited else min(remaining, 1.0))
        if exited and not ready:
            break
        if not exited and any(key.data != "exit" for key, _ in ready):
            # The child writes a line per call: waking for each one interrupted it ~90 times a job.
            select.select([pidfd], [], [], min(GATHER_SECONDS, max(0.0, remaining)))
            ready = selector.select(timeout=0)
        for key, _ in ready:
            if key.data == "exit":
                exited = True
                selector.unregister(pidfd)
                continue
            chunk = os.read(key.fd, 65536)
            if not chunk:
                selector.unregister(key.fd)
                continue
            if key.data == "log":
                log_total += len(chunk)
                if len(log) < LOG_KEEP:
                    log += chunk[: LOG_KEEP - len(log)]
                if log_total > LOG_KILL:
                    ending = ending or {"ending": "output_overflow", "exercise": current}
                continue
            result_total += len(chunk)
            pending += chunk
            if result_total > RESULT_TOTAL_MAX or len(pending) > RESULT_LINE_MAX:
                ending = ending or {"ending": "result_overflow", "exercise": current}
                continue
            *lines, pending = pending.split(b"\n")
            for line in lines:
                current, deadline = _track(line, current, deadline, timeouts)
            gathered.extend(lines)
    _kill(pid)
    status = _reap(pid)
    for fd in (result_r, log_r, pidfd):
        try:
            selector.unregister(fd)
        except (KeyError, ValueError):
            pass
        os.close(fd)
    ending = ending or {"ending": "exited", "exercise": current}
    ending.update({"status": status, "log": log.decode("utf-8", "replace"), "log_bytes": log_total,
                   "seconds": time.monotonic() - started})
    return gathered, ending


def _track(line, current, deadline, timeouts):
    """Follow begin/end markers to set the wall-clock deadline of the running exercise."""
    if len(line) > CONTROL_LINE_MAX:  # a call's result, not a marker: not worth parsing here
        return current, deadline
    try:
        event = json.loads(line)
    except ValueError:
        return current, deadline
    if not isinstance(event, dict) or event.get("exercise") not in timeouts:
        return current, deadline
    if event.get("event") == "begin":
        return event["exercise"], time.monotonic() + timeouts[event["exercise"]]
    if event.get("event") == "end":
        return None, time.monotonic() + BETWEEN_EXERCISES
    return current, deadline


def _kill(pid):
    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
        except (ProcessLookupError, PermissionError):
            pass


def _reap(pid):
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return f"signal:{signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit:{os.WEXITSTATUS(status)}"


def _private_tmp(job):
    """Whether the child works in /tmp/work of its own tmpfs (the mounts layer) rather than a folder made here."""
    return "mounts" in job.get("sandbox", {}).get("layers", sandbox.LAYERS)


def run_job(job):
    if _private_tmp(job):
        _fork_and_supervise(job)
        return
    job["scratch"] = tempfile.mkdtemp(prefix="grader-scratch-")
    try:
        _fork_and_supervise(job)
    finally:
        shutil.rmtree(job["scratch"], ignore_errors=True)


def _fork_and_supervise(job):
    result_r, result_w = os.pipe()
    log_r, log_w = os.pipe()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            os.close(result_r)
            os.close(log_r)
            child_main(job, result_w, log_w)
            code = 0
        finally:
            os._exit(code)
    os.close(result_w)
    os.close(log_w)
    lines, ending = supervise(pid, result_r, log_r, job)
    relay(job["id"], lines, {"job": job["id"], "kind": "done", **ending})


def warm_up():
    """Run tiny, single-threaded versions of what students call, once, before any fork.

    Lazy initialisation (the autograd engine, optimizer wrappers, dispatcher caches)
    then happens here instead of in every child. Nothing student-related is involved.
    """
    torch.set_num_threads(1)
    model = torch.nn.Sequential(torch.nn.Linear(2, 2, dtype=torch.float64), torch.nn.Sigmoid(),
                                torch.nn.Linear(2, 1, dtype=torch.float64))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.ones(3, 2, dtype=torch.float64)
    for _ in range(2):
        optimizer.zero_grad()
        loss = torch.nn.MSELoss()(model(x), torch.zeros(3, 1, dtype=torch.float64))
        loss.item()
        loss.backward()
        optimizer.step()
    for dtype in (torch.float32, torch.float64):
        z = torch.linspace(-2, 2, 5, dtype=dtype)
        ((z > 0).to(dtype) + torch.exp(-z.abs()) / (1 + torch.exp(z)) + torch.where(z >= 0, z, -z)).sum()
        (z.reshape(5, 1) @ z.reshape(1, 5)).T.mean(dim=0)


def prepare():
    """Everything done once before forking: warm torch up, build the sandbox, freeze the heap."""
    global ISOLATION, RUNTIME_PATHS
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The kernel copies the heap into huge pages (~0.2 s) while this thread goes on: madvise drops the GIL.
    collapsing = threading.Thread(target=collapse_heap, name="collapse-heap")
    collapsing.start()
    light_dynamo.install()
    warm_up()
    ISOLATION = sandbox.Isolation()
    RUNTIME_PATHS = sandbox.python_paths() + [os.path.dirname(os.path.abspath(__file__))]
    # Everything imported so far lives as long as this process: frozen, children's collections skip it (fewer
    # copy-on-write page faults). No full collection first: it took ~0.1-0.2 s at start-up to find ~7,000
    # objects of garbage left by the imports, which stay, frozen, never touched again.
    gc.freeze()
    gc.enable()
    collapsing.join()  # no thread may be running at fork


MADV_COLLAPSE = 25  # Linux 6.1+
HUGE_PAGE = 2 << 20


def collapse_heap():
    """Back the heap with 2 MiB pages where the kernel can; returns the bytes collapsed.

    A fork copies, and the child's exit frees, one page-table entry per 4 KiB page of private
    memory: ~37,000 for the ~150 MiB that torch and the interpreter hold here, ~75 once that
    memory sits in huge pages. A fork and exit of this process then costs ~40% less CPU.
    Only MADV_COLLAPSE, not MADV_HUGEPAGE: memory that children allocate later stays in small pages.
    Where the kernel says no (older than 6.1, THP off), nothing changes.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    collapsed = 0
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            start, end = (int(address, 16) for address in fields[0].split("-"))
            anonymous = len(fields) < 6 or fields[5] == "[heap]"
            low, high = -(-start // HUGE_PAGE) * HUGE_PAGE, end // HUGE_PAGE * HUGE_PAGE
            if anonymous and "w" in fields[1] and high > low and libc.madvise(low, high - low, MADV_COLLAPSE) == 0:
                collapsed += high - low
    return collapsed


def serve():
    """Say ready, then run jobs from stdin until it closes: each a length line, then the job in marshal's
    format (runner.frame_job; it comes from the trusted judge, never from student code)."""
    ISOLATION.share_network()
    send({"kind": "ready", "pid": os.getpid(), "torch": torch.__version__})
    requests = sys.stdin.buffer
    while True:
        header = requests.readline()
        if not header:
            return
        job = marshal.loads(requests.read(int(header)))
        run_job(job)


if __name__ == "__main__":
    prepare()
    serve()
