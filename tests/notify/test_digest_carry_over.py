"""Digests separate proposals new this pass from those still waiting since an earlier one, say
why a revised proposal changed, and list the team's changes the routing policy approved with
the day they take effect."""

from __future__ import annotations

import json
from datetime import date

import polars as pl

from territory_ops.notify.digest import render_manager_digests
from territory_ops.notify.summary import render_revops_summary

from .conftest import SNAPSHOT, make_proposals, roster_frame

EARLIER = date(2026, 10, 1)


def _digest_of(digests, manager_id: str):
    (digest,) = [d for d in digests if d.recipient.key == f"manager:{manager_id}"]
    return digest, json.dumps(digest.blocks)


def test_a_digest_separates_new_from_still_waiting_and_says_what_changed():
    proposals = make_proposals(3).with_columns(
        first_proposed_on=pl.when(pl.col("to_rep_id") == "R1")
        .then(pl.lit(EARLIER))
        .otherwise(pl.lit(SNAPSHOT)),
        revised_because=pl.when(pl.col("to_rep_id") == "R3")
        .then(pl.lit("target changed: R9 went on leave; was P-0123456789ab to R9"))
        .otherwise(None),
    )
    routed = render_manager_digests(proposals, roster_frame())
    digest, blocks = _digest_of(routed.digests, "M1")
    assert "waiting since 2026-10-01" in digest.text
    assert "still waiting since 2026-10-01" in blocks
    assert "new this pass" in blocks
    _, blocks_m2 = _digest_of(routed.digests, "M2")
    assert "Changed since the last pass: target changed: R9 went on leave" in blocks_m2


def test_changes_the_policy_approved_are_listed_with_their_date():
    open_ = make_proposals(2)
    approved = (
        make_proposals(6, status="approved")
        .filter(pl.col("reason_code").is_in(["new", "orphaned"]))
        .with_columns(effective_on=pl.lit(SNAPSHOT))
    )
    routed = render_manager_digests(open_, roster_frame(), approved=approved)
    _, blocks = _digest_of(routed.digests, "M1")
    assert "Approved by the routing policy" in blocks
    assert "takes effect on 2026-11-01" in blocks and "territory-ops proposals reverse" in blocks
    later = approved.head(1).with_columns(effective_on=pl.lit(date(2027, 1, 1)))
    summary = render_revops_summary(open_, channel="#revops", approved=approved, pending=later)
    text = json.dumps(summary.blocks)
    assert f"Approved by the routing policy ({approved.height} changes)" in text
    assert "Approved, not yet in effect" in text and "takes effect on 2027-01-01" in text
