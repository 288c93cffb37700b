"""How far a team as a whole is short of capacity, in the one sentence every view of a plan
leads with (the optimizer's ``capacity_shortfall``, the pass summary, the map caption), so
they all say the same figures. Plain numbers in, no model or drawing dependencies."""

from __future__ import annotations

import math

import numpy as np

OVER_TOL = 1e-6  # hours: below this a rep, or the team, is not over capacity


def team_short(total_workload: float, active_capacity: np.ndarray) -> tuple[float, int] | None:
    """(the team's utilisation, about how many more reps of its mean capacity would carry
    the rest), or ``None`` when the team is not short of capacity as a whole."""
    caps = np.asarray(active_capacity, dtype=float)
    total = float(caps.sum())
    if len(caps) == 0 or total_workload <= total + OVER_TOL:
        return None
    mean_cap = total / len(caps)
    return total_workload / max(total, 1e-9), math.ceil((total_workload - total) / mean_cap - 1e-9)


def team_short_text(utilisation: float, more_reps: int) -> str:
    """The plain sentence a summary and a map caption lead with."""
    return (
        f"the team is {utilisation:.1f}× short of capacity: about {more_reps} more "
        f"rep{'s' * (more_reps != 1)}; `territory-ops hiring` shows where they would help most"
    )
