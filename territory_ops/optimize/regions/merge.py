"""Merge the regions' plans into one plan for the whole book: the reconciliation pass over
the border, the whole book's certificate, and the result the direct path returns.

**Reconciliation.** The regions' plans together keep every hard rule (each family went to
one region whole and each region keeps its reps' capacity, locks and eligibility), and each
region planned its reps inside the global band (:func:`.allocate.region_tolerance`). What
a region could not bring into band, or a border the allocation drew where travel says
otherwise, is mended on the whole book: first the band local search moving border families
between their candidate reps in any region, then neighbourhoods re-optimised exactly (the
LNS: reps out of band, then the families furthest above their cheapest rep) — each step
keeps every hard row, so the plan never gets worse.

**Certificate.** The bound is the Lagrangian dual of the *whole book's* LP relaxation (band
rows for every rep, capacity, max accounts), evaluated over every eligible rep of every
region (:func:`.certificate.travel_bound` on the whole book's instance), started from the
regions' prices. It is valid for the whole book because the dual function is a lower bound
for *any* non-negative prices: each family's term is a minimum over all its eligible reps,
wherever they are, so no allocation of families to regions is assumed. (The sum of the
regions' own bounds is not a bound for the book: each holds only for the families the
allocation gave its region; a plan that draws the borders elsewhere may travel less.) On
small books the bound is the exact LP relaxation over every eligible rep instead. As on the
direct path, the band the bound covers is widened to where the plan keeps a rep outside.
Where the ascent stops (the clock) before any positive value, the dual at zero prices is
reported instead (each family's travel to its nearest eligible rep: weak, always valid).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from territory_ops.optimize import capacity, lns
from territory_ops.optimize.budget import Budget, default_time_limit, work_scale
from territory_ops.optimize.candidates import add_candidates
from territory_ops.optimize.certificate import band_kept, reserve_seconds, travel_bound
from territory_ops.optimize.context import SolveContext, Terms, candidate_costs, quiet
from territory_ops.optimize.instance import Instance
from territory_ops.optimize.lagrange import Prices, bound_over_all_eligible
from territory_ops.optimize.options import OptimizeOptions
from territory_ops.optimize.regions.files import SPLIT, SPLIT_META, read_book, read_json
from territory_ops.optimize.regions.region import RegionSolveError, prices_array, read_plan
from territory_ops.optimize.regions.split import book_instance
from territory_ops.optimize.regions.switch import PathChoice
from territory_ops.optimize.repair import band_local_search
from territory_ops.optimize.result import Certificate, PlanResult, assemble, plan_reps
from territory_ops.optimize.solve import SolveOutcome

MERGE_SHARE = 1.0  # of the whole book's default time limit: the merge's safety stop (its work
# limits decide: a busy machine must not cut the reconciliation short)


def merge_regions(
    region_plan_paths: Sequence[str | Path],
    border_input: str | Path,
    options: OptimizeOptions,
    *,
    instance: Instance | None = None,
    path: PathChoice | None = None,
) -> PlanResult:
    """The whole book's plan from the regions' plans (directories :func:`.region.solve_region`
    wrote) and the split's book directory (``border_input``, :func:`.split.book_dir`).

    ``instance``: the whole book's instance when the caller has it (in process); else it is
    built from ``border_input``. Returns what :func:`territory_ops.optimize.optimize`
    returns, with ``solve_path`` "regional" and the regions' figures in the metrics."""
    say = options.progress or quiet
    book = Path(border_input)
    inst = instance if instance is not None else book_instance(read_book(book), options)
    tables = inst.tables
    n = len(inst.account_ids)
    # the clock starts once the book is built: at 1M building it took longer than the
    # merge's whole limit, and the reconciliation was left no second
    budget = Budget(limit=float(options.time_limit or MERGE_SHARE * default_time_limit(n)))
    budget.work_scale = work_scale(n)
    split = pl.read_parquet(book / SPLIT)
    summary = read_json(book / SPLIT_META)
    plans = [read_plan(p) for p in region_plan_paths]
    fam_rep = _family_reps(inst, split, plans)
    capacity.relieve(inst, options.utilisation_band)
    budget.reserve(reserve_seconds(budget.limit))
    ctx = SolveContext(inst, options, budget, say)
    a = _columns(inst, fam_rep)
    border = np.zeros(inst.n_families, dtype=bool)
    border[inst.family_of[split["border"].to_numpy()]] = True
    terms = Terms(candidate_costs(inst), inst.lower, inst.upper)
    a, recon = _reconcile(ctx, terms, a, border)
    slack = np.zeros(inst.n_reps)
    plan_rep = plan_reps(inst, a)
    bound, method = travel_bound(
        ctx, slack, _book_prices(inst, [r for _, r in plans]), None, plan_rep=plan_rep
    )
    if not bound > 0:
        bound, method = _nearest_rep_bound(inst, plan_rep, method)
    stats: dict[str, object] = {
        "repair_method": "regions + " + recon["method"],
        "lp_band_slack_max": max(
            float(r["metrics"].get("lp_band_slack_max") or 0.0) for _, r in plans
        ),
    }
    result = assemble(ctx, tables, SolveOutcome(a, slack, False, stats), Certificate(bound, method))
    m = result.metrics
    regions_band = all(
        float(r["metrics"].get("lp_band_slack_max") or 0.0) <= 1e-6 and r["band_nested"]
        for _, r in plans
    )
    # the regions' LP points together are a point of the whole book's LP in the global band
    # (each region's band lies inside it): that proves the band; a region's slack does not
    # disprove it (another allocation might do)
    in_band = m["reps_in_band"] == m["reps_active"]  # the plan itself is a witness
    m["band_feasible_lp"] = bool(m["band_feasible_lp"]) and (regions_band or in_band)
    path = path or PathChoice(True, "regional path run step by step", len(plans))
    m.update(path.metrics())
    m.update(
        regions=len(plans),
        border_families=int(border.sum()),
        region_split=summary,
        region_results=[
            {k: r[k] for k in ("region", "accounts", "tolerance", "band_nested")} | r["metrics"]
            for _, r in plans
        ],
        reconciliation=recon,
    )
    return result


