"""The whole loop against the Salesforce stand-in as a deployment runs it, no file touched by
hand: the nightly pull's schedule ticks and lands a snapshot (signed in by the JWT bearer flow),
the refresh sensor sees it and starts the pass job, each manager approves their digest in Slack
(signed clicks to the project's interaction handler, the Slack stand-in of tests/notify), the
evening push's schedule applies account owners and, as the holdover policy says, opportunity
owners (a record the org rejects stays approved with its error and goes in with the next
evening's push), and the next night's pull and pass confirm what the org shows and flag what
someone changed back. Then everything the run wrote is searched for the secrets.

The schedules and the sensor are the deployment's own: each tick is evaluated and its run
executed in a process whose environment names the CRM (tests/crm/daemon_tick.py), because the
definitions decide at load time whether a CRM is configured."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import duckdb
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
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

from .fake_salesforce import FakeOrg, FakeSalesforce

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("crm_cycle")]
SIGNING_SECRET = "crm-cycle-signing-secret-9a8b7c6d5e"
# the deployment's schedule ticks (UTC): nightly pulls at 02:00, evening pushes at 18:00
FIRST_PULL, SECOND_PULL = "2026-11-30T02:00", "2026-12-02T02:00"
FIRST_PUSH, SECOND_PUSH = "2026-11-30T18:00", "2026-12-01T18:00"


def _jwt_settings(org: FakeOrg, server: FakeSalesforce, folder: Path, mp: pytest.MonkeyPatch):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = folder / "connected-app.key"
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key_file.write_bytes(pem)
    org.jwt_public_key = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    mp.delenv("SALESFORCE_ACCESS_TOKEN")
    mp.delenv("SALESFORCE_INSTANCE_URL")  # the token endpoint names the instance
    mp.setenv("SALESFORCE_USERNAME", org.username)
    mp.setenv("SALESFORCE_CONSUMER_KEY", org.consumer_key)
    mp.setenv("SALESFORCE_PRIVATE_KEY_FILE", str(key_file))
    mp.setenv("SALESFORCE_LOGIN_URL", server.url)
    body = b"".join(pem.splitlines()[1:-1])  # the key material, without its PEM frame
    return key_file, [body[i : i + 40] for i in range(0, len(body) - 40, 40)]


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
        approve_all = next(b for b in buttons if b["action_id"] == ACTION_APPROVE_ALL)
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


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _statuses(db: Path) -> dict[str, str]:
    """Status by account of the first pass's proposals (a later pass may propose again)."""
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(
            con.execute(
                "select account_id, status from plans.proposals where snapshot_date = ?",
                ["2026-11-30"],
            ).fetchall()
        )


