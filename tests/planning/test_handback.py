"""A rep back from leave before the cover of their accounts reached the CRM: the approved cover
is withdrawn (an audit row says why), no hand-back is proposed for an account the CRM never
moved, nothing is exported twice, and the next passes leave the account with its owner."""

from __future__ import annotations

from datetime import date

import polars as pl

from territory_ops.planning import store
from territory_ops.planning.due import due_changes
from territory_ops.writeback.decisions import decision_log

from .conftest import SNAPSHOT, make_accounts, make_reps, service_pass

AUG = date(2026, 8, 31)
SEP = date(2026, 9, 30)


def test_a_rep_back_before_the_cover_was_exported_keeps_the_accounts_and_nothing_is_pushed(con):
    away = make_reps(R3=("on_leave", date(2026, 8, 15)))
    book = make_accounts()
    _, first = service_pass(con, "run-1", book, away, SNAPSHOT)
    covers = first.proposals.filter(pl.col("reason_code") == "cover")
    assert covers.height == 4 and (covers["status"] == "approved").all()  # the routing policy
    covered = sorted(covers["account_id"].to_list())
    # nothing is written back: the CRM still shows R3 on every covered account; R3 is back
    staged, second = service_pass(con, "run-2", book, make_reps(), AUG)
    plan = staged.plan.plan.filter(pl.col("account_id").is_in(covered))
    assert (plan["rep_id"] == "R3").all() and not plan["changed"].any()
    assert not second.proposals.filter(pl.col("account_id").is_in(covered)).height
    rows = store.proposals(con).filter(pl.col("account_id").is_in(covered))
    assert set(rows["status"]) == {"rejected"}  # the withdrawn covers
    log = decision_log(con).filter(pl.col("account_id").is_in(covered))
    withdrawn = log.filter(pl.col("action") == "reverse")
    assert withdrawn.height == 4
    assert all("back from leave before the cover was delivered" in n for n in withdrawn["note"])
    due = due_changes(con, AUG)
    assert due.accounts.filter(pl.col("account_id").is_in(covered)).is_empty()
    assert due.later.filter(pl.col("account_id").is_in(covered)).is_empty()
    # and it stays settled: the next pass neither covers nor hands back
    _, third = service_pass(con, "run-3", book, make_reps(), SEP)
    assert not third.proposals.filter(pl.col("account_id").is_in(covered)).height


def test_a_cover_delivered_before_the_rep_returns_is_handed_back_once(con):
    away = make_reps(R3=("on_leave", date(2026, 8, 15)))
    book = make_accounts()
    _, first = service_pass(con, "run-1", book, away, SNAPSHOT)
    covers = first.proposals.filter(pl.col("reason_code") == "cover")
    moved = dict(covers.select("account_id", "to_rep_id").iter_rows())
    ids = covers["proposal_id"].to_list()
    con.execute(
        "update plans.proposals set status = 'confirmed' where list_contains(?, proposal_id)",
        [ids],
    )
    # the CRM shows the covers; R3 is back: each account is handed back, approved once
    shown = book.with_columns(
        current_rep_id=pl.col("account_id").replace_strict(moved, default=pl.col("current_rep_id"))
    )
    _, second = service_pass(con, "run-2", shown, make_reps(), AUG)
    back = second.proposals.filter(pl.col("account_id").is_in(list(moved)))
    assert back.height == 4 and set(back["reason_code"]) == {"return"}
    assert (back["to_rep_id"] == "R3").all() and (back["status"] == "approved").all()
    assert back.select("account_id", "from_rep_id").rows() == sorted(moved.items())
    due = due_changes(con, AUG).accounts.filter(pl.col("account_id").is_in(list(moved)))
    assert due.height == 4 and due["account_id"].n_unique() == 4


def test_an_approved_change_whose_new_owner_left_before_delivery_is_withdrawn_and_replaced(con):
    away = make_reps(R3=("on_leave", date(2026, 8, 15)))
    book = make_accounts()
    _, first = service_pass(con, "run-1", book, away, SNAPSHOT)
    covers = first.proposals.filter(pl.col("reason_code") == "cover")
    assert covers.height == 4 and (covers["status"] == "approved").all()
    gone_rep = covers["to_rep_id"][0]
    orphaned = sorted(covers.filter(pl.col("to_rep_id") == gone_rep)["account_id"])
    # before write-back, the cover's rep leaves; R3 is still away
    both = make_reps(R3=("on_leave", date(2026, 8, 15)), **{gone_rep: ("departed", None)})
    _, second = service_pass(con, "run-2", book, both, AUG)
    rows = store.proposals(con).filter(pl.col("account_id").is_in(orphaned))
    old = rows.filter(pl.col("run_id") == "run-1")
    assert set(old["status"]) == {"rejected"}  # withdrawn, never delivered
    log = decision_log(con).filter(
        pl.col("account_id").is_in(orphaned) & (pl.col("action") == "reverse")
    )
    assert log.height == len(orphaned)
    assert all(f"withdrawn: {gone_rep} can no longer own accounts" in n for n in log["note"])
    # the accounts are covered again by someone who can own them, and that is what is due
    again = second.proposals.filter(pl.col("account_id").is_in(orphaned))
    assert sorted(again["account_id"]) == orphaned
    assert not again["to_rep_id"].is_in([gone_rep, "R3"]).any()
    assert (again["status"] == "approved").all()
    due = due_changes(con, AUG).accounts.filter(pl.col("account_id").is_in(orphaned))
    assert due.height == len(orphaned) and gone_rep not in set(due["to_rep_id"])


def test_a_leave_longer_than_a_month_is_still_handed_back_when_the_rep_returns(con):
    # the cover reached the CRM; at the next pass the rep is still away, so the CRM shows the
    # cover rep as owner. That plan keeps the accounts temporary, and the return hands back.
    away = make_reps(R3=("on_leave", date(2026, 9, 15)))
    book = make_accounts()
    _, first = service_pass(con, "run-1", book, away, SNAPSHOT)
    covers = first.proposals.filter(pl.col("reason_code") == "cover")
    assert covers.height == 4
    moved = dict(covers.select("account_id", "to_rep_id").iter_rows())
    con.execute(
        "update plans.proposals set status = 'confirmed' where list_contains(?, proposal_id)",
        [covers["proposal_id"].to_list()],
    )
    shown = book.with_columns(
        current_rep_id=pl.col("account_id").replace_strict(moved, default=pl.col("current_rep_id"))
    )
    staged, second = service_pass(con, "run-2", shown, away, AUG)
    assert not second.proposals.filter(pl.col("account_id").is_in(list(moved))).height
    held = staged.plan.plan.filter(pl.col("account_id").is_in(list(moved))).sort("account_id")
    assert held["is_temporary"].all() and (held["covered_rep_id"] == "R3").all()
    assert (held["temporary_until"] == date(2026, 9, 15)).all()
    assert not held["changed"].any()
    assert held.select("account_id", "rep_id").rows() == sorted(moved.items())
    # R3 is back a month later: each account goes back, from the rep who held it
    _, third = service_pass(con, "run-3", shown, make_reps(), SEP)
    back = third.proposals.filter(pl.col("account_id").is_in(list(moved)))
    assert back.height == 4 and set(back["reason_code"]) == {"return"}
    assert (back["to_rep_id"] == "R3").all() and (back["status"] == "approved").all()
    assert back.select("account_id", "from_rep_id").sort("account_id").rows() == sorted(
        moved.items()
    )
