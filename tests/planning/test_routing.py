"""The routing policy: when a pass publishes, placements, covers and hand-backs are approved by
the named policy (audit rows, effective at once); balance moves wait for a manager, who may
reverse an automatic approval; an unknown kind in the policy fails before anything runs."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from territory_ops.planning import store
from territory_ops.planning.config import PassConfigError, load_pass_config
from territory_ops.writeback.decisions import decision_log, reverse

from .conftest import SNAPSHOT, make_accounts, make_reps, service_pass

AUG = date(2026, 8, 31)


def test_placements_and_covers_are_approved_by_the_policy_and_balance_moves_wait(con):
    reps = make_reps(R3=("on_leave", date(2026, 10, 1)))
    # A00 new, A05 owned by someone who is not a rep, R1 far above the band
    heavy = make_accounts({"A00": None, "A05": "R9"}, potential={"A04": 4e5, "A08": 4e5})
    _, published = service_pass(con, "run-1", heavy, reps, SNAPSHOT, move_budget=2)
    rows = store.proposals(con).filter(pl.col("run_id") == "run-1")
    auto = rows.filter(pl.col("reason_code").is_in(["new", "orphaned", "cover"]))
    waiting = rows.filter(~pl.col("reason_code").is_in(["new", "orphaned", "cover"]))
    assert auto.height == 6  # A00 new, A05 orphaned, R3's four accounts covered
    assert (auto["status"] == "approved").all()
    assert (auto["effective_on"] == SNAPSHOT).all()  # at once: the pass's snapshot date
    assert waiting.height >= 1 and (waiting["status"] == "open").all()
    log = decision_log(con)
    assert sorted(log["proposal_id"]) == sorted(auto["proposal_id"])
    assert set(log["decided_by"]) == {"routing policy: placements"}
    assert set(log["channel"]) == {"policy"} and set(log["action"]) == {"approve"}
    assert (log["effective_on"] == SNAPSHOT).all()
    # what the pass returns says the same (digests are rendered from it)
    assert published.auto_approved.height == auto.height
    shown = published.proposals.filter(pl.col("proposal_id").is_in(auto["proposal_id"]))
    assert (shown["status"] == "approved").all()


def test_a_manager_reverses_an_automatic_placement_and_the_next_pass_respects_it(con):
    new = make_accounts({"A00": None})
    _, first = service_pass(con, "run-1", new, make_reps(), SNAPSHOT, pass_kind="refresh")
    (placed,) = first.proposals.filter(pl.col("account_id") == "A00").iter_rows(named=True)
    assert placed["status"] == "approved"
    (done,) = reverse(con, [placed["proposal_id"]], by="Maria", note="waits for the new hire")
    assert (done.status_before, done.status_after) == ("approved", "rejected")
    actions = decision_log(con, placed["proposal_id"]).select("action", "decided_by").rows()
    assert actions == [("approve", "routing policy: placements"), ("reverse", "Maria")]
    # held as a rejection holds it: not placed, not proposed again while nothing changed
    staged, again = service_pass(con, "run-2", new, make_reps(), AUG, pass_kind="refresh")
    assert "A00" not in again.proposals["account_id"].to_list()
    held = staged.plan.plan.filter(pl.col("account_id") == "A00").row(0, named=True)
    assert held["rep_id"] == "" and held["reason"].startswith("held: placement with")


def test_routing_waits_for_managers_when_it_names_no_kind(con):
    reps = make_reps(R2=("departed", None))
    _, published = service_pass(
        con, "run-1", make_accounts(), reps, SNAPSHOT, routing={"auto_approve": []}
    )
    assert (published.proposals["status"] == "open").all()
    assert decision_log(con).is_empty()


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"routing": {"auto_approve": ["orphan"]}}, "routing.auto_approve: 'orphan'"),
        ({"routing": {"approve": ["new"]}}, "routing.approve: unknown setting"),
        ({"effective_dates": {"at_once": ["newish"]}}, "effective_dates.at_once: 'newish'"),
        ({"effective_dates": {"micro": "tomorrow"}}, "effective_dates.micro: 'tomorrow'"),
        ({"effective_dates": {"yearly": "at_once"}}, "effective_dates.yearly: unknown setting"),
        ({"carry_over": {"margin": 1.5}}, "carry_over.margin: 1.5"),
        ({"routing": {"auto_approve": "new"}}, "routing.auto_approve: expected a list"),
    ],
)
def test_an_unknown_kind_or_key_fails_before_any_step_naming_it(overrides, named):
    with pytest.raises(PassConfigError, match=named.replace(".", "[.]").replace("(", r"\(")):
        load_pass_config(overrides=overrides)
