"""Regional decomposition of a big book: split into regions, allocate the border, solve each
region on its own (from files, so each may run in its own process), merge and reconcile.

The steps an orchestrator runs, each a pure function of its files:

* :func:`split_book` ``(book, options, out_dir) -> [region input dirs]`` (also writes
  ``book_dir(out_dir)``, the border input);
* :func:`solve_region` ``(path_in, path_out, options) -> path_out``, once per region;
* :func:`merge_regions` ``(region plan dirs, book_dir(out_dir), options) -> PlanResult``.

:func:`solve_regional` runs them one after another in this process (what
:func:`territory_ops.optimize.optimize` does for a big book); :func:`choose_path` decides.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from territory_ops.optimize.options import OptimizeOptions
from territory_ops.optimize.regions.merge import merge_regions
from territory_ops.optimize.regions.region import RegionSolveError, solve_region
from territory_ops.optimize.regions.split import (
    as_instance,
    book_dir,
    plan_split,
    split_book,
    write_split,
)
from territory_ops.optimize.regions.switch import PathChoice, choose_path, region_count
from territory_ops.optimize.result import PlanResult
from territory_ops.optimize.tables import Tables

__all__ = [
    "PathChoice",
    "RegionSolveError",
    "book_dir",
    "choose_path",
    "merge_regions",
    "solve_region",
    "solve_regional",
    "split_book",
]

PLANS_DIR = "plans"


def solve_regional(
    tables: Tables, options: OptimizeOptions, path: PathChoice, work_dir: str | Path | None = None
) -> PlanResult:
    """Split, solve every region in turn, merge: the regional path in one process.

    ``work_dir`` keeps the step files (a temporary directory otherwise)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="regions-") as tmp:
        out = Path(work_dir) if work_dir is not None else Path(tmp)
        inst = as_instance(tables, options)
        k = max(path.n_regions, region_count(int(inst.active.sum()), options.region_reps))
        inputs = write_split(plan_split(inst, options, k), out)
        plans = [solve_region(p, out / PLANS_DIR / p.name, options) for p in inputs]
        result = merge_regions(plans, book_dir(out), options, instance=inst, path=path)
    result.metrics["seconds"] = round(time.perf_counter() - t0, 2)
    return result
