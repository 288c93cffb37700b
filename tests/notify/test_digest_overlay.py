"""Overlay coverage in a first-line manager's digest: the team's AEs now covered by another
overlay rep (with the day it takes effect) and the flags of the overlays covering them, for
information, without buttons and within Block Kit's limits."""

from __future__ import annotations

import json
from datetime import date

import polars as pl

from territory_ops.notify.digest import render_manager_digests
from territory_ops.planning.overlay import NOTE_CHANGE_SCHEMA, NOTE_FLAG_SCHEMA

from .block_limits import check_limits
from .conftest import RUN_ID, SNAPSHOT, make_proposals, roster_frame

EFFECTIVE = date(2027, 1, 1)


def _by_manager(digests) -> dict[str, object]:
    return {d.recipient.key.removeprefix("manager:"): d for d in digests}


def _changes(n: int = 1, ae: str = "R4") -> pl.DataFrame:
    """Dev Patel (R4, team M2) moves from SE Sam Ortiz (S2) to SE Lia Park (S1); S1 and S2
    report to a manager outside the roster (X9)."""
    return pl.DataFrame(
        [
            {
                "role": "se",
                "account_executive_id": ae,
                "account_executive_name": "Dev Patel",
                "from_overlay_id": "S2",
                "from_overlay_name": "Sam Ortiz",
                "to_overlay_id": "S1",
                "to_overlay_name": "Lia Park",
                "effective_on": EFFECTIVE,
                "overlay_manager_ids": ["X9"],
            }
        ]
        * n,
        schema=NOTE_CHANGE_SCHEMA,
    )


def _flags(n: int = 1, detail: str | None = None) -> pl.DataFrame:
    """CSM Cleo Moss (C1) covers Ana Ruiz (R1, team M1) and is over her capacity."""
    text = detail or (
        "C1 (Cleo Moss) (csm) is over its capacity after the full plan: 3,000 h against a "
        "capacity of 1,600 h (188%), pod of 4 account executive(s)"
    )
    return pl.DataFrame(
        [
            {
                "flag": "overlay_over_capacity",
                "overlay_id": "C1",
                "detail": text,
                "account_executive_ids": ["R1"],
                "overlay_manager_id": "X9",
            }
        ]
        * n,
        schema=NOTE_FLAG_SCHEMA,
    )


def test_pod_changes_and_overlay_flags_reach_the_managers_of_the_teams_they_touch():
    open_ = make_proposals(1)  # R2 -> R1: only M1 has something to decide
    routed = render_manager_digests(
        open_,
        roster_frame(),
        pod_changes=_changes(),
        overlay_flags=_flags(),
        pass_info=(SNAPSHOT, "full", RUN_ID),
    )
    digests = _by_manager(routed.digests)
    assert set(digests) == {"M1", "M2"}
    m1, m2 = digests["M1"], digests["M2"]
    m1_blocks, m2_blocks = json.dumps(m1.blocks), json.dumps(m2.blocks)
    # M2: Dev Patel's new SE, with its day, in an FYI digest without buttons
    change = (
        "*Dev Patel* now covered by Sales Engineer *Lia Park* instead of Sam Ortiz, "
        "effective 2027-01-01"
    )
    assert change in m2_blocks
    assert "Dev Patel now covered by Sales Engineer Lia Park instead of Sam Ortiz" in m2.text
    assert m2.proposal_ids == ()
    assert not any(b["type"] == "actions" for b in m2.blocks)
    assert m2.blocks[0]["text"]["text"] == "Overlay coverage of your team"
    assert "Overlay coverage" in m2_blocks and "nothing to decide" in m2_blocks
    assert "C1 (Cleo Moss)" not in m2_blocks  # C1 covers none of M2's reps
    # M1: its digest with buttons also names the overlay over capacity that covers Ana Ruiz
    assert any(b["type"] == "actions" for b in m1.blocks)
    assert ":warning: C1 (Cleo Moss) (csm) is over its capacity" in m1_blocks
    assert "3,000 h against a capacity of 1,600 h" in m1_blocks
    assert "3,000 h against a capacity of 1,600 h" in m1.text
    assert "Lia Park" not in m1_blocks  # Dev Patel is not in M1's team
    # the overlay section carries no buttons of its own
    overlay = next(
        b for b in m1.blocks if "*Overlay coverage*" in b.get("text", {}).get("text", "")
    )
    assert overlay["type"] == "section" and "accessory" not in overlay
    for digest in (m1, m2):
        check_limits(digest)


def test_a_change_of_an_overlay_the_manager_manages_reaches_them_too():
    roster = roster_frame()
    changes = _changes().with_columns(overlay_manager_ids=pl.lit(["M1"], pl.List(pl.String)))
    flags = _flags().with_columns(account_executive_ids=pl.lit([], pl.List(pl.String)))
    flags = flags.with_columns(overlay_manager_id=pl.lit("M2"))
    digests = _by_manager(
        render_manager_digests(
            make_proposals(0),
            roster,
            pod_changes=changes,
            overlay_flags=flags,
            pass_info=(SNAPSHOT, "micro", RUN_ID),
        ).digests
    )
    assert set(digests) == {"M1", "M2"}
    assert "Lia Park" in json.dumps(digests["M1"].blocks)  # M1 manages the overlays
    assert "Cleo Moss" in json.dumps(digests["M2"].blocks)  # M2 manages C1
    for digest in digests.values():
        assert digest.run_id == RUN_ID and digest.pass_kind == "micro"
        check_limits(digest)


def test_without_pass_details_or_overlay_notes_nothing_new_is_sent():
    # no proposals and no pass details: the digests stay as they were (none)
    assert (
        render_manager_digests(make_proposals(0), roster_frame(), pod_changes=_changes()).digests
        == ()
    )
    # empty notes add nothing to a digest
    plain = _by_manager(render_manager_digests(make_proposals(1), roster_frame()).digests)
    empty = _by_manager(
        render_manager_digests(
            make_proposals(1),
            roster_frame(),
            pod_changes=_changes(0),
            overlay_flags=_flags(0),
            pass_info=(SNAPSHOT, "full", RUN_ID),
        ).digests
    )
    assert set(empty) == set(plain) == {"M1"}
    assert empty["M1"].fingerprint() == plain["M1"].fingerprint()


def test_long_overlay_lists_stay_within_block_kit_limits():
    changes = _changes(300)
    flags = _flags(120, detail="An overlay with a very long name " * 30)
    for open_ in (make_proposals(40), make_proposals(0)):
        routed = render_manager_digests(
            open_,
            roster_frame(),
            pod_changes=changes,
            overlay_flags=flags,
            pass_info=(SNAPSHOT, "full", RUN_ID),
        )
        assert routed.digests
        for digest in routed.digests:
            check_limits(digest)
        blocks = json.dumps(_by_manager(routed.digests)["M2"].blocks, ensure_ascii=False)
        assert "more — see the run's overlay pods" in blocks
