"""The plan history in DuckDB schema ``plans``: every run kept, nothing overwritten.

Tables (created on first use):

* ``plans.runs``: one row per planning run: run id, pass kind, snapshot date, settings, KPIs
  before/after, ``moves`` counted against the move budget (moves a hard rule forces are in
  ``metrics.forced_moves``), metrics
  (certificate gap, out-of-band reps with reasons), status
  ``staged`` -> ``published``. The *published plan* is the newest published run.
* ``plans.assignments``: every run's plan rows (run_id, account_id, rep_id, ...).
* ``plans.kpi_history``: team KPIs per run, ``before`` (today's CRM) and ``after`` (the plan).
* ``plans.drift_flags``: what drifted, per run (scope rep / account / team).
* ``plans.snapshot_reps`` / ``plans.snapshot_accounts``: roster status and account potential
  per snapshot, so the next run can say what changed since the previous snapshot.
* ``plans.proposals``: docs/proposals.md (append + status updates, nothing deleted).

Publishing is one transaction (:func:`publish_run`): supersede the open proposals, insert the
new ones, mark the run published. A run that fails or is blocked before it leaves the last
published plan and its proposals exactly as they were.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from territory_ops.planning.status import ProposalStatus
from territory_ops.warehouse import append_rows, query_frame, table_exists

if TYPE_CHECKING:  # the plan module pulls in the optimizer; the store only reads its fields
    from territory_ops.planning.plan import PassPlan

SCHEMA = "plans"

DDL = (
    f"create schema if not exists {SCHEMA}",
    f"""create table if not exists {SCHEMA}.runs (
        run_id varchar not null, pass_kind varchar not null, snapshot_date date not null,
        created_at timestamp not null, status varchar not null, published_at timestamp,
        config json, kpis_before json, kpis_after json, metrics json,
        accounts bigint, moves bigint, move_budget bigint, changed bigint,
        certificate_gap double, out_of_band_reps json, map_html varchar, summary varchar
    )""",
    f"""create table if not exists {SCHEMA}.assignments (
        run_id varchar not null, snapshot_date date not null, account_id varchar not null,
        rep_id varchar not null, previous_rep_id varchar, changed boolean not null,
        reason_code varchar, reason varchar, is_temporary boolean not null,
        temporary_until date, covered_rep_id varchar
    )""",
    f"""create table if not exists {SCHEMA}.kpi_history (
        run_id varchar not null, snapshot_date date not null, pass_kind varchar not null,
        stage varchar not null, recorded_at timestamp not null,
        potential_cv double, workload_cv double, share_in_band double, travel_km double,
        active_owned_share double, utilisation double, reps_over_capacity bigint,
        reps_out_of_band bigint, unowned_accounts bigint
    )""",
    f"""create table if not exists {SCHEMA}.drift_flags (
        run_id varchar not null, snapshot_date date not null, scope varchar not null,
        flag varchar not null, subject_id varchar, subject_name varchar,
        detail varchar not null, value double
    )""",
    f"""create table if not exists {SCHEMA}.snapshot_reps (
        snapshot_date date not null, run_id varchar not null, rep_id varchar not null,
        rep_name varchar, status varchar, active boolean, leave_until date
    )""",
    f"""create table if not exists {SCHEMA}.snapshot_accounts (
        snapshot_date date not null, run_id varchar not null, account_id varchar not null,
        account_name varchar, potential double, current_rep_id varchar
    )""",
    f"""create table if not exists {SCHEMA}.proposals (
        proposal_id varchar not null, run_id varchar not null, pass_kind varchar not null,
        snapshot_date date not null, created_at timestamp not null,
        account_id varchar not null, account_name varchar,
        from_rep_id varchar, from_rep_name varchar, to_rep_id varchar not null,
        to_rep_name varchar, reason_code varchar not null, reason varchar not null,
        potential double, workload_hours double,
        from_potential_before double, from_potential_after double,
        to_potential_before double, to_potential_after double,
        from_workload_before double, from_workload_after double,
        to_workload_before double, to_workload_after double,
        is_temporary boolean not null, temporary_until date, status varchar not null,
        superseded_by_run_id varchar, effective_on date, first_proposed_on date,
        revised_because varchar
    )""",
    # warehouses created before changes carried a date take effect at once
    f"alter table {SCHEMA}.proposals add column if not exists effective_on date",
    # ... and before open proposals were carried from pass to pass
    f"alter table {SCHEMA}.proposals add column if not exists first_proposed_on date",
    f"alter table {SCHEMA}.proposals add column if not exists revised_because varchar",
)

ASSIGNMENT_COLUMNS = (
    "run_id",
    "snapshot_date",
    "account_id",
    "rep_id",
    "previous_rep_id",
    "changed",
    "reason_code",
    "reason",
    "is_temporary",
    "temporary_until",
    "covered_rep_id",
)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    for statement in DDL:
        con.execute(statement)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    append_rows(con, SCHEMA, table, frame)


def _json(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)


def stage_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    plan: PassPlan,
    config: dict[str, Any],
    snapshot_reps: pl.DataFrame,
    snapshot_accounts: pl.DataFrame,
) -> None:
    """Record a run's plan, KPIs and snapshot (status ``staged``) in one transaction."""
    ensure_schema(con)
    m = plan.metrics
    gap = m.get("gap")
    con.execute("begin transaction")
    try:
        # a retried step of the same run replaces its own staged rows, never another run's
        for table in ("runs", "assignments", "kpi_history", "snapshot_reps", "snapshot_accounts"):
            con.execute(f"delete from {SCHEMA}.{table} where run_id = ?", [run_id])
        con.execute(
            f"insert into {SCHEMA}.runs (run_id, pass_kind, snapshot_date, created_at, status, "
            "config, kpis_before, kpis_after, metrics, accounts, moves, move_budget, changed, "
            "certificate_gap, out_of_band_reps) "
            "values (?, ?, ?, ?, 'staged', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                plan.pass_kind,
                plan.snapshot_date,
                _now(),
                _json(config),
                _json(plan.kpis_before),
                _json(plan.kpis_after),
                _json(m),
                plan.plan.height,
                int(m.get("budget_moves", m.get("moves", 0)) or 0),
                plan.move_budget,
                int(plan.plan["changed"].sum()),
                float(gap) if gap is not None else None,
                _json(m.get("out_of_band_reps", [])),
            ],
        )
        rows = plan.plan.with_columns(
            run_id=pl.lit(run_id), snapshot_date=pl.lit(plan.snapshot_date, dtype=pl.Date)
        ).select(ASSIGNMENT_COLUMNS)
        _insert(con, "assignments", rows)
        _insert(con, "kpi_history", _kpi_rows(run_id, plan))
        tag = {"run_id": pl.lit(run_id), "snapshot_date": pl.lit(plan.snapshot_date)}
        _insert(con, "snapshot_reps", snapshot_reps.with_columns(**tag))
        _insert(con, "snapshot_accounts", snapshot_accounts.with_columns(**tag))
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def _kpi_rows(run_id: str, plan: Any) -> pl.DataFrame:
    now = _now()
    rows = [
        {
            "run_id": run_id,
            "snapshot_date": plan.snapshot_date,
            "pass_kind": plan.pass_kind,
            "stage": stage,
            "recorded_at": now,
            **kpis,
        }
        for stage, kpis in (("before", plan.kpis_before), ("after", plan.kpis_after))
    ]
    return pl.DataFrame(rows)


