"""The loop benchmark's plumbing on tiny inputs: the memory probe, the change count, the
markdown table and the command line. No job runs here.

Speed itself is measured by running the script (docs/benchmarks.md), not asserted here; the
job it times is tested end to end in tests/pipelines/test_continuous_loop.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from benchmarks.bench_loop import PassTiming, _changed, markdown, parse_args, peak_rss_mb
from territory_ops.settings import PROJECT_ROOT

# A fresh interpreter that touches ``own`` MB itself, then waits for a child that touches
# ``child`` MB, and prints what the probe reports (bytes are written, so pages are resident).
_PROBE = """
import subprocess, sys
from benchmarks.bench_loop import peak_rss_mb
own, child = int(sys.argv[1]), int(sys.argv[2])
held = b"x" * (own * 2**20)
if child:
    subprocess.run([sys.executable, "-c", f"b = b'x' * ({child} * 2**20)"], check=True)
print(peak_rss_mb())
"""


# Linux carries a process's peak memory over exec from the memory it was forked with, so a
# probe started by pytest would report pytest's size; a small trampoline in between keeps the
# probe's peak its own.
_TRAMPOLINE = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"


def _probe(own_mb: int, child_mb: int) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _TRAMPOLINE]
        + [sys.executable, "-c", _PROBE, str(own_mb), str(child_mb)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip())


def test_peak_memory_counts_the_process_and_its_largest_child():
    # in MB (not KiB, not bytes): a bare interpreter stays well under 100
    assert 1 < _probe(0, 0) < 100
    assert 150 < _probe(150, 0) < 400  # the 150 MB this process wrote
    assert 200 < _probe(0, 200) < 450  # a child (dbt runs as one) counts when it is the largest


def test_peak_memory_of_this_process_is_its_high_water_mark_in_mb():
    status = Path("/proc/self/status").read_text().splitlines()
    hwm_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    # the kernel syncs each thread's resident-page counts lazily, so two readings of the same
    # peak may differ by a few pages; a unit slip (KiB, bytes) would be off by 1,000x
    assert peak_rss_mb() >= 0.95 * hwm_kib / 1024


def test_changed_counts_the_changed_assignments_of_one_run(tmp_path):
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema plans")
        con.execute("create table plans.assignments (run_id varchar, changed boolean)")
        con.execute(
            "insert into plans.assignments values "
            "('r1', true), ('r1', false), ('r1', true), ('r2', true), ('r1', null)"
        )
    assert _changed(db, "r1") == 2
    assert _changed(db, "r2") == 1
    assert _changed(db, "r3") == 0


def test_markdown_table_has_one_row_per_pass_with_its_target():
    timings = [
        PassTiming("full", "2026-08-31", 1234.56, 600.04, 2048.4, 1500, True),
        PassTiming("micro", "2026-09-30", 95.0, 40.5, 2100.0, 12, True),
        PassTiming("refresh", "2026-10-31", 30.26, 0.0, 2100.0, 0, False),
    ]
    report = markdown(timings, 100_000, 300, 7).splitlines()
    assert report[0] == "### Continuous loop (100,000 accounts, 300 reps)"
    assert report[2] == (
        "Command: `python -m benchmarks.bench_loop --accounts 100000 --reps 300 --seed 7`  "
    )
    assert report[3].startswith("Machine: ") and " cores, " in report[3]
    assert report[5].startswith("| pass | snapshot |") and report[6].startswith("|---|")
    assert report[7:] == [
        "| full | 2026-08-31 | 1,234.6 s | 600.0 s | ≤ 720 s | 2,048 MB | 1,500 | yes |",
        "| micro | 2026-09-30 | 95.0 s | 40.5 s | ≤ 240 s | 2,100 MB | 12 | yes |",
        "| refresh | 2026-10-31 | 30.3 s | 0.0 s | ≤ 150 s | 2,100 MB | 0 | FAILED |",
    ]
    # every row has as many cells as the header
    assert len({line.count("|") for line in report[5:]}) == 1


def test_command_line_defaults_are_production_size_and_can_be_overridden():
    defaults = parse_args([])
    assert (defaults.accounts, defaults.reps, defaults.seed) == (100_000, 300, 1)
    small = parse_args(["--accounts", "150", "--reps", "8", "--seed", "3"])
    assert (small.accounts, small.reps, small.seed) == (150, 8, 3)
