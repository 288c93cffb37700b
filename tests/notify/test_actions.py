"""Clicks on a delivered digest: real signed requests, a real warehouse, the fake Slack API."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import duckdb
import pytest

from territory_ops.notify.actions import drain_queued_clicks, handle_interaction
from territory_ops.notify.digest import render_manager_digests
from territory_ops.notify.interactions import ReplayGuard, sign_request
from territory_ops.notify.outbox import deliver_pending, enqueue_digests
from territory_ops.notify.sender import SlackDigestSender
from territory_ops.warehouse import connect_when_free
from territory_ops.writeback.decisions import decision_log
from territory_ops.writeback.proposal_rows import insert_proposals

SECRET = "another-signing-secret-0f9e8d7c6b5a"
_TRIGGERS = (f"trigger-{i}" for i in itertools.count())


@pytest.fixture
def world(tmp_path, fake_slack, sample):
    """Digests delivered to Maria and Omar; returns a namespace of handles."""
    fake_slack.users.update(sample.slack_users)
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    proposals = sample.proposals()
    insert_proposals(con, proposals)
    sample.write_org_chart(con)
    enqueue_digests(con, render_manager_digests(proposals, sample.roster).digests)
    sender = SlackDigestSender(sample.token, fake_slack.url, backoff_factor=0.01)
    assert len(deliver_pending(con, sender).sent) == 2
    con.close()
    (channel, ts), message = next(
        (k, m) for k, m in fake_slack.messages.items() if k[0] == "DU0OMAR"
    )
    return type(
        "World",
        (),
        {
            "path": path,
            "sender": sender,
            "slack": fake_slack,
            "channel": channel,
            "ts": ts,
            "message": message,
            "guard": ReplayGuard(),
            # Omar's proposals: a move within his team, and two to or from Maria's
            "within": _pid(proposals, "R5", "R4"),
            "to_maria": _pid(proposals, "R4", "R3"),
        },
    )


def _pid(proposals, frm, to) -> str:
    rows = proposals.filter((proposals["from_rep_id"] == frm) & (proposals["to_rep_id"] == to))
    return rows["proposal_id"][0]


def _buttons(message):
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def _body(world, button, *, ts=None, user=("U0OMAR", "omar.haddad")) -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user[0], "username": user[1]},
        "channel": {"id": world.channel},
        "container": {"type": "message", "message_ts": ts or world.ts},
        "actions": [dict(button, action_ts=f"{time.time():.6f}")],
        "trigger_id": next(_TRIGGERS),  # every real click differs, so its signature does too
    }
    return urlencode({"payload": json.dumps(payload)})


def _post(world, body, headers=None, wait=10.0, **kwargs):
    return handle_interaction(
        body,
        headers if headers is not None else sign_request(SECRET, body, int(time.time())),
        signing_secret=SECRET,
        replay_guard=world.guard,
        connect=lambda: connect_when_free(world.path, timeout_s=wait),
        sender=world.sender,
        **kwargs,
    )


def _log(world):
    with duckdb.connect(str(world.path)) as con:
        return decision_log(con)


def _button(world, pid, action="approve_proposal"):
    return next(
        b for b in _buttons(world.message) if b.get("value") == pid and b["action_id"] == action
    )


def test_approve_click_is_recorded_and_the_message_updated(world):
    approve_first = _button(world, world.within)
    result = _post(world, _body(world, approve_first))
    assert result.status == 200 and result.decided == (approve_first["value"],)
    log = _log(world)
    assert log.select("proposal_id", "action", "decided_by", "channel", "slack_user_id").rows() == [
        (approve_first["value"], "approve", "omar.haddad", "slack", "U0OMAR")
    ]
    updated = json.dumps(world.slack.messages[(world.channel, world.ts)]["blocks"])
    assert "Approved by omar.haddad" in updated

    # a second click on the same button: refused with the reason, nothing new logged
    again = _post(world, _body(world, approve_first))
    assert again.status == 200 and "already approved by omar.haddad" in again.message
    assert _log(world).height == 1


def test_approve_all_takes_what_is_still_open(world):
    buttons = _buttons(world.message)
    _post(world, _body(world, buttons[1]))  # reject the first proposal
    (approve_all,) = [b for b in buttons if b["action_id"] == "approve_all_for_team"]
    result = _post(world, _body(world, approve_all))
    assert result.status == 200 and len(result.decided) == 2
    log = _log(world)
    assert sorted(log.select("action", "status_after").rows()) == [
        ("approve", "approved"),  # within Omar's team
        ("approve", "open"),  # from Maria's team: waits for her
        ("reject", "rejected"),  # a rejection by either side rejects
    ]
    final = world.slack.messages[(world.channel, world.ts)]["blocks"]
    assert not [b for b in final if b["type"] == "actions"]
    text = json.dumps(final)
    assert "Every proposed change in this message has been decided." in text
    assert "waiting for Maria Chen (losing team), or Dana Reyes" in text
    # approve all again: nothing left for Omar
    again = _post(world, _body(world, approve_all))
    assert again.message == "every change in this message is already decided"


def _maria_click(world, pid) -> str:
    (channel, ts), message = next(
        (k, m) for k, m in world.slack.messages.items() if k[0] == "DU0MARIA"
    )
    button = next(
        b
        for blk in message["blocks"]
        if blk["type"] == "actions"
        for b in blk["elements"]
        if b.get("value") == pid and b["action_id"] == "approve_proposal"
    )
    payload = {
        "type": "block_actions",
        "user": {"id": "U0MARIA", "username": "maria.chen"},
        "channel": {"id": channel},
        "container": {"type": "message", "message_ts": ts},
        "actions": [dict(button, action_ts=f"{time.time():.6f}")],
        "trigger_id": next(_TRIGGERS),
    }
    return urlencode({"payload": json.dumps(payload)})


def _status(world, pid):
    with duckdb.connect(str(world.path)) as con:
        return con.execute(
            "select status from plans.proposals where proposal_id = ?", [pid]
        ).fetchone()[0]


def test_a_move_between_teams_is_approved_in_slack_by_both_managers(world):
    pid = world.to_maria
    first = _post(world, _body(world, _button(world, pid)))
    assert first.status == 200 and "waiting for Maria Chen (gaining team)" in first.message
    assert _status(world, pid) == "open"
    # Maria's id is not in the org chart: her direct message tells who clicked
    second = _post(world, _maria_click(world, pid))
    assert second.status == 200 and second.decided == (pid,), second.message
    assert _status(world, pid) == "approved"
    assert _log(world).select(
        "decided_by", "slack_user_id", "decided_as", "status_after"
    ).rows() == [
        ("omar.haddad", "U0OMAR", "losing", "open"),
        ("maria.chen", "U0MARIA", "gaining", "approved"),
    ]


@pytest.mark.parametrize(
    ("user", "why"),
    [
        ("U0CARA", "Cara Diaz may not decide this change; it is decided by Omar Haddad, or RevOps"),
        ("U0NOBODY", "U0NOBODY is neither a manager in the org chart nor RevOps"),
    ],
)
def test_a_click_without_the_right_changes_nothing_and_is_answered(world, user, why):
    button = _button(world, world.within)
    body = _body(world, button, user=(user, user.lower()))
    before = json.dumps(world.slack.messages[(world.channel, world.ts)])
    result = _post(world, body)
    assert result.status == 200 and result.decided == ()
    assert why in result.message and result.message.startswith("Nothing was changed: ")
    assert _log(world).is_empty() and _status(world, world.within) == "open"
    assert json.dumps(world.slack.messages[(world.channel, world.ts)]) == before
    (reply,) = [p for m, p in world.slack.calls if m == "chat.postEphemeral"]
    assert (reply["channel"], reply["user"]) == (world.channel, user)
    assert why in reply["text"]


@pytest.mark.parametrize("attack", ["forged", "stale", "unsigned", "replayed"])
def test_bad_requests_change_nothing(world, attack, caplog):
    approve_first = _buttons(world.message)[0]
    body = _body(world, approve_first)
    headers = sign_request(SECRET, body, int(time.time()))
    if attack == "forged":
        headers = sign_request("not-the-secret", body, int(time.time()))
    elif attack == "stale":
        headers = sign_request(SECRET, body, int(time.time()) - 600)
    elif attack == "unsigned":
        headers = {}
    elif attack == "replayed":
        assert _post(world, body, headers).status == 200
    before = _log(world).height
    result = _post(world, body, headers)
    assert result.status == 401 and attack in result.message
    assert _log(world).height == before
    assert "Slack interaction refused" in caplog.text
    assert SECRET not in caplog.text


def test_clicks_on_unknown_messages_or_foreign_proposals_are_refused(world, sample):
    approve_first = _button(world, world.within)
    unknown = _post(world, _body(world, approve_first, ts="1700000000.999999"))
    assert unknown.status == 403
    foreign = dict(approve_first, value="P-ffffffffffff")
    assert _post(world, _body(world, foreign)).status == 403
    assert _log(world).height == 0


def test_a_click_while_a_pass_holds_the_warehouse_is_queued_then_applied(world, tmp_path):
    code = (
        "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
        "print('locked', flush=True); time.sleep(3)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(world.path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        approve_first = _button(world, world.within)
        result = _post(world, _body(world, approve_first), queue_dir=tmp_path / "q", wait=0.3)
        assert result.status == 200 and "queued" in result.message
    finally:
        holder.wait(timeout=30)
    queued = (tmp_path / "q" / "queued_clicks.jsonl").read_text()
    assert SECRET not in queued and approve_first["value"] in queued
    with duckdb.connect(str(world.path)) as con:
        (applied,) = drain_queued_clicks(con, world.sender, tmp_path / "q")
        assert applied.decided == (approve_first["value"],)
        assert drain_queued_clicks(con, world.sender, tmp_path / "q") == []
    assert _log(world)["slack_user_id"].to_list() == ["U0OMAR"]
    assert not list(Path(tmp_path / "q").glob("*.jsonl*"))
