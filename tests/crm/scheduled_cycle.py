"""The whole CRM loop as a deployment runs it, no file touched by hand, for any CRM stand-in.

The nightly pull's schedule ticks and lands a snapshot, the refresh sensor sees it and starts
the pass job, each manager approves their digest in Slack (signed clicks to the project's
interaction handler, the Slack stand-in of tests/notify), the evening push's schedule applies
account owners and, as the holdover policy says, deal owners (a record the CRM rejects stays
approved with its error and goes in with the next evening's push), and the next night's pull
and pass confirm what the CRM shows and flag what someone changed back.

The schedules and the sensor are the deployment's own: each tick is evaluated and its run
executed in a process whose environment names the CRM (tests/crm/daemon_tick.py), because the
definitions decide at load time whether a CRM is configured. A test sets the CRM's variables,
describes its stand-in with :class:`CycleCrm` and calls :func:`run_cycle`; what differs between
CRMs (how a record is rejected, changed back, or seen updated) is in that description only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import duckdb
import pytest
from typer.testing import CliRunner

from territory_ops.cli import app
from territory_ops.notify.actions import handle_interaction
from territory_ops.notify.interactions import ReplayGuard, sign_request
from territory_ops.notify.model import ACTION_APPROVE_ALL
from territory_ops.notify.sender import SlackDigestSender
from territory_ops.settings import PASSES_YAML, PROJECT_ROOT
from territory_ops.warehouse import connect_when_free
from tests.conftest import use_home
from tests.notify.conftest import FakeSlack

SIGNING_SECRET = "crm-cycle-signing-secret-9a8b7c6d5e"
# the deployment's schedule ticks (UTC): nightly pulls at 02:00, evening pushes at 18:00
FIRST_PULL, SECOND_PULL = "2026-11-30T02:00", "2026-12-02T02:00"
FIRST_PUSH, SECOND_PUSH = "2026-11-30T18:00", "2026-12-01T18:00"
FIRST_SNAPSHOT = "2026-11-30"


@dataclass
class CycleCrm:
    """A CRM stand-in as the cycle drives it."""

    name: str  # as ``--crm`` spells it
    rejects: dict[str, tuple[str, str]]  # record id -> (error code, message): the CRM refuses it
    updates: Callable[[], list[tuple[str, str, str]]]  # (object, record id, owner) it applied
    account_object: str  # the object name ``updates`` gives an account and a deal
    deal_object: str
    set_owner: Callable[[str, str], None]  # someone changes an account's owner in the CRM
    rejection: tuple[str, str]  # the error the CRM gives a record it refuses


@dataclass
class Cycle:
    """What a cycle leaves to look at: the warehouse, every output and the proposals."""

    db: Path
    outputs: list[str] = field(default_factory=list)
    placements: list[tuple[str, str, str | None, str]] = field(default_factory=list)


def _managers_place_accounts(folder: Path) -> Path:
    """The deployment's pass settings for a team whose managers place new and orphaned accounts
    themselves: every placement waits in a manager's digest (the default policy approves them)."""
    passes = folder / "passes.yaml"
    passes.write_text(
        PASSES_YAML.read_text(encoding="utf-8").replace(
            "auto_approve: [new, orphaned, cover, return]", "auto_approve: []"
        ),
        encoding="utf-8",
    )
    assert "auto_approve: []" in passes.read_text(encoding="utf-8")
    return passes


