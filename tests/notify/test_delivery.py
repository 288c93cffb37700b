"""Delivery through a real HTTP server speaking the Slack Web API, and the outbox table."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import duckdb
import pytest

from territory_ops.notify.digest import render_manager_digests
from territory_ops.notify.outbox import deliver_pending, enqueue_digests, outbox_frame
from territory_ops.notify.sender import (
    DeliveryError,
    OutboxDigestSender,
    SlackDigestSender,
    sender_from_env,
    slack_sender_from_env,
)
from territory_ops.notify.summary import render_revops_summary


def _digests(sample, run_url=None, **kwargs):
    proposals = sample.proposals(**kwargs)
    run_url = run_url or sample.run_url
    routed = render_manager_digests(proposals, sample.roster, run_url=run_url)
    summary = render_revops_summary(
        proposals, channel="C0REVOPS", unrouted=routed.unrouted, run_url=run_url
    )
    return [*routed.digests, summary]


def _sender(url: str, token: str) -> SlackDigestSender:
    # tiny backoff keeps the retry tests fast; the retry counts are the production ones
    return SlackDigestSender(token, url, backoff_factor=0.01)


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    yield connection
    connection.close()


@pytest.fixture
def slack(fake_slack, sample):
    fake_slack.users.update(sample.slack_users)
    return fake_slack


def test_each_manager_gets_exactly_one_digest_and_rerun_posts_nothing(con, slack, sample):
    digests = _digests(sample)
    enqueue_digests(con, digests)
    report = deliver_pending(con, _sender(slack.url, sample.token))

    assert report.errors == {}
    assert len(report.sent) == 3  # Maria, Omar, RevOps channel
    by_channel = sorted(p["channel"] for p in slack.posts())
    assert by_channel == ["C0REVOPS", "DU0MARIA", "DU0OMAR"]
    # Maria is found by e-mail; Omar has an explicit Slack id and needs no lookup
    lookups = [p["email"] for m, p in slack.calls if m == "users.lookupByEmail"]
    assert lookups == ["maria.chen@example.com"]
    for post in slack.posts():
        assert post["text"] and post["blocks"]

    # the same pass again (a re-executed run with a new run id and link): nothing new
    again = _digests(sample, run_url="http://other/runs/run-2", run_id="run-2")
    result = enqueue_digests(con, again)
    assert result.new_keys == () and len(result.known_keys) == 3
    second = deliver_pending(con, _sender(slack.url, sample.token))
    assert second.sent == [] and len(slack.posts()) == 3

    frame = outbox_frame(con)
    assert frame["status"].to_list() == ["sent"] * 3
    assert set(frame["attempts"].to_list()) == {1}
    assert set(frame["slack_ts"].drop_nulls().to_list()) == {ts for (_, ts) in slack.messages}


def test_changed_proposals_update_the_passs_message_instead_of_posting(con, slack, sample):
    enqueue_digests(con, _digests(sample))
    deliver_pending(con, _sender(slack.url, sample.token))
    # the same pass again with one more proposal: new content for those concerned ...
    result = enqueue_digests(con, _digests(sample, n=8))
    assert len(result.new_keys) >= 1
    report = deliver_pending(con, _sender(slack.url, sample.token))
    assert sorted(report.sent) == sorted(result.new_keys)
    # ... delivered by updating each recipient's message: still one message per pass
    assert sorted(report.updated) == sorted(result.new_keys)
    assert len(slack.posts()) == 3
    updates = [p for m, p in slack.calls if m == "chat.update"]
    assert len(updates) == len(result.new_keys)
    assert any("8 proposed changes" in m["text"] for m in slack.messages.values())
    # a micro pass on the same snapshot is a new pass: new messages
    micro = enqueue_digests(con, _digests(sample, pass_kind="micro"))
    deliver_pending(con, _sender(slack.url, sample.token))
    assert len(slack.posts()) == 3 + len(micro.new_keys)


def test_a_deleted_message_is_posted_again(con, slack, sample):
    enqueue_digests(con, _digests(sample))
    deliver_pending(con, _sender(slack.url, sample.token))
    slack.messages.clear()  # someone deleted the messages in Slack
    result = enqueue_digests(con, _digests(sample, n=8))
    report = deliver_pending(con, _sender(slack.url, sample.token))
    assert report.updated == [] and sorted(report.sent) == sorted(result.new_keys)
    assert len(slack.posts()) == 3 + len(result.new_keys)


def test_rate_limit_is_honoured_and_the_message_sent_once(con, slack, sample):
    enqueue_digests(con, _digests(sample))
    slack.fail_next(
        "chat.postMessage", 429, {"Retry-After": "1"}, {"ok": False, "error": "ratelimited"}
    )
    started = time.monotonic()
    report = deliver_pending(con, _sender(slack.url, sample.token))
    elapsed = time.monotonic() - started

    assert report.errors == {} and len(report.sent) == 3
    assert elapsed >= 1.0  # waited as Retry-After asked
    assert len(slack.posts()) == 3
    attempts = [m for m, _ in slack.calls if m == "chat.postMessage"]
    assert len(attempts) == 4  # one refused with 429, then three posts


def test_server_error_is_retried(con, slack, sample):
    enqueue_digests(con, _digests(sample))
    slack.fail_next("chat.postMessage", 500, times=2)
    report = deliver_pending(con, _sender(slack.url, sample.token))
    assert report.errors == {} and len(report.sent) == 3
    assert len(slack.posts()) == 3


def test_outage_then_recovery_delivers_everything_exactly_once(con, slack, sample, refused_url):
    enqueue_digests(con, _digests(sample))

    # 1) nothing listens: every digest stays pending, nothing raises
    down = deliver_pending(con, _sender(refused_url, sample.token))
    assert down.sent == [] and len(down.pending) == 3
    frame = outbox_frame(con)
    assert frame["status"].to_list() == ["pending"] * 3
    assert all("Connection refused" in e or "URLError" in e for e in frame["last_error"])

    # 2) the server answers 500 to everything (beyond the retries): still pending
    slack.down = True
    still = deliver_pending(con, _sender(slack.url, sample.token))
    assert still.sent == [] and len(still.pending) == 3
    assert slack.posts() == []

    # 3) recovery: everything once; 4) another run: nothing
    slack.down = False
    enqueue_digests(con, _digests(sample))  # the next pass renders the same digests again
    recovered = deliver_pending(con, _sender(slack.url, sample.token))
    assert len(recovered.sent) == 3 and recovered.errors == {}
    assert deliver_pending(con, _sender(slack.url, sample.token)).sent == []
    assert len(slack.posts()) == 3
    assert outbox_frame(con)["attempts"].to_list() == [3, 3, 3]


def test_unknown_manager_email_fails_permanently_but_others_are_sent(con, fake_slack, sample):
    # nobody is registered in the fake workspace: Maria's e-mail lookup fails
    enqueue_digests(con, _digests(sample))
    report = deliver_pending(con, _sender(fake_slack.url, sample.token))
    assert len(report.failed) == 1 and len(report.sent) == 2
    (error,) = [report.errors[k] for k in report.failed]
    assert "users_not_found" in error
    frame = outbox_frame(con)
    failed = frame.filter(frame["status"] == "failed")
    assert failed["recipient_key"].to_list() == ["manager:M1"]
    # a failed digest is not retried by default, but is with retry_failed once fixed
    assert deliver_pending(con, _sender(fake_slack.url, sample.token)).failed == []
    fake_slack.users.update(sample.slack_users)
    retried = deliver_pending(con, _sender(fake_slack.url, sample.token), retry_failed=True)
    assert len(retried.sent) == 1


def test_token_never_appears_in_anything_written(con, slack, sample, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)  # slack-sdk logs requests at DEBUG
    enqueue_digests(con, _digests(sample))
    # the gateway echoes the token in its error body: the recorded error must not keep it
    slack.fail_next(
        "chat.postMessage",
        400,
        body={"ok": False, "error": "invalid_auth", "detail": f"bad token {sample.token}"},
    )
    first = deliver_pending(con, _sender(slack.url, sample.token))
    assert len(first.pending) == 1
    errors = [e for (e,) in con.execute("select last_error from notify.outbox").fetchall() if e]
    assert len(errors) == 1 and "invalid_auth" in errors[0] and "bad token" in errors[0]
    assert sample.token not in errors[0]
    deliver_pending(con, _sender(slack.url, sample.token))
    outbox_sender = OutboxDigestSender(tmp_path / "outbox")
    enqueue_digests(con, _digests(sample, n=9))
    deliver_pending(con, outbox_sender)

    rows = con.execute("select * from notify.outbox").fetchall()
    dump = json.dumps([[str(v) for v in row] for row in rows])
    assert sample.token not in dump
    assert "TEST-super-secret" not in dump
    for path in (tmp_path / "outbox").rglob("*"):
        if path.is_file():
            assert sample.token not in path.read_text(encoding="utf-8")
    con.close()
    raw = (tmp_path / "w.duckdb").read_bytes()
    assert sample.token.encode() not in raw
    assert sample.token not in caplog.text
    assert sample.token not in repr(_sender(slack.url, sample.token))
    assert sample.token not in json.dumps(first.errors)


def test_chat_update_replaces_a_posted_message(con, slack, sample):
    enqueue_digests(con, _digests(sample))
    deliver_pending(con, _sender(slack.url, sample.token))
    channel, ts = con.execute(
        "select slack_channel, slack_ts from notify.outbox where recipient_key = 'manager:M2'"
    ).fetchone()
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Approved by Omar"}}]
    receipt = _sender(slack.url, sample.token).update(channel, ts, "Approved by Omar", blocks)
    assert (receipt.channel, receipt.ts) == (channel, ts)
    assert slack.messages[(channel, ts)]["text"] == "Approved by Omar"


def test_without_token_digests_go_to_the_outbox_folder(con, sample, tmp_path):
    sender = sender_from_env(tmp_path / "outbox", env={"SLACK_API_URL": "http://x/api/"})
    assert isinstance(sender, OutboxDigestSender)
    enqueue_digests(con, _digests(sample))
    report = deliver_pending(con, sender)
    assert len(report.sent) == 3
    files = sorted((tmp_path / "outbox" / "slack").glob("*.json"))
    assert len(files) == 3
    texts = [json.loads(p.read_text())["text"] for p in files]
    assert any("proposed territory changes for your team" in t for t in texts)
    # a second run writes nothing new
    assert deliver_pending(con, sender).sent == []
    assert len(list((tmp_path / "outbox" / "slack").glob("*.json"))) == 3


def test_sender_from_env_picks_slack_with_a_token(tmp_path, sample):
    env = {"SLACK_BOT_TOKEN": sample.token, "SLACK_API_URL": "http://127.0.0.1:1/api"}
    sender = sender_from_env(tmp_path, env=env)
    assert isinstance(sender, SlackDigestSender)
    assert sender.base_url == "http://127.0.0.1:1/api/"


def test_a_blank_token_is_no_token(tmp_path):
    assert isinstance(sender_from_env(tmp_path, env={"SLACK_BOT_TOKEN": "  "}), OutboxDigestSender)
    with pytest.raises(DeliveryError, match="SLACK_BOT_TOKEN is not set") as err:
        slack_sender_from_env(env={"SLACK_BOT_TOKEN": "  "})
    assert err.value.permanent


def test_a_newer_pending_digest_supersedes_the_older_one(con, sample, refused_url):
    enqueue_digests(con, _digests(sample))
    deliver_pending(con, _sender(refused_url, sample.token))  # outage: all pending
    result = enqueue_digests(con, _digests(sample, n=8), supersede_pending=True)
    assert len(result.superseded_keys) >= 1
    statuses = dict(con.execute("select idempotency_key, status from notify.outbox").fetchall())
    assert all(statuses[k] == "superseded" for k in result.superseded_keys)
    assert all(statuses[k] == "pending" for k in result.new_keys)


def test_delivery_never_raises_when_the_warehouse_is_gone(tmp_path, sample):
    connection = duckdb.connect(str(tmp_path / "x.duckdb"))
    connection.close()
    report = deliver_pending(connection, OutboxDigestSender(tmp_path))
    assert report.sent == [] and "outbox unavailable" in report.errors["*"]
