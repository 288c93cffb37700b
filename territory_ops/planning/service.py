"""The three steps of the planning half, one function each (the Dagster assets call these).

1. :func:`stage_plan`: canonical tables from the marts -> optimizer pass -> ``plans.runs`` /
   ``plans.assignments`` / KPI history (status ``staged``);
2. :func:`report_drift`: flags against the previous snapshot -> ``plans.drift_flags``;
3. :func:`propose_and_publish`: proposals of the staged plan, superseding the open ones, and
   the run published, in one transaction; then the routing policy approves the kinds it
   covers (:mod:`territory_ops.planning.routing`).

Open proposals of the last published pass that still stand are carried: locks to their
target before the optimizer, republished under their first id (:mod:`territory_ops.planning.carry`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

from territory_ops.forecast.plan_figures import plan_figures
from territory_ops.forecast.quota import suggest_quotas
from territory_ops.geography import geo_held
from territory_ops.optimize import PlanResult, optimize
from territory_ops.planning import store
from territory_ops.planning.audit import ensure_decisions_table, log_decisions, set_status
from territory_ops.planning.carry import (
    CarryOver,
    carry_metrics,
    carry_over,
    continue_proposals,
    with_carried_reasons,
)
from territory_ops.planning.config import (
    PassConfig,
    load_pass_config,
    merge_pass_config,
    validate_pass_config,
)
from territory_ops.planning.drift import drift_flags, reverted_flags, summarize
from territory_ops.planning.due import due_changes
from territory_ops.planning.kpis import rep_books, team_kpis
from territory_ops.planning.locks import (
    approvals_to_reps_gone,
    covers_no_longer_needed,
    decision_locks,
    held_unassigned,
    respect_decisions,
)
from territory_ops.planning.org import load_org_chart
from territory_ops.planning.overlay import (
    OverlayPlan,
    overlay_drift_flags,
    overlay_metrics,
    plan_pass_overlays,
    pod_table_markdown,
    published_pods,
    stage_overlays,
)
from territory_ops.planning.plan import PassInputs, PassPlan, finish_pass, prepare_pass
from territory_ops.planning.proposals import build_proposals, proposals_by_reason
from territory_ops.planning.report import plan_summary_markdown
from territory_ops.planning.rollup import (
    region_tables_markdown,
    rights_deciders,
    rollup_by_node,
)
from territory_ops.planning.routing import POLICY_CHANNEL, route_proposals
from territory_ops.planning.status import ProposalStatus
from territory_ops.planning.tables import PlanningInput, load_planning_input
from territory_ops.warehouse import query_frame, table_exists, utc_now


class PlanningError(RuntimeError):
    """A pass that cannot produce a plan; the message says why (nothing is published)."""


@dataclass
class StagedPlan:
    data: PlanningInput
    config: PassConfig
    plan: PassPlan
    summary: str
    overlay_pods: str = ""  # the overlay pods as a markdown table (empty: no overlay reps)


def stage_plan(con: duckdb.DuckDBPyConnection, run_id: str, config: PassConfig) -> StagedPlan:
    data, inputs, carry = prepare_stage(con, config)
    try:
        result = optimize(inputs.accounts, inputs.reps, inputs.options)
    except Exception as err:  # optimizer: hard-rule errors, timeouts, bad input
        raise PlanningError(f"{config.pass_kind} pass on {data.snapshot_date}: {err}") from err
    return finish_stage(con, run_id, config, data, inputs, result, carry)


def prepare_stage(
    con: duckdb.DuckDBPyConnection, config: PassConfig
) -> tuple[PlanningInput, PassInputs, CarryOver]:
    """The snapshot a pass plans, what its optimizer is handed and the open proposals it
    carries (the warehouse is read, not written); :func:`finish_stage` stages the plan
    solved from them."""
    data = load_planning_input(con)
    validate_pass_config(config, data.n_accounts)
    published = store.published_assignments(con)
    locks, carry = _locks_and_carry(con, data, config)
    try:
        inputs = prepare_pass(data, config, published, locks=locks, held=_held(con, data, config))
    except Exception as err:  # hard-rule errors, bad input
        raise PlanningError(f"{config.pass_kind} pass on {data.snapshot_date}: {err}") from err
    return data, inputs, carry


def finish_stage(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    config: PassConfig,
    data: PlanningInput,
    inputs: PassInputs,
    result: PlanResult,
    carry: CarryOver,
) -> StagedPlan:
    """Stage the plan the optimizer solved from ``inputs``: ``plans.runs`` /
    ``plans.assignments`` / KPI history, status ``staged``."""
    try:
        plan = finish_pass(data, config, inputs, result)
    except Exception as err:
        raise PlanningError(f"{config.pass_kind} pass on {data.snapshot_date}: {err}") from err
    plan.plan = with_carried_reasons(plan.plan, carry)
    plan.metrics.update(carry_metrics(plan.plan, carry))
    located = geo_held(data.accounts, "exclude", "hold")  # what the pass counts, either way
    for flag in ("foreign", "unlocated"):
        plan.metrics[f"geo_{flag}"] = int((located["geo_flag"] == flag).sum())
    # quotas and expected win rate, kept in the run's metrics
    figures = plan_figures(con, data.accounts, data.reps, plan.plan, data.snapshot_date)
    plan.metrics.update(figures.metrics)
    snap_reps = data.reps.select(
        "rep_id",
        _col(data.reps, "rep_name"),
        _col(data.reps, "status"),
        "active",
        pl.col("leave_until").cast(pl.Date)
        if "leave_until" in data.reps.columns
        else pl.lit(None, pl.Date).alias("leave_until"),
    )
    snap_accounts = data.accounts.select(
        "account_id", _col(data.accounts, "account_name"), "potential", "current_rep_id"
    )
    overlays, carried = _plan_overlays(con, config, data, plan)
    if overlays is not None:
        plan.metrics.update(overlay_metrics(overlays, carried, published_pods(con)))
    store.stage_run(con, run_id, plan, config.as_dict(), snap_reps, snap_accounts)
    pods_md = ""
    if overlays is not None:
        loads = stage_overlays(con, run_id, config, data.snapshot_date, overlays, carried)
        pods_md = pod_table_markdown(loads, overlays.pods, names=rep_names(data.reps))
        over = plan.metrics.get("overlay_over_capacity_lines") or []
        if over:
            pods_md += "\n\nOver their capacity: " + "; ".join(over)
        changed = plan.metrics.get("overlay_pod_change_lines") or []
        if changed:
            pods_md += "\n\nPod changes since the last published pass: " + "; ".join(changed)
    summary = plan_summary_markdown(
        pass_kind=plan.pass_kind,
        snapshot=data.snapshot_date.isoformat(),
        metrics=plan.metrics,
        kpis_before=plan.kpis_before,
        kpis_after=plan.kpis_after,
        move_budget=plan.move_budget,
        rep_names=rep_names(data.reps),
        books=(plan.books_before, plan.books_after),
        quotas=figures.quotas,
    )
    return StagedPlan(data, config, plan, summary, pods_md)


def _plan_overlays(
    con: duckdb.DuckDBPyConnection, config: PassConfig, data: PlanningInput, plan: PassPlan
) -> tuple[OverlayPlan | None, bool]:
    """The overlay layer over the staged plan (None without overlay reps or roles); a
    failure is a warning on the plan, not a lost primary plan."""
    try:
        overlays, carried = plan_pass_overlays(con, config, data.accounts, data.reps, plan.plan)
    except Exception as err:  # solver or data trouble in the second layer
        plan.warnings.append(f"overlay pods not planned: {err}")
        plan.metrics["overlay_error"] = str(err)
        return None, False
    if overlays.loads.is_empty() and overlays.gaps.is_empty():
        return None, False
    return overlays, carried


def _held(con: duckdb.DuckDBPyConnection, data: PlanningInput, config: PassConfig) -> pl.DataFrame:
    """Accounts the pass does not plan: unowned ones whose placement was rejected, and those
    its ``geography`` settings leave out for where they are (foreign, unlocated)."""
    rejected = held_unassigned(con, data.accounts, data.reps)
    g = config.geography
    located = geo_held(data.accounts, g.foreign_accounts, g.unlocated_accounts).drop("geo_flag")
    held = pl.concat([rejected, located], how="diagonal_relaxed")
    return held.unique("account_id", keep="first", maintain_order=True)


def _decision_locks(con: duckdb.DuckDBPyConnection, data: PlanningInput) -> pl.DataFrame:
    """Pins, approved changes and unchanged rejections the pass keeps (territory_ops.writeback)."""
    return decision_locks(con, data.accounts, data.reps, data.snapshot_date)


def _locks_and_carry(
    con: duckdb.DuckDBPyConnection, data: PlanningInput, config: PassConfig
) -> tuple[pl.DataFrame, CarryOver]:
    """Decision locks plus the locks of open proposals carried to their target."""
    decided = _decision_locks(con, data)
    carry = carry_over(con, data, config.carry_over.margin, decided)
    return pl.concat([decided, carry.locks(decided)]).sort("account_id"), carry


def _col(frame: pl.DataFrame, name: str) -> pl.Expr:
    return pl.col(name) if name in frame.columns else pl.lit(None, pl.String).alias(name)


def rep_names(reps: pl.DataFrame) -> dict[str, str]:
    if "rep_name" not in reps.columns:
        return {}
    return {r: n for r, n in reps.select("rep_id", "rep_name").iter_rows() if n}


def config_of_run(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[dict[str, Any], PassConfig]:
    record = store.run_record(con, run_id)
    if record is None:
        raise PlanningError(f"run {run_id} staged no plan (territory_plan did not complete)")
    raw = dict(record["config"])
    return record, merge_pass_config(load_pass_config(), raw)


@dataclass
class DriftReport:
    flags: pl.DataFrame
    kpis: dict[str, float]
    summaries: dict[str, str]  # scope -> readable line
    previous_snapshot: bool
    by_region: str = ""  # markdown: one roll-up table per top-level region, today -> plan


def report_drift(con: duckdb.DuckDBPyConnection, run_id: str) -> DriftReport:
    record, config = config_of_run(con, run_id)
    data = load_planning_input(con)
    books = rep_books(data.accounts, data.reps, "current_rep_id", config.tolerance)
    kpis = team_kpis(data.accounts, data.reps, "current_rep_id", config.tolerance)
    previous = store.previous_snapshot(con, data.snapshot_date)
    flags = drift_flags(data, books, kpis, previous, config.drift, config.tolerance)
    unlocated = geo_held(data.accounts, "plan", "hold").height
    held = config.geography.unlocated_accounts == "hold"
    flags = pl.concat(
        [
            flags,
            _plan_flags(record, data.snapshot_date, flags.schema, unlocated, held),
            _reverted_in_crm(con, data.snapshot_date).cast(flags.schema),
            overlay_drift_flags(
                con,
                run_id,
                config,
                data.accounts,
                data.reps,
                data.snapshot_date,
                record["pass_kind"],
            ).cast(flags.schema),
        ]
    )
    store.record_drift(con, run_id, flags)
    summaries = {scope: summarize(flags, scope) for scope in ("rep", "account", "team")}
    planned = data.accounts.join(
        store.assignments(con, run_id).select("account_id", planned_rep_id="rep_id"),
        on="account_id",
        how="left",
    )
    after = rep_books(planned, data.reps, "planned_rep_id", config.tolerance)
    nodes = rollup_by_node(load_org_chart(con), books, after, drift=flags, owners=data.accounts)
    by_region = region_tables_markdown(nodes, with_proposals=False)  # proposals come later
    return DriftReport(flags, kpis, summaries, previous is not None, by_region)


def _reverted_in_crm(con: duckdb.DuckDBPyConnection, snapshot) -> pl.DataFrame:
    """Changes delivered to the CRM that this snapshot shows with another owner."""
    if not table_exists(con, "plans", "confirmations"):
        return reverted_flags(pl.DataFrame(), snapshot)
    rows = query_frame(
        con,
        "select * from plans.confirmations where outcome = 'reverted' and snapshot_date = ? "
        "order by account_id",
        [snapshot],
    )
    return reverted_flags(rows, snapshot)


def _plan_flags(
    record: dict[str, Any], snapshot, schema, unlocated: int = 0, held: bool = True
) -> pl.DataFrame:
    """What remains after the plan: reps over capacity (a micro budget too small for what
    today's assignment breaks), accounts no active rep may own (a segment without reps),
    accounts without a usable location (planned with no travel cost)."""
    rows = []
    if unlocated:
        rows.append(
            (
                "no_location",
                f"{unlocated} account(s) have no usable location (no city or state): "
                + ("held unassigned" if held else "planned without travel cost")
                + "; add a postal code or city",
                float(unlocated),
            )
        )
    after, metrics = record["kpis_after"], record["metrics"]
    if after.get("reps_over_capacity"):
        rows.append(
            (
                "plan_over_capacity",
                f"{after['reps_over_capacity']} rep(s) stay over capacity in the "
                f"{record['pass_kind']} plan (move budget {record['move_budget']})",
                float(after["reps_over_capacity"]),
            )
        )
    if metrics.get("uncovered_accounts"):
        needs = "; ".join(metrics.get("uncovered_needs") or [])
        rows.append(
            (
                "uncovered_segment",
                f"{metrics['uncovered_accounts']} account(s) have no eligible active rep "
                f"({needs}): they stay with today's owner until a rep is hired or back",
                float(metrics["uncovered_accounts"]),
            )
        )
    rows += [("skill_gap", gap, 1.0) for gap in metrics.get("skill_gaps") or []]
    return pl.DataFrame(
        [
            {
                "snapshot_date": snapshot,
                "scope": "team",
                "flag": flag,
                "subject_id": None,
                "subject_name": None,
                "detail": detail,
                "value": value,
            }
            for flag, detail, value in rows
        ],
        schema=schema,
    )


@dataclass
class Published:
    proposals: pl.DataFrame  # statuses as after routing (auto-approved ones are approved)
    superseded: int
    by_reason: dict[str, int]
    summary: str
    record: dict[str, Any]
    plan: pl.DataFrame
    data: PlanningInput
    auto_approved: pl.DataFrame | None = None  # proposal_id, account_id, reason_code, effective_on


def withdraw_covers(
    con: duckdb.DuckDBPyConnection, covers: pl.DataFrame, run_id: str, now=None
) -> int:
    """Withdraw approved covers whose rep came back before they were delivered: status
    ``rejected`` (a reversal, so the cover is never exported and not proposed again while
    nothing changes), one audit row each by the pass, in one transaction."""
    return _withdraw(
        con,
        covers,
        "from_rep_id",
        lambda rep: (
            f"withdrawn: {rep} is back from leave before the cover was delivered; "
            "the accounts stay with them"
        ),
        run_id,
        now,
    )


def withdraw_approvals_to_reps_gone(
    con: duckdb.DuckDBPyConnection, approvals: pl.DataFrame, run_id: str, now=None
) -> int:
    """Withdraw approved changes whose new owner left, was deactivated or went on leave
    before they were delivered (:func:`.locks.approvals_to_reps_gone`): status ``rejected``,
    one audit row each by the pass; the pass places those accounts afresh."""
    return _withdraw(
        con,
        approvals,
        "to_rep_id",
        lambda rep: (
            f"withdrawn: {rep} can no longer own accounts (left, inactive or on leave) and "
            "the change was not delivered yet; the pass places the account again"
        ),
        run_id,
        now,
    )


def _withdraw(
    con: duckdb.DuckDBPyConnection,
    rows_frame: pl.DataFrame,
    rep_column: str,
    note_for: Callable[[str], str],
    run_id: str,
    now=None,
) -> int:
    if rows_frame.is_empty():
        return 0
    ensure_decisions_table(con)
    rows = rows_frame.to_dicts()
    con.begin()
    try:
        set_status(con, rows, ProposalStatus.REJECTED)
        for rep, group in rows_frame.group_by(rep_column, maintain_order=True):
            note = note_for(str(rep[0]))
            log_decisions(
                con,
                group.to_dicts(),
                "reverse",
                ProposalStatus.REJECTED,
                f"pass {run_id}",
                note,
                POLICY_CHANNEL,
                None,
                now or utc_now(),
            )
        con.commit()
    except Exception:
        con.rollback()
        raise
    return rows_frame.height


def propose_and_publish(
    con: duckdb.DuckDBPyConnection, run_id: str, map_html: str | None = None
) -> Published:
    record, config = config_of_run(con, run_id)
    data = load_planning_input(con)
    plan = store.assignments(con, run_id)
    planned = data.accounts.join(
        plan.select("account_id", planned_rep_id="rep_id"), on="account_id", how="left"
    )
    before = rep_books(data.accounts, data.reps, "current_rep_id", config.tolerance)
    after = rep_books(planned, data.reps, "planned_rep_id", config.tolerance)
    proposals = build_proposals(
        plan,
        data.accounts,
        data.reps,
        before,
        after,
        run_id=run_id,
        pass_kind=record["pass_kind"],
        snapshot_date=record["snapshot_date"],
    )
    chart = load_org_chart(con)
    nodes = rollup_by_node(
        chart,
        before,
        after,
        proposals=proposals,
        drift=store.drift_flags(con, run_id),
        owners=data.accounts,
        deciders=rights_deciders(con, chart, proposals),
    )
    summary = plan_summary_markdown(
        pass_kind=record["pass_kind"],
        snapshot=str(record["snapshot_date"]),
        metrics=record["metrics"],
        kpis_before=record["kpis_before"],
        kpis_after=record["kpis_after"],
        move_budget=int(record["move_budget"]),
        rep_names=rep_names(data.reps),
        proposals=proposals,
        books=(before, after),
        quotas=suggest_quotas(plan, data.accounts, data.reps, as_of=data.snapshot_date),
        pending=due_changes(con, data.snapshot_date).later,
        by_region=region_tables_markdown(nodes),
    )
    locks, carry = _locks_and_carry(con, data, config)
    proposals = continue_proposals(respect_decisions(con, proposals, locks), carry)
    withdraw_covers(con, covers_no_longer_needed(con, data.reps), run_id)
    withdraw_approvals_to_reps_gone(con, approvals_to_reps_gone(con, data.reps), run_id)
    superseded = store.publish_run(con, run_id, proposals, summary, map_html)
    routed = route_proposals(con, run_id, config.routing, config.effective_dates)
    if not routed.is_empty():
        approved = routed.select("proposal_id", _status=pl.lit(ProposalStatus.APPROVED.value))
        dated = routed.select("proposal_id", _eff="effective_on")
        proposals = (
            proposals.join(approved, on="proposal_id", how="left")
            .join(dated, on="proposal_id", how="left")
            .with_columns(
                status=pl.coalesce("_status", "status"),
                effective_on=pl.coalesce("_eff", "effective_on"),
            )
            .select(proposals.columns)
        )
    return Published(
        proposals,
        superseded,
        proposals_by_reason(proposals),
        summary,
        record,
        plan,
        data,
        auto_approved=routed,
    )
