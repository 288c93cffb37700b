"""What the phases of one ``optimize`` call share, passed as two small frozen objects.

* :class:`SolveContext`: the instance, the caller's options, the clock and its work limits
  (:class:`~.budget.Budget`), the progress callback. Built once by :func:`.api.optimize`;
  the solve loop, the certificate and the result read everything from it.
* :class:`Terms`: what a plan is solved and judged on in one phase: the cost per (family,
  candidate column), the band it must keep, and the move budget. The solve loop widens the
  band after the LP and the certificate swaps travel in for cost, so a phase gets the terms
  it works under rather than four loose arrays.

The move budget has one internal name, ``move_budget``: moves allowed in micro mode, ``None``
in full mode (no budget). ``OptimizeOptions.max_moves`` is the caller's spelling of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from territory_ops.optimize.budget import Budget
from territory_ops.optimize.instance import Instance
from territory_ops.optimize.options import OptimizeOptions


def quiet(_msg: str) -> None:
    """A progress callback that says nothing."""


@dataclass(frozen=True, eq=False)
class SolveContext:
    """One ``optimize`` call: instance, options, clock and work limits, progress."""

    inst: Instance
    options: OptimizeOptions
    budget: Budget
    say: Callable[[str], None] = quiet

    @property
    def move_budget(self) -> int | None:
        """Micro: the moves allowed (``max_moves``, default 0); full: ``None``."""
        return int(self.options.max_moves or 0) if self.options.mode == "micro" else None


@dataclass(frozen=True, eq=False)
class Terms:
    """The rows and the cost a plan is solved and judged on (see the module doc)."""

    cost: np.ndarray  # per family x candidate column; inf where there is no candidate
    lower: np.ndarray  # per rep band on potential
    upper: np.ndarray
    move_budget: int | None = None

    def with_band(self, lower: np.ndarray, upper: np.ndarray) -> Terms:
        return replace(self, lower=lower, upper=upper)

    def key(self, inst: Instance, a: np.ndarray) -> tuple[float, float, float]:
        """(hard-row excess, band violation, cost) of plan ``a``: smaller is better, in this
        order."""
        F = inst.n_families
        rep = inst.cand_rep[np.arange(F), a]
        R = inst.n_reps
        W = np.bincount(rep, weights=inst.fam_workload, minlength=R)
        N = np.bincount(rep, weights=inst.fam_count, minlength=R)
        P = np.bincount(rep, weights=inst.fam_potential, minlength=R)
        cap = np.maximum(inst.capacity, 1e-9)
        hard = float((np.maximum(W - inst.capacity, 0.0) / cap).sum())
        fin = np.isfinite(inst.max_accounts)
        hard += float(np.maximum(N[fin] - inst.max_accounts[fin], 0.0).sum())
        if self.move_budget is not None:
            hard += max(int(inst.cand_moves[np.arange(F), a].sum()) - self.move_budget, 0)
        v = np.maximum(np.maximum(P - self.upper, self.lower - P), 0.0)
        v = v / np.maximum(inst.target, 1e-12)
        band = float((v * inst.active).sum())
        return (round(hard, 9), round(band, 9), float(self.cost[np.arange(F), a].sum()))


def candidate_costs(inst: Instance, travel: bool = False) -> np.ndarray:
    """The instance's cost (or travel) per candidate column, inf where there is none."""
    return np.where(inst.cand_rep >= 0, inst.cand_travel if travel else inst.cand_cost, np.inf)
