"""A rep is said to be out of reach only where its own LP bound proves it; neighbourhoods of
the local search are made of reps that can trade families with the rep they are built on."""

from __future__ import annotations

import numpy as np

from territory_ops.optimize import OptimizeOptions, optimize
from territory_ops.optimize.band_proof import band_floors
from territory_ops.optimize.build import build_instance
from territory_ops.optimize.instance import MICRO_WEIGHTS
from territory_ops.optimize.lns import _nearest_reps
from territory_ops.optimize.tables import load_tables

from .conftest import make_tables


def _crowded_book():
    """R1 holds six light accounts (600 potential, 150% of target); R2, the only other rep
    that may own them, is full with its two heavy locked accounts (200 potential, 50%)."""
    accounts = [
        {"account_id": f"A{i}", "current_rep_id": "R1", "workload_hours": 10.0} for i in range(6)
    ] + [
        {"account_id": f"B{i}", "current_rep_id": "R2", "workload_hours": 50.0, "locked": "true"}
        for i in range(2)
    ]
    reps = [{"rep_id": "R1"}, {"rep_id": "R2", "capacity_hours": 100.0}]
    return make_tables(accounts, reps)


def test_a_rep_whose_neighbours_are_full_is_proven_out_of_reach():
    accounts, reps = _crowded_book()
    res = optimize(
        accounts, reps, OptimizeOptions(mode="micro", tolerance=0.10, max_moves=10, time_limit=10)
    )
    rows = {row["rep_id"]: row for row in res.metrics["out_of_band_reps"]}
    why = {rep: str(row["reason"]) for rep, row in rows.items()}
    # the budget alone would let R1 shed accounts; R2's capacity is what stops it, so R1
    # keeps everything it holds: its distance from the band is all of its excess
    assert why["R1"].startswith("no plan within the month's 10 moves brings it into band")
    assert f"at least {float(rows['R1']['pct_of_target']) - 110:.1f} points outside" in why["R1"]
    # R2's locked accounts fill its capacity: the bound on what it can reach says so
    assert why["R2"].startswith("move budget: with all 10 moves it could reach at most 50%")


def test_a_rep_the_team_could_bring_in_gets_no_proof():
    accounts, reps = _crowded_book()
    inst = build_instance(load_tables(accounts, reps, None), 0.10, MICRO_WEIGHTS)
    r1, r2 = inst.rep_ids.index("R1"), inst.rep_ids.index("R2")
    assert band_floors(inst, [r1], 10)[r1] > 0.39
    inst.capacity[r2] = 1000.0  # room at R2: two moves bring R1 into band
    assert band_floors(inst, [r1], 10)[r1] < 1e-6
    assert abs(band_floors(inst, [r1], 1)[r1] - 0.15) < 1e-6  # one move leaves it at 125%


def test_neighbourhoods_are_built_from_reps_that_can_trade():
    # E1 and E2 cover enterprise accounts 1,000 km apart; four SMB reps sit next to E1
    accounts = [
        {"account_id": "E-1", "current_rep_id": "E1", "segment": "enterprise"},
        {"account_id": "E-2", "current_rep_id": "E2", "segment": "enterprise"},
    ] + [{"account_id": f"S-{i}", "current_rep_id": f"S{i}"} for i in range(4)]
    reps = [
        {"rep_id": "E1", "segments": "enterprise"},
        {"rep_id": "E2", "segments": "enterprise", "latitude": 40.0, "longitude": -86.0},
    ] + [{"rep_id": f"S{i}", "latitude": 40.01 * (i + 1) / (i + 1)} for i in range(4)]
    inst = build_instance(load_tables(*make_tables(accounts, reps), None), 0.10, MICRO_WEIGHTS)
    e1 = inst.rep_ids.index("E1")
    hood = _nearest_reps(inst, 40.0, -74.0, [e1], others=1)
    assert [inst.rep_ids[r] for r in hood] == ["E1", "E2"]
    wider = _nearest_reps(inst, 40.0, -74.0, [e1], others=3)
    assert [inst.rep_ids[r] for r in wider][:2] == ["E1", "E2"]
    assert set(np.asarray(inst.rep_ids)[wider[2:]]) <= {"S0", "S1", "S2", "S3"}


