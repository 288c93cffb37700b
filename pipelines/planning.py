"""The planning half of the territory job: territory_plan -> drift_report -> proposed_changes.

They sit after the marts (and the marts' blocking quality gate: a blocked snapshot skips them,
so nothing is published or superseded). Each asset calls one ``territory_ops.planning``
function; pass settings are the run config of ``territory_plan`` (defaults:
config/passes.yaml) and are recorded with the run in ``plans.runs``.
"""

from dataclasses import is_dataclass
from pathlib import Path
from typing import Any, get_type_hints

import dagster as dg
import polars as pl

from pipelines.notify import SlackResource, queued_click_sender
from pipelines.resources import WAREHOUSE_POOL, WarehouseResource
from territory_ops.notify.actions import drain_queued_clicks
from territory_ops.planning import store
from territory_ops.planning.config import (
    PassConfig,
    load_pass_config,
    merge_pass_config,
    per_run_fields,
)
from territory_ops.planning.due import holdover_report
from territory_ops.planning.holdover import report_markdown
from territory_ops.planning.pass_files import solve_part, stage_pass_files, write_pass_inputs
from territory_ops.planning.report import KPI_FORMATS
from territory_ops.planning.service import PlanningError, propose_and_publish, report_drift
from territory_ops.planning.trend_chart import trend_markdown
from territory_ops.warehouse import utc_now
from territory_ops.writeback.confirm import confirm_snapshot

PLANNING_GROUP = "planning"
MART_DEPS = [
    dg.AssetKey("account_profiles"),
    dg.AssetKey("rep_roster"),
    dg.AssetKey("current_assignments"),
    dg.AssetKey("overlay_roster"),  # the overlay reps planned as pods after the primary plan
]


def run_config_class(cls: type, defaults: Any, name: str) -> type[dg.Config]:
    """A ``dg.Config`` with the per-run fields of the settings dataclass ``cls``, defaulting
    to ``defaults``: the launchpad shows the values of config/passes.yaml, and a setting added
    to the dataclass becomes run config without a second declaration."""
    hints = get_type_hints(cls)
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__module__": __name__, "__doc__": None}
    for f in per_run_fields(cls):
        value = getattr(defaults, f.name)
        if is_dataclass(hints[f.name]):
            section = run_config_class(hints[f.name], value, f"{f.name.title()}Config")
            annotations[f.name], namespace[f.name] = section, section()
        else:
            annotations[f.name], namespace[f.name] = hints[f.name], value
    namespace["__annotations__"] = annotations
    return type(name, (dg.Config,), namespace)


DEFAULTS = load_pass_config()


class PassRunConfig(run_config_class(PassConfig, DEFAULTS, "PassSettingsConfig")):
    """Pass settings of one run (defaults: config/passes.yaml, docs/planning.md)."""

    def to_pass_config(self) -> PassConfig:
        # the file is read per run: the deployment's own settings (routing, effective dates,
        # holdovers, which no run config carries) follow an edit without a redeploy
        return merge_pass_config(load_pass_config(), self.model_dump())


