"""The audit log ``plans.decisions`` is append-only, through every path that decides.

One warehouse, one sequence of decisions as they happen in practice: the command line, the
library, the Dagster ``decide_proposals`` job, signed Slack clicks (one and "approve all"),
a click queued while a pass held the warehouse and applied later, a queued click that arrives
after the next pass superseded its proposal, refused decisions and the CRM write-back. After
each step the log is read back whole: the rows that were there are unchanged, byte for byte
and in place, and whatever is new comes after them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

import dagster as dg
import duckdb
import pytest
from typer.testing import CliRunner

from territory_ops.notify.actions import drain_queued_clicks, handle_interaction, queue_click
from territory_ops.notify.digest import render_manager_digests
from territory_ops.notify.interactions import Interaction, ReplayGuard, sign_request
from territory_ops.notify.model import ACTION_APPROVE, ACTION_APPROVE_ALL
from territory_ops.notify.outbox import deliver_pending, enqueue_digests
from territory_ops.notify.sender import SlackDigestSender
from territory_ops.warehouse import connect_when_free
from territory_ops.writeback.decisions import (
    DecisionRefused,
    appeal,
    approve,
    ensure_decisions_table,
    reject,
)
from territory_ops.writeback.export import export_approved
from territory_ops.writeback.proposal_rows import insert_proposals

# approved full-pass moves take effect on the first day of the next quarter
QUARTER = date(2027, 1, 1)

SECRET = "audit-log-signing-secret-5a4b3c2d1e"

Row = tuple[str, ...]


def read_log(path: Path) -> list[Row]:
    """Every row in storage order with its row id, each value as DuckDB prints it."""
    with duckdb.connect(str(path)) as con:
        ensure_decisions_table(con)
        return con.execute(
            "select rowid::varchar, columns(*)::varchar from plans.decisions order by rowid"
        ).fetchall()


class AuditWatch:
    """Checks that a step only appends to the log; ``step`` returns the rows it added."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = read_log(path)

    def step(self, action: Callable[[], object], added: int) -> list[Row]:
        before = self.rows
        action()
        after = read_log(self.path)
        assert after[: len(before)] == before, "an earlier audit row changed or moved"
        new = after[len(before) :]
        assert len(new) == added, [r[7:9] for r in new]
        # appended: later row ids and decision ids than anything already there
        if before and new:
            assert min(int(r[0]) for r in new) > max(int(r[0]) for r in before)
            assert min(int(r[1]) for r in new) > max(int(r[1]) for r in before)
        self.rows = after
        return new


def _column(rows: list[Row], name: str) -> list[str]:
    columns = [
        "rowid",
        "decision_id",
        "proposal_id",
        "run_id",
        "account_id",
        "from_rep_id",
        "to_rep_id",
        "action",
        "status_before",
        "status_after",
        "decided_by",
        "decided_at",
        "note",
        "channel",
        "slack_user_id",
    ]
    return [r[columns.index(name)] for r in rows]


def _status(path: Path, pid: str) -> str:
    with duckdb.connect(str(path)) as con:
        return con.execute(
            "select status from plans.proposals where proposal_id = ?", [pid]
        ).fetchone()[0]


def _click_body(channel: str, ts: str, button: dict, user: tuple[str, str], n: int) -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user[0], "username": user[1]},
        "channel": {"id": channel},
        "container": {"type": "message", "message_ts": ts},
        "actions": [dict(button, action_ts=f"{time.time():.6f}")],
        "trigger_id": f"audit-trigger-{n}",
    }
    return urlencode({"payload": json.dumps(payload)})