def test_the_team_lp_is_a_reason_for_no_rep_and_news_only_where_no_rep_accounts_for_it():
    from territory_ops.optimize.micro import current_columns
    from territory_ops.optimize.report import band_reasons, reason_is_proven

    accounts, reps = _crowded_book()
    inst = build_instance(load_tables(accounts, reps, None), 0.10, MICRO_WEIGHTS)
    r1, r2 = inst.rep_ids.index("R1"), inst.rep_ids.index("R2")
    today = inst.cand_rep[np.arange(inst.n_families), current_columns(inst)]
    team = np.zeros(inst.n_reps)
    team[r1] = 0.05  # phase 1: some rep is at least 5 points out, and it chose R1

    def why(floors):
        rows = band_reasons(inst, today, team, "full", None, prove=lambda reps: floors)
        return {row["rep_id"]: str(row["reason"]) for row in rows}

    # no rep's own bound says anything: both reps are open, the team's fact said beside
    open_ = why({r1: 0.0, r2: 0.0})
    assert all(not reason_is_proven(text) for text in open_.values())
    assert all("some rep is at least 5.0 points outside" in text for text in open_.values())
    # R1's own bound (40 points) accounts for the team's 5: R1 is proven, R2 simply open
    shown = why({r1: 0.40, r2: 0.0})
    assert shown["R1"].startswith("no plan brings it into band, whatever the other reps' bands")
    assert shown["R2"].startswith("not reached within the time budget: no check proves")
    # a book too big for the per-rep bounds: the whole-team LP speaks as before
    assert why(None)["R1"].startswith("eligibility, locks and capacity of all reps together")


def test_band_moves_is_what_the_best_band_costs_in_moves():
    from territory_ops.optimize.band_proof import band_moves
    from territory_ops.planning.report import budget_need_line

    accounts, reps = _crowded_book()
    inst = build_instance(load_tables(accounts, reps, None), 0.10, MICRO_WEIGHTS)
    r2 = inst.rep_ids.index("R2")
    # R2 is full: no move brings anyone closer, both reps stay out
    stuck = band_moves(inst)
    assert (stuck.moves, stuck.reps_out) == (0, 2)
    inst.capacity[r2] = 1000.0
    # R1 holds 600 of 800 (band 360-440): shedding 160 takes 1.6 accounts, so 2 moves
    need = band_moves(inst)
    assert (need.moves, need.reps_out, need.discretionary) == (2, 0, 2)
    out = {"lp_band_moves": need.discretionary, "lp_band_moves_reps_out": 0, "reps_out_of_band": 1}
    assert budget_need_line(out, 1).startswith("The move budget keeps reps out: the LP")
    assert "at least 2 moves" in budget_need_line(out, 1)
    assert budget_need_line(out, 5).startswith("The move budget (5) is not what keeps reps out")
    assert budget_need_line({**out, "reps_out_of_band": 0}, 1) == ""


def test_the_band_model_brings_in_what_the_lp_moves_within_the_budget():
    from territory_ops.optimize import band_model
    from territory_ops.optimize.budget import Budget
    from territory_ops.optimize.context import SolveContext, Terms, candidate_costs
    from territory_ops.optimize.lns import violations
    from territory_ops.optimize.micro import current_columns

    accounts, reps = _crowded_book()
    inst = build_instance(load_tables(accounts, reps, None), 0.10, MICRO_WEIGHTS)
    inst.capacity[inst.rep_ids.index("R2")] = 1000.0
    today = current_columns(inst)
    opts = OptimizeOptions(mode="micro", tolerance=0.10, max_moves=10)
    ctx = SolveContext(inst, opts, Budget(limit=30.0))
    terms = Terms(candidate_costs(inst), inst.lower, inst.upper, 10)
    assert violations(inst, today, inst.lower, inst.upper).sum() > 0.3  # R1 at 150%
    plan = band_model.improve(ctx, terms, today, today, None)
    assert plan is not None
    assert violations(inst, plan, inst.lower, inst.upper).sum() < 1e-9
    assert int(inst.cand_moves[np.arange(inst.n_families), plan].sum()) == 2  # the fewest
    # one move: the LP itself leaves both reps out, so the model has nothing to add
    one = Terms(terms.cost, inst.lower, inst.upper, 1)
    assert band_model.improve(ctx, one, today, today, None) is None
    # nothing out of band: the step does not run
    assert band_model.improve(ctx, terms, plan, today, None) is None


def test_fewest_moves_are_what_every_plan_spends():
    accounts, reps = _crowded_book()
    inst = build_instance(load_tables(accounts, reps, None), 0.10, MICRO_WEIGHTS)
    assert inst.fewest_moves().tolist() == [0] * inst.n_families  # each may stay where it is
    a, b = 0, 1
    owner = inst.current[inst.members(a)[0]]
    inst.cand_rep[a][inst.cand_rep[a] == owner] = -1  # its owner may no longer hold it
    inst.cand_rep[b] = -1  # no rep may hold it: no plan places it, so it costs no move
    fewest = inst.fewest_moves()
    assert fewest[a] == len(inst.members(a)) and fewest[b] == 0
    assert int(fewest.sum()) == len(inst.members(a))
