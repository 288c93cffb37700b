"""What a caller may ask of the optimizer: mode, band, move budget, limits, seed, weights.

Its own module so that the solve's context (:mod:`.context`) can carry the options without
depending on the entry point (:mod:`.api`) that builds the context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from territory_ops.optimize.capacity import UTILISATION_BAND
from territory_ops.optimize.instance import ObjectiveWeights
from territory_ops.optimize.targets import DEFAULT_TOLERANCE


@dataclass(frozen=True)
class OptimizeOptions:
    mode: str = "full"  # "full" (quarterly redesign) or "micro" (monthly)
    tolerance: float = DEFAULT_TOLERANCE
    max_moves: int | None = None  # micro: moves of accounts whose owner is active (default 0)
    # wall clock for the whole call, certificate included; None: a default that fits the
    # instance (budget.default_time_limit), recorded as metrics["time_limit_s"]
    time_limit: float | None = None
    seed: int = 0
    candidates: int | None = None  # eligible reps kept per family (None: all, or 16 if big)
    core_limit: int = 25_000  # families in the exact model; the rest fixed by prices
    weights: ObjectiveWeights | None = None  # None: FULL_WEIGHTS / MICRO_WEIGHTS
    max_accounts_per_rep: int | None = None
    matrix_fallback_kmh: float = 60.0  # pairs missing from a travel matrix: km / speed
    progress: Callable[[str], None] | None = field(default=None, compare=False)
    # True: a capacity shortfall, or a move budget too small for what today's assignment
    # already breaks, is an error instead of a plan with the finding in the metrics
    strict: bool = False
    # a team short of capacity as a whole: every rep within this share of the team's
    # utilisation (a band, not an exact even spread, so reps keep the accounts near them)
    utilisation_band: float = UTILISATION_BAND
    # regional decomposition (:mod:`.regions`): a full pass over at least this many accounts
    # is split into regions of about ``region_reps`` active reps, each solved on its own and
    # reconciled at the borders; smaller books (and micro passes) are solved in one piece.
    # None: never split; 0: always (when there are reps for two regions)
    regional_min_accounts: int | None = 200_000
    region_reps: int = 100
