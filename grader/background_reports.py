"""Students' reports written while the class is still being graded, in the cores' idle moments.

The judges and their children keep both cores busy, but not quite: each hand-over between a judge,
its zygote and a child leaves a core idle for a moment, ~5% of the grading in all (measured at
N = 200 with two workers), about what rendering the whole class's reports costs. So the coordinator
forks one renderer with the first result and hands it each student's (result, gradebook row) as
soon as it is recorded; the renderer runs under SCHED_IDLE, so it takes those idle moments and
little else (measured at N = 200: the tail after the last result 0.9-1.0 -> ~0.2 s, the grading
~2-5% slower; niced instead, it slowed the grading by ~15%). When grading ends, the renderer
stops after the student it is on and says whom it has done; the end of the batch renders only
the others.

The renderer is a fork of the coordinator (trusted, like the end of a batch's forked renderers):
it writes only OUT/reports. Items travel as pickles from the coordinator to its own fork, never
from student code. The coordinator never waits for it: what the pipe cannot take yet waits in
memory.
"""
import gc
import json
import os
import pickle
import select
import struct

from grader.harness.descriptors import keep_only
from grader.reports import load_templates, write_student_reports

HEADER = struct.Struct("!I")


class BackgroundReports:
    """The coordinator's handle on the renderer: add() each grading as recorded, finish() at the end."""

    def __init__(self, out_dir):
        load_templates()  # compiled once here, not by the fork
        items_r, self.items_w = os.pipe()
        self.stop_r, stop_w = os.pipe()
        done_r, done_w = os.pipe()
        gc.freeze()  # a collection in the fork would touch, and so copy, every page this process holds
        try:
            self.pid = os.fork()
            if self.pid == 0:
                code = 1
                try:
                    keep_only({items_r, self.stop_r, done_w})  # the judges' and the family's pipes stay theirs
                    _lowest_priority()
                    _serve(items_r, self.stop_r, done_w, out_dir)
                    code = 0
                finally:
                    os._exit(code)
        finally:
            gc.unfreeze()
        for fd in (items_r, self.stop_r, done_w):
            os.close(fd)
        self.stop_w, self.done_r = stop_w, done_r
        os.set_blocking(self.items_w, False)
        self.waiting = bytearray()

    def add(self, result, row):
        """Hand over one student's grading as recorded; never blocks."""
        data = pickle.dumps((result, row), protocol=pickle.HIGHEST_PROTOCOL)
        self.waiting += HEADER.pack(len(data)) + data
        self._send()

    def _send(self):
        while self.waiting:
            try:
                written = os.write(self.items_w, self.waiting)
            except BlockingIOError:
                return
            except OSError:  # the renderer is gone: the end of the batch renders what it did not
                self.waiting.clear()
                return
            del self.waiting[:written]

    def finish(self):
        """Stop the renderer after the student it is on; the set of students whose reports it wrote."""
        os.close(self.stop_w)
        os.close(self.items_w)
        with os.fdopen(self.done_r, "rb") as done:  # read to the end first: the renderer may wait to write there
            lines = done.read().splitlines()
        os.waitpid(self.pid, 0)
        return {json.loads(line) for line in lines}


def _lowest_priority():
    """Run only on a core that nothing else wants (SCHED_IDLE): a waking judge or child takes the core at once,
    and the scheduler counts a core running only this as idle when it places them. Niced instead (19, in a
    session and autogroup of its own), the renderer still slowed grading by ~15%."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        os.nice(19)  # no SCHED_IDLE here: the lowest priority there is


def _serve(items_r, stop_r, done_w, out_dir):
    """In the fork: render what arrives until told to stop (or the items end); report each student done."""
    buffer = bytearray()
    while True:
        readable, _, _ = select.select([items_r, stop_r], [], [])
        if stop_r in readable:
            return
        chunk = os.read(items_r, 1 << 20)
        if not chunk:
            return
        buffer += chunk
        while len(buffer) >= HEADER.size and len(buffer) >= HEADER.size + HEADER.unpack_from(buffer)[0]:
            size = HEADER.unpack_from(buffer)[0]
            result, row = pickle.loads(bytes(buffer[HEADER.size:HEADER.size + size]))
            del buffer[:HEADER.size + size]
            write_student_reports(result, out_dir, row)
            os.write(done_w, json.dumps(result.student).encode() + b"\n")
            if select.select([stop_r], [], [], 0)[0]:
                return
