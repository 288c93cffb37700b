"""The daily ``escalate_proposals`` job: a real Dagster run escalates what is due once, with one
reminder per escalation through the outbox, and its schedule asks for the tick's day."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import dagster as dg
import duckdb

from pipelines.definitions import defs
from pipelines.notify import ESCALATE_JOB
from territory_ops.writeback.decisions import decision_log
from territory_ops.writeback.proposal_rows import insert_proposals


def run_escalate(db, tmp_path, as_of: str) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def(ESCALATE_JOB).execute_in_process(
        run_config={
            "ops": {"escalate_op": {"config": {"as_of": as_of}}},
            "resources": {
                "warehouse": {"config": {"database": str(db), "archive_dir": str(tmp_path / "a")}},
                "slack": {"config": {"outbox_dir": str(tmp_path / "outbox")}},
            },
        },
        instance=dg.DagsterInstance.ephemeral(),
    )


def test_the_job_escalates_once_and_reminds_the_director(tmp_path, sample, monkeypatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    db = tmp_path / "w.duckdb"
    proposals = sample.proposals(3)  # snapshot 2026-11-01: within M1, M2 -> M1, within M2
    with duckdb.connect(str(db)) as con:
        insert_proposals(con, proposals)
        sample.write_org_chart(con)
    early = run_escalate(db, tmp_path, "2026-11-05")  # escalate_after_days: 5
    assert early.output_for_node("escalate_op") == 0
    due = run_escalate(db, tmp_path, "2026-11-06")
    assert due.output_for_node("escalate_op") == 3
    again = run_escalate(db, tmp_path, "2026-11-06")
    assert again.output_for_node("escalate_op") == 0
    with duckdb.connect(str(db)) as con:
        log = decision_log(con)
        outbox = con.execute(
            "select kind, recipient_key, status from notify.outbox order by proposal_ids"
        ).fetchall()
    assert log["action"].to_list() == ["escalate"] * 3
    assert set(log["decided_by"]) == {"escalation policy"}
    assert set(log["channel"]) == {"escalation"}  # never read as the routing policy's
    assert outbox == [("escalation_reminder", "manager:D1", "sent")] * 3
    texts = [
        json.loads(p.read_text())["text"] for p in (tmp_path / "outbox" / "slack").glob("*.json")
    ]
    assert len(texts) == 3 and all("is now yours to decide" in t for t in texts)


def test_the_schedule_asks_for_the_day_of_its_tick():
    schedule = defs.resolve_schedule_def("daily_escalation")
    tick = datetime(2026, 11, 6, 11, 0, tzinfo=UTC)
    with dg.build_schedule_context(scheduled_execution_time=tick) as context:
        (request,) = schedule.evaluate_tick(context).run_requests
    assert request.run_key == "escalate-2026-11-06"
    config = request.run_config
    assert config == {"ops": {"escalate_op": {"config": {"as_of": "2026-11-06"}}}}
    assert dg.validate_run_config(defs.resolve_job_def(ESCALATE_JOB), config)
