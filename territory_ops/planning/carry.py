"""Proposals stay put: which open proposals of the last published pass the next pass carries.

An open proposal is carried — same target, same ``proposal_id`` — while everything it rests on
is as it was when it was proposed:

* the account is still in the snapshot and the CRM still shows the same owner;
* both reps' roster status is unchanged, and the target is active and may own the account's
  whole family (segment and required skill);
* the account's potential is within ``carry_over.margin`` (relative) of what it was.

A carried proposal is a lock to its target for the optimizer (like an approved change,
:mod:`territory_ops.planning.locks`), so a manager who waits a week sees the same answer. A
proposal that fails a check is planned afresh, and its next proposal says what changed
(``revised_because``). A *flip-flop* — an account whose proposal was carried but whose plan
row names another rep — is counted in every pass's metrics; the locks make it 0 unless a
harder rule (a pin, a family lock) overrides the carried target.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from territory_ops.formatting import money, percent
from territory_ops.planning import store
from territory_ops.planning.locks import LOCK_SCHEMA
from territory_ops.planning.status import ProposalStatus
from territory_ops.planning.tables import PlanningInput
from territory_ops.warehouse import query_frame, table_exists

CARRIED_SCHEMA = {
    "account_id": pl.String,
    "proposal_id": pl.String,
    "to_rep_id": pl.String,
    "first_proposed_on": pl.Date,
    "reason_code": pl.String,
    "reason": pl.String,
}
REVISED_SCHEMA = {
    "account_id": pl.String,
    "proposal_id": pl.String,
    "to_rep_id": pl.String,
    "why": pl.String,
}
CARRIED_SOURCE = "carried"  # LOCK_SCHEMA source of a carried proposal's lock

# the plan row's reason (without the account explanation a proposal appends) is what the
# next plan row repeats
_OPEN_SQL = """
select p.proposal_id, p.account_id, p.from_rep_id, p.to_rep_id, p.potential,
    coalesce(a.reason_code, p.reason_code) as reason_code, coalesce(a.reason, p.reason) as reason,
    coalesce(p.first_proposed_on, p.snapshot_date) as first_proposed_on,
    fr.status as from_status, tr.status as to_status
