"""Pins and the locks a pass must respect."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from territory_ops.planning.locks import active_pins, locks_for_pass
from territory_ops.writeback.decisions import approve
from territory_ops.writeback.export import export_approved
from territory_ops.writeback.pins import pin, release_pin

NOW = datetime(2026, 11, 2, 10, 0)


def test_pins_hold_until_their_date_or_release(con):
    pin(con, "001A1", "R9", by="RevOps Lee", until=date(2026, 11, 30), note="exec sponsor", now=NOW)
    pin(con, "001A2", "R8", by="RevOps Lee", now=NOW)
    assert active_pins(con, date(2026, 11, 30))["account_id"].to_list() == ["001A1", "001A2"]
    assert active_pins(con, date(2026, 12, 1))["account_id"].to_list() == ["001A2"]
    release_pin(con, "001A2", by="RevOps Lee", note="deal closed", now=NOW)
    assert active_pins(con, date(2026, 11, 3))["account_id"].to_list() == ["001A1"]
    # re-pinning to another rep replaces the pin; the history keeps every event
    pin(con, "001A1", "R7", by="Maria Chen", now=datetime(2026, 11, 3))
    (row,) = active_pins(con, date(2026, 11, 3)).rows(named=True)
    assert (row["rep_id"], row["pinned_by"]) == ("R7", "Maria Chen")
    events = con.execute("select action from plans.pin_events order by event_id").fetchall()
    assert [e for (e,) in events] == ["pin", "pin", "release", "pin"]


def test_bad_pins_are_refused(con):
    with pytest.raises(ValueError, match="in the past"):
        pin(con, "001A1", "R1", by="x", until=date(2026, 1, 1), now=NOW)
    with pytest.raises(ValueError, match="needs a rep"):
        pin(con, "001A1", " ", by="x", now=NOW)
    with pytest.raises(ValueError, match="has no active pin"):
        release_pin(con, "001A1", by="x", now=NOW)


def test_locks_combine_pins_approvals_and_exports_not_yet_in_the_crm(warehouse, tmp_path):
    con, ids = warehouse
    approve(con, [ids["001A1"], ids["001A2"]], by="Maria Chen", now=NOW)
    export_approved(
        con, tmp_path, now=NOW, as_of=date(2027, 1, 1)
    )  # 001A1 -> R2 and 001A2 -> R3 exported
    approve(con, [ids["001A3"], ids["001A4"]], by="Maria Chen", now=NOW)
    pin(con, "001A4", "R9", by="RevOps Lee", now=NOW)  # overrides the approval to R1
    pin(con, "001A7", "R5", by="RevOps Lee", now=NOW)

    owners = pl.DataFrame(
        {"account_id": ["001A1", "001A2"], "current_rep_id": ["R2", "R1"]}  # A2 not yet moved
    )
    locks = locks_for_pass(con, date(2026, 11, 3), owners)
    assert locks.select("account_id", "rep_id", "source").rows() == [
        ("001A2", "R3", "exported"),
        ("001A3", "R2", "approved"),
        ("001A4", "R9", "pin"),
        ("001A7", "R5", "pin"),
    ]
    (note,) = locks.filter(pl.col("account_id") == "001A4")["note"].to_list()
    assert note == f"pinned; overrides approved change {ids['001A4']} to R1"
    # without the snapshot's owners, exported changes do not lock
    assert "exported" not in locks_for_pass(con, date(2026, 11, 3))["source"].to_list()