def _tick(outputs: list[str], passes: Path, *args: str) -> dict:
    """One daemon tick in a process of its own, with this test's environment and the
    deployment's pass settings file ``passes``."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.crm.daemon_tick", "--passes", str(passes), *args],
        cwd=PROJECT_ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=900,
    )
    outputs.append(done.stdout + done.stderr)
    assert done.returncode == 0, done.stderr[-3000:]
    tick = json.loads(done.stdout.strip().splitlines()[-1])
    outputs.append(Path(tick["log"]).read_text(encoding="utf-8"))
    for run in tick["runs"]:
        assert run["success"], run["failures"]
    return tick


def _click_approve_all(slack: FakeSlack, db: Path, digests: list[tuple[str, str]]) -> list[str]:
    """Each manager clicks "Approve all" on their digest: a signed request, as Slack sends it,
    to the project's interaction handler (what ``territory-ops serve-actions`` serves)."""
    sender = SlackDigestSender(slack.token, slack.url, backoff_factor=0.01)
    guard, decided = ReplayGuard(), []
    for channel, ts in digests:
        blocks = slack.messages[(channel, ts)]["blocks"]
        buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
        approve_all = next((b for b in buttons if b["action_id"] == ACTION_APPROVE_ALL), None)
        if approve_all is None:  # a director's roll-up or a message for information only
            continue
        manager = channel.removeprefix("D")  # the stand-in opens a DM as "D" + user id
        payload = {
            "type": "block_actions",
            "user": {"id": manager, "username": f"manager-{manager}"},
            "channel": {"id": channel},
            "container": {"type": "message", "message_ts": ts},
            "actions": [dict(approve_all, action_ts=f"{time.time():.6f}")],
            "trigger_id": f"trigger-{channel}",
        }
        body = urlencode({"payload": json.dumps(payload)})
        result = handle_interaction(
            body,
            sign_request(SIGNING_SECRET, body, int(time.time())),
            signing_secret=SIGNING_SECRET,
            replay_guard=guard,
            connect=lambda: connect_when_free(db, timeout_s=30),
            sender=sender,
        )
        assert result.status == 200, result.message
        decided += result.decided
    return decided


def cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _statuses(db: Path) -> dict[str, str]:
    """Status by account of the first pass's proposals (a later pass may propose again)."""
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(
            con.execute(
                "select account_id, status from plans.proposals where snapshot_date = ?",
                [FIRST_SNAPSHOT],
            ).fetchall()
        )