from plans.proposals p
left join plans.assignments a on a.run_id = p.run_id and a.account_id = p.account_id
left join plans.snapshot_reps fr on fr.run_id = p.run_id and fr.rep_id = p.from_rep_id
left join plans.snapshot_reps tr on tr.run_id = p.run_id and tr.rep_id = p.to_rep_id
where p.run_id = ? and p.status = ?
order by p.account_id, p.proposal_id
"""


@dataclass(frozen=True)
class CarryOver:
    carried: pl.DataFrame  # CARRIED_SCHEMA: valid open proposals, one per account
    revised: pl.DataFrame  # REVISED_SCHEMA: open proposals whose grounds changed, and why

    def locks(self, taken: pl.DataFrame | None = None) -> pl.DataFrame:
        """LOCK_SCHEMA rows holding each carried account with its target, except accounts
        ``taken`` already locks (a pin, an approval: the more explicit decision wins)."""
        carried = self.carried
        if taken is not None and not taken.is_empty():
            carried = carried.join(taken.select("account_id"), on="account_id", how="anti")
        return carried.select(
            "account_id",
            pl.col("to_rep_id").alias("rep_id"),
            pl.lit(CARRIED_SOURCE).alias("source"),
            pl.col("proposal_id").alias("source_id"),
            pl.lit(None, dtype=pl.Date).alias("until"),
            pl.lit(None, dtype=pl.String).alias("note"),
        ).cast(LOCK_SCHEMA)


def _empty() -> CarryOver:
    return CarryOver(pl.DataFrame(schema=CARRIED_SCHEMA), pl.DataFrame(schema=REVISED_SCHEMA))


def carry_over(
    con: duckdb.DuckDBPyConnection,
    data: PlanningInput,
    margin: float,
    locks: pl.DataFrame | None = None,
) -> CarryOver:
    """Split the last published pass's open proposals into carried and revised (module doc).

    ``locks``: the decision locks of this pass; a family whose locks name another rep than a
    carried proposal's target cannot keep that target (a family is never split).
    """
    run = store.published_run(con)
    if run is None or not table_exists(con, "plans", "proposals"):
        return _empty()
    open_ = query_frame(con, _OPEN_SQL, [run["run_id"], ProposalStatus.OPEN])
    if open_.is_empty():
        return _empty()
    book = _Book.of(data)
    why = [_changed(r, book, margin) for r in open_.iter_rows(named=True)]
    checked = open_.with_columns(why=pl.Series(why, dtype=pl.String))
    clashes = _family_clashes(checked.filter(pl.col("why").is_null()), book, locks)
    checked = checked.with_columns(
        why=pl.coalesce(
            "why",
            pl.col("account_id").replace_strict(clashes, default=None, return_dtype=pl.String),
        )
    )
    carried = checked.filter(pl.col("why").is_null()).select(list(CARRIED_SCHEMA))
    revised = checked.filter(pl.col("why").is_not_null()).select(list(REVISED_SCHEMA))
    return CarryOver(carried.cast(CARRIED_SCHEMA), revised.cast(REVISED_SCHEMA))


def _status_change(rep: str, before: str | None, after: str | None) -> str:
    if after is None:
        return f"{rep} is no longer on the roster"
    if after == "on_leave":
        return f"{rep} went on leave"
    if before == "on_leave" and after in ("active", "ramping"):
        return f"{rep} is back from leave"
    if after in ("departed", "inactive", "terminated"):
        return f"{rep} left"
    return f"{rep}'s status changed from {before or 'unknown'} to {after}"


@dataclass(frozen=True)
class _Book:
    """Today's snapshot as lookups: account -> owner, potential, family; rep -> roster row;
    family -> the (segment, skill) pairs its owner must offer."""

    accounts: dict[str, dict]
    reps: dict[str, dict]
    needs: dict[str, set[tuple[str, str]]]

    @classmethod
    def of(cls, data: PlanningInput) -> _Book:
        a = data.accounts
        family = pl.col("family_id") if "family_id" in a.columns else pl.col("account_id")
        frame = a.select(
            "account_id",
            "current_rep_id",
            "potential",
            "segment",
            "required_skill",
            "locked",
            family.fill_null(pl.col("account_id")).alias("family"),
        )
        needs: dict[str, set[tuple[str, str]]] = {}
        for fam, seg, skill in frame.select("family", "segment", "required_skill").iter_rows():
            needs.setdefault(fam, set()).add((seg, skill or ""))
        status = pl.col("status") if "status" in data.reps.columns else pl.lit(None, pl.String)
        reps = data.reps.select("rep_id", status.alias("status"), "active", "segments", "skills")
        return cls(
            {r["account_id"]: r for r in frame.iter_rows(named=True)},
            {r["rep_id"]: r for r in reps.iter_rows(named=True)},
            needs,
        )


def _offers(rep: dict) -> set[tuple[str, str]]:
    skills = {"", *(rep["skills"] or "").split(";")}
    return {(seg, skill) for seg in (rep["segments"] or "").split(";") for skill in skills}


def _changed(row: dict, book: _Book, margin: float) -> str | None:
    """Why an open proposal no longer stands as proposed, or None when nothing changed."""
    account = book.accounts.get(row["account_id"])
    if account is None:
        return f"account {row['account_id']} is no longer in the CRM snapshot"
    owner = account["current_rep_id"] or None
    if owner != (row["from_rep_id"] or None):
        return f"the CRM owner changed to {owner or 'nobody'}"
    for rep, before in (
        (row["to_rep_id"], row["to_status"]),
        (row["from_rep_id"], row["from_status"]),
    ):
        if rep is None:
            continue
        after = book.reps[rep]["status"] if rep in book.reps else None
        if after != before:
            return _status_change(rep, before, after)
    target = book.reps.get(row["to_rep_id"])
    if target is None or not target["active"]:
        return f"{row['to_rep_id']} is not active"
    missing = book.needs.get(account["family"], set()) - _offers(target)
    if missing:
        seg, skill = sorted(missing)[0]
        need = f"segment {seg}" + (f" with skill {skill}" if skill else "")
        return f"{row['to_rep_id']} may no longer own its family's {need}"
    then, now = row["potential"], account["potential"]
    if then is not None and now is not None and abs(now - then) > margin * max(abs(then), 1e-9):
        change = (now - then) / then if then else 1.0
        return (
            f"its potential changed {money(then)} → {money(now)} ({percent(change, signed=True)})"
        )
    return None


def _family_clashes(
    carried: pl.DataFrame, book: _Book, locks: pl.DataFrame | None
) -> dict[str, str]:
    """Account -> why, for carried proposals whose family another lock holds with another rep
    (a decision lock, or a CRM lock on a family member): a family is never split."""
    held: dict[str, set[str]] = {}  # family -> reps something else holds it with
    for a in book.accounts.values():
        rep = book.reps.get(a["current_rep_id"] or "")
        if a["locked"] and rep is not None and rep["active"]:
            held.setdefault(a["family"], set()).add(rep["rep_id"])
    own: dict[str, tuple[str, str]] = {}  # account -> (source, rep) of its own lock
    if locks is not None:
        for aid, rep, source in locks.select("account_id", "rep_id", "source").iter_rows():
            if aid in book.accounts and rep:
                held.setdefault(book.accounts[aid]["family"], set()).add(rep)
                own[aid] = (source, rep)
    targets: dict[str, set[str]] = {}
    for aid, rep in carried.select("account_id", "to_rep_id").iter_rows():
        targets.setdefault(book.accounts[aid]["family"], set()).add(rep)
    out = {}
    for aid, rep in carried.select("account_id", "to_rep_id").iter_rows():
        fam = book.accounts[aid]["family"]
        others = (held.get(fam, set()) | targets[fam]) - {rep}
        if aid in own and own[aid][1] != rep:
            source, other = own[aid]
            what = "a pin" if source == "pin" else f"a change {source} since"
            out[aid] = f"{what} holds it with {other}"
        elif others:
            out[aid] = f"its family is now held with {', '.join(sorted(others))}"
    return out


def with_carried_reasons(plan: pl.DataFrame, carry: CarryOver) -> pl.DataFrame:
    """Plan rows of carried accounts keep the reason they were first proposed for (the
    optimizer only saw a lock: ``locked: stays with ...``)."""
    if carry.carried.is_empty():
        return plan
    kept = carry.carried.select("account_id", "to_rep_id", _code="reason_code", _reason="reason")
    joined = plan.join(kept, on="account_id", how="left")
    same = pl.col("changed") & (pl.col("rep_id") == pl.col("to_rep_id"))
    return joined.with_columns(
        reason_code=pl.when(same).then("_code").otherwise("reason_code"),
        reason=pl.when(same).then("_reason").otherwise("reason"),
    ).select(plan.columns)


def carry_metrics(plan: pl.DataFrame, carry: CarryOver) -> dict[str, int]:
    """``proposals_carried`` (same target as before), ``proposals_revised`` (grounds changed,
    planned afresh) and ``flip_flops``: carried accounts whose plan row names another rep
    although nothing they rest on changed."""
    rows = plan.select("account_id", "rep_id", "changed")
    carried = carry.carried.join(rows, on="account_id", how="left")
    kept = carried.filter(pl.col("changed") & (pl.col("rep_id") == pl.col("to_rep_id"))).height
    revised = carry.revised.join(rows.filter(pl.col("changed")), on="account_id").height
    return {
        "proposals_carried": kept,
        "proposals_revised": revised,
        "flip_flops": carried.height - kept,
    }


def continue_proposals(proposals: pl.DataFrame, carry: CarryOver) -> pl.DataFrame:
    """This pass's proposals where a carried one continues under its first id and date, and
    re-proposed ones say what changed (``revised_because``)."""
    if proposals.is_empty():
        return proposals
    carried = carry.carried.select(
        "account_id", "to_rep_id", _pid="proposal_id", _first="first_proposed_on"
    )
    revised = carry.revised.select(
        "account_id", _was_pid="proposal_id", _was_to="to_rep_id", _why="why"
    )
    out = proposals.join(carried, on=["account_id", "to_rep_id"], how="left").join(
        revised, on="account_id", how="left"
    )
    target_changed = pl.col("_was_to") != pl.col("to_rep_id")
    return out.with_columns(
        proposal_id=pl.coalesce("_pid", "proposal_id"),
        first_proposed_on=pl.coalesce("_first", "first_proposed_on"),
        revised_because=pl.when(pl.col("_why").is_not_null()).then(
            pl.format(
                "{}{}; was {} to {}",
                pl.when(target_changed).then(pl.lit("target changed: ")).otherwise(pl.lit("")),
                "_why",
                "_was_pid",
                "_was_to",
            )
        ),
    ).select(proposals.columns)
