"""Overlay pods in a pass: planned after the primary plan, kept in the warehouse, checked for drift.

* A **full** pass plans the pods afresh over its planned book
  (:func:`territory_ops.optimize.overlay.plan_overlays`); a **micro** or **refresh** pass keeps
  the pods of the last published pass (an overlay's pod does not churn with monthly moves),
  places an AE that has none (a hire, a return) with the overlay of its region furthest below
  its target, and re-measures every overlay's load on the pass's planned book.
* ``plans.overlay_pods`` (one row per run, role and AE, with the day the pod takes effect),
  ``plans.overlay_loads`` (per run and overlay: load, target, band) and
  ``plans.overlay_gaps`` (a region without an overlay of a role, an AE whose accounts need a
  skill no overlay holds) are written with the staged run.
* **Drift**: an overlay out of its band on the planned book (an executive's rebalance moved
  hours into or out of its pod), or on today's books with the pods in force, is a drift flag
  naming the overlay, its load and band. The band is relative (a share of the region's
  load), so an overlay carrying more hours than its own capacity is flagged on its own
  (``overlay_over_capacity``) even when every overlay of its region is equally overloaded.

Regions: an AE and an overlay rep share a region when they roll up to the same manager at
``overlays.region_level`` of the org chart (1 = the top).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb
import polars as pl

from territory_ops.optimize.overlay import (
    GAP_SCHEMA,
    LOAD_SCHEMA,
    POD_SCHEMA,
    OverlayPlan,
    OverlaySettings,
    overlay_loads,
    plan_overlays,
)
from territory_ops.org import OrgChart
from territory_ops.org.roles import TEAM_MEMBER_ROLE
from territory_ops.planning.config import PassConfig
from territory_ops.planning.effective import default_effective_on
from territory_ops.planning.org import load_org_chart
from territory_ops.warehouse import query_frame, table_exists

SCHEMA = "plans"
OVERLAY_REASON = "overlay"  # the reason code pod changes take their effective date by

DDL = (
    f"create schema if not exists {SCHEMA}",
    f"""create table if not exists {SCHEMA}.overlay_pods (
        run_id varchar not null, snapshot_date date not null, effective_on date,
        role varchar not null, region_id varchar, account_executive_id varchar not null,
        overlay_id varchar not null, executive_load_hours double, skill_gap boolean,
        carried boolean not null
    )""",
    f"""create table if not exists {SCHEMA}.overlay_loads (
        run_id varchar not null, snapshot_date date not null, role varchar not null,
        region_id varchar, overlay_id varchar not null, overlay_name varchar,
        pod_size bigint, load_hours double, target_hours double, band_low double,
        band_high double, in_band boolean, capacity_hours double, travel_km double
    )""",
    f"""create table if not exists {SCHEMA}.overlay_gaps (
        run_id varchar not null, snapshot_date date not null, role varchar not null,
        region_id varchar, kind varchar not null, account_executive_ids varchar,
        load_hours double, hires_needed bigint, detail varchar
    )""",
)

ROSTER_COLUMNS = (
    "rep_id",
    "role",
    "latitude",
    "longitude",
    "capacity_hours",
    "skills",
    "manager_id",
    "active",
)


def ensure_overlay_tables(con: duckdb.DuckDBPyConnection) -> None:
    for statement in DDL:
        con.execute(statement)


def load_overlay_roster(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """``marts.overlay_roster`` (empty when the warehouse has no overlay reps)."""
    schema = {
        "rep_id": pl.String,
        "role": pl.String,
        "latitude": pl.Float64,
        "longitude": pl.Float64,
        "capacity_hours": pl.Float64,
        "skills": pl.String,
        "manager_id": pl.String,
        "active": pl.Boolean,
        "rep_name": pl.String,
    }
    if not table_exists(con, "marts", "overlay_roster"):
        return pl.DataFrame(schema=schema)
    frame = query_frame(con, "select * from marts.overlay_roster order by rep_id")
    if "rep_name" not in frame.columns:
        frame = frame.with_columns(rep_name=pl.lit(None, pl.String))
    return frame.select(pl.col(c).cast(t) for c, t in schema.items())


def region_of(chart: OrgChart, user_id: str, level: int) -> str:
    """The manager at ``level`` the user rolls up to ('' when the user is not in the chart)."""
    if user_id not in chart:
        return ""
    node = chart.ancestor_at(user_id, level)
    if node is None or node == user_id:
        # the user sits at or above the level: its own manager (or itself at the top)
        return chart.manager_of(user_id) or user_id
    return node


def with_regions(frame: pl.DataFrame, chart: OrgChart, level: int) -> pl.DataFrame:
    ids = frame["rep_id"].to_list()
    return frame.with_columns(
        region_id=pl.Series([region_of(chart, str(i), level) for i in ids], dtype=pl.String)
    )


def _empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def published_pods(
    con: duckdb.DuckDBPyConnection, as_of: date | None = None, before_run: str | None = None
) -> pl.DataFrame:
    """The pods of the newest published run that planned any (with ``effective_on`` on or
    before ``as_of`` when given; created before the run ``before_run`` when given)."""
    if not (table_exists(con, SCHEMA, "overlay_pods") and table_exists(con, SCHEMA, "runs")):
        return _empty({**POD_SCHEMA, "run_id": pl.String(), "effective_on": pl.Date()})
    where = "r.status = 'published'"
    params: list[Any] = []
    if as_of is not None:
        where += " and coalesce(p.effective_on, r.snapshot_date) <= ?"
        params.append(as_of)
    if before_run is not None:
        where += (
            " and r.run_id <> ? and r.created_at < coalesce("
            f"(select created_at from {SCHEMA}.runs where run_id = ?), timestamp '9999-12-31')"
        )
        params += [before_run, before_run]
    return query_frame(
        con,
        f"""with latest as (
            select p.run_id from {SCHEMA}.overlay_pods p join {SCHEMA}.runs r using (run_id)
            where {where}
            order by r.published_at desc, r.created_at desc limit 1
        )
        select p.role, p.region_id, p.account_executive_id, p.overlay_id,
            p.executive_load_hours, p.skill_gap, p.run_id, p.effective_on
        from {SCHEMA}.overlay_pods p join latest using (run_id)
        order by p.role, p.account_executive_id""",
        params,
    )


def _carry_pods(
    previous: pl.DataFrame,
    book: pl.DataFrame,
    executives: pl.DataFrame,
    overlays: pl.DataFrame,
    settings: OverlaySettings,
) -> pl.DataFrame:
    """The previous pods of AEs that are still active, with active overlays; an AE without a
    pod joins the overlay of its region (and role) furthest below its target."""
    active_overlays = overlays.filter(pl.col("active").fill_null(False))
    kept = previous.join(
        executives.select(pl.col("rep_id").alias("account_executive_id"), "region_id"),
        on="account_executive_id",
        how="inner",
        suffix="_now",
    ).filter(pl.col("overlay_id").is_in(active_overlays["rep_id"].implode()))
    kept = kept.with_columns(region_id=pl.col("region_id_now")).select(POD_SCHEMA.keys())
    rows = kept.to_dicts()
    for role in settings.roles:
        mine = active_overlays.filter(pl.col("role") == role)
        if mine.is_empty():
            continue
        have = {r["account_executive_id"] for r in rows if r["role"] == role}
        for ae, region in executives.select("rep_id", "region_id").iter_rows():
            if ae in have or region not in set(mine["region_id"].to_list()):
                continue
            current = pl.DataFrame(rows, schema=POD_SCHEMA)
            loads = overlay_loads(current, book, overlays, settings).filter(
                (pl.col("role") == role) & (pl.col("region_id") == region)
            )
            loads = loads.with_columns(room=pl.col("target_hours") - pl.col("load_hours")).sort(
                ["room", "overlay_id"], descending=[True, False]
            )
            rows.append(
                {
                    "role": role,
                    "region_id": region,
                    "account_executive_id": ae,
                    "overlay_id": loads["overlay_id"][0],
                    "executive_load_hours": None,
                    "skill_gap": False,
                }
            )
    return pl.DataFrame(rows, schema=POD_SCHEMA).sort("role", "account_executive_id")


def plan_pass_overlays(
    con: duckdb.DuckDBPyConnection,
    config: PassConfig,
    accounts: pl.DataFrame,
    reps: pl.DataFrame,
    plan: pl.DataFrame,
) -> tuple[OverlayPlan, bool]:
    """Pods for the pass's planned book (full: planned; otherwise carried). Returns the plan
    and whether the pods were carried."""
    settings = config.overlays
    overlays = load_overlay_roster(con)
    if not settings.roles or overlays.is_empty():
        return OverlayPlan(_empty(POD_SCHEMA), _empty(LOAD_SCHEMA), _empty(GAP_SCHEMA), {}), False
    chart = load_org_chart(con)
    level = settings.region_level
    overlays = with_regions(overlays, chart, level)
    executives = with_regions(reps.filter(pl.col("active")).select("rep_id"), chart, level)
    book = accounts.drop("rep_id", strict=False).join(
        plan.select("account_id", "rep_id"), on="account_id", how="inner"
    )
    previous = published_pods(con)
    regions = set(executives["region_id"].to_list()) | set(overlays["region_id"].to_list())
    names = {r: chart.node(r).label for r in regions if r in chart}
    fresh = plan_overlays(
        book, executives, overlays, settings, seed=config.seed, region_names=names
    )
    if config.pass_kind == "full" or previous.is_empty():
        return fresh, False
    pods = _carry_pods(previous, book, executives, overlays, settings)
    loads = overlay_loads(pods, book, overlays, settings)
    return OverlayPlan(pods, loads, fresh.gaps, fresh.statuses), True


def stage_overlays(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    config: PassConfig,
    snapshot_date: date,
    result: OverlayPlan,
    carried: bool,
) -> pl.DataFrame:
    """Write the run's pods, loads and gaps (a retried step replaces its own rows); returns
    the loads with the overlays' names."""
    ensure_overlay_tables(con)
    roster = load_overlay_roster(con)
    names = {r: n for r, n in roster.select("rep_id", "rep_name").iter_rows() if n}
    effective = default_effective_on(
        config.effective_dates, config.pass_kind, OVERLAY_REASON, snapshot_date
    )
    tag = {"run_id": pl.lit(run_id), "snapshot_date": pl.lit(snapshot_date, pl.Date)}
    pods = result.pods.with_columns(
        **tag, effective_on=pl.lit(effective, pl.Date), carried=pl.lit(carried)
    )
    loads = result.loads.with_columns(
        **tag,
        overlay_name=pl.col("overlay_id").replace_strict(
            names, default=None, return_dtype=pl.String
        ),
    )
    gaps = result.gaps.with_columns(**tag)
    con.execute("begin transaction")
    try:
        for table, frame in (
            ("overlay_pods", pods),
            ("overlay_loads", loads),
            ("overlay_gaps", gaps),
        ):
            con.execute(f"delete from {SCHEMA}.{table} where run_id = ?", [run_id])
            if frame.height:
                con.register("_overlay_rows", frame.to_arrow())
                cols = ", ".join(frame.columns)
                con.execute(
                    f"insert into {SCHEMA}.{table} ({cols}) select {cols} from _overlay_rows"
                )
                con.unregister("_overlay_rows")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return loads


