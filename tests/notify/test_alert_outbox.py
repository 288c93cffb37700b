"""The gate's "run blocked" alert goes through notify.outbox like a digest: recorded once, posted
once, kept pending while Slack is down and sent by the next run's delivery."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb

from pipelines.notify import SlackAlertSink, notify_resources
from territory_ops.alerts import Alert, read_outbox
from territory_ops.notify.outbox import deliver_pending
from territory_ops.notify.sender import SlackDigestSender
from territory_ops.settings import Settings

LOG = logging.getLogger("test")


def blocked(run_id: str = "run-blocked-1") -> Alert:
    return Alert(
        title="Run blocked: 1 error finding in the 2026-09-30 snapshot",
        lines=("Account.csv: duplicated Id 001A5 (rows 6, 7)",),
        run_id=run_id,
    )


def outbox_rows(database: Path) -> list[tuple[str, str, int]]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(
            "select recipient_channel, status, attempts from notify.outbox order by created_at"
        ).fetchall()


def sink(tmp_path: Path) -> SlackAlertSink:
    return SlackAlertSink(
        outbox_dir=str(tmp_path / "outbox"),
        database=str(tmp_path / "w.duckdb"),
        revops_channel="#revops",
    )


def test_blocked_alert_is_recorded_and_posted_once(tmp_path, monkeypatch, fake_slack):
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.token)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.url)
    alert = blocked()
    sink(tmp_path).send(alert, LOG)
    sink(tmp_path).send(alert, LOG)  # the step retried: same alert, no second post
    [post] = fake_slack.posts()
    assert post["channel"] == "#revops" and "Run blocked" in post["text"]
    assert outbox_rows(tmp_path / "w.duckdb") == [("#revops", "sent", 1)]
    assert len(read_outbox(tmp_path / "outbox")) == 2  # the local log keeps every call


def test_alert_during_an_outage_is_sent_by_the_next_run(tmp_path, monkeypatch, fake_slack):
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.token)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.url)
    fake_slack.down = True
    sink(tmp_path).send(blocked(), LOG)  # does not raise
    assert fake_slack.posts() == []
    [(_, status, attempts)] = outbox_rows(tmp_path / "w.duckdb")
    assert status == "pending" and attempts >= 1
    fake_slack.down = False
    # the next run delivers what is pending (manager_digests calls deliver_pending)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        deliver_pending(con, SlackDigestSender(fake_slack.token, fake_slack.url))
        deliver_pending(con, SlackDigestSender(fake_slack.token, fake_slack.url))
    assert [p["channel"] for p in fake_slack.posts()] == ["#revops"]
    assert [r[1] for r in outbox_rows(tmp_path / "w.duckdb")] == ["sent"]


def test_the_job_wires_the_sink_to_the_warehouse(tmp_path, monkeypatch):
    monkeypatch.setenv("TERRITORY_OPS_HOME", str(tmp_path))
    alerts = notify_resources(Settings.from_env())["alerts"]
    assert isinstance(alerts, SlackAlertSink)
    assert alerts.database == str(Settings.from_env().duckdb_path)
