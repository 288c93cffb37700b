"""How a pass respects decisions: locks from pins/approvals/rejections, decided proposals out."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from territory_ops.planning import store
from territory_ops.planning.locks import apply_locks, decision_locks, respect_decisions
from territory_ops.writeback.decisions import approve, reject
from territory_ops.writeback.pins import pin

NOW = datetime(2026, 11, 2, 10, 0)
DAY = date(2026, 12, 1)


def accounts(potential_a3: float = 100_000.0, owner_a2: str = "R1") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "account_id": ["001A1", "001A2", "001A3", "001A4", "001A5"],
            "current_rep_id": ["R1", owner_a2, None, "R3", "R2"],
            "potential": [100_000.0, 100_000.0, potential_a3, 100_000.0, 100_000.0],
            "locked": [False] * 5,
        }
    )


def reps(r3_status: str = "active") -> pl.DataFrame:
    return pl.DataFrame(
        {"rep_id": ["R1", "R2", "R3", "R4"], "status": ["active", "active", r3_status, "active"]}
    )


def record_statuses(con, run_id: str) -> None:
    """What plans.snapshot_reps held for the run that proposed the changes."""
    store.ensure_schema(con)
    con.execute(
        "insert into plans.snapshot_reps (snapshot_date, run_id, rep_id, status, active) "
        "select ?, ?, rep_id, status, true from (values ('R1','active'), ('R2','active'), "
        "('R3','active'), ('R4','active')) t(rep_id, status)",
        [date(2026, 11, 1), run_id],
    )


def test_locks_cover_pins_approvals_and_unchanged_rejections(warehouse):
    con, ids = warehouse
    record_statuses(con, "run-full-1")
    approve(con, [ids["001A1"]], by="Maria", now=NOW)
    reject(con, [ids["001A2"], ids["001A4"]], by="Omar", note="relationship", now=NOW)
    pin(con, "001A5", "R1", by="RevOps Lee", until=date(2027, 1, 31), note="exec", now=NOW)

    locks = decision_locks(con, accounts(), reps(), DAY)
    got = {r["account_id"]: (r["rep_id"], r["source"]) for r in locks.iter_rows(named=True)}
    assert got == {
        "001A1": ("R2", "approved"),  # the approved change is kept by the pass
        "001A2": ("R1", "rejected"),  # a rejected move: the account stays with its owner
        "001A4": ("R3", "rejected"),
        "001A5": ("R1", "pin"),
    }
    planned = apply_locks(accounts(), locks)
    assert planned.filter(pl.col("locked"))["account_id"].to_list() == sorted(got)
    assert dict(planned.select("account_id", "current_rep_id").iter_rows())["001A1"] == "R2"


def test_a_rejection_lapses_when_its_inputs_change(warehouse):
    con, ids = warehouse
    record_statuses(con, "run-full-1")
    reject(con, [ids["001A2"], ids["001A3"], ids["001A4"]], by="Omar", now=NOW)
    unchanged = decision_locks(con, accounts(), reps(), DAY)
    assert set(unchanged["account_id"]) == {"001A2", "001A4"}  # 001A3 had no owner to keep
    # owner of 001A2 changed, R3 (owner of 001A4) went on leave: both may be proposed again
    changed = decision_locks(con, accounts(owner_a2="R4"), reps(r3_status="on_leave"), DAY)
    assert changed.is_empty()
    # the account's potential moved
    grown = decision_locks(con, accounts(potential_a3=250_000.0), reps(), DAY)
    assert "001A3" not in set(grown["account_id"])


def test_new_proposals_skip_what_is_decided_and_name_the_pin(warehouse, make):
    con, ids = warehouse
    record_statuses(con, "run-full-1")
    approve(con, [ids["001A1"]], by="Maria", now=NOW)
    reject(con, [ids["001A4"]], by="Omar", now=NOW)
    pin(con, "001A5", "R1", by="RevOps Lee", note="exec sponsor", now=NOW)
    later = make(
        [
            ("001A1", "R1", "R2", "open"),  # approved already: not again
            ("001A4", "R3", "R1", "open"),  # rejected, nothing changed: not again
            ("001A5", "R2", "R1", "open"),  # the pin's move
            ("001A2", "R1", "R3", "open"),  # still open elsewhere: proposed
        ],
        run_id="run-full-2",
    )
    kept = respect_decisions(con, later, decision_locks(con, accounts(), reps(), DAY))
    assert kept["account_id"].to_list() == ["001A5", "001A2"]
    pinned = kept.row(0, named=True)
    assert pinned["reason_code"] == "pin"
    assert pinned["reason"] == "pin: RevOps Lee assigned it to R1 (exec sponsor)"
    assert kept.columns == later.columns


def test_an_approved_change_not_yet_in_effect_is_a_pin_until_its_date_and_only_then_due(
    warehouse,
):
    from territory_ops.planning.due import due_changes

    con, ids = warehouse
    record_statuses(con, "run-full-1")
    later = date(2027, 1, 1)
    approve(con, [ids["001A1"]], by="Maria", now=NOW, effective=later)
    # before its date: not due for write-back, listed as waiting, and every pass keeps it
    before = due_changes(con, DAY)
    assert before.accounts.is_empty()
    assert before.later.select("account_id", "effective_on").rows() == [("001A1", later)]
    locks = decision_locks(con, accounts(), reps(), DAY)
    assert locks.filter(pl.col("account_id") == "001A1").select("rep_id", "source").rows() == [
        ("R2", "approved")
    ]
    planned = apply_locks(accounts(), locks).filter(pl.col("account_id") == "001A1")
    assert planned.select("current_rep_id", "locked").rows() == [("R2", True)]
    # on its date it is due, once
    on = due_changes(con, later)
    assert on.accounts["account_id"].to_list() == ["001A1"] and on.later.is_empty()