def pod_changes(previous: pl.DataFrame, pods: pl.DataFrame) -> pl.DataFrame:
    """AEs whose overlay of a role differs from the last published pass's: role,
    account_executive_id, from_overlay_id (null: newly covered), to_overlay_id."""
    before = previous.select(
        "role", "account_executive_id", pl.col("overlay_id").alias("from_overlay_id")
    )
    return (
        pods.select("role", "account_executive_id", pl.col("overlay_id").alias("to_overlay_id"))
        .join(before, on=["role", "account_executive_id"], how="left")
        .filter(
            pl.col("from_overlay_id").is_null()
            | (pl.col("from_overlay_id") != pl.col("to_overlay_id"))
        )
        .select("role", "account_executive_id", "from_overlay_id", "to_overlay_id")
        .sort("role", "account_executive_id")
    )


def pod_changes_text(changes: pl.DataFrame, limit: int = 10) -> list[str]:
    """``se: E4 from S2 to S1`` lines (a reviewer's view of the pod changes)."""
    lines = []
    for r in changes.head(limit).to_dicts():
        was = f"from {r['from_overlay_id']} " if r["from_overlay_id"] else "newly covered, "
        lines.append(f"{r['role']}: {r['account_executive_id']} {was}to {r['to_overlay_id']}")
    if changes.height > limit:
        lines.append(f"… and {changes.height - limit} more")
    return lines


