"""Open the warehouse for a decision even while a pass holds it: wait, don't fail.

DuckDB lets one process write at a time; a pass can hold the file for minutes. A decision (CLI,
Slack click, Dagster job) therefore waits for the lock with a growing pause up to a deadline
instead of failing on "Could not set lock on file", and says clearly when it gave up, so the
caller can keep the decision queued (the Slack endpoint) or ask the user to retry (the CLI).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import duckdb


class WarehouseBusy(RuntimeError):
    """The warehouse stayed locked by another process for the whole wait."""


def _is_lock_conflict(err: Exception) -> bool:
    text = str(err).lower()
    return "could not set lock" in text or "conflicting lock" in text


def connect_when_free(
    path: str | Path,
    *,
    timeout_s: float = 300.0,
    first_pause_s: float = 0.2,
    max_pause_s: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> duckdb.DuckDBPyConnection:
    """A read-write connection to ``path``, waiting while another process holds the lock."""
    deadline = time.monotonic() + timeout_s
    pause = first_pause_s
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as err:
            if not _is_lock_conflict(err):
                raise
            left = deadline - time.monotonic()
            if left <= 0:
                raise WarehouseBusy(
                    f"the warehouse {path} is still locked by another process (a running pass?) "
                    f"after {timeout_s:.0f} s; nothing was decided — try again when it finishes"
                ) from None
            sleep(min(pause, left))
            pause = min(pause * 2, max_pause_s)
