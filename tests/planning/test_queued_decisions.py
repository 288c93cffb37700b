"""A Slack click queued while a pass held the warehouse is applied before the next pass
supersedes its proposal, at library level. Through ``territory_plan`` itself:
tests/notify/test_outage_through_job.py.

The book is the tiny hand-made one of tests/planning; the marts are written by hand, so no dbt.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from territory_ops.notify.actions import drain_queued_clicks, queue_click
from territory_ops.notify.interactions import Interaction
from territory_ops.notify.model import ACTION_APPROVE
from territory_ops.notify.pass_digests import notify_run
from territory_ops.notify.sender import OutboxDigestSender
from territory_ops.planning import store
from territory_ops.planning.config import load_pass_config
from territory_ops.planning.service import propose_and_publish, report_drift, stage_plan

from .conftest import MANUAL, SNAPSHOT, make_accounts, make_reps

NEXT = date(2026, 8, 31)


def write_marts(con: duckdb.DuckDBPyConnection, day: date) -> None:
    """The book with one new account (A00, no owner); the roster names the reps' manager."""
    con.execute("create schema if not exists marts")
    reps = make_reps().with_columns(
        manager_id=pl.lit("M1"),
        manager_name=pl.lit("Maya Manager"),
        manager_email=pl.lit("maya@example.com"),
        manager_slack_user_id=pl.lit("UMAYA"),  # her clicks are hers (decision rights)
    )
    for name, frame in (("account_profiles", make_accounts({"A00": None})), ("rep_roster", reps)):
        con.register("frame", frame.with_columns(snapshot_date=pl.lit(day)).to_arrow())
        con.execute(f"create or replace table marts.{name} as select * from frame")
        con.unregister("frame")


def library_pass(con: duckdb.DuckDBPyConnection, run_id: str, day: date) -> None:
    write_marts(con, day)
    stage_plan(con, run_id, load_pass_config(overrides={"pass_kind": "refresh", **MANUAL}))
    report_drift(con, run_id)
    propose_and_publish(con, run_id)


def first_pass_and_a_queued_click(con, outbox: Path) -> str:
    """Pass 1 proposes a placement for A00; its digest is sent; the manager's Approve click
    arrives while the next pass holds the warehouse and is queued. Returns the proposal id."""
    library_pass(con, "run-1", SNAPSHOT)
    notify_run(con, "run-1", OutboxDigestSender(outbox), revops_channel="#revops")
    (pid,) = store.proposals(con).filter(pl.col("account_id") == "A00")["proposal_id"].to_list()
    channel, ts = con.execute(
        "select slack_channel, slack_ts from notify.outbox where list_contains(proposal_ids, ?)",
        [pid],
    ).fetchone()
    click = Interaction(ACTION_APPROVE, pid, (pid,), "UMAYA", "maya", channel, ts)
    queue_click(outbox / "queue", click)
    return pid


def decision_of(con, pid: str) -> tuple[str, str]:
    status = con.execute(
        "select status from plans.proposals where proposal_id = ?", [pid]
    ).fetchone()[0]
    channel = con.execute(
        "select channel from plans.decisions where proposal_id = ?", [pid]
    ).fetchone()[0]
    return status, channel


def test_queued_click_is_applied_before_the_next_pass_supersedes(tmp_path: Path):
    outbox = tmp_path / "outbox"
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        pid = first_pass_and_a_queued_click(con, outbox)
        # what territory_plan does first: drain, then plan
        (applied,) = drain_queued_clicks(con, OutboxDigestSender(outbox), outbox / "queue")
        assert applied.decided == (pid,)
        library_pass(con, "run-2", NEXT)
        assert decision_of(con, pid) == ("approved", "slack")  # not superseded
        # the approved placement is kept by the new pass and not proposed a second time
        plan = store.assignments(con, "run-2")
        to_rep = con.execute("select to_rep_id from plans.proposals where proposal_id = ?", [pid])
        assert plan.filter(pl.col("account_id") == "A00")["rep_id"].to_list() == [
            to_rep.fetchone()[0]
        ]
        open_now = store.proposals(con).filter(pl.col("status") == "open")
        assert "A00" not in open_now["account_id"].to_list()
