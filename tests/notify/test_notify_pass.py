"""notify_pass: the one call a pass makes; re-running it posts nothing and reports why."""

from __future__ import annotations

import duckdb

from territory_ops.notify.notify_pass import notify_pass
from territory_ops.notify.sender import OutboxDigestSender, SlackDigestSender


def test_notify_pass_then_rerun(tmp_path, fake_slack, sample):
    fake_slack.users.update(sample.slack_users)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    sender = SlackDigestSender(sample.token, fake_slack.url, backoff_factor=0.01)
    first = notify_pass(
        con,
        sample.proposals(),
        sample.roster,
        sender,
        revops_channel="C0REVOPS",
        run_url=sample.run_url,
        kpis=[{"label": "Potential spread", "before": 1.4, "after": 1.1}],
    )
    meta = first.as_metadata()
    assert (meta["digests rendered"], meta["digests new this pass"], meta["sent"]) == (3, 3, 3)
    assert meta["proposals without a manager to notify"] == 1
    assert meta["errors"] == "none"
    assert "### 5 proposed territory changes for your team" in meta["preview"]
    assert sample.token not in str(meta)

    again = notify_pass(
        con,
        sample.proposals(run_id="rerun"),
        sample.roster,
        sender,
        revops_channel="C0REVOPS",
        run_url="http://dagster.example.com/runs/rerun",
        kpis=[{"label": "Potential spread", "before": 1.4, "after": 1.1}],
    )
    meta = again.as_metadata()
    assert (meta["digests new this pass"], meta["sent"]) == (0, 0)
    assert meta["digests already recorded (not posted again)"] == 3
    assert meta["preview"] == "no digest this pass"
    assert len(fake_slack.posts()) == 3
    con.close()


def test_a_slack_outage_does_not_fail_the_pass(tmp_path, refused_url, sample):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    sender = SlackDigestSender(sample.token, refused_url, backoff_factor=0.01)
    report = notify_pass(con, sample.proposals(), sample.roster, sender, revops_channel="C0")
    meta = report.as_metadata()
    assert meta["sent"] == 0 and meta["pending (retried next run)"] == 3
    assert "Connection refused" in meta["errors"] or "URLError" in meta["errors"]
    # without a token the same pass renders into the outbox folder and succeeds
    outbox = notify_pass(
        con,
        sample.proposals(n=3),
        sample.roster,
        OutboxDigestSender(tmp_path / "out"),
        revops_channel="C0",
    )
    assert outbox.as_metadata()["sent"] >= 1
    con.close()
