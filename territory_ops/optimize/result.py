"""Result assembly: plan rows with reasons, metrics (every key in ``docs/optimizer.md``),
rep summary, and the split of capacity overloads into shortfall / inherited / introduced."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import polars as pl

from territory_ops.optimize import capacity
from territory_ops.optimize.band_proof import band_floors, band_moves
from territory_ops.optimize.candidates import pair_distances
from territory_ops.optimize.context import SolveContext
from territory_ops.optimize.instance import Instance
from territory_ops.optimize.rationale import reasons
from territory_ops.optimize.report import (
    band_out_of_reach_by_families,
    band_reasons,
    check_plan,
    count_violations,
    plan_metrics,
    proven_slack,
)
from territory_ops.optimize.solve import SolveOutcome
from territory_ops.optimize.tables import Tables


@dataclass
class PlanResult:
    plan: pl.DataFrame  # account_id, rep_id, previous_rep_id, changed, reason
    metrics: dict[str, object]
    rep_summary: pl.DataFrame
    warnings: list[str]


@dataclass
class Certificate:
    bound: float  # total travel lower bound (sum workload x distance), nan if none
    method: str


def assemble(ctx: SolveContext, tables: Tables, out: SolveOutcome, cert: Certificate) -> PlanResult:
    """The plan rows, metrics, warnings and rep summary of the solve loop's plan."""
    inst, budget = ctx.inst, ctx.budget
    fam_rep = plan_reps(inst, out.assignment)
    new_rep = fam_rep[inst.family_of]
    rid = np.array(inst.rep_ids, dtype=object)
    rep_col = rid[new_rep].tolist()
    prev = tables.accounts["current_rep_id"].to_list()
    why = reasons(inst, new_rep, set(tables.released_locks))
    plan = pl.DataFrame(
        {
            "account_id": inst.account_ids,
            "rep_id": rep_col,
            "previous_rep_id": prev,
            "changed": [a != b for a, b in zip(rep_col, prev, strict=True)],
            "reason": why,
        }
    )
    metrics = _metrics(ctx, tables, plan, fam_rep, out, cert)
    if budget.elapsed() > budget.limit and not budget.hit:
        budget.note("the whole run")
    metrics.update(
        seed=ctx.options.seed,
        time_limit_s=round(budget.limit, 1),
        time_limit_hit=budget.hit,
        time_limit_phases=list(budget.phases),
        seconds=round(budget.elapsed(), 2),
    )
    warnings = list(inst.warnings)
    if budget.hit:
        warnings.append(
            f"time limit {budget.limit:.0f}s reached during {', '.join(budget.phases)}: "
            "this is the best plan found so far (see gap)"
        )
    return PlanResult(
        plan=plan, metrics=metrics, rep_summary=_summary(inst, new_rep), warnings=warnings
    )


def plan_reps(inst: Instance, assignment: np.ndarray) -> np.ndarray:
    """The rep of each family in a plan given as a candidate column per family."""
    return inst.cand_rep[np.arange(inst.n_families), assignment]


