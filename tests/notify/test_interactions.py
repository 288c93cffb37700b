"""Slack interaction requests: signature, freshness, replays, and reading the clicks."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from territory_ops.notify.digest import render_manager_digests
from territory_ops.notify.interactions import (
    ReplayGuard,
    parse_interaction,
    sign_request,
    verify_interaction,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
NOW = 1_795_000_000


def _body(actions, user="U0OMAR") -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "omar.haddad"},
        "channel": {"id": "DU0OMAR"},
        "container": {"type": "message", "message_ts": "1700000000.000001"},
        "actions": actions,
    }
    return urlencode({"payload": json.dumps(payload)})


def test_a_genuine_request_passes_once():
    body = _body([{"action_id": "approve_proposal", "value": "P-0123456789ab"}])
    headers = sign_request(SECRET, body, NOW - 10)
    guard = ReplayGuard()
    assert verify_interaction(SECRET, body, headers, replay_guard=guard, now=NOW).ok
    replay = verify_interaction(SECRET, body, headers, replay_guard=guard, now=NOW + 5)
    assert not replay.ok and replay.reason.startswith("replayed")


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda b, h: (b.replace("approve", "reject"), h), "forged"),
        (lambda b, h: (b, sign_request("another-secret", b, NOW - 10)), "forged"),
        (lambda b, h: (b, sign_request(SECRET, b, NOW - 301)), "stale"),
        (lambda b, h: (b, sign_request(SECRET, b, NOW + 400)), "stale"),
        (lambda b, h: (b, {"Content-Type": "application/x-www-form-urlencoded"}), "unsigned"),
        (lambda b, h: (b, {**h, "X-Slack-Request-Timestamp": "yesterday"}), "malformed"),
    ],
)
def test_forged_stale_or_unsigned_requests_are_refused(mutate, reason):
    body = _body([{"action_id": "approve_proposal", "value": "P-0123456789ab"}])
    body, headers = mutate(body, sign_request(SECRET, body, NOW - 10))
    verdict = verify_interaction(SECRET, body, headers, replay_guard=ReplayGuard(), now=NOW)
    assert not verdict.ok and verdict.reason.startswith(reason)
    assert SECRET not in verdict.reason


def test_a_forged_request_does_not_block_the_genuine_one():
    body = _body([{"action_id": "approve_proposal", "value": "P-0123456789ab"}])
    headers = sign_request(SECRET, body, NOW)
    guard = ReplayGuard()
    forged_body = body.replace("approve", "reject")
    assert not verify_interaction(SECRET, forged_body, headers, replay_guard=guard, now=NOW).ok
    assert verify_interaction(SECRET, body, headers, replay_guard=guard, now=NOW).ok


def test_clicks_on_a_rendered_digest_are_read_back(sample):
    digest = render_manager_digests(sample.proposals(), sample.roster).digests[1]
    buttons = [e for b in digest.blocks if b["type"] == "actions" for e in b["elements"]]
    body = _body(buttons[:1] + buttons[-1:])
    first, approve_all = parse_interaction(body.encode())
    assert first.action_id == "approve_proposal"
    assert first.proposal_ids == (digest.proposal_ids[0],)
    assert approve_all.action_id == "approve_all_for_team"
    assert approve_all.proposal_ids == digest.proposal_ids
    assert approve_all.manager_id == "M2" and approve_all.run_id == sample.run_id
    assert (first.slack_user_id, first.channel_id, first.message_ts) == (
        "U0OMAR",
        "DU0OMAR",
        "1700000000.000001",
    )
    with pytest.raises(ValueError, match="no 'payload'"):
        parse_interaction("token=abc")
