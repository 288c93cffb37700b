"""What a manager is told without being asked: the changes the routing policy placed in their
team (a digest even when nothing waits for them), and the open deals held after a move, shown
to the managers of both the rep who keeps a deal and the rep who gets it."""

from __future__ import annotations

import json
from datetime import date

import polars as pl

from territory_ops.notify.digest import render_manager_digests
from territory_ops.notify.text import MAX_BLOCKS, MAX_MESSAGE_CHARS, MAX_SECTION_TEXT

from .conftest import SNAPSHOT, make_proposals, roster_frame


def _by_manager(digests) -> dict[str, object]:
    return {d.recipient.key.removeprefix("manager:"): d for d in digests}


def _holdovers(n: int = 1) -> pl.DataFrame:
    """The holdover report's shape (planning.due.holdover_report): R2 (team M1) keeps the deals
    of an account that moved to R4 (team M2)."""
    return pl.DataFrame(
        {
            "opportunity_id": [f"006H{i:06d}" for i in range(n)],
            "opportunity_name": [f"Renewal & upsell {i}" for i in range(n)],
            "account_id": ["001A000001"] * n,
            "amount": [84_000.0 + i for i in range(n)],
            "stage": ["Negotiation"] * n,
            "held_by": ["R2"] * n,
            "to_owner_id": ["R4"] * n,
            "until": [date(2026, 12, 31)] * n,
            "account_move": ["delivered"] * n,
            "proposal_id": ["P-held"] * n,
            "held_by_name": ["Ben Lee"] * n,
            "held_by_manager_id": ["M1"] * n,
            "to_owner_name": ["Dev Patel"] * n,
            "to_owner_manager_id": ["M2"] * n,
        }
    )


def _approved_for_m2_only() -> pl.DataFrame:
    """Placements the policy approved into team M2 only (R4, R5)."""
    return (
        make_proposals(7, status="approved")
        .filter(pl.col("to_rep_id").is_in(["R4", "R5"]) & ~pl.col("from_rep_id").is_in(["R3"]))
        .with_columns(reason_code=pl.lit("orphaned"), effective_on=pl.lit(SNAPSHOT))
    )


def test_a_team_whose_changes_were_all_auto_approved_still_gets_a_digest_without_buttons():
    approved = _approved_for_m2_only()
    assert approved.height >= 1
    # team M1 has open proposals; M2's only changes were approved by the policy
    open_ = make_proposals(1)  # R2 -> R1, inside M1
    digests = _by_manager(render_manager_digests(open_, roster_frame(), approved=approved).digests)
    assert set(digests) == {"M1", "M2"}
    m2 = digests["M2"]
    blocks = json.dumps(m2.blocks)
    assert m2.proposal_ids == ()  # nothing to decide
    assert not any(b["type"] == "actions" for b in m2.blocks)  # no buttons
    assert f"{approved.height} territory change" in m2.blocks[0]["text"]["text"]
    assert "placed in your team" in m2.blocks[0]["text"]["text"]
    assert "territory-ops proposals reverse" in blocks and "until it is exported" in blocks
    for pid in approved["proposal_id"]:
        assert pid in blocks and pid in m2.text
    assert "nothing to decide" in m2.text
    # a pass whose every proposal the policy approved: each team is still told
    only = _by_manager(
        render_manager_digests(make_proposals(0), roster_frame(), approved=approved).digests
    )
    assert set(only) == {"M2"} and only["M2"].fingerprint() == m2.fingerprint()


def test_the_holdover_report_reaches_the_managers_of_both_reps():
    held = _holdovers()
    open_ = make_proposals(1)  # R2 -> R1: only M1 has something to decide
    digests = _by_manager(render_manager_digests(open_, roster_frame(), holdovers=held).digests)
    assert set(digests) == {"M1", "M2"}
    for manager in ("M1", "M2"):
        digest = digests[manager]
        blocks = json.dumps(digest.blocks)
        for piece in ("Renewal &amp; upsell 0", "$84k", "Negotiation", "Ben Lee", "2026-12-31"):
            assert piece in blocks, (manager, piece)
            assert piece in digest.text, (manager, piece)
        assert "then Dev Patel" in blocks
    assert any(b["type"] == "actions" for b in digests["M1"].blocks)  # M1 still decides
    assert not any(b["type"] == "actions" for b in digests["M2"].blocks)  # M2 is told only
    # a deal held until it closes says so
    open_end = held.with_columns(until=pl.lit(None, dtype=pl.Date))
    m2 = _by_manager(render_manager_digests(open_, roster_frame(), holdovers=open_end).digests)
    assert "until it closes" in json.dumps(m2["M2"].blocks)


def test_long_holdover_and_approval_lists_stay_within_block_kit_limits():
    held = _holdovers(400)
    approved = pl.concat([_approved_for_m2_only()] * 1).with_columns(
        account_name=pl.lit("A very long account name " * 6)
    )
    approved = pl.concat(
        [approved.with_columns(proposal_id=pl.lit(f"P-{i:04d}")) for i in range(150)]
    )
    for open_ in (make_proposals(40), make_proposals(0)):
        routed = render_manager_digests(open_, roster_frame(), approved=approved, holdovers=held)
        for digest in routed.digests:
            assert len(digest.blocks) <= MAX_BLOCKS
            assert digest.message_chars() <= MAX_MESSAGE_CHARS + 2_000
            for block in digest.blocks:
                text = block.get("text", {})
                if isinstance(text, dict):
                    assert len(text.get("text", "")) <= MAX_SECTION_TEXT
            if digest.recipient.key == "manager:M2":
                assert "more held deals" in json.dumps(digest.blocks)
