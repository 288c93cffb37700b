"""Slack through the planning half of the territory job: an outage during a pass, recovery in
the next run, every digest delivered exactly once; and a click queued while a pass held the
warehouse counts before that pass supersedes its proposal.

The real loopback Slack API server (tests/notify/conftest.py), the real assets
(``territory_plan`` -> ``drift_report`` -> ``proposed_changes`` -> ``manager_digests``) via
``dg.materialize`` on a tiny hand-written book (no dbt: the marts are written directly).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from pipelines.notify import SlackApiResource, manager_digests
from pipelines.planning import drift_report, proposed_changes, territory_plan
from pipelines.resources import WarehouseResource
from territory_ops.notify.actions import QUEUE_FILE, queue_click
from territory_ops.notify.interactions import Interaction
from territory_ops.notify.model import ACTION_APPROVE
from territory_ops.notify.pass_digests import notify_run
from territory_ops.notify.sender import SlackDigestSender
from territory_ops.planning import store
from territory_ops.planning.config import load_pass_config
from territory_ops.planning.service import propose_and_publish, report_drift, stage_plan
from territory_ops.settings import PASSES_YAML

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dagster_runs")]

FIRST, NEXT = date(2026, 7, 31), date(2026, 8, 31)
# rep, manager, home (lat, lon); managers: Maya (found by e-mail), Noah (explicit Slack id)
REPS = [
    ("R1", "M1", 40.71, -74.00),
    ("R2", "M1", 40.73, -73.99),
    ("R3", "M2", 41.88, -87.63),
    ("R4", "M2", 41.86, -87.65),
]
MANAGERS = {
    "M1": ("Maya Manager", "maya@example.com", None),
    "M2": ("Noah N", "noah@x.com", "UNOAH"),
}


def reps() -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "rep_id": rid,
                "latitude": lat,
                "longitude": lon,
                "capacity_hours": 1000.0,
                "target_weight": 1.0,
                "segments": "smb",
                "skills": "",
                "active": True,
                "rep_name": f"Rep {rid}",
                "status": "active",
                "leave_until": None,
                "manager_id": mid,
                "manager_name": MANAGERS[mid][0],
                "manager_email": MANAGERS[mid][1],
                "manager_slack_user_id": MANAGERS[mid][2],
            }
            for rid, mid, lat, lon in REPS
        ]
    )


def accounts(new_owner_less: tuple[str, ...]) -> pl.DataFrame:
    rows = []
    for i in range(16):
        rid, _, lat, lon = REPS[i % 4]
        aid = f"A{i:02d}"
        rows.append(
            {
                "account_id": aid,
                "parent_account_id": None,
                "latitude": lat + 0.01 * (i // 4),
                "longitude": lon - 0.01 * (i // 4),
                "potential": 100_000.0,
                "workload_hours": 100.0,
                "segment": "smb",
                "industry": "Retail",
                "required_skill": "",
                "current_rep_id": None if aid in new_owner_less else rid,
                "locked": False,
                "account_name": f"Account {i}",
                "potential_explanation": "$100k/yr",
            }
        )
    return pl.DataFrame(rows)


def write_marts(database: Path, day: date, owner_less: tuple[str, ...]) -> None:
    with duckdb.connect(str(database)) as con:
        con.execute("create schema if not exists marts")
        for name, frame in (("account_profiles", accounts(owner_less)), ("rep_roster", reps())):
            con.register("frame", frame.with_columns(snapshot_date=pl.lit(day)).to_arrow())
            con.execute(f"create or replace table marts.{name} as select * from frame")
            con.unregister("frame")


def planning_half(database: Path, outbox: Path) -> dg.ExecuteInProcessResult:
    result = dg.materialize(
        [territory_plan, drift_report, proposed_changes, manager_digests],
        resources={
            "warehouse": WarehouseResource(database=str(database), archive_dir=str(outbox)),
            "slack": SlackApiResource(revops_channel="#revops", outbox_dir=str(outbox)),
        },
        run_config={"ops": {"territory_plan": {"config": {"pass_kind": "refresh"}}}},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success  # a Slack outage never fails the planning run
    return result


def outbox_status(database: Path) -> dict[str, int]:
    with duckdb.connect(str(database), read_only=True) as con:
        return dict(con.execute("select status, count(*) from notify.outbox group by 1").fetchall())


def test_outage_then_recovery_delivers_every_digest_once(tmp_path, monkeypatch, fake_slack):
    # a deployment whose managers place new accounts themselves: every placement waits for a
    # decision, so it is in a manager's digest (the default routing policy approves them)
    passes = tmp_path / "passes.yaml"
    passes.write_text(
        PASSES_YAML.read_text(encoding="utf-8").replace(
            "auto_approve: [new, orphaned, cover, return]", "auto_approve: []"
        ),
        encoding="utf-8",
    )
    assert "auto_approve: []" in passes.read_text(encoding="utf-8")
    monkeypatch.setattr("territory_ops.planning.config.PASSES_YAML", passes)
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.token)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.url)
    fake_slack.users["maya@example.com"] = "UMAYA"  # Noah has his Slack id in the roster
    database, outbox = tmp_path / "w.duckdb", tmp_path / "outbox"

    # pass 0 (library): proposals for A00 (Maya's team) and A10 (Noah's), digests sent
    write_marts(database, FIRST, ("A00", "A10"))
    with duckdb.connect(str(database)) as con:
        stage_plan(con, "run-0", load_pass_config(overrides={"pass_kind": "refresh"}))
        report_drift(con, "run-0")
        propose_and_publish(con, "run-0")
        sender = SlackDigestSender(fake_slack.token, fake_slack.url)
        notify_run(con, "run-0", sender, revops_channel="#revops")
        (pid,) = store.proposals(con).filter(pl.col("account_id") == "A00")["proposal_id"]
        channel, ts = con.execute(
            "select slack_channel, slack_ts from notify.outbox "
            "where list_contains(proposal_ids, ?)",
            [pid],
        ).fetchone()
    assert {p["channel"] for p in fake_slack.posts()} == {"DUMAYA", "DUNOAH", "#revops"}
    lookups = [p for m, p in fake_slack.calls if m == "users.lookupByEmail"]
    assert [p["email"] for p in lookups] == ["maya@example.com"]  # Noah: his id, no lookup
    # Maya approves while the next pass holds the warehouse: the endpoint queues the click
    queue_click(
        outbox / "queue", Interaction(ACTION_APPROVE, pid, (pid,), "UMAYA", "maya", channel, ts)
    )
    sent_before = len(fake_slack.posts())

    # pass 1 (the job) on the next snapshot while Slack is down: A01 is new
    write_marts(database, NEXT, ("A01",))
    fake_slack.down = True
    first = planning_half(database, outbox)
    assert len(fake_slack.posts()) == sent_before
    assert outbox_status(database)["pending"] >= 2  # Maya's digest and the RevOps summary
    assert not (outbox / "queue" / QUEUE_FILE).exists()
    meta = first.asset_materializations_for_node("territory_plan")[0].metadata
    assert meta["queued_decisions_applied"].value == 1
    with duckdb.connect(str(database), read_only=True) as con:
        status = con.execute(
            "select status from plans.proposals where proposal_id = ? order by created_at",
            [pid],
        ).fetchall()
        how = con.execute(
            "select channel, decided_by from plans.decisions where proposal_id = ?", [pid]
        ).fetchall()
    assert status == [("approved",)]  # decided before the pass could supersede it
    assert how == [("slack", "maya")]

    # pass 2: the same snapshot again (the next run), Slack is back
    fake_slack.down = False
    planning_half(database, outbox)
    new_posts = fake_slack.posts()[sent_before:]
    channels = [p["channel"] for p in new_posts]
    assert sorted(channels) == sorted(set(channels)), "nothing posted twice"
    assert set(channels) == {"DUMAYA", "#revops"}  # pass 1's digests, delivered once
    assert "pending" not in outbox_status(database)
