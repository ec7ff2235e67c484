"""The batch benchmark's timing: a command frozen while another runs, its frozen time left out."""
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import batch_vs_nbgrader as bench  # noqa: E402

pytestmark = pytest.mark.skipif(not bench.Cgroups.can_freeze(),
                                reason="no cgroup-v1 freezer here (not root, or cgroup v2 only): the benchmark "
                                       "then runs ours before and after nbgrader instead")

# Says its pid, then spins for ~1 s of its own CPU time, then says it is done.
SPINNER = ("import os, time\n"
           "print('go', os.getpid(), flush=True)\n"
           "while time.process_time() < 1.0:\n"
           "    pass\n"
           "print('done', flush=True)\n")


def _cpu_ticks(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_a_paused_command_is_frozen_and_its_pause_left_out_of_its_wall_time(tmp_path):
    seen = {}

    def meanwhile_for(pid):
        def meanwhile():
            before = _cpu_ticks(pid)
            time.sleep(1.5)
            seen["ticks while frozen"] = _cpu_ticks(pid) - before
        return meanwhile

    def pause_at(line):
        if line.startswith("go "):
            return meanwhile_for(int(line.split()[1]))
        return None

    started = time.perf_counter()
    rc, output, wall, cpu, _ = bench.timed([sys.executable, "-c", SPINNER], tmp_path, pause_at=pause_at)
    elapsed = time.perf_counter() - started
    assert rc == 0 and output.split()[::2] == ["go", "done"]
    assert seen["ticks while frozen"] == 0  # a spinning process that is not frozen gains ~150 ticks in 1.5 s
    assert elapsed - wall >= 1.5
    assert 0.9 <= cpu < wall + 0.5  # its CPU time is its own: none of the pause's


def test_the_benchmark_pauses_nbgrader_at_evenly_spaced_students():
    sample = [(f"s{i:03d}", "variant", {}, True) for i in range(1, 49)]
    assert [sample[position][0] for position in bench.interleaving(sample, 4)] == ["s011", "s020", "s030", "s039"]
    assert bench.interleaving(sample, 0) == []
    assert bench.STUDENT_LINE.search(
        "[AutogradeApp | INFO] Creating/updating student with ID 's011': {}").group(1) == "s011"