def _family_reps(
    inst: Instance, split: pl.DataFrame, plans: list[tuple[pl.DataFrame, dict]]
) -> np.ndarray:
    """The rep of each family in the regions' plans; a region whose plan misses or splits
    an account of its own, or plans another region's, is named."""
    rep_index = {r: i for i, r in enumerate(inst.rep_ids)}
    acc_index = {a: i for i, a in enumerate(inst.account_ids)}
    region_of = split["region"].to_list()
    region_arr = split["region"].to_numpy()
    rep = np.full(len(inst.account_ids), -1, dtype=np.int64)
    for plan, res in plans:
        name = res["region"]
        idx = np.array([acc_index.get(a, -1) for a in plan["account_id"].to_list()])
        reps = np.array([rep_index.get(r, -1) for r in plan["rep_id"].to_list()])
        foreign = (idx < 0) | (reps < 0)
        if foreign.any():
            raise RegionSolveError(f"region {name}: its plan names accounts or reps the book lacks")
        if (rep[idx] >= 0).any() or (region_arr[idx] != name).any():
            raise RegionSolveError(f"region {name}: its plan holds accounts of another region")
        rep[idx] = reps
    missing = np.nonzero(rep < 0)[0]
    if len(missing):
        names = sorted({region_of[i] for i in missing})
        raise RegionSolveError(
            f"region {', '.join(names)}: {len(missing)} account(s) without a rep in the plans"
        )
    first = inst.fam_order[inst.fam_start[:-1]]
    fam_rep = rep[first]
    if (fam_rep[inst.family_of] != rep).any():
        split_fam = int(inst.family_of[np.nonzero(fam_rep[inst.family_of] != rep)[0][0]])
        raise RegionSolveError(
            f"region {region_of[first[split_fam]]}: family of "
            f"{inst.account_ids[int(inst.fam_root_account[split_fam])]} is split"
        )
    return fam_rep


