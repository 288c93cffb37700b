"""A small US book with a deliberately uncovered region around Denver."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

HUBS = {  # name: (lat, lon)
    "chicago": (41.88, -87.63),
    "atlanta": (33.75, -84.39),
    "dallas": (32.78, -96.80),
    "new_york": (40.71, -74.01),
}
DENVER = (39.74, -104.99)


def book(seed: int = 7, n_per_hub: int = 30, n_gap: int = 15) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Accounts around four hubs with two reps each, plus a Denver cluster no rep can reach."""
    rng = np.random.default_rng(seed)
    reps, accounts = [], []
    for h, (name, (lat, lon)) in enumerate(HUBS.items()):
        for j, seg in enumerate(("smb", "enterprise")):
            reps.append(
                {
                    "rep_id": f"R{h}{j}",
                    "latitude": lat + 0.05 * j,
                    "longitude": lon,
                    "capacity_hours": 2000.0,
                    "target_weight": 1.0,
                    "segments": seg,
                    "skills": "hipaa" if name == "atlanta" else "",
                    "active": True,
                }
            )
        for i in range(n_per_hub):
            seg = "smb" if i % 2 else "enterprise"
            accounts.append(
                (f"A{name[:3]}{i:03d}", lat, lon, seg, f"R{h}{int(seg == 'enterprise')}")
            )
    for i in range(n_gap):
        accounts.append((f"ADEN{i:03d}", *DENVER, "smb", "R20"))  # owned from Dallas today
    rows = []
    for aid, lat, lon, seg, rep in accounts:
        rows.append(
            {
                "account_id": aid,
                "parent_account_id": "",
                "latitude": float(lat + rng.normal(0, 0.3)),
                "longitude": float(lon + rng.normal(0, 0.3)),
                "potential": float(rng.uniform(50, 150)),
                "workload_hours": float(rng.uniform(10, 30)),
                "segment": seg,
                "industry": "software" if rng.random() < 0.5 else "health",
                "required_skill": "",
                "current_rep_id": rep,
                "locked": False,
            }
        )
    return pl.DataFrame(rows), pl.DataFrame(reps)


@pytest.fixture(scope="module")
def gap_book() -> tuple[pl.DataFrame, pl.DataFrame]:
    return book()