def over_capacity(loads: pl.DataFrame) -> pl.DataFrame:
    """The overlays whose load exceeds their own capacity (an overlay without a capacity is
    never over it)."""
    if loads.is_empty():
        return loads
    return loads.filter(
        pl.col("capacity_hours").is_not_null()
        & (pl.col("load_hours") > pl.col("capacity_hours") * (1 + 1e-9) + 1e-6)
    )


def _capacity_text(row: dict[str, Any]) -> str:
    load, cap = float(row["load_hours"]), float(row["capacity_hours"])
    share = f" ({load / cap:.0%})" if cap > 0 else ""
    return f"{load:,.0f} h against a capacity of {cap:,.0f} h{share}"


def over_capacity_text(loads: pl.DataFrame, limit: int = 10) -> list[str]:
    """``S1 (se): 3,000 h against a capacity of 1,600 h (188%)`` lines."""
    over = over_capacity(loads).sort("role", "overlay_id")
    lines = [
        f"{r['overlay_id']} ({r['role']}): {_capacity_text(r)}" for r in over.head(limit).to_dicts()
    ]
    if over.height > limit:
        lines.append(f"… and {over.height - limit} more")
    return lines


def overlay_metrics(
    result: OverlayPlan, carried: bool, previous: pl.DataFrame | None = None
) -> dict[str, Any]:
    loads = result.loads
    changes = (
        pod_changes(previous, result.pods)
        if previous is not None and not previous.is_empty()
        else None
    )
    return {
        "overlay_pod_changes": changes.height if changes is not None else None,
        "overlay_pod_change_lines": pod_changes_text(changes) if changes is not None else [],
        "overlay_reps": loads.height,
        "overlay_out_of_band": int((~loads["in_band"]).sum()) if loads.height else 0,
        "overlay_over_capacity": over_capacity(loads).height,
        "overlay_over_capacity_lines": over_capacity_text(loads),
        "overlay_pods_carried": carried,
        "overlay_coverage_gaps": [
            d for d in result.gaps.filter(pl.col("kind") == "no_overlay")["detail"].to_list()
        ],
        "overlay_skill_gaps": [
            d for d in result.gaps.filter(pl.col("kind") == "skill")["detail"].to_list()
        ],
    }


