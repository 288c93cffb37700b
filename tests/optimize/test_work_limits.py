"""Work limits decide the plan (not the clock); indivisible families; inherited max accounts."""

from __future__ import annotations

import pytest

from territory_ops.optimize import OptimizeOptions, optimize
from territory_ops.optimize.synthetic_books import generate_instance
from tests.optimize.conftest import make_tables


@pytest.mark.solver
def test_same_seed_same_plan_whatever_the_time_limit():
    # Work limits come from the book's size, so a tight and a loose time limit give the
    # same plan as long as the clock does not stop a phase (a ~860-family book: the LP,
    # rounding, dive and CP-SAT LNS all run). Both limits are generous, so on a busy machine
    # too the work limits end every phase; a phase the clock cut fails the test.
    a, r = generate_instance(900, 10, seed=3)
    runs = [optimize(a, r, OptimizeOptions(seed=5, time_limit=t)) for t in (150.0, 600.0)]
    for x in runs:
        assert x.metrics["time_limit_phases"] == [], x.metrics["time_limit_phases"]
    assert runs[0].metrics["time_limit_s"] != runs[1].metrics["time_limit_s"]
    assert runs[0].plan.equals(runs[1].plan)
    assert runs[0].metrics["exact_method"] == runs[1].metrics["exact_method"]


def test_a_family_bigger_than_the_band_is_reported_not_hidden_by_the_lp():
    # one family is 3x any rep's target: the LP relaxation could split it and call the band
    # feasible; no whole-family plan is, and the rep holding it is told why
    accounts = [{"account_id": "BIG", "potential": 900.0}]
    accounts += [{"account_id": f"A{i:02d}", "potential": 100.0} for i in range(9)]
    reps = [{"rep_id": f"R{i}"} for i in range(3)]
    a, r = make_tables(accounts, reps)
    m = optimize(a, r, OptimizeOptions(tolerance=0.1, time_limit=30)).metrics
    assert m["band_feasible_lp"] is False
    assert m["hard_violations"] == 0
    big = [o for o in m["out_of_band_reps"] if "a family is not split" in o["reason"]]
    assert len(big) == 1 and "account BIG" in big[0]["reason"]


def _over_max_accounts_book():
    # R0 holds 10 accounts today with max_accounts 5; R1 and R2 have room
    accounts = [{"account_id": f"A{i:02d}", "current_rep_id": "R0"} for i in range(10)]
    accounts += [{"account_id": f"B{i:02d}", "current_rep_id": f"R{1 + i % 2}"} for i in range(6)]
    reps = [
        {"rep_id": "R0", "max_accounts": "5"},
        {"rep_id": "R1", "max_accounts": "20"},
        {"rep_id": "R2", "max_accounts": "20"},
    ]
    return make_tables(accounts, reps)


def test_over_max_accounts_today_is_inherited_and_reduced_within_a_small_budget():
    a, r = _over_max_accounts_book()
    opts = OptimizeOptions(mode="micro", max_moves=2, tolerance=0.9, time_limit=30)
    res = optimize(a, r, opts)
    m = res.metrics
    assert m["hard_violations"] == 0 and m["moves"] <= 2
    rows = [x for x in m["inherited_violation_details"] if x["rule"] == "max accounts"]
    assert len(rows) == 1 and rows[0]["rep_id"] == "R0"
    assert rows[0]["accounts_before"] == 10 and rows[0]["accounts"] == 8  # the budget used
    assert rows[0]["moves_to_restore"] == 3 and "about 3 more moves" in rows[0]["text"]


def test_over_max_accounts_today_is_repaired_with_a_large_budget():
    a, r = _over_max_accounts_book()
    opts = OptimizeOptions(mode="micro", max_moves=10, tolerance=0.9, time_limit=30)
    res = optimize(a, r, opts)
    m = res.metrics
    assert m["hard_violations"] == 0 and m["inherited_violations"] == 0
    assert (res.plan["rep_id"] == "R0").sum() <= 5