def record_drift(con: duckdb.DuckDBPyConnection, run_id: str, flags: pl.DataFrame) -> None:
    ensure_schema(con)
    con.execute("begin transaction")
    try:
        con.execute(f"delete from {SCHEMA}.drift_flags where run_id = ?", [run_id])
        _insert(con, "drift_flags", flags.with_columns(run_id=pl.lit(run_id)))
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def publish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    proposals: pl.DataFrame,
    summary: str = "",
    map_html: str | None = None,
) -> int:
    """Supersede the open proposals, add this run's, publish the run: all or nothing.

    Returns the number of proposals this run superseded.
    """
    ensure_schema(con)
    con.execute("begin transaction")
    try:
        status = con.execute(f"select status from {SCHEMA}.runs where run_id = ?", [run_id])
        row = status.fetchone()
        if row is None:
            raise ValueError(f"run {run_id} has no staged plan in {SCHEMA}.runs")
        superseded = con.execute(
            f"update {SCHEMA}.proposals set status = ?, superseded_by_run_id = ? "
            "where status = ? and run_id <> ?",
            [ProposalStatus.SUPERSEDED, run_id, ProposalStatus.OPEN, run_id],
        ).fetchone()
        con.execute(f"delete from {SCHEMA}.proposals where run_id = ?", [run_id])
        _insert(con, "proposals", proposals)
        con.execute(
            f"update {SCHEMA}.runs set status = 'published', published_at = ?, summary = ?, "
            "map_html = ? where run_id = ?",
            [_now(), summary, map_html, run_id],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return int(superseded[0]) if superseded else 0


# --- reads ----------------------------------------------------------------------------------


def published_run(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The newest published run as a dict (JSON columns decoded), or None."""
    if not table_exists(con, SCHEMA, "runs"):
        return None
    frame = query_frame(
        con,
        f"select * from {SCHEMA}.runs where status = 'published' "
        "order by published_at desc, created_at desc limit 1",
    )
    return _decode(frame.row(0, named=True)) if frame.height else None


def run_record(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any] | None:
    if not table_exists(con, SCHEMA, "runs"):
        return None
    frame = query_frame(con, f"select * from {SCHEMA}.runs where run_id = ?", [run_id])
    return _decode(frame.row(0, named=True)) if frame.height else None


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    for key in ("config", "kpis_before", "kpis_after", "metrics", "out_of_band_reps"):
        if isinstance(row.get(key), str):
            row[key] = json.loads(row[key])
    return row


def assignments(con: duckdb.DuckDBPyConnection, run_id: str) -> pl.DataFrame:
    return query_frame(
        con,
        f"select * from {SCHEMA}.assignments where run_id = ? order by account_id",
        [run_id],
    )


def published_assignments(con: duckdb.DuckDBPyConnection) -> pl.DataFrame | None:
    run = published_run(con)
    return assignments(con, run["run_id"]) if run else None


def previous_snapshot(
    con: duckdb.DuckDBPyConnection, before: date
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """Roster and account potentials of the newest snapshot planned before ``before``."""
    if not table_exists(con, SCHEMA, "snapshot_reps"):
        return None
    row = con.execute(
        f"select max(snapshot_date) from {SCHEMA}.snapshot_reps where snapshot_date < ?",
        [before],
    ).fetchone()
    if not row or row[0] is None:
        return None
    snap = row[0]
    run = con.execute(
        f"select max(run_id) from {SCHEMA}.snapshot_reps where snapshot_date = ?", [snap]
    ).fetchone()[0]
    reps = query_frame(
        con,
        f"select rep_id, rep_name, status, active, leave_until from {SCHEMA}.snapshot_reps "
        "where run_id = ? and snapshot_date = ?",
        [run, snap],
    )
    accounts = query_frame(
        con,
        f"select account_id, account_name, potential, current_rep_id "
        f"from {SCHEMA}.snapshot_accounts where run_id = ? and snapshot_date = ?",
        [run, snap],
    )
    return reps, accounts


def proposals(
    con: duckdb.DuckDBPyConnection, status: ProposalStatus | None = None, rep: str | None = None
) -> pl.DataFrame:
    if not table_exists(con, SCHEMA, "proposals"):
        return pl.DataFrame()
    where, params = [], []
    if status:
        where.append("status = ?")
        params.append(status)
    if rep:
        where.append("(from_rep_id = ? or to_rep_id = ?)")
        params += [rep, rep]
    clause = f"where {' and '.join(where)}" if where else ""
    return query_frame(
        con,
        f"select * from {SCHEMA}.proposals {clause} order by created_at, proposal_id",
        params,
    )


def drift_flags(con: duckdb.DuckDBPyConnection, run_id: str) -> pl.DataFrame:
    return query_frame(
        con,
        f"select * from {SCHEMA}.drift_flags where run_id = ? order by scope, flag, subject_id",
        [run_id],
    )


def latest_drift_run(con: duckdb.DuckDBPyConnection) -> str | None:
    if not table_exists(con, SCHEMA, "drift_flags"):
        return None
    row = con.execute(
        f"select r.run_id from {SCHEMA}.runs r where exists (select 1 from "
        f"{SCHEMA}.drift_flags d where d.run_id = r.run_id) order by r.created_at desc limit 1"
    ).fetchone()
    return row[0] if row else None


def today() -> date:
    return _now().date()


def rep_names_of_run(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, str]:
    """Rep id -> name as the roster said when ``run_id`` planned (plans.snapshot_reps)."""
    rows = con.execute(
        f"select rep_id, rep_name from {SCHEMA}.snapshot_reps "
        "where run_id = ? and rep_name is not null",
        [run_id],
    ).fetchall()
    return dict(rows)