def run_overlay_loads(con: duckdb.DuckDBPyConnection, run_id: str) -> pl.DataFrame:
    if not table_exists(con, SCHEMA, "overlay_loads"):
        return _empty({**LOAD_SCHEMA, "overlay_name": pl.String()})
    return query_frame(
        con,
        f"select * from {SCHEMA}.overlay_loads where run_id = ? order by role, overlay_id",
        [run_id],
    )


def run_overlay_pods(con: duckdb.DuckDBPyConnection, run_id: str) -> pl.DataFrame:
    if not table_exists(con, SCHEMA, "overlay_pods"):
        return _empty({**POD_SCHEMA, "run_id": pl.String(), "effective_on": pl.Date()})
    return query_frame(
        con,
        f"select * from {SCHEMA}.overlay_pods where run_id = ? order by role, account_executive_id",
        [run_id],
    )


def run_overlay_gaps(con: duckdb.DuckDBPyConnection, run_id: str) -> pl.DataFrame:
    if not table_exists(con, SCHEMA, "overlay_gaps"):
        return _empty(GAP_SCHEMA)
    return query_frame(
        con,
        f"select * from {SCHEMA}.overlay_gaps where run_id = ? order by role, region_id",
        [run_id],
    )


def _band_text(row: dict[str, Any]) -> str:
    return (
        f"{row['load_hours']:,.0f} h, band {row['band_low']:,.0f}–{row['band_high']:,.0f} h "
        f"(target {row['target_hours']:,.0f} h)"
    )


