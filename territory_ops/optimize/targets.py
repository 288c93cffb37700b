"""Per-rep targets and the default balance band, defined once.

A rep's target is its ``target_weight`` share (active reps only) of the total potential;
the band is ``target x (1 +- tolerance)``. Used by the model (:mod:`.instance`), the plan
metrics (:mod:`.report`) and the baselines, so every figure compares against the same
target.
"""

from __future__ import annotations

import numpy as np

DEFAULT_TOLERANCE = 0.05  # +- share of target; CLI, OptimizeOptions and baselines use this


def rep_targets(
    total_potential: float, target_weight: np.ndarray, active: np.ndarray
) -> np.ndarray:
    """Target potential per rep (0 for inactive reps)."""
    w = np.where(active, np.asarray(target_weight, dtype=float), 0.0)
    return total_potential * w / max(float(w.sum()), 1e-12)
