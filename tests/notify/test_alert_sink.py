"""The gate's "run blocked" alert: always in alerts.jsonl, also in the RevOps channel."""

from __future__ import annotations

import logging

from pipelines.notify import SlackAlertSink
from territory_ops.alerts import Alert, read_outbox


def blocked() -> Alert:
    return Alert(
        title="Run blocked: 1 error finding in the 2026-09-30 snapshot",
        lines=("Account.csv: duplicated Id 001A5 (rows 6, 7)",),
        run_id="run-blocked-1",
    )


def test_blocked_alert_reaches_the_revops_channel(tmp_path, monkeypatch, fake_slack):
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.token)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.url)
    sink = SlackAlertSink(outbox_dir=str(tmp_path), revops_channel="#revops")
    sink.send(blocked(), logging.getLogger("test"))
    [post] = fake_slack.posts()
    assert post["channel"] == "#revops" and "Run blocked" in post["text"]
    assert [a["title"] for a in read_outbox(tmp_path)] == [blocked().title]


def test_slack_down_keeps_the_alert_local(tmp_path, monkeypatch, fake_slack):
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.token)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.url)
    fake_slack.down = True
    sink = SlackAlertSink(outbox_dir=str(tmp_path))
    sink.send(blocked(), logging.getLogger("test"))  # does not raise
    assert fake_slack.posts() == []
    assert len(read_outbox(tmp_path)) == 1
