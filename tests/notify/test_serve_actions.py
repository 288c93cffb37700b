"""``territory-ops serve-actions`` on loopback: real signed, forged, replayed and stale POSTs.

The endpoint runs as its own process (the real command) against a warehouse whose digests
were delivered to the fake Slack server; each request is an HTTP POST like Slack's.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import duckdb
import pytest

from territory_ops.notify.digest import render_manager_digests
from territory_ops.notify.interactions import sign_request
from territory_ops.notify.outbox import deliver_pending, enqueue_digests
from territory_ops.notify.sender import SlackDigestSender
from territory_ops.writeback.decisions import decision_log
from territory_ops.writeback.proposal_rows import insert_proposals

SECRET = "serve-actions-signing-secret-5e4d3c2b1a"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def endpoint(tmp_path, fake_slack, sample):
    """Digests delivered, then ``territory-ops serve-actions`` started on a free port."""
    fake_slack.users.update(sample.slack_users)
    db = tmp_path / "home" / "territory.duckdb"
    db.parent.mkdir()
    with duckdb.connect(str(db)) as con:
        proposals = sample.proposals()
        insert_proposals(con, proposals)
        sample.write_org_chart(con)
        enqueue_digests(con, render_manager_digests(proposals, sample.roster).digests)
        sender = SlackDigestSender(sample.token, fake_slack.url, backoff_factor=0.01)
        assert len(deliver_pending(con, sender).sent) == 2
    (channel, ts), message = next(
        (k, m) for k, m in fake_slack.messages.items() if k[0] == "DU0OMAR"
    )
    port = _free_port()
    env = dict(
        os.environ,
        TERRITORY_OPS_HOME=str(tmp_path / "home"),
        TERRITORY_OPS_DUCKDB=str(db),
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_BOT_TOKEN=sample.token,
        SLACK_API_URL=fake_slack.url,
    )
    cmd = [sys.executable, "-m", "territory_ops.cli", "serve-actions", "--port", str(port)]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}/slack/actions"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail(f"serve-actions did not start: {proc.communicate()[0]}")
    buttons = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    try:
        yield type(
            "Endpoint",
            (),
            {"url": url, "db": db, "channel": channel, "ts": ts, "buttons": buttons, "proc": proc},
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _body(ep, button, trigger: str) -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": "U0OMAR", "username": "omar.haddad"},
        "channel": {"id": ep.channel},
        "container": {"type": "message", "message_ts": ep.ts},
        "actions": [dict(button, action_ts=f"{time.time():.6f}")],
        "trigger_id": trigger,
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def _post(ep, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(ep.url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def _decisions(ep) -> list[tuple]:
    with duckdb.connect(str(ep.db)) as con:  # closed before the next click
        return decision_log(con).select("proposal_id", "action", "decided_by", "channel").rows()


def test_signed_forged_replayed_and_stale_requests(endpoint, fake_slack):
    approve = endpoint.buttons[0]
    now = int(time.time())

    forged = _body(endpoint, approve, "t-forged")
    status, text = _post(endpoint, forged, sign_request("not-the-secret", forged, now))
    assert status == 401 and "refused" in text
    stale = _body(endpoint, approve, "t-stale")
    status, _ = _post(endpoint, stale, sign_request(SECRET, stale, now - 600))
    assert status == 401
    unsigned = _body(endpoint, approve, "t-unsigned")
    status, _ = _post(endpoint, unsigned, {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 401
    assert _decisions(endpoint) == [], "no bad request changed anything"

    signed = _body(endpoint, approve, "t-signed")
    headers = sign_request(SECRET, signed, int(time.time()))
    status, text = _post(endpoint, signed, headers)
    assert status == 200, text
    assert _decisions(endpoint) == [(approve["value"], "approve", "omar.haddad", "slack")]
    updated = json.dumps(fake_slack.messages[(endpoint.channel, endpoint.ts)]["blocks"])
    assert "Approved by omar.haddad" in updated

    status, _ = _post(endpoint, signed, headers)  # the same request again: a replay
    assert status == 401
    assert len(_decisions(endpoint)) == 1

    endpoint.proc.terminate()
    # generous: on a machine busy with two test workers and a benchmark the stop took >10 s
    output = endpoint.proc.communicate(timeout=60)[0]
    assert "refused" in output, "refused requests are logged"
    assert SECRET not in output and fake_slack.token not in output
    written = b"".join(p.read_bytes() for p in Path(endpoint.db).parent.rglob("*") if p.is_file())
    assert SECRET.encode() not in written