def _who(row: dict[str, Any], names: dict[str, str]) -> str:
    name = row.get("overlay_name") or names.get(row["overlay_id"])
    return f"{row['overlay_id']} ({name})" if name else row["overlay_id"]


def overlay_drift_flags(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    config: PassConfig,
    accounts: pl.DataFrame,
    reps: pl.DataFrame,
    snapshot_date: date,
    pass_kind: str,
) -> pl.DataFrame:
    """Overlays out of their band: on the run's planned book (``overlay_out_of_band``) and on
    today's books with the pods of the last published pass (``overlay_drift``); overlays
    whose load exceeds their own capacity (``overlay_over_capacity``: on the planned book, or
    on today's books for an overlay the plan does not overload)."""
    overlays = load_overlay_roster(con)
    names = {r: n for r, n in overlays.select("rep_id", "rep_name").iter_rows() if n}
    rows: list[dict[str, Any]] = []
    planned = run_overlay_loads(con, run_id)
    for row in planned.filter(~pl.col("in_band")).to_dicts():
        rows.append(
            {
                "scope": "rep",
                "flag": "overlay_out_of_band",
                "subject_id": row["overlay_id"],
                "subject_name": row.get("overlay_name"),
                "detail": (
                    f"{_who(row, names)} ({row['role']}) is out of its band after the "
                    f"{pass_kind} plan: {_band_text(row)}, pod of {row['pod_size']} account "
                    "executive(s)"
                ),
                "value": float(row["load_hours"]),
            }
        )
    for row in over_capacity(planned).to_dicts():
        rows.append(
            {
                "scope": "rep",
                "flag": "overlay_over_capacity",
                "subject_id": row["overlay_id"],
                "subject_name": row.get("overlay_name"),
                "detail": (
                    f"{_who(row, names)} ({row['role']}) is over its capacity after the "
                    f"{pass_kind} plan: {_capacity_text(row)}, pod of {row['pod_size']} "
                    "account executive(s)"
                ),
                "value": float(row["load_hours"]),
            }
        )
    over_planned = set(over_capacity(planned)["overlay_id"].to_list()) if planned.height else set()
    previous = published_pods(con)
    if not previous.is_empty() and not overlays.is_empty() and config.overlays.roles:
        chart = load_org_chart(con)
        regioned = with_regions(overlays, chart, config.overlays.region_level)
        book = accounts.filter(pl.col("current_rep_id").is_not_null()).with_columns(
            rep_id=pl.col("current_rep_id")
        )
        today = overlay_loads(previous, book, regioned, config.overlays)
        for row in today.filter(~pl.col("in_band")).to_dicts():
            rows.append(
                {
                    "scope": "rep",
                    "flag": "overlay_drift",
                    "subject_id": row["overlay_id"],
                    "subject_name": names.get(row["overlay_id"]),
                    "detail": (
                        f"{_who(row, names)} ({row['role']}) has drifted out of its band on "
                        f"today's books: {_band_text(row)}"
                    ),
                    "value": float(row["load_hours"]),
                }
            )
        for row in over_capacity(today).to_dicts():
            if row["overlay_id"] in over_planned:
                continue
            rows.append(
                {
                    "scope": "rep",
                    "flag": "overlay_over_capacity",
                    "subject_id": row["overlay_id"],
                    "subject_name": names.get(row["overlay_id"]),
                    "detail": (
                        f"{_who(row, names)} ({row['role']}) is over its capacity on today's "
                        f"books: {_capacity_text(row)}"
                    ),
                    "value": float(row["load_hours"]),
                }
            )
    gaps = run_overlay_gaps(con, run_id)
    for row in gaps.to_dicts():
        rows.append(
            {
                "scope": "team",
                "flag": "overlay_coverage_gap"
                if row["kind"] == "no_overlay"
                else "overlay_skill_gap",
                "subject_id": row["region_id"],
                "subject_name": None,
                "detail": row["detail"],
                "value": float(row["load_hours"] or 0.0),
            }
        )
    schema = {
        "snapshot_date": pl.Date,
        "scope": pl.String,
        "flag": pl.String,
        "subject_id": pl.String,
        "subject_name": pl.String,
        "detail": pl.String,
        "value": pl.Float64,
    }
    return pl.DataFrame([{"snapshot_date": snapshot_date, **r} for r in rows], schema=schema)


