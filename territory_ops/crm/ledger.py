"""The ``crm`` schema: what was pulled, what was pushed, and what the CRM said per record.

* ``crm.pulls`` — one row per pull: which CRM, when, the snapshot date and rows per object;
* ``crm.pushes`` — one row per push: when it started and ended, applied / failed / later;
* ``crm.push_jobs`` — one row per CRM job or batch request, written **before** its data is
  sent, so a push that dies after its upload finds the job again and polls it instead of
  uploading twice; ``state`` moves ``created`` → ``uploaded`` → ``finished``;
* ``crm.push_records`` — one row per record sent in a job: its outcome (``sent`` until the CRM
  answers, then ``applied``, ``failed`` or ``unprocessed``) and the CRM's error code and
  message; ``seq`` orders the sendings of one record (the latest answer counts).

``territory-ops crm status`` reads these tables alone; it never calls the CRM.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import duckdb
import polars as pl

from territory_ops.warehouse import query_frame, table_exists, utc_now

SCHEMA = "crm"
_DDL = (
    f"create schema if not exists {SCHEMA}",
    f"create sequence if not exists {SCHEMA}.push_record_seq start 1",
    f"""create table if not exists {SCHEMA}.pulls (
        crm varchar not null, pulled_at timestamp not null, as_of date not null,
        snapshot varchar, accounts integer, users integer, opportunities integer)""",
    f"""create table if not exists {SCHEMA}.pushes (
        push_id varchar primary key, crm varchar not null, as_of date not null,
        started_at timestamp not null, finished_at timestamp, applied integer,
        failed integer, later integer, outcome varchar)""",
    f"""create table if not exists {SCHEMA}.push_jobs (
        job_id varchar primary key, push_id varchar not null, crm varchar not null,
        object varchar not null, state varchar not null, crm_state varchar,
        records integer not null, created_at timestamp not null, finished_at timestamp,
        error varchar)""",
    f"""create table if not exists {SCHEMA}.push_records (
        job_id varchar not null, crm varchar not null, object varchar not null,
        record_id varchar not null, owner_id varchar not null, proposal_id varchar,
        run_id varchar, outcome varchar not null, error_code varchar, error_message varchar,
        updated_at timestamp not null,
        seq bigint not null default nextval('{SCHEMA}.push_record_seq'),
        transfer_id varchar)""",
)

RECORD_COLUMNS: dict[str, pl.DataType] = {
    "object": pl.String(),
    "record_id": pl.String(),
    "owner_id": pl.String(),
    "proposal_id": pl.String(),
    "run_id": pl.String(),
}
# what a job sends per record: the record, its new owner, and the change it delivers (the
# account move's proposal, or the deal transfer of plans.deal_transfers)
SEND_COLUMNS: dict[str, pl.DataType] = {
    "record_id": pl.String(),
    "owner_id": pl.String(),
    "proposal_id": pl.String(),
    "run_id": pl.String(),
    "transfer_id": pl.String(),
}
OPEN_JOB_STATES = ("created", "uploaded")


def ensure_crm_schema(con: duckdb.DuckDBPyConnection) -> None:
    for statement in _DDL:
        con.execute(statement)


def record_pull(
    con: duckdb.DuckDBPyConnection,
    crm: str,
    as_of: date,
    snapshot: str,
    counts: dict[str, int],
    now: datetime | None = None,
) -> None:
    ensure_crm_schema(con)
    con.execute(
        f"insert into {SCHEMA}.pulls values (?, ?, ?, ?, ?, ?, ?)",
        [
            crm,
            now or utc_now(),
            as_of,
            snapshot,
            counts.get("Account"),
            counts.get("User"),
            counts.get("Opportunity"),
        ],
    )


def start_push(con: duckdb.DuckDBPyConnection, push_id: str, crm: str, as_of: date) -> None:
    ensure_crm_schema(con)
    con.execute(
        f"insert into {SCHEMA}.pushes (push_id, crm, as_of, started_at) values (?, ?, ?, ?)",
        [push_id, crm, as_of, utc_now()],
    )


def finish_push(
    con: duckdb.DuckDBPyConnection,
    push_id: str,
    applied: int,
    failed: int,
    later: int,
    outcome: str,
) -> None:
    con.execute(
        f"update {SCHEMA}.pushes set finished_at = ?, applied = ?, failed = ?, later = ?, "
        "outcome = ? where push_id = ?",
        [utc_now(), applied, failed, later, outcome, push_id],
    )


def record_job(
    con: duckdb.DuckDBPyConnection,
    job_id: str,
    push_id: str,
    crm: str,
    sobject: str,
    records: pl.DataFrame,
) -> None:
    """The job and its records, in one transaction, before any record is sent."""
    ensure_crm_schema(con)
    now = utc_now()
    con.begin()
    try:
        con.execute(
            f"insert into {SCHEMA}.push_jobs (job_id, push_id, crm, object, state, records, "
            "created_at) values (?, ?, ?, ?, 'created', ?, ?)",
            [job_id, push_id, crm, sobject, records.height, now],
        )
        frame = records.select(
            pl.col(c).cast(t) if c in records.columns else pl.lit(None, t).alias(c)
            for c, t in SEND_COLUMNS.items()
        )
        con.register("_push_records_in", frame.to_arrow())
        try:
            con.execute(
                f"insert into {SCHEMA}.push_records (job_id, crm, object, record_id, owner_id, "
                "proposal_id, run_id, transfer_id, outcome, updated_at) select ?, ?, ?, "
                "record_id, owner_id, proposal_id, run_id, transfer_id, 'sent', ? "
                "from _push_records_in",
                [job_id, crm, sobject, now],
            )
        finally:
            con.unregister("_push_records_in")
        con.commit()
    except Exception:
        con.rollback()
        raise


def set_job_state(
    con: duckdb.DuckDBPyConnection,
    job_id: str,
    state: str,
    crm_state: str | None = None,
    error: str | None = None,
) -> None:
    finished = utc_now() if state == "finished" else None
    con.execute(
        f"update {SCHEMA}.push_jobs set state = ?, crm_state = coalesce(?, crm_state), "
        "error = coalesce(?, error), finished_at = coalesce(?, finished_at) where job_id = ?",
        [state, crm_state, error, finished, job_id],
    )


def record_outcomes(
    con: duckdb.DuckDBPyConnection, job_id: str, outcomes: Sequence[dict[str, Any]]
) -> None:
    """Per record of a job: ``record_id``, ``outcome``, ``error_code``, ``error_message``."""
    if not outcomes:
        return
    frame = pl.DataFrame(
        outcomes,
        schema={
            "record_id": pl.String,
            "outcome": pl.String,
            "error_code": pl.String,
            "error_message": pl.String,
        },
    )
    con.register("_push_outcomes_in", frame.to_arrow())
    try:
        con.execute(
            f"update {SCHEMA}.push_records r set outcome = o.outcome, error_code = o.error_code, "
            "error_message = o.error_message, updated_at = ? from _push_outcomes_in o "
            "where r.job_id = ? and r.record_id = o.record_id",
            [utc_now(), job_id],
        )
    finally:
        con.unregister("_push_outcomes_in")


def open_jobs(con: duckdb.DuckDBPyConnection, crm: str) -> pl.DataFrame:
    """Jobs of ``crm`` recorded but never read to the end (a push died with them)."""
    ensure_crm_schema(con)
    return query_frame(
        con,
        f"select job_id, push_id, object, state from {SCHEMA}.push_jobs "
        "where crm = ? and list_contains(?, state) order by created_at, job_id",
        [crm, list(OPEN_JOB_STATES)],
    )


def job_records(con: duckdb.DuckDBPyConnection, job_id: str) -> pl.DataFrame:
    return query_frame(
        con,
        f"select object, record_id, owner_id, proposal_id, run_id, transfer_id, outcome, "
        f"error_code, error_message from {SCHEMA}.push_records where job_id = ? "
        "order by record_id",
        [job_id],
    )


def applied_records(con: duckdb.DuckDBPyConnection, crm: str) -> pl.DataFrame:
    """(object, record_id, owner_id) the CRM already applied: never sent again."""
    ensure_crm_schema(con)
    return query_frame(
        con,
        f"select distinct object, record_id, owner_id from {SCHEMA}.push_records "
        "where crm = ? and outcome = 'applied'",
        [crm],
    )


def latest_errors(con: duckdb.DuckDBPyConnection, crm: str) -> pl.DataFrame:
    """The CRM's last answer per record that failed and has not been applied since."""
    if not table_exists(con, SCHEMA, "push_records"):
        return pl.DataFrame(schema={**RECORD_COLUMNS, "error_code": pl.String})
    return query_frame(
        con,
        f"select object, record_id, owner_id, proposal_id, run_id, error_code, error_message "
        f"from {SCHEMA}.push_records where crm = ? "
        "qualify row_number() over (partition by object, record_id, owner_id "
        "order by seq desc) = 1 and outcome = 'failed' "
        "order by object, record_id",
        [crm],
    )