def kpi_metadata(kpis: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Numeric metadata (plotted over runs in the asset's Plots view)."""
    out: dict[str, Any] = {}
    for key in KPI_FORMATS:
        value = kpis.get(key)
        if value is None:
            continue
        out[f"{prefix}{key}"] = (
            dg.MetadataValue.int(int(value))
            if isinstance(value, int) and not isinstance(value, bool)
            else dg.MetadataValue.float(float(value))
        )
    return out


# The plan is three kinds of step that hand each other files (territory_ops.planning.pass_files):
# only the first and the last touch the warehouse (the one-writer pool); the solves between
# them run side by side on the multiprocess executor, or on other machines, one per part.
@dg.op(
    ins={key.path[-1]: dg.In(dg.Nothing) for key in MART_DEPS},
    out={"parts": dg.DynamicOut(str), "prepared": dg.Out(dict)},
    pool=WAREHOUSE_POOL,
    tags={"kind": "duckdb"},
)
def plan_inputs(
    context: dg.OpExecutionContext,
    config: PassRunConfig,
    warehouse: WarehouseResource,
    slack: SlackResource,
):
    """Decide queued Slack clicks, then write what the pass plans to the run's folder."""
    settings = config.to_pass_config()
    folder = pass_folder(warehouse, context.run_id)
    try:
        with warehouse.connect() as con:
            # Clicks queued while the warehouse was busy decide the proposals they were made
            # on *before* this pass supersedes them (else they would be refused as superseded).
            clicks = drain_queued_clicks(
                con, queued_click_sender(slack), slack.outbox_path / "queue"
            )
            confirm_snapshot(con)  # settles changes delivered to the CRM before locks are read
            prepared = write_pass_inputs(con, settings, folder)
    except PlanningError as err:
        raise dg.Failure(description=str(err)) from err
    for click in clicks:
        context.log.info(f"queued Slack decision: {click.message}")
    context.log.info(
        f"{settings.pass_kind} pass on {prepared.snapshot_date}: {prepared.n_accounts} "
        f"accounts in {len(prepared.parts)} part(s), files in {folder}"
    )
    for part in prepared.parts:
        yield dg.DynamicOutput(part, mapping_key=part, output_name="parts")
    applied = sum(len(c.decided) for c in clicks)
    yield dg.Output({"folder": str(folder), "queued_decisions_applied": applied}, "prepared")


@dg.op(tags={"kind": "ortools"})
def solve_part_op(context: dg.OpExecutionContext, part: str, warehouse: WarehouseResource) -> str:
    """One part of the book solved from its files; its plan written beside them."""
    folder = pass_folder(warehouse, context.run_id)
    try:
        out = solve_part(folder, part)
    except Exception as err:  # the pass fails with the part named; nothing is staged
        raise dg.Failure(description=f"part {part!r} of the pass: {err}") from err
    context.log.info(f"part {part!r} solved: {out}")
    return part


@dg.op(pool=WAREHOUSE_POOL, tags={"kind": "duckdb"})
def stage_plan_op(
    context: dg.OpExecutionContext,
    parts: list[str],
    prepared: dict,
    warehouse: WarehouseResource,
) -> dg.Output:
    """The parts' plans merged and staged in plans.runs / plans.assignments."""
    try:
        with warehouse.connect() as con:
            staged = stage_pass_files(con, context.run_id, Path(prepared["folder"]), sorted(parts))
    except PlanningError as err:
        raise dg.Failure(description=str(err)) from err
    plan = staged.plan
    settings = staged.config
    m = plan.metrics
    context.log.info(
        f"{plan.pass_kind} plan for {plan.snapshot_date}: {m.get('changed')} changes, "
        f"{m.get('budget_moves')} moves (budget {plan.move_budget}, "
        f"{m.get('forced_moves')} forced by hard rules)"
    )
    for warning in plan.warnings:
        context.log.warning(warning)
    return dg.Output(
        None,
        metadata={
            "pass_kind": plan.pass_kind,
            "queued_decisions_applied": dg.MetadataValue.int(prepared["queued_decisions_applied"]),
            "parts": dg.MetadataValue.int(len(parts)),
            "snapshot_date": plan.snapshot_date.isoformat(),
            "dagster/row_count": plan.plan.height,
            "changed": dg.MetadataValue.int(int(plan.plan["changed"].sum())),
            "moves": dg.MetadataValue.int(int(m.get("budget_moves", 0) or 0)),
            "forced_moves": dg.MetadataValue.int(int(m.get("forced_moves", 0) or 0)),
            "inherited_violations": m.get("inherited_violations", "n/a"),
            "move_budget": dg.MetadataValue.int(plan.move_budget),
            "returns": dg.MetadataValue.int(plan.returns),
            "certificate_gap": dg.MetadataValue.float(float(m["gap"]))
            if m.get("gap") is not None
            else "n/a",
            "hard_violations": dg.MetadataValue.int(int(m.get("hard_violations", 0) or 0)),
            "capacity_shortfall": dg.MetadataValue.json(m.get("capacity_shortfall") or {}),
            "time_limit_hit": m.get("time_limit_hit", "n/a"),
            # skill matching as a number, quotas that follow potential
            **{
                key: dg.MetadataValue.float(float(m[key])) if m.get(key) is not None else "n/a"
                for key in (
                    "expected_win_rate_change",
                    "quota_spread_before",
                    "quota_spread_after",
                )
            },
            **kpi_metadata(plan.kpis_before, "before_"),
            **kpi_metadata(plan.kpis_after, "after_"),
            "summary": dg.MetadataValue.md(staged.summary),
            "overlay_pods": dg.MetadataValue.md(staged.overlay_pods or "No overlay reps."),
            "overlay_out_of_band": dg.MetadataValue.int(int(m.get("overlay_out_of_band", 0))),
            "overlay_over_capacity": dg.MetadataValue.json(
                m.get("overlay_over_capacity_lines") or []
            ),
            "overlay_coverage_gaps": dg.MetadataValue.json(m.get("overlay_coverage_gaps") or []),
            "settings": dg.MetadataValue.json(settings.as_dict()),
        },
    )


def pass_folder(warehouse: WarehouseResource, run_id: str) -> Path:
    """Where a run's plan steps exchange files: beside the warehouse (a shared volume when
    the steps run on several machines)."""
    return Path(warehouse.database).parent / "passes" / run_id


@dg.graph_asset(
    key="territory_plan",
    group_name=PLANNING_GROUP,
    kinds={"python", "duckdb"},
    ins={key.path[-1]: dg.AssetIn(key=key, dagster_type=dg.Nothing) for key in MART_DEPS},
    config=dg.ConfigMapping(
        config_fn=lambda settings: {"plan_inputs": {"config": settings}},
        config_schema=PassRunConfig.to_fields_dict(),
    ),
    description=(
        "A plan for the snapshot (OR-Tools optimizer) for the run's pass kind: full, micro or "
        "refresh. Inputs are written to files, each part of the book is solved in its own "
        "step, and the plan is kept in plans.runs / plans.assignments with its KPIs, settings "
        "and certificate; published only when proposed_changes completes."
    ),
)
def territory_plan(account_profiles, rep_roster, current_assignments, overlay_roster):
    parts, prepared = plan_inputs(
        account_profiles=account_profiles,
        rep_roster=rep_roster,
        current_assignments=current_assignments,
        overlay_roster=overlay_roster,
    )
    return stage_plan_op(parts.map(solve_part_op).collect(), prepared)


DRIFT_CHECKS = {
    "rep_drift": ("rep", "Reps beyond the potential/workload thresholds or whose status changed."),
    "account_drift": (
        "account",
        "Accounts that are new, unassigned, owned by an inactive rep, merged, or whose "
        "potential moved beyond the threshold since the previous snapshot.",
    ),
    "team_kpis": ("team", "Team KPIs off their targets (potential CV, workload CV, band)."),
}


@dg.asset(
    key="drift_report",
    group_name=PLANNING_GROUP,
    kinds={"python", "duckdb"},
    deps=[dg.AssetKey("territory_plan")],
    pool=WAREHOUSE_POOL,
    check_specs=[
        dg.AssetCheckSpec(name, asset="drift_report", description=desc, blocking=False)
        for name, (_, desc) in DRIFT_CHECKS.items()
    ],
    description=(
        "What drifted since the previous snapshot and against the published plan: per rep, "
        "per account, team KPIs (plans.drift_flags, plans.kpi_history). Drift is a WARN."
    ),
)
def drift_report(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        report = report_drift(con, context.run_id)
        trend = trend_markdown(con)
    flags = report.flags
    counts = dict(flags.group_by("flag").len().sort("flag").iter_rows()) if flags.height else {}
    checks = []
    for name, (scope, _) in DRIFT_CHECKS.items():
        mine = flags.filter(pl.col("scope") == scope)
        checks.append(
            dg.AssetCheckResult(
                check_name=name,
                passed=mine.is_empty(),
                severity=dg.AssetCheckSeverity.WARN,
                description=report.summaries[scope],
                metadata={
                    "flags": dg.MetadataValue.int(mine.height),
                    "details": dg.MetadataValue.md(_flags_markdown(mine)),
                },
            )
        )
    return dg.MaterializeResult(
        metadata={
            "flags": dg.MetadataValue.int(flags.height),
            "flags_by_kind": dg.MetadataValue.json(counts),
            "previous_snapshot": report.previous_snapshot,
            **kpi_metadata(report.kpis, ""),
            "summary": dg.MetadataValue.md(
                "\n\n".join(f"**{s}**: {line}" for s, line in report.summaries.items())
            ),
            **({"kpi_trend": dg.MetadataValue.md(trend)} if trend else {}),
            "by_region": dg.MetadataValue.md(report.by_region),
        },
        check_results=checks,
    )


def _flags_markdown(flags: pl.DataFrame, limit: int = 40) -> str:
    if flags.is_empty():
        return "Nothing drifted."
    lines = ["| flag | detail |", "|---|---|"]
    lines += [f"| {f} | {d} |" for f, d in flags.select("flag", "detail").head(limit).iter_rows()]
    if flags.height > limit:
        lines.append(f"| … | {flags.height - limit} more in plans.drift_flags |")
    return "\n".join(lines)


def write_plan_map(
    data: Any, plan: pl.DataFrame, out_dir: Path, title: str, subtitle: str
) -> tuple[str, str]:
    """(markdown image, html path) of the territory map (territory_ops.maps)."""
    from territory_ops.maps import markdown_image, write_territory_maps

    files = write_territory_maps(
        data.accounts, data.reps, plan, out_dir, title=title, subtitle=subtitle
    )
    return markdown_image(files.png_bytes, files.caption), str(files.html)


@dg.asset(
    key="proposed_changes",
    group_name=PLANNING_GROUP,
    kinds={"python", "duckdb"},
    deps=[dg.AssetKey("drift_report")],
    pool=WAREHOUSE_POOL,
    description=(
        "One proposal per change of the plan (plans.proposals): reason, effect on both reps, "
        "status. Publishing supersedes the previous open proposals; nothing is deleted and "
        "nothing is applied without approval."
    ),
)
def proposed_changes(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    map_md, map_html = "", None
    with warehouse.connect() as con:
        record = store.run_record(con, context.run_id) or {}
    try:
        drawn = _draw_map(warehouse, context.run_id, record)
        if drawn:
            map_md, map_html = drawn
    except Exception as err:  # a map is a view: never let it stop a publish
        context.log.warning(f"territory map not drawn: {err}")
    with warehouse.connect() as con:
        published = propose_and_publish(con, context.run_id, map_html)
        held = holdover_report(con, utc_now().date())  # open deals old owners keep for now
    context.log.info(
        f"published run {context.run_id}: {published.proposals.height} proposal(s), "
        f"{published.superseded} superseded"
    )
    summary = published.summary + (f"\n\n{map_md}" if map_md else "")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": published.proposals.height,
            "proposals": dg.MetadataValue.int(published.proposals.height),
            "superseded": dg.MetadataValue.int(published.superseded),
            "by_reason": dg.MetadataValue.json(published.by_reason),
            "temporary_covers": dg.MetadataValue.int(
                int(published.proposals["is_temporary"].sum()) if published.proposals.height else 0
            ),
            **{
                f"reason_{code}": dg.MetadataValue.int(n) for code, n in published.by_reason.items()
            },
            "map_html": map_html or "not drawn",
            "deals_in_holdover": dg.MetadataValue.int(held.height),
            "holdover_report": dg.MetadataValue.md(report_markdown(held)),
            "summary": dg.MetadataValue.md(summary),
        }
    )


def _draw_map(warehouse: WarehouseResource, run_id: str, record: dict) -> tuple[str, str]:
    from territory_ops.planning.tables import load_planning_input

    with warehouse.connect(read_only=True) as con:
        data = load_planning_input(con)
        plan = store.assignments(con, run_id)
    out_dir = Path(warehouse.database).parent / "maps" / run_id
    title = f"Territories: {record.get('pass_kind', '')} pass, snapshot {data.snapshot_date}"
    changed = int(plan["changed"].sum()) if plan.height else 0
    return write_plan_map(data, plan, out_dir, title, f"{changed} proposed change(s)")


planning_assets = [territory_plan, drift_report, proposed_changes]