def _capacity_cells(row: dict[str, Any]) -> str:
    cap = row.get("capacity_hours")
    if cap is None:
        return "– | –"
    if cap <= 0:
        return f"{cap:,.0f} | **over**" if row["load_hours"] > 0 else f"{cap:,.0f} | –"
    share = f"{row['load_hours'] / cap:.0%}"
    over = row["load_hours"] > cap * (1 + 1e-9) + 1e-6
    return f"{cap:,.0f} | " + (f"**{share} (over)**" if over else share)


def pod_table_markdown(
    loads: pl.DataFrame,
    pods: pl.DataFrame,
    limit: int = 30,
    names: dict[str, str] | None = None,
) -> str:
    """The pods as a table a reviewer reads: overlay, role, AEs covered (by name when
    ``names`` has them), load vs band and vs the overlay's own capacity."""
    names = names or {}
    if loads.is_empty():
        return "No overlay reps planned."
    size = pods.group_by("overlay_id").agg(aes=pl.col("account_executive_id").sort())
    rows = loads.join(size, on="overlay_id", how="left").sort("role", "overlay_id")
    lines = [
        "| overlay | role | AEs covered | load h | band h | in band | capacity h "
        "| load / capacity |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows.head(limit).to_dicts():
        aes = [names.get(a, a) for a in (r.get("aes") or [])]
        shown = ", ".join(aes[:4]) + (f" +{len(aes) - 4}" if len(aes) > 4 else "")
        who = r["overlay_id"] + (f" ({r['overlay_name']})" if r.get("overlay_name") else "")
        lines.append(
            f"| {who} | {TEAM_MEMBER_ROLE.get(r['role'], r['role'])} | {len(aes)}: {shown} | "
            f"{r['load_hours']:,.0f} | {r['band_low']:,.0f}–{r['band_high']:,.0f} | "
            f"{'yes' if r['in_band'] else '**no**'} | {_capacity_cells(r)} |"
        )
    if rows.height > limit:
        lines.append(f"| … | {rows.height - limit} more in plans.overlay_loads | | | | | | |")
    return "\n".join(lines)


OVERLAY_FLAGS = ("overlay_out_of_band", "overlay_drift", "overlay_over_capacity")
NOTE_CHANGE_SCHEMA = {
    "role": pl.String(),
    "account_executive_id": pl.String(),
    "account_executive_name": pl.String(),
    "from_overlay_id": pl.String(),
    "from_overlay_name": pl.String(),
    "to_overlay_id": pl.String(),
    "to_overlay_name": pl.String(),
    "effective_on": pl.Date(),
    "overlay_manager_ids": pl.List(pl.String()),
}
NOTE_FLAG_SCHEMA = {
    "flag": pl.String(),
    "overlay_id": pl.String(),
    "detail": pl.String(),
    "account_executive_ids": pl.List(pl.String()),
    "overlay_manager_id": pl.String(),
}


def overlay_digest_notes(
    con: duckdb.DuckDBPyConnection, run_id: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """What the managers' digests say about overlays for ``run_id``.

    * pod changes (``NOTE_CHANGE_SCHEMA``): each AE whose overlay of a role differs from the
      last published pass before this run — the AE's manager and the managers of both
      overlays are concerned — with the day the run's pod takes effect;
    * overlay flags (``NOTE_FLAG_SCHEMA``): the run's ``overlay_out_of_band``,
      ``overlay_drift`` and ``overlay_over_capacity`` flags with the AEs of the overlay's pod
      in this run and the overlay's own manager.
    """
    pods = run_overlay_pods(con, run_id)
    if pods.is_empty():
        return _empty(NOTE_CHANGE_SCHEMA), _empty(NOTE_FLAG_SCHEMA)
    roster = load_overlay_roster(con)
    overlay_names = {r: n for r, n in roster.select("rep_id", "rep_name").iter_rows() if n}
    overlay_manager = {
        r: m for r, m in roster.select("rep_id", "manager_id").iter_rows() if m is not None
    }
    ae_names: dict[str, str] = {}
    if table_exists(con, "marts", "rep_roster"):
        ae_names = {
            r: n
            for r, n in con.execute("select rep_id, rep_name from marts.rep_roster").fetchall()
            if n
        }
    rows = []
    previous = published_pods(con, before_run=run_id)
    if not previous.is_empty():
        effective = {
            (role, ae): day
            for role, ae, day in pods.select(
                "role", "account_executive_id", "effective_on"
            ).iter_rows()
        }
        for r in pod_changes(previous, pods).to_dicts():
            managers = [
                overlay_manager[o]
                for o in (r["from_overlay_id"], r["to_overlay_id"])
                if o is not None and o in overlay_manager
            ]
            rows.append(
                {
                    **r,
                    "account_executive_name": ae_names.get(r["account_executive_id"]),
                    "from_overlay_name": overlay_names.get(r["from_overlay_id"] or ""),
                    "to_overlay_name": overlay_names.get(r["to_overlay_id"]),
                    "effective_on": effective.get((r["role"], r["account_executive_id"])),
                    "overlay_manager_ids": sorted(set(managers)),
                }
            )
    changes = pl.DataFrame(rows, schema=NOTE_CHANGE_SCHEMA)
    flags = _empty(NOTE_FLAG_SCHEMA)
    if table_exists(con, SCHEMA, "drift_flags"):
        raw = query_frame(
            con,
            f"""select flag, subject_id as overlay_id, detail from {SCHEMA}.drift_flags
            where run_id = ? and scope = 'rep' and list_contains(?, flag)
            order by flag, subject_id""",
            [run_id, list(OVERLAY_FLAGS)],
        )
        pod_aes = {
            o: sorted(g["account_executive_id"].to_list())
            for (o,), g in pods.group_by("overlay_id")
        }
        flags = pl.DataFrame(
            [
                {
                    **f,
                    "account_executive_ids": pod_aes.get(f["overlay_id"], []),
                    "overlay_manager_id": overlay_manager.get(f["overlay_id"]),
                }
                for f in raw.to_dicts()
            ],
            schema=NOTE_FLAG_SCHEMA,
        )
    return changes, flags