def _columns(inst: Instance, fam_rep: np.ndarray) -> np.ndarray:
    """The plan as a candidate column per family; a rep a region chose that is not among the
    family's candidates on the whole book is added as one."""
    hit = inst.cand_rep == fam_rep[:, None]
    lacking = np.nonzero(~hit.any(axis=1))[0]
    if len(lacking):
        add_candidates(inst, lacking, fam_rep[lacking])
        hit = inst.cand_rep == fam_rep[:, None]
    return np.argmax(hit, axis=1)


def _reconcile(
    ctx: SolveContext, terms: Terms, a: np.ndarray, border: np.ndarray
) -> tuple[np.ndarray, dict[str, object]]:
    """The border local search, then LNS neighbourhoods (see the module doc)."""
    inst, budget = ctx.inst, ctx.budget
    before = terms.key(inst, a)
    t0 = time.perf_counter()
    method = "border local search"
    best = band_local_search(
        inst, a, terms, movable=border, deadline=time.perf_counter() + budget.left()
    )
    key = terms.key(inst, best)
    ex = lns.improve(ctx, terms, best, None)
    if ex is not None:
        k2 = terms.key(inst, ex.assignment)
        if k2 <= key:
            best, key = ex.assignment, k2
            method += " + " + ex.method
    moved = best != a
    return best, {
        "method": method,
        "families_moved": int(moved.sum()),
        "border_families_moved": int((moved & border).sum()),
        "band_violation_before": round(before[1], 6),
        "band_violation_after": round(key[1], 6),
        "hard_row_excess_after": round(key[0], 9),
        "seconds": round(time.perf_counter() - t0, 2),
    }


def _nearest_rep_bound(inst: Instance, plan_rep: np.ndarray, method: str) -> tuple[float, str]:
    """The dual at zero prices: every family at its nearest eligible rep (a lock at its rep),
    band and capacity ignored. Weak but always valid, for when the ascent was cut short
    before it reached a positive value (a busy machine)."""
    lower, upper, _ = band_kept(inst, plan_rep, inst.lower, inst.upper)
    R = inst.n_reps
    zero = Prices(*(np.zeros(R) for _ in range(4)), 1.0, 1.0, 1.0, 1.0)
    bound = bound_over_all_eligible(inst, zero, lower, upper)
    return bound, (
        "nearest eligible rep per family (the Lagrangian dual at zero prices; the ascent "
        f"stopped before a positive bound: {method})"
    )


def _book_prices(inst: Instance, results: list[dict]) -> Prices | None:
    """The regions' planning prices as one set for the whole book, in the scales the dual
    ascent uses (:func:`.lagrange.solve_dual`), to start the certificate from."""
    if not any(r.get("prices") for r in results):
        return None
    R = inst.n_reps
    rep_index = {r: i for i, r in enumerate(inst.rep_ids)}
    band = np.zeros(R)
    cap = np.zeros(R)
    acc = np.zeros(R)
    for r in results:
        band += prices_array(r, "band", rep_index, R)
        cap += prices_array(r, "capacity", rep_index, R)
        acc += prices_array(r, "accounts", rep_index, R)
    act = inst.active
    n_act = max(int(act.sum()), 1)
    ps = max(float(inst.target[act].mean()), 1e-9)
    ws = max(float(inst.capacity[act].mean()), 1e-9)
    ns = max(inst.fam_count.sum() / n_act, 1.0)
    return Prices(
        band_up=np.maximum(band, 0.0) * ps,
        band_down=np.maximum(-band, 0.0) * ps,
        capacity=cap * ws,
        accounts=acc * ns,
        cost_scale=1.0,
        pot_scale=ps,
        work_scale=ws,
        count_scale=ns,
    )