def _metrics(
    ctx: SolveContext,
    tables: Tables,
    plan: pl.DataFrame,
    fam_rep: np.ndarray,
    out: SolveOutcome,
    cert: Certificate,
) -> dict[str, object]:
    inst, mode, stats, slack = ctx.inst, ctx.options.mode, out.stats, out.slack
    # the caller's max_moves as given (None when left to the default), for the report
    max_moves = ctx.options.max_moves
    new_rep = fam_rep[inst.family_of]
    violations = check_plan(tables.accounts, tables.reps, plan)
    cur, ca = inst.current, inst.current_active
    moves = int((ca & (new_rep != cur)).sum())
    spent = ctx.move_budget is not None and moves >= ctx.move_budget
    shortfall, inherited, introduced = capacity.classify_overloads(inst, fam_rep, mode, spent)
    # rule 5 is judged per rep below: a shortfall or inherited overload is a finding
    other = [v for v in violations if not v.rule.startswith("5")]
    intro_accounts = int(np.isin(new_rep, introduced).sum()) if introduced else 0
    cnt_inherited, cnt_introduced = capacity.classify_count_overloads(inst, fam_rep, mode)
    # accounts beyond max accounts on a rep the plan pushed over it (inherited ones apart)
    real_max = capacity.real_max_accounts(inst)
    n_rep = np.bincount(fam_rep, weights=inst.fam_count, minlength=inst.n_reps)
    intro_accounts += int(sum(n_rep[r] - real_max[r] for r in cnt_introduced))
    hard = count_violations(other) + intro_accounts
    rules = sorted(
        {v.rule for v in other}
        | ({"5 capacity"} if introduced else set())
        | ({"max accounts"} if cnt_introduced else set())
    )
    m = plan_metrics(tables.accounts, tables.reps, new_rep_ids(inst, new_rep), inst.tolerance)
    before = np.bincount(cur[ca], weights=inst.potential[ca], minlength=inst.n_reps)
    before_ratio = before / np.maximum(inst.target, 1e-12)
    # only an LP that proves it may say the band cannot hold
    core_fams = out.lp_core.fams if out.lp_core is not None else None
    slack = proven_slack(inst, slack, out.lp is not None and out.lp.slack_proven, core_fams)
    oob = band_reasons(
        inst,
        fam_rep,
        slack,
        mode,
        max_moves,
        before_ratio,
        proven=bool(stats.get("optimal")),
        prove=partial(band_floors, inst, move_budget=ctx.move_budget),
    )
    # micro: does the budget keep reps out? (the LP's fewest moves to its best band; a plan
    # with every rep in band has no such question, and the LP costs seconds on a big book)
    reps_out = int(m["reps_active"]) - int(m["reps_in_band"])
    need = band_moves(inst) if mode == "micro" and reps_out else None
    dist = pair_distances(inst, np.arange(len(new_rep)), new_rep)
    travel_total = float((inst.workload * dist).sum())
    W = max(inst.total_workload, 1e-12)
    travel_obj = travel_total / W
    bound_mean = cert.bound / W
    # a bound at or below 0 is not shown: it says nothing about a plan that travels
    has_bound = bool(np.isfinite(bound_mean) and (bound_mean > 0 or travel_obj <= 0))
    act = inst.active
    inherited_rows = capacity.inherited_report(inst, fam_rep, inherited)
    inherited_rows += capacity.inherited_count_report(inst, fam_rep, cnt_inherited)
    lp_gap, method = travel_gap(travel_obj, bound_mean, cert.method)
    cert_gap = lp_gap
    if stats.get("optimal"):
        # the exact model over the whole book closed its gap: the plan is optimal for the
        # model's objective (travel + disruption + balance, within the band it kept); the
        # LP's travel-only bound stays in ``lp_travel_gap``
        method = (
            f"exact: {stats.get('exact_method')} proved the plan optimal for the model; "
            f"lp_travel_gap is to the {method}"
        )
        cert_gap = float(stats.get("mip_gap") or 0.0)
    return {
        "mode": mode,
        # what a move costs in the objective (km of travel per account of average potential):
        # the travel bound leaves it out, so a pass that weighs moves heavily shows a gap
        "disruption_km": inst.weights.disruption_km,
        "hard_violations": hard,
        "hard_violation_rules": rules,
        "inherited_violations": len(inherited_rows),
        "inherited_violation_details": inherited_rows,
        "capacity_shortfall": capacity.shortfall_report(inst, fam_rep, shortfall, inherited),
        "potential_cv": round(float(m["potential_cv"]), 6),
        "potential_max_dev": round(float(m["potential_max_dev"]), 6),
        "potential_max_dev_before": round(float(np.abs(before_ratio[act] - 1).max()), 6),
        "reps_in_band": m["reps_in_band"],
        "reps_out_of_band": reps_out,
        "reps_active": m["reps_active"],
        "band_feasible_lp": (
            (bool(float(slack.max()) <= 1e-6) if len(slack) else True)
            and not band_out_of_reach_by_families(inst)
        ),
        "out_of_band_reps": oob,
        "travel_km": round(float(m["travel_km"]), 3),
        "travel_unit": inst.travel_unit,
        "travel_objective": round(travel_obj, 3),
        "lp_travel_bound_km": (
            round(bound_mean, 3) if has_bound and inst.travel_unit == "km" else None
        ),
        "lp_travel_bound": round(bound_mean, 3) if has_bound else None,
        "bound_method": method,
        "gap": cert_gap,
        "lp_travel_gap": lp_gap,
        "optimal": bool(stats.get("optimal", False)),
        "mip_gap": stats.get("mip_gap"),
        "exact_method": stats.get("exact_method"),
        "moves": moves,
        "changed": int(plan["changed"].sum()),
        "max_moves": max_moves if mode == "micro" else None,
        "must_place_families": stats.get("must_place_families"),
        "families": inst.n_families,
        "core_families": stats.get("core_families"),
        "lp_fractional_families": stats.get("lp_fractional_families"),
        "repair_families": stats.get("repair_families"),
        "repair_method": stats.get("repair_method"),
        "lp_band_slack_max": round(float(stats.get("lp_band_slack_max", 0.0)), 6),
        "lp_band_moves": need.discretionary if need else None,
        "lp_band_moves_reps_out": need.reps_out if need else None,
        "lp_capacity_overflow": out.lp_overflow,
        "released_locks": len(tables.released_locks),
    }


GAP_TOL = 1e-6  # relative: an LP bound this far above the plan is the LP's own tolerance


def travel_gap(travel: float, bound: float, method: str) -> tuple[float | None, str]:
    """The plan's travel above the certified bound (a share of it), never negative.

    The bound covers the band the plan keeps (:mod:`.certificate`), so a plan below it
    breaks a row the bound assumes (a capacity or move budget the plan was allowed to
    exceed): that is no certificate, and it is reported as no gap, with the reason.
    """
    if not np.isfinite(bound):
        return None, method
    if bound <= 0:
        # travel is never negative: a bound at or below 0 certifies only a plan without
        # travel (a big book far short of capacity gave -577 km when its dual was cut short)
        if travel <= 0:
            return 0.0, method
        return None, f"{method}: no positive bound found, no gap claimed"
    gap = (travel - bound) / bound
    if gap < -GAP_TOL:
        return None, (
            f"{method}; no gap: the bound is {-100 * gap:.2f}% above the plan's travel, so "
            "the plan breaks a row the bound assumes"
        )
    return round(max(gap, 0.0), 6), method


def new_rep_ids(inst: Instance, new_rep: np.ndarray) -> list[str]:
    return np.array(inst.rep_ids, dtype=object)[new_rep].tolist()


def _summary(inst: Instance, new_rep: np.ndarray) -> pl.DataFrame:
    act = inst.active
    P = np.bincount(new_rep, weights=inst.potential, minlength=inst.n_reps)
    Wr = np.bincount(new_rep, weights=inst.workload, minlength=inst.n_reps)
    N = np.bincount(new_rep, minlength=inst.n_reps)
    return pl.DataFrame(
        {
            "rep_id": inst.rep_ids,
            "active": act,
            "potential": P,
            "target": inst.target,
            "pct_of_target": np.where(act, 100 * P / np.maximum(inst.target, 1e-12), 0.0),
            "workload_hours": Wr,
            "capacity_hours": inst.capacity_hours,
            "utilisation": Wr / np.maximum(inst.capacity_hours, 1e-9),
            "accounts": N,
        }
    )
