"""Roster join, alerts through the outbox, and the message after a decision."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from territory_ops.alerts import Alert
from territory_ops.notify.digest import render_manager_digests
from territory_ops.notify.manager_blocks import mark_decided
from territory_ops.notify.model import digest_roster
from territory_ops.notify.preview import digest_markdown
from territory_ops.notify.summary import render_alert_digest


def test_digest_roster_joins_the_managers_contact(sample):
    reps = pl.DataFrame(
        {
            "rep_id": ["R1", "R2", "R3"],
            "rep_name": ["Ana", "Ben", "Cara"],
            "manager_id": ["M1", "M1", None],
        }
    )
    users = pl.DataFrame(
        {
            "user_id": ["M1", "R1"],
            "user_name": ["Maria Chen", "Ana"],
            "email": ["maria@example.com", "ana@example.com"],
        }
    )
    roster = digest_roster(reps, users)
    assert roster.select("rep_id", "manager_name", "manager_email").rows() == [
        ("R1", "Maria Chen", "maria@example.com"),
        ("R2", "Maria Chen", "maria@example.com"),
        ("R3", None, None),
    ]
    with pytest.raises(ValueError, match="users frame lacks column.*email"):
        digest_roster(reps, users.drop("email"))


def test_alerts_render_without_their_time_stamp_in_the_key():
    def alert(created_at: str) -> Alert:
        return Alert(
            title="Run blocked: Account.csv failed the quality gate",
            lines=("expect_column_values_to_not_be_null on Id: 12 rows, e.g. row 4, 9",),
            run_id="run-1",
            created_at=created_at,
        )

    first = render_alert_digest(
        alert("2026-11-01T06:00:00+00:00"),
        channel="C0REVOPS",
        snapshot_date=date(2026, 11, 1),
        pass_kind="full",
    )
    again = render_alert_digest(
        alert("2026-11-01T07:00:00+00:00"),
        channel="C0REVOPS",
        snapshot_date=date(2026, 11, 1),
        pass_kind="full",
    )
    assert first.idempotency_key() == again.idempotency_key()
    assert first.kind == "alert:run_blocked"
    assert first.text.startswith(":rotating_light: [ERROR] Run blocked")
    assert "12 rows" in json.dumps(first.blocks)


def test_mark_decided_replaces_only_the_decided_buttons(sample):
    digest = render_manager_digests(sample.proposals(), sample.roster).digests[1]
    decided = digest.proposal_ids[0]
    blocks = mark_decided(digest.blocks, {decided: "Approved by Omar Haddad, 09:30 UTC"})
    by_id = {b.get("block_id"): b for b in blocks}
    assert by_id[f"decide:{decided}"]["type"] == "context"
    assert "Approved by Omar Haddad" in json.dumps(by_id[f"decide:{decided}"])
    for other in digest.proposal_ids[1:]:
        assert by_id[f"decide:{other}"]["type"] == "actions"
    assert by_id["team:M2"]["type"] == "actions"  # others still open
    original = {b.get("block_id"): b for b in digest.blocks}
    assert original[f"decide:{decided}"]["type"] == "actions"  # the input is untouched
    done = mark_decided(
        digest.blocks, dict.fromkeys(digest.proposal_ids, "Approved"), all_decided=True
    )
    assert not [b for b in done if b["type"] == "actions"]
    assert len(done) == len(digest.blocks)


def test_markdown_preview_reads_like_the_message(sample):
    digest = render_manager_digests(
        sample.proposals(), sample.roster, run_url=sample.run_url
    ).digests[0]
    preview = digest_markdown(digest)
    assert preview.startswith("**To:** Maria Chen (`manager:M1`)")
    assert "### 5 proposed territory changes for your team" in preview
    assert f"[see the run in Dagster]({sample.run_url})" in preview
    assert "**Effect on your reps**" in preview
    assert "`[ Approve ]` `[ Reject ]`" in preview
