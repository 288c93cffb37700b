"""The time budget of one ``optimize`` call: wall clock for the whole call.

Work limits (iteration counts, LP dive steps, CP-SAT's deterministic time) decide what is
done, so a plan is byte-identical for the same input and seed; the wall clock only stops a
phase early, and when it does ``hit`` records it (``metrics["time_limit_hit"]``).
The work limits derive from the instance size (``work_scale``: seconds by the number of
accounts, whatever ``--time-limit`` says), so a plan does not change with the time limit
either, as long as the clock does not stop a phase.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

MIN_SECONDS = 10.0  # work scale of the smallest books
MAX_SECONDS = 300.0  # ... and of 100k-account books (a plan within 6 minutes)
ACCOUNTS_PER_SECOND = 250.0  # the scale grows by one second per this many accounts
SMALL_BOOK_SECONDS = 30.0  # the default limit's floor, what a 5k book gets anyway: small
# books are solved exactly, by CP-SAT and then SCIP (``exact``), whose 500 nodes took up to
# 25 s on the benchmark's hardest books (at 20 s the clock cut it on 9 of 57 plain books)


def work_scale(n_accounts: int) -> float:
    """Seconds that size the work limits: 30 at 5k accounts, 300 at 100k."""
    return float(min(MAX_SECONDS, MIN_SECONDS + n_accounts / ACCOUNTS_PER_SECOND))


def default_time_limit(n_accounts: int) -> float:
    """A budget that fits the instance: 30 s up to 5k accounts, 300 s at 100k."""
    return max(SMALL_BOOK_SECONDS, work_scale(n_accounts))


@dataclass
class Budget:
    limit: float
    t0: float = field(default_factory=time.perf_counter)
    hit: bool = False
    phases: list[str] = field(default_factory=list)
    reserved: float = 0.0  # seconds kept back for the certificate until released
    work_scale: float = MIN_SECONDS  # ``work_scale(n)``: sizes the work limits

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def left(self) -> float:
        return max(self.limit - self.reserved - self.elapsed(), 0.0)

    def reserve(self, seconds: float) -> None:
        self.reserved = seconds

    def release(self) -> None:
        self.reserved = 0.0

    def share(self, fraction: float, floor: float = 1.0) -> float:
        """Seconds for a phase: ``fraction`` of what is left, at least ``floor``."""
        return max(fraction * self.left(), floor)

    def expired(self, phase: str) -> bool:
        """True (and recorded) if no time is left before ``phase``."""
        if self.left() > 0:
            return False
        self.note(phase)
        return True

    def note(self, phase: str) -> None:
        self.hit = True
        self.phases.append(phase)
