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


def test_the_slack_resources_read_the_token_when_they_send(tmp_path, monkeypatch, fake_slack):
    import pytest

    from pipelines.notify import EnvSlackResource, SlackApiResource
    from territory_ops.notify.sender import DeliveryError

    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    assert EnvSlackResource(outbox_dir=str(tmp_path)).sender().via == "outbox"
    with pytest.raises(DeliveryError, match="SLACK_BOT_TOKEN is not set"):
        SlackApiResource(outbox_dir=str(tmp_path)).sender()
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.token)
    assert EnvSlackResource(outbox_dir=str(tmp_path)).sender().via == "slack"
