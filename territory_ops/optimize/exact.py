"""Exact improvement of a plan (placeholder until the MIP / LNS lands)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from territory_ops.optimize.budget import Budget
from territory_ops.optimize.instance import Instance


@dataclass
class ExactResult:
    assignment: np.ndarray
    method: str
    optimal: bool
    mip_gap: float | None


def improve(
    inst: Instance,
    assignment: np.ndarray,
    cost: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    moves_budget: int | None,
    movable: np.ndarray | None,
    budget: Budget,
    seed: int,
    say: Callable[[str], None],
) -> ExactResult | None:
    return None
