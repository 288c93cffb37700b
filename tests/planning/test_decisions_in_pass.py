"""Decisions the next pass must see: a rejected placement of an unowned account sticks, and
Slack clicks queued while a pass held the warehouse count before that pass supersedes them.

Library level on the tiny hand-made book (tests/planning/conftest.py), in a real DuckDB file.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from territory_ops.planning import store
from territory_ops.writeback.decisions import reject

from .conftest import MANUAL, SNAPSHOT, make_accounts, make_reps, service_pass


def one_pass(con, run_id: str, accounts, day):
    return service_pass(con, run_id, accounts, make_reps(), day, pass_kind="refresh", **MANUAL)


def test_a_rejected_placement_of_an_unowned_account_sticks_until_its_inputs_change(con):
    new = make_accounts({"A00": None})
    _, first = one_pass(con, "run-1", new, SNAPSHOT)
    (placed,) = first.proposals.filter(pl.col("account_id") == "A00").iter_rows(named=True)
    assert placed["from_rep_id"] is None
    reject(con, [placed["proposal_id"]], by="Omar", note="not this rep")

    staged, again = one_pass(con, "run-2", new, date(2026, 8, 31))
    assert "A00" not in again.proposals["account_id"].to_list()  # not proposed again
    held = staged.plan.plan.filter(pl.col("account_id") == "A00").row(0, named=True)
    assert held["rep_id"] == "" and not held["changed"]
    assert held["reason"].startswith(f"held: placement with {placed['to_rep_id']} rejected")
    assert staged.plan.metrics["held_unassigned"] == 1
    # the rejection is on record as the reason, and the published plan keeps it unassigned
    published = store.published_assignments(con)
    assert published.filter(pl.col("account_id") == "A00")["rep_id"].to_list() == [""]

    grown = make_accounts({"A00": None}, potential={"A00": 400_000.0})  # its inputs changed
    _, third = one_pass(con, "run-3", grown, date(2026, 9, 30))
    assert "A00" in third.proposals["account_id"].to_list()