def test_scheduled_pull_sensor_pass_slack_approval_push_and_next_pull_confirm(
    salesforce: FakeSalesforce,
    org: FakeOrg,
    fake_slack: FakeSlack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for name in ("territory_ops", "urllib3", "simple_salesforce", "pipelines", "slack_sdk"):
        caplog.set_level(logging.DEBUG, logger=name)
    settings = use_home(monkeypatch, tmp_path / "home")
    landing = tmp_path / "landing"
    monkeypatch.setenv("TERRITORY_OPS_LANDING", str(landing))
    key_file, key_pieces = _jwt_settings(org, salesforce, tmp_path / "tls", monkeypatch)
    passes = _managers_place_accounts(tmp_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.token)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.url)
    fake_slack.users.update(
        {u["Email"]: f"U{u['Id']}" for u in org.records["User"] if u.get("Email")}
    )
    db = settings.duckdb_path
    outputs: list[str] = []

    # 1. the nightly pull's tick lands the first snapshot, signed in through the JWT flow
    pulled = _tick(outputs, passes, "schedule", "crm_nightly_pull", FIRST_PULL)
    assert [r["job"] for r in pulled["runs"]] == ["crm_pull"]
    assert (landing / "2026-11-30" / "Account.csv").exists()
    assert org.tokens_minted >= 1

    # 2. the refresh sensor sees it and starts the pass, which keeps that snapshot
    sensed = _tick(outputs, passes, "sensor", "new_snapshot_sensor")
    (run,) = sensed["runs"]
    assert run["job"] == "territory_pass" and sensed["cursor"] == "2026-11-30"
    assert run["run_config"]["ops"]["territory_plan"]["config"]["pass_kind"] == "refresh"
    assert sorted(p.name for p in landing.iterdir()) == ["2026-11-30"]
    with duckdb.connect(str(db), read_only=True) as con:
        placements = con.execute(
            "select proposal_id, account_id, from_rep_id, to_rep_id from plans.proposals "
            "where status = 'open' order by account_id"
        ).fetchall()
        digests = con.execute(
            "select slack_channel, slack_ts from notify.outbox "
            "where status = 'sent' and slack_channel like 'D%' order by slack_channel"
        ).fetchall()
    moved = [p for p in placements if p[2] is not None]  # orphaned: an inactive owner's
    assert len(placements) >= 2 and moved, "the sample has orphaned and new accounts to place"
    assert digests, "the pass sent the managers their digests"

    # 3. the managers approve in Slack
    decided = _click_approve_all(fake_slack, db, digests)
    assert sorted(decided) == sorted(p[0] for p in placements)
    with duckdb.connect(str(db), read_only=True) as con:
        channels = con.execute(
            "select distinct channel from plans.decisions where action = 'approve'"
        ).fetchall()
    assert channels == [("slack",)]

    # 4. the evening push: one record the org rejects stays approved with its error
    rejected, reverted = moved[0], (placements[1] if placements[0] == moved[0] else placements[0])
    org.reject_records[rejected[1]] = ("INACTIVE_OWNER_OR_USER", "operation with inactive user")
    pushed = _tick(outputs, passes, "schedule", "crm_push_daily", FIRST_PUSH)
    assert pushed["runs"][0]["run_config"]["ops"]["crm__push"]["config"]["as_of"] == "2026-11-30"
    statuses = _statuses(db)
    assert statuses[rejected[1]] == "approved"
    assert {statuses[a] for _, a, *_ in placements if a != rejected[1]} == {"applied"}
    with duckdb.connect(str(db), read_only=True) as con:
        errors = con.execute(
            "select error_code, error_message from crm.push_records where record_id = ?",
            [rejected[1]],
        ).fetchall()
    assert errors == [("INACTIVE_OWNER_OR_USER", "operation with inactive user")]
    summaries = [p["text"] for p in fake_slack.posts() if p["channel"] == "#revops"]
    assert any("INACTIVE_OWNER_OR_USER" in text for text in summaries)
    org.reject_records.clear()
    _tick(outputs, passes, "schedule", "crm_push_daily", SECOND_PUSH)
    assert _statuses(db)[rejected[1]] == "applied"
    applied = [record for obj, record, _ in org.applied if obj == "Account"]
    assert sorted(applied) == sorted(p[1] for p in placements)  # each applied exactly once
    # deals follow as the holdover policy says: exactly the deal ledger's applied transfers
    with duckdb.connect(str(db), read_only=True) as con:
        transfers = con.execute(
            "select opportunity_id, to_owner_id from plans.deal_transfers where status = 'applied'"
        ).fetchall()
    deals = [(record, owner) for obj, record, owner in org.applied if obj == "Opportunity"]
    assert transfers and sorted(deals) == sorted(transfers) and len(set(deals)) == len(deals)

    # 5. someone changes one back in Salesforce; the next night's pull and pass settle them all
    account = next(a for a in org.records["Account"] if a["Id"] == reverted[1])
    account["OwnerId"] = reverted[2]
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

    status = _cli("crm", "status", "--crm", "salesforce")
    outputs.append(status)
    assert "snapshot 2026-12-02" in status
    assert f"confirmed by a later snapshot: {len(placements) - 1}" in status
    assert "reverted in the CRM: 1" in status

    # 6. nothing the run wrote holds the access token, the private key or Slack's secrets
    secrets = [org.token.encode(), *key_pieces, fake_slack.token.encode(), SIGNING_SECRET.encode()]
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != key_file]
    assert any(p.suffix == ".duckdb" for p in written) and any("dagster" in str(p) for p in written)
    for path in written:
        if path.parent.name == "tls":  # the stand-in's own certificate and key
            continue
        data = path.read_bytes()
        for secret in secrets:
            assert secret not in data, f"{path} holds secret material"
    text = caplog.text + "".join(outputs)
    assert all(secret.decode() not in text for secret in secrets)