def run_cycle(
    crm: CycleCrm,
    slack: FakeSlack,
    emails: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Cycle:
    """Drive the loop through ``crm``, whose variables the caller has set; ``emails`` maps each
    CRM user's id to their e-mail, which Slack knows them by."""
    settings = use_home(monkeypatch, tmp_path / "home")
    landing = tmp_path / "landing"
    monkeypatch.setenv("TERRITORY_OPS_LANDING", str(landing))
    passes = _managers_place_accounts(tmp_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
    monkeypatch.setenv("SLACK_API_URL", slack.url)
    slack.users.update({email: f"U{user}" for user, email in emails.items()})
    cycle = Cycle(settings.duckdb_path)
    db, outputs = cycle.db, cycle.outputs

    # 1. the nightly pull's tick lands the first snapshot
    pulled = _tick(outputs, passes, "schedule", "crm_nightly_pull", FIRST_PULL)
    assert [r["job"] for r in pulled["runs"]] == ["crm_pull"]
    assert (landing / FIRST_SNAPSHOT / "Account.csv").exists()

    # 2. the refresh sensor sees it and starts the pass, which keeps that snapshot
    sensed = _tick(outputs, passes, "sensor", "new_snapshot_sensor")
    (run,) = sensed["runs"]
    assert run["job"] == "territory_pass" and sensed["cursor"] == FIRST_SNAPSHOT
    assert run["run_config"]["ops"]["territory_plan"]["config"]["pass_kind"] == "refresh"
    assert sorted(p.name for p in landing.iterdir()) == [FIRST_SNAPSHOT]
    with duckdb.connect(str(db), read_only=True) as con:
        placements = con.execute(
            "select proposal_id, account_id, from_rep_id, to_rep_id from plans.proposals "
            "where status = 'open' order by account_id"
        ).fetchall()
        digests = con.execute(
            "select slack_channel, slack_ts from notify.outbox "
            "where status = 'sent' and slack_channel like 'D%' order by slack_channel"
        ).fetchall()
    cycle.placements = placements
    moved = [p for p in placements if p[2] is not None]  # orphaned: an inactive owner's
    assert len(placements) >= 2 and moved, "the sample has orphaned and new accounts to place"
    assert digests, "the pass sent the managers their digests"

    # 3. the managers approve in Slack
    decided = _click_approve_all(slack, db, digests)
    # a placement across two teams needs both managers' clicks (decision rights): once every
    # manager clicked, every placement is approved, each by Slack
    assert set(decided) <= {p[0] for p in placements}
    with duckdb.connect(str(db), read_only=True) as con:
        approved = con.execute(
            "select proposal_id from plans.proposals where status = 'approved' order by 1"
        ).fetchall()
    assert [a for (a,) in approved] == sorted(p[0] for p in placements)
    with duckdb.connect(str(db), read_only=True) as con:
        channels = con.execute(
            "select distinct channel from plans.decisions where action = 'approve'"
        ).fetchall()
    assert channels == [("slack",)]

    # 4. the evening push: one record the CRM rejects stays approved with its error
    rejected, reverted = moved[0], (placements[1] if placements[0] == moved[0] else placements[0])
    crm.rejects[rejected[1]] = crm.rejection
    pushed = _tick(outputs, passes, "schedule", "crm_push_daily", FIRST_PUSH)
    assert pushed["runs"][0]["run_config"]["ops"]["crm__push"]["config"]["as_of"] == FIRST_SNAPSHOT
    statuses = _statuses(db)
    assert statuses[rejected[1]] == "approved"
    assert {statuses[a] for _, a, *_ in placements if a != rejected[1]} == {"applied"}
    with duckdb.connect(str(db), read_only=True) as con:
        errors = con.execute(
            "select error_code, error_message from crm.push_records where record_id = ?",
            [rejected[1]],
        ).fetchall()
    assert errors == [crm.rejection]
    summaries = [p["text"] for p in slack.posts() if p["channel"] == "#revops"]
    assert any(crm.rejection[0] in text for text in summaries)
    crm.rejects.clear()
    _tick(outputs, passes, "schedule", "crm_push_daily", SECOND_PUSH)
    assert _statuses(db)[rejected[1]] == "applied"
    applied = [record for obj, record, _ in crm.updates() if obj == crm.account_object]
    assert sorted(applied) == sorted(p[1] for p in placements)  # each applied exactly once
    # deals follow as the holdover policy says: exactly the deal ledger's applied transfers
    with duckdb.connect(str(db), read_only=True) as con:
        transfers = con.execute(
            "select opportunity_id, to_owner_id from plans.deal_transfers where status = 'applied'"
        ).fetchall()
    deals = [(record, owner) for obj, record, owner in crm.updates() if obj == crm.deal_object]
    assert transfers and sorted(deals) == sorted(transfers) and len(set(deals)) == len(deals)

    # 5. someone changes one back in the CRM; the next night's pull and pass settle them all
    crm.set_owner(reverted[1], reverted[2])
    _tick(outputs, passes, "schedule", "crm_nightly_pull", SECOND_PULL)
    sensed = _tick(outputs, passes, "sensor", "new_snapshot_sensor", sensed["cursor"])
    assert len(sensed["runs"]) == 1 and sensed["cursor"] == "2026-12-02"
    statuses = _statuses(db)
    assert statuses[reverted[1]] == "reverted"
    assert {statuses[a] for _, a, *_ in placements if a != reverted[1]} == {"confirmed"}
    with duckdb.connect(str(db), read_only=True) as con:
        flags = con.execute(
            "select subject_id, detail from plans.drift_flags where flag = 'reverted_in_crm'"
        ).fetchall()
    assert [f[0] for f in flags] == [reverted[1]]
    assert f"we set {reverted[3]}" in flags[0][1] and f"now has {reverted[2]}" in flags[0][1]

    status = cli("crm", "status", "--crm", crm.name)
    outputs.append(status)
    assert "snapshot 2026-12-02" in status
    assert f"confirmed by a later snapshot: {len(placements) - 1}" in status
    assert "reverted in the CRM: 1" in status
    return cycle


def assert_no_secrets(
    tmp_path: Path, secrets: list[bytes], text: str, *, skip: Callable[[Path], bool]
) -> None:
    """Nothing the run wrote under ``tmp_path`` (but the files ``skip`` names) and nothing in
    ``text`` (its logs and outputs) holds any of ``secrets``."""
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".duckdb" for p in written) and any("dagster" in str(p) for p in written)
    for path in written:
        if skip(path):
            continue
        data = path.read_bytes()
        for secret in secrets:
            assert secret not in data, f"{path} holds secret material"
    assert all(secret.decode() not in text for secret in secrets)
