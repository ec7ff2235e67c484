"""One exec'd process that imports torch once and forks, per worker slot, a zygote and a judge.

Importing torch is the largest fixed cost of a batch. The coordinator never
imports it; this process does, once, started by exec with a clean environment
and an argv of file-descriptor numbers, so it holds nothing secret. From that
state it forks, for each slot k:
  zygote k  serves the jobs of judge k (zygote.serve: a pipe for requests, a
            Unix socket for replies and the children's descriptors), forking
            a sandboxed child per job, exactly like an exec'd zygote;
  judge k   imports the grader (the trusted side: checks, references) only
            after the fork, then plans, drives zygote k, supervises its
            children and judges, talking to the coordinator over the two
            pipes it was given.
It then says "ready" on its stdout, waits for its stdin to close (the coordinator is done or gone) and ends;
every member of the family goes with it (parent-death signal).

    python -I family.py GRADER_ROOT SLOT:JOBS_FD:OUTCOMES_FD ...
"""
import ctypes
import os
import signal
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script's folder off

import descriptors  # noqa: E402
import sandbox  # noqa: E402
import zygote  # noqa: E402 - imports torch, numpy and the rest of the harness

PR_SET_NAME = 15


def _name(title):
    """The process name that `ps` and /proc/PID/comm show (at most 15 bytes)."""
    ctypes.CDLL(None).prctl(PR_SET_NAME, title.encode()[:15], 0, 0, 0)


def _fork(member, title):
    pid = os.fork()
    if pid:
        return pid
    code = 70
    try:
        sandbox.prctl(sandbox.PR_SET_PDEATHSIG, signal.SIGKILL)  # go when the family process goes
        _name(title)
        member()
        code = 0
    finally:
        os._exit(code)


def _zygote_member(requests, replies):
    def run():
        os.dup2(requests, 0)
        os.dup2(replies, 1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)  # as for an exec'd zygote: nothing of it reaches the instructor's terminal
        descriptors.keep_only(set())
        zygote.serve()
    return run


def _judge_member(grader_root, slot, fds):
    def run():
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # the family's control pipes stay the family's
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        descriptors.keep_only(set(fds))
        sys.path.insert(0, grader_root)  # the grader, imported only here, after the fork
        from grader.executors.local import serve_judge

        serve_judge(slot, *fds)
    return run


def main():
    grader_root, slots = sys.argv[1], [tuple(int(part) for part in arg.split(":")) for arg in sys.argv[2:]]
    sandbox.prctl(sandbox.PR_SET_PDEATHSIG, signal.SIGKILL)  # go when the coordinator goes
    _name("grader-family")
    zygote.prepare()
    sys.stdout.flush()
    for slot, jobs, outcomes in slots:
        requests_r, requests_w = os.pipe()
        judge_end, zygote_end = (end.detach() for end in socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET))
        _fork(_zygote_member(requests_r, zygote_end), f"grader-zygote{slot}")
        _fork(_judge_member(grader_root, slot, (jobs, outcomes, requests_w, judge_end)), f"grader-judge{slot}")
        for fd in (requests_r, requests_w, judge_end, zygote_end, jobs, outcomes):
            os.close(fd)
    os.write(1, b"ready\n")  # the coordinator stops doing the judges' work ahead of them (LocalExecutor.starting)
    sys.stdin.buffer.read()  # until the coordinator closes it, or dies
    os._exit(0)


if __name__ == "__main__":
    main()
