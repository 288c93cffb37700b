"""An acquisition joins families whose accounts are locked to different reps: the pass does not
stop; the lock on the family's ultimate parent wins (else the largest locked potential), the
other locked accounts move to that owner with the reason "family merged", and the run says so."""

from __future__ import annotations

import polars as pl

from territory_ops.planning import store
from territory_ops.planning.plan import merged_family_locks

from .conftest import SNAPSHOT, make_accounts, make_reps, service_pass


def _acquired(parent_locked: bool = True) -> pl.DataFrame:
    """A00 (R1) buys A05 (R2, locked) and with it A09 (R2); A06 (R3, locked, the biggest)
    joins too. A00 is locked to R1 when ``parent_locked``."""
    parents = {"A05": "A00", "A09": "A05", "A06": "A00"}
    locked = {"A05", "A06"} | ({"A00"} if parent_locked else set())
    owners = {"A09": "R2", "A06": "R3"}
    return make_accounts(owners, potential={"A06": 300_000.0}).with_columns(
        parent_account_id=pl.col("account_id").replace_strict(parents, default=None),
        locked=pl.col("account_id").is_in(list(locked)),
    )


def test_the_parents_lock_wins_and_the_other_locks_move_as_forced_family_moves(con):
    book = _acquired(parent_locked=True)
    staged, published = service_pass(con, "run-1", book, make_reps(), SNAPSHOT, pass_kind="refresh")
    plan = staged.plan.plan
    family = plan.filter(pl.col("account_id").is_in(["A00", "A05", "A06", "A09"]))
    assert set(family["rep_id"]) == {"R1"}  # one owner: the parent's locked owner
    moved = {r["account_id"]: r for r in family.filter(pl.col("changed")).iter_rows(named=True)}
    assert set(moved) == {"A05", "A06", "A09"}
    for aid, rep in (("A05", "R2"), ("A06", "R3")):
        assert moved[aid]["reason_code"] == "family"
        assert moved[aid]["reason"] == (
            f"family merged: locked to {rep}, but its family (A00) has one owner: R1 "
            "(the lock on its parent wins); now with R1"
        )
    assert staged.plan.metrics["locks_released_family_merged"] == 2
    assert any("A05: family merged" in w for w in staged.plan.warnings)
    proposals = published.proposals.filter(pl.col("account_id").is_in(["A05", "A06", "A09"]))
    assert proposals.height == 3 and set(proposals["to_rep_id"]) == {"R1"}
    assert store.run_record(con, "run-1")["metrics"]["locks_released_family_merged"] == 2


def test_without_a_locked_parent_the_largest_locked_potential_wins():
    book = _acquired(parent_locked=False)
    released = merged_family_locks(book, make_reps())
    assert released["account_id"].to_list() == ["A05"]
    (why,) = released["why"].to_list()
    assert why.startswith("family merged: locked to R2") and "now with R3" in why
    assert "largest locked potential" in why
    # locks with one owner per family, or locks of inactive reps, are left alone
    assert merged_family_locks(make_accounts(), make_reps()).is_empty()
    away = make_reps(R3=("inactive", None))
    assert merged_family_locks(book, away).is_empty()
