"""A warm process that forks one child per grading job.

Started by exec (never by fork from the grader), it imports torch once and
holds nothing secret: jobs arrive on stdin (marshal frames from the judge) and carry only file
paths, call inputs and time limits. For each job it forks a child that runs
`child.run_plan`, passes the read ends of the child's result and log pipes and
a pidfd to the judge over the Unix socket on its stdout, and waits: the judge
reads the child and enforces its deadlines and caps (runner.supervise), then
says it is done, and this process kills the child's whole process group,
reaps it and reports how it ended.
"""
import gc

gc.disable()  # until prepare(): collections while torch imports cost ~10% of the import, and prepare() freezes all
import json
import marshal
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script's folder off
sys.dont_write_bytecode = True  # never leave __pycache__ in a submission

import lazy_meta  # noqa: E402

lazy_meta.install()  # torch's Python meta kernels wait for their first use: ~0.3 s of the import
import numpy  # noqa: E402,F401 - warm the import for children
import torch  # noqa: E402

import child  # noqa: E402
import light_dynamo  # noqa: E402
import sandbox  # noqa: E402

REPLIES = None  # the Unix socket (SOCK_SEQPACKET) to the judge, taken off stdout by serve()


def send(message, fds=()):
    """One message to the judge: a JSON record, with `fds` passed along (SCM_RIGHTS)."""
    data = json.dumps(message).encode()
    if fds:
        socket.send_fds(REPLIES, [data], list(fds))
    else:
        REPLIES.send(data)


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
    child.run_plan(marshal.loads(job["plan"]), reporter)
    sys.stdout.flush()
    sys.stderr.flush()


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


def read_request(requests):
    """The judge's next frame (runner.frame_job): a length line, then marshal's bytes; None at end of file."""
    header = requests.readline()
    if not header:
        return None
    return marshal.loads(requests.read(int(header)))


def run_job(job, requests):
    """Run one job; False when the judge has gone (end of file on `requests`)."""
    if _private_tmp(job):
        return _fork_and_hand_over(job, requests)
    job["scratch"] = tempfile.mkdtemp(prefix="grader-scratch-")
    try:
        return _fork_and_hand_over(job, requests)
    finally:
        shutil.rmtree(job["scratch"], ignore_errors=True)


def _fork_and_hand_over(job, requests):
    """Fork the child, hand the read ends of its result and log pipes and a pidfd to the judge, and sleep until
    the judge says it is done with the child (exited, out of time or over a cap). Then kill the child's process
    group, reap it and tell the judge how it ended.

    The judge, not this process, reads and times the child: after each fork every page of this process is shared
    with the child, and every page it writes while the child lives is copied (~600 pages a job when it supervised
    the child here). Waiting in one read touches almost none.
    """
    result_r, result_w = os.pipe()
    log_r, log_w = os.pipe()
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
    pidfd = os.pidfd_open(pid)
    try:
        send({"job": job["id"], "kind": "started"}, fds=(result_r, log_r, pidfd))
    finally:
        for fd in (result_r, log_r, pidfd):
            os.close(fd)
    word = read_request(requests)  # {"end": job id}, or None: the judge has gone
    _kill(pid)
    status = _reap(pid)
    if word is None:
        return False
    send({"job": job["id"], "kind": "done", "status": status})
    return True


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
    format (runner.frame_job; it comes from the trusted judge, never from student code). Replies go over the
    Unix socket on stdout, which moves off fd 1 so that nothing printed by accident can reach the judge."""
    global REPLIES
    REPLIES = socket.socket(fileno=os.dup(1))
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    ISOLATION.share_network()
    send({"kind": "ready", "pid": os.getpid(), "torch": torch.__version__})
    requests = sys.stdin.buffer
    while True:
        job = read_request(requests)
        if job is None:
            return
        if "end" in job:  # the word about a job already over
            continue
        if "prepare" in job:  # public calls, the same in every job: their inputs decoded once, here
            child.prepare(job["prepare"])
            gc.freeze()  # they live as long as this process: children's collections skip them
            continue
        if not run_job(job, requests):
            return


if __name__ == "__main__":
    prepare()
    serve()
