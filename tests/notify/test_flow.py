"""The whole library chain without Dagster: digest -> Slack -> signed click -> decision ->
message update -> CRM file. The HTTP endpoint that will glue the click to the decision is
later work; here the test plays it with the library functions it will call."""

from __future__ import annotations

import json
import time
from datetime import date
from urllib.parse import urlencode

import duckdb
import pytest

from territory_ops.notify.digest import render_manager_digests
from territory_ops.notify.interactions import (
    ReplayGuard,
    parse_interaction,
    sign_request,
    verify_interaction,
)
from territory_ops.notify.manager_blocks import mark_decided
from territory_ops.notify.outbox import deliver_pending, enqueue_digests
from territory_ops.notify.sender import SlackDigestSender
from territory_ops.writeback.decisions import approve, decision_log
from territory_ops.writeback.export import export_approved
from territory_ops.writeback.proposal_rows import insert_proposals

# approved full-pass moves take effect on the first day of the next quarter
QUARTER = date(2027, 1, 1)

SECRET = "signing-secret-for-tests-0123456789"


def _click(message: dict, action_index: int, user: str, ts: str, channel: str) -> str:
    buttons = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "omar.haddad"},
        "channel": {"id": channel},
        "container": {"type": "message", "message_ts": ts},
        "actions": [buttons[action_index]],
    }
    return urlencode({"payload": json.dumps(payload)})


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    yield connection
    connection.close()


def test_click_to_crm_file(con, fake_slack, sample, tmp_path):
    fake_slack.users.update(sample.slack_users)
    proposals = sample.proposals()
    insert_proposals(con, proposals)
    routed = render_manager_digests(proposals, sample.roster, run_url=sample.run_url)
    enqueue_digests(con, routed.digests)
    sender = SlackDigestSender(sample.token, fake_slack.url, backoff_factor=0.01)
    assert len(deliver_pending(con, sender).sent) == 2

    # Omar clicks "Approve" on the first move of his digest
    (channel, ts), message = next(
        (k, m) for k, m in fake_slack.messages.items() if k[0] == "DU0OMAR"
    )
    body = _click(message, 0, "U0OMAR", ts, channel)
    headers = sign_request(SECRET, body, int(time.time()))
    guard = ReplayGuard()
    assert verify_interaction(SECRET, body, headers, replay_guard=guard).ok
    (click,) = parse_interaction(body)
    decisions = approve(
        con,
        click.proposal_ids,
        by=click.slack_user_name,
        channel="slack",
        slack_user_id=click.slack_user_id,
        note="approved in Slack",
    )
    outcome = {d.proposal_id: f"Approved by {d.decided_by}" for d in decisions}
    blocks = mark_decided(message["blocks"], outcome)
    sender.update(click.channel_id, click.message_ts, message["text"], blocks)
    assert "Approved by omar.haddad" in json.dumps(fake_slack.messages[(channel, ts)]["blocks"])

    # the same signed request again is a replay: refused before anything is decided
    assert verify_interaction(SECRET, body, headers, replay_guard=guard).reason.startswith(
        "replayed"
    )
    log = decision_log(con)
    assert log.select("action", "channel", "slack_user_id").rows() == [
        ("approve", "slack", "U0OMAR")
    ]

    result = export_approved(con, tmp_path / "crm", as_of=QUARTER)
    assert result.proposal_ids == click.proposal_ids
    (approved,) = proposals.filter(proposals["proposal_id"] == click.proposal_ids[0]).rows(
        named=True
    )
    assert result.owner_csv.read_text().splitlines() == [
        "Id,OwnerId",
        f"{approved['account_id']},{approved['to_rep_id']}",
    ]
