"""Big books: the time left goes to the reps still out of band; the LP names a reason only
when it proves one."""

from __future__ import annotations

import numpy as np
import pytest

from territory_ops.optimize import lns
from territory_ops.optimize.budget import Budget
from territory_ops.optimize.build import build_instance
from territory_ops.optimize.context import SolveContext, Terms, candidate_costs
from territory_ops.optimize.instance import FULL_WEIGHTS, Instance
from territory_ops.optimize.options import OptimizeOptions
from territory_ops.optimize.repair import band_local_search
from territory_ops.optimize.report import band_reasons, proven_slack
from territory_ops.optimize.synthetic_books import plain_book
from territory_ops.optimize.tables import load_tables


def plain_instance() -> tuple[Instance, Terms, np.ndarray]:
    """800 accounts on 10 reps, every rep may own every account; a plan in band."""
    accounts, reps = plain_book(800, 10, seed=4)
    inst = build_instance(load_tables(accounts, reps, None), 0.05, FULL_WEIGHTS)
    terms = Terms(candidate_costs(inst), inst.lower, inst.upper)
    start = np.argmin(np.where(inst.cand_rep >= 0, terms.cost, np.inf), axis=1)
    plan = band_local_search(inst, start, terms)
    assert not (lns.violations(inst, plan, inst.lower, inst.upper) > 1e-9).any()
    return inst, terms, plan


def rep_of(inst: Instance, plan: np.ndarray) -> np.ndarray:
    return inst.cand_rep[np.arange(inst.n_families), plan]


def pushed_out(inst: Instance, plan: np.ndarray) -> np.ndarray:
    """The plan with a tenth of one rep's potential handed to the rep furthest from it."""
    rep = rep_of(inst, plan)
    giver = 0
    home = (inst.rep_lat[giver], inst.rep_lon[giver])
    far = int(np.argmax((inst.rep_lat - home[0]) ** 2 + (inst.rep_lon - home[1]) ** 2))
    out = plan.copy()
    moved = 0.0
    for f in np.nonzero(rep == giver)[0]:
        if moved >= 0.1 * inst.target[giver]:
            break
        col = int(np.nonzero(inst.cand_rep[f] == far)[0][0])
        out[f] = col
        moved += inst.fam_potential[f]
    return out


@pytest.mark.solver
def test_band_completion_brings_every_rep_back_into_band_and_keeps_the_hard_rows():
    inst, terms, plan = plain_instance()
    start = pushed_out(inst, plan)
    assert (lns.violations(inst, start, inst.lower, inst.upper) > 1e-9).sum() >= 2
    budget = Budget(limit=120.0, work_scale=30.0)
    ctx = SolveContext(inst, OptimizeOptions(seed=1), budget)
    search = lns._Search(
        ctx,
        terms,
        start.copy(),
        lns.free_families(inst, None),
        np.random.default_rng(1),
        budget.elapsed() + budget.left(),
        start,
    )
    rounds, improved = lns._band_completion(search, 0.5)
    assert rounds >= 1 and improved >= 1
    v = lns.violations(inst, search.a, inst.lower, inst.upper)  # band and capacity excess
    assert not (v > 1e-9).any(), v
    assert not budget.hit


@pytest.mark.solver
def test_band_completion_does_nothing_when_every_rep_is_in_band():
    inst, terms, plan = plain_instance()
    budget = Budget(limit=60.0, work_scale=30.0)
    ctx = SolveContext(inst, OptimizeOptions(seed=1), budget)
    search = lns._Search(
        ctx, terms, plan.copy(), lns.free_families(inst, None), np.random.default_rng(1), 60.0, plan
    )
    assert lns._band_completion(search, 0.5) == (0, 0)
    assert np.array_equal(search.a, plan)


def test_an_lp_slack_is_a_reason_only_when_phase_one_proved_it_over_every_movable_family():
    inst, _, plan = plain_instance()
    slack = np.zeros(inst.n_reps)
    slack[3] = 0.02
    every = np.arange(inst.n_families)
    assert proven_slack(inst, slack, True, every)[3] == pytest.approx(0.02)
    # the clock cut phase 1 short: its slack is a point, not the least the band needs
    assert not proven_slack(inst, slack, False, every).any()
    # a core LP (the rest fixed where prices put it) proves nothing of the whole book
    assert not proven_slack(inst, slack, True, every[:-1]).any()
    assert not proven_slack(inst, slack, True, None).any()
    # the rep the unproven LP would have blamed is one the search did not reach
    off = pushed_out(inst, plan)
    rep = rep_of(inst, off)
    shown = proven_slack(inst, slack, False, every)
    reasons = {r["rep_id"]: r["reason"] for r in band_reasons(inst, rep, shown, "full", None)}
    assert reasons and all(
        w.startswith("not reached within the time budget") for w in reasons.values()
    )