def test_every_decision_path_only_appends_to_the_audit_log(
    tmp_path, fake_slack, sample, monkeypatch
):
    # eight open proposals, digests delivered to Maria (M1) and Omar (M2) through the Slack API
    fake_slack.users.update(sample.slack_users)
    path = tmp_path / "home" / "territory.duckdb"
    path.parent.mkdir()
    proposals = sample.proposals(8)
    pid = proposals["proposal_id"].to_list()
    with duckdb.connect(str(path)) as con:
        insert_proposals(con, proposals)
        sample.write_org_chart(con)
        enqueue_digests(con, render_manager_digests(proposals, sample.roster).digests)
        sender = SlackDigestSender(sample.token, fake_slack.url, backoff_factor=0.01)
        assert len(deliver_pending(con, sender).sent) == 2
    messages = {k[0]: (k, m) for k, m in fake_slack.messages.items()}
    (omar_channel, omar_ts), omar_message = messages["DU0OMAR"]
    (maria_channel, maria_ts), _ = messages["DU0MARIA"]
    watch = AuditWatch(path)
    assert watch.rows == []

    def library(fn, ids, **kw) -> Callable[[], object]:
        def run() -> object:
            with duckdb.connect(str(path)) as con:
                return fn(con, ids, **kw)

        return run

    def refused(fn, ids, match: str, **kw) -> Callable[[], None]:
        def run() -> None:
            with pytest.raises(DecisionRefused, match=match):
                library(fn, ids, **kw)()

        return run

    # the command line approves; a rep appeals; RevOps settles the appeal by rejecting
    monkeypatch.setenv("TERRITORY_OPS_HOME", str(path.parent))
    monkeypatch.setenv("TERRITORY_OPS_DUCKDB", str(path))
    from territory_ops.cli import app

    def cli_approve() -> None:
        args = ["proposals", "approve", "--id", pid[0], "--by", "Maria Chen", "--note", "1:1"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output

    [row] = watch.step(cli_approve, 1)
    assert (_column([row], "action"), _column([row], "channel")) == (["approve"], ["cli"])
    watch.step(library(appeal, [pid[0]], by="Rep Ana", note="deal closing"), 1)
    [row] = watch.step(library(reject, [pid[0]], by="RevOps Lee", note="upheld"), 1)
    assert _column([row], "status_before") == ["appealed"]

    # the library rejects; deciding it again is refused and writes nothing
    watch.step(library(reject, [pid[6]], by="RevOps Lee"), 1)
    watch.step(refused(reject, [pid[6]], "already rejected", by="RevOps Lee"), 0)
    watch.step(refused(appeal, [pid[6]], "nothing to appeal", by="Rep Gus"), 0)

    # an appeal settled by approving, through the Dagster job
    watch.step(library(approve, [pid[5]], by="Maria Chen"), 1)
    watch.step(library(appeal, [pid[5]], by="Rep Finn", note="my customer"), 1)
    from pipelines.definitions import defs
    from pipelines.notify import DECIDE_JOB

    def dagster_settles() -> None:
        done = defs.resolve_job_def(DECIDE_JOB).execute_in_process(
            run_config={
                "ops": {
                    "decide_op": {
                        "config": {
                            "decision": "approve",
                            "by": "revops@example.com",
                            "ids": [pid[5]],
                        }
                    }
                },
                "resources": {
                    "warehouse": {
                        "config": {"database": str(path), "archive_dir": str(tmp_path / "a")}
                    }
                },
            },
            instance=dg.DagsterInstance.ephemeral(),
            raise_on_error=False,
        )
        assert done.success

    [row] = watch.step(dagster_settles, 1)
    assert _column([row], "channel") == ["dagster"] and _status(path, pid[5]) == "approved"

    # signed Slack clicks on Omar's digest: one Approve, then "approve all" for the rest (the
    # moves to or from Maria's team wait for her)
    guard = ReplayGuard()
    buttons = [e for b in omar_message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    clicks = iter(range(100))

    def slack(button: dict) -> Callable[[], None]:
        def run() -> None:
            body = _click_body(
                omar_channel, omar_ts, button, ("U0OMAR", "omar.haddad"), next(clicks)
            )
            result = handle_interaction(
                body,
                sign_request(SECRET, body, int(time.time())),
                signing_secret=SECRET,
                replay_guard=guard,
                connect=lambda: connect_when_free(path, timeout_s=10),
                sender=sender,
            )
            assert result.status == 200, result.message

        return run

    approve_one = next(b for b in buttons if b["action_id"] == ACTION_APPROVE)
    [row] = watch.step(slack(approve_one), 1)
    assert _column([row], "slack_user_id") == ["U0OMAR"]
    approve_all = next(b for b in buttons if b["action_id"] == ACTION_APPROVE_ALL)
    assert len(watch.step(slack(approve_all), 2)) == 2
    watch.step(slack(approve_one), 0)  # already decided: refused, nothing written

    # Maria's clicks arrive while a pass holds the warehouse: queued, applied afterwards
    queue = tmp_path / "queue"

    def queued(p: str) -> Interaction:
        return Interaction(
            ACTION_APPROVE, p, (p,), "U0MARIA", "maria.chen", maria_channel, maria_ts
        )

    def drain() -> None:
        with duckdb.connect(str(path)) as con:
            drain_queued_clicks(con, sender, queue)

    queue_click(queue, queued(pid[3]))
    queue_click(queue, queued(pid[1]))  # Maria's side of two moves Omar approved
    queue_click(queue, queued(pid[4]))
    rows = watch.step(drain, 3)
    assert _column(rows, "proposal_id") == [pid[3], pid[1], pid[4]]
    assert _column(rows, "status_after") == ["approved"] * 3

    # a late click: the next pass superseded the proposal before the queue was drained
    queue_click(queue, queued(pid[7]))
    with duckdb.connect(str(path)) as con:
        con.execute(
            "update plans.proposals set status = 'superseded', superseded_by_run_id = 'run-next' "
            "where status = 'open'"
        )
    watch.step(drain, 0)
    assert _status(path, pid[7]) == "superseded"

    # the write-back logs one export per approved change; an exported change cannot be appealed
    def export() -> None:
        with duckdb.connect(str(path)) as con:
            export_approved(con, tmp_path / "crm", as_of=QUARTER)

    exported = watch.step(export, 5)
    assert set(_column(exported, "action")) == {"export"}
    assert sorted(_column(exported, "proposal_id")) == sorted(
        [pid[1], pid[2], pid[3], pid[4], pid[5]]
    )
    watch.step(refused(appeal, [pid[2]], "already exported", by="Rep Eve"), 0)
    watch.step(export, 0)  # nothing left to export: nothing logged

    assert _column(watch.rows, "action").count("approve") == 9
    assert len(watch.rows) == 18
