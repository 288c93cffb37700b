"""Proposals stay put: several passes through the planning service on the tiny book.

An open proposal keeps its target and id while nothing it rests on changed (0 flip-flops), and
is planned afresh — saying why — when its target goes on leave or its potential jumps.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from territory_ops.planning import store

from .conftest import MANUAL, SNAPSHOT, make_accounts, make_reps, service_pass

AUG, SEP = date(2026, 8, 31), date(2026, 9, 30)


def one_pass(con, run_id: str, accounts, reps, day, **overrides):
    return service_pass(con, run_id, accounts, reps, day, **{**MANUAL, **overrides})


def _targets(published) -> dict[str, tuple[str, str]]:
    return {
        a: (t, p)
        for a, t, p in published.proposals.select(
            "account_id", "to_rep_id", "proposal_id"
        ).iter_rows()
    }


def _orphans_of_r2(con):
    """Pass 1: R2 left, its four accounts are proposed to the other reps (left open)."""
    reps = make_reps(R2=("departed", None))
    _, first = one_pass(con, "run-1", make_accounts(), reps, SNAPSHOT)
    placed = _targets(first)
    assert sorted(placed) == ["A01", "A05", "A09", "A13"]
    return reps, placed


def test_an_open_proposal_keeps_its_target_and_id_while_nothing_changed(con):
    reps, placed = _orphans_of_r2(con)
    # other accounts grow a lot: a fresh plan would place the orphans elsewhere
    grown = make_accounts(potential={"A00": 450_000.0, "A04": 450_000.0, "A08": 450_000.0})
    staged, second = one_pass(con, "run-2", grown, reps, AUG)
    again = _targets(second)
    assert {a: again[a] for a in placed} == placed  # same target, same proposal id
    rows = second.proposals.filter(pl.col("account_id").is_in(list(placed)))
    assert (rows["first_proposed_on"] == SNAPSHOT).all()
    assert (rows["reason_code"] == "orphaned").all()  # the reason it was proposed for
    assert rows["revised_because"].is_null().all()
    m = staged.plan.metrics
    assert (m["proposals_carried"], m["proposals_revised"], m["flip_flops"]) == (4, 0, 0)
    # the earlier rows are superseded; the id names one open row
    history = store.proposals(con).filter(
        pl.col("proposal_id").is_in([p for _, p in placed.values()])
    )
    assert sorted(history["status"].to_list()) == ["open"] * 4 + ["superseded"] * 4
    # and a third month: still the same, still since the first snapshot
    staged3, third = one_pass(con, "run-3", grown, reps, SEP)
    assert {a: _targets(third)[a] for a in placed} == placed
    assert staged3.plan.metrics["flip_flops"] == 0
    recorded = store.run_record(con, "run-3")["metrics"]
    assert recorded["flip_flops"] == 0 and recorded["proposals_carried"] == 4


def test_a_proposal_whose_target_goes_on_leave_changes_target_and_says_why(con):
    reps, placed = _orphans_of_r2(con)
    account, (target, pid) = sorted(placed.items())[0]
    away = make_reps(R2=("departed", None), **{target: ("on_leave", date(2026, 12, 1))})
    staged, second = one_pass(con, "run-2", make_accounts(), away, AUG)
    row = second.proposals.filter(pl.col("account_id") == account).row(0, named=True)
    assert row["to_rep_id"] != target
    assert row["proposal_id"] != pid and row["first_proposed_on"] == AUG
    assert (
        row["revised_because"] == f"target changed: {target} went on leave; was {pid} to {target}"
    )
    assert staged.plan.metrics["flip_flops"] == 0
    assert staged.plan.metrics["proposals_revised"] >= 1


def test_a_potential_jump_beyond_the_margin_replans_but_a_small_one_does_not(con):
    reps, placed = _orphans_of_r2(con)
    (small, (t_small, p_small)), (big, (_, p_big)) = sorted(placed.items())[:2]
    potential = {small: 105_000.0, big: 300_000.0}  # +5% (margin 10%) and +200%
    staged, second = one_pass(con, "run-2", make_accounts(potential=potential), reps, AUG)
    rows = {r["account_id"]: r for r in second.proposals.iter_rows(named=True)}
    assert (rows[small]["to_rep_id"], rows[small]["proposal_id"]) == (t_small, p_small)
    assert rows[big]["proposal_id"] != p_big
    assert "its potential changed $100k → $300k (+200%); was " in rows[big]["revised_because"]
    assert staged.plan.metrics["flip_flops"] == 0


def test_proposals_list_separates_new_from_still_waiting(con, monkeypatch):
    from typer.testing import CliRunner

    from territory_ops.cli import app

    reps, placed = _orphans_of_r2(con)
    one_pass(con, "run-2", make_accounts({"A03": None}), reps, AUG)  # A03 lost its owner: new
    path = con.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchone()[0]
    con.close()
    monkeypatch.setenv("TERRITORY_OPS_DUCKDB", path)
    out = CliRunner().invoke(app, ["proposals", "list", "--status", "open"]).output
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("P-")}
    waiting = [pid for _, pid in placed.values()]
    assert all(f"waiting since {SNAPSHOT}" in lines[pid] for pid in waiting)
    (new,) = [line for pid, line in lines.items() if pid not in waiting]
    assert " A03 " in new and "new this pass" in new
    assert f"Open: 1 new this pass, 4 still waiting (oldest since {SNAPSHOT})." in out
