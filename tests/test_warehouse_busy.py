"""A decision waits for a pass that holds the warehouse instead of failing."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from territory_ops.warehouse import WarehouseBusy, connect_when_free


def _hold_lock(path: Path, seconds: float) -> subprocess.Popen:
    code = (
        "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
        "print('locked', flush=True); time.sleep(float(sys.argv[2]))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_waits_for_the_other_process_then_connects(tmp_path):
    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    holder = _hold_lock(path, 1.5)
    try:
        started = time.monotonic()
        con = connect_when_free(path, timeout_s=30, first_pause_s=0.1)
        waited = time.monotonic() - started
        con.execute("create table t as select 1 as x")
        con.close()
    finally:
        holder.wait(timeout=30)
    assert waited > 0.5  # it really waited for the lock


def test_gives_up_with_a_clear_message(tmp_path):
    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    holder = _hold_lock(path, 5)
    try:
        with pytest.raises(WarehouseBusy, match="still locked by another process"):
            connect_when_free(path, timeout_s=0.5, first_pause_s=0.1)
    finally:
        holder.kill()
        holder.wait()
