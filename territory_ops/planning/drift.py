"""What drifted: per rep, per account and team KPIs, against the previous snapshot.

Every flag is one row: scope (rep / account / team), flag code, subject id and name, a
sentence a RevOps lead reads as is ("R0012 (Dana Reyes) left: 143 accounts, $4.10M potential
without an owner"), and the number behind it.
"""

from __future__ import annotations

import polars as pl

from territory_ops.formatting import money, percent
from territory_ops.planning.config import DriftThresholds
from territory_ops.planning.tables import PlanningInput

FLAG_SCHEMA = {
    "snapshot_date": pl.Date,
    "scope": pl.String,
    "flag": pl.String,
    "subject_id": pl.String,
    "subject_name": pl.String,
    "detail": pl.String,
    "value": pl.Float64,
}


def _who(rep_id: str, name: str | None) -> str:
    return f"{rep_id} ({name})" if name else rep_id


def _flag(scope: str, flag: str, sid: str | None, name: str | None, detail: str, value: float):
    return {
        "scope": scope,
        "flag": flag,
        "subject_id": sid,
        "subject_name": name,
        "detail": detail,
        "value": float(value),
    }


def rep_flags(
    data: PlanningInput,
    books: pl.DataFrame,
    previous_reps: pl.DataFrame | None,
    thresholds: DriftThresholds,
) -> list[dict]:
    """Status changes, potential vs target, workload vs capacity (today's CRM books)."""
    out: list[dict] = []
    prev = (
        {r["rep_id"]: r for r in previous_reps.iter_rows(named=True)}
        if previous_reps is not None
        else None
    )
    for r in books.iter_rows(named=True):
        rid, name, status = r["rep_id"], r.get("rep_name"), r.get("status")
        who = _who(rid, name)
        before = prev.get(rid) if prev is not None else None
        book = f"{r['accounts']} accounts, {money(r['potential'])} potential"
        was = before["status"] if before else None
        if status == "departed" and was != "departed" and (r["accounts"] or before):
            out.append(
                _flag(
                    "rep", "left", rid, name, f"{who} left: {book} without an owner", r["potential"]
                )
            )
        elif status == "on_leave" and was != "on_leave":
            until = r.get("leave_until")
            out.append(
                _flag(
                    "rep",
                    "on_leave",
                    rid,
                    name,
                    f"{who} on leave until {until}: {book} need a cover",
                    r["potential"],
                )
            )
        elif status in ("active", "ramping") and was == "on_leave":
            out.append(
                _flag(
                    "rep",
                    "back_from_leave",
                    rid,
                    name,
                    f"{who} is back from leave ({book})",
                    r["potential"],
                )
            )
        elif prev is not None and before is None:
            out.append(
                _flag("rep", "hired", rid, name, f"{who} joined ({status}): {book}", r["potential"])
            )
        if not r["active"]:
            continue
        ratio = r["pct_of_target"]
        if ratio is not None and abs(ratio - 1) > thresholds.rep_potential_pct:
            side = "over" if ratio > 1 else "under"
            out.append(
                _flag(
                    "rep",
                    f"potential_{side}_target",
                    rid,
                    name,
                    f"{who} at {percent(ratio)} of target potential "
                    f"({money(r['potential'])} vs {money(r['target'])})",
                    ratio,
                )
            )
        util = r["utilisation"]
        if util is not None and util > thresholds.rep_workload_pct:
            out.append(
                _flag(
                    "rep",
                    "over_capacity",
                    rid,
                    name,
                    f"{who} at {percent(util)} of capacity "
                    f"({r['workload_hours']:,.0f} of {r['capacity_hours']:,.0f} h)",
                    util,
                )
            )
    return out


def account_flags(
    data: PlanningInput,
    previous_accounts: pl.DataFrame | None,
    thresholds: DriftThresholds,
) -> list[dict]:
    """Potential changes, new, unassigned, owner inactive, merged as a duplicate."""
    out: list[dict] = []
    reps = data.reps.select("rep_id", "active", "status")
    acc = data.accounts.join(reps, left_on="current_rep_id", right_on="rep_id", how="left")
    for a in acc.iter_rows(named=True):
        aid, name, owner = a["account_id"], a.get("account_name"), a["current_rep_id"]
        if not owner:
            out.append(
                _flag(
                    "account",
                    "unassigned",
                    aid,
                    name,
                    f"{aid} ({name}) has no owner ({money(a['potential'])} potential)",
                    a["potential"],
                )
            )
        elif not a["active"]:
            why = a["status"] or "not a rep"
            out.append(
                _flag(
                    "account",
                    "owner_inactive",
                    aid,
                    name,
                    f"{aid} ({name}): owner {owner} is {why}",
                    a["potential"],
                )
            )
    if previous_accounts is None:
        return out
    prev = previous_accounts.select("account_id", prev_potential="potential")
    joined = data.accounts.join(prev, on="account_id", how="left")
    for a in joined.iter_rows(named=True):
        aid, name = a["account_id"], a.get("account_name")
        if a["prev_potential"] is None:
            out.append(
                _flag(
                    "account",
                    "new",
                    aid,
                    name,
                    f"{aid} ({name}) is new ({money(a['potential'])} potential)",
                    a["potential"],
                )
            )
            continue
        before = a["prev_potential"]
        if before > 0:
            change = a["potential"] / before - 1
            if abs(change) > thresholds.account_potential_pct:
                verb = "grew" if change > 0 else "shrank"
                out.append(
                    _flag(
                        "account",
                        f"potential_{'grew' if change > 0 else 'shrank'}",
                        aid,
                        name,
                        f"{aid} ({name}) potential {verb} {money(before)} → "
                        f"{money(a['potential'])} ({percent(change, signed=True)})",
                        change,
                    )
                )
    gone = previous_accounts.join(data.accounts.select("account_id"), on="account_id", how="anti")
    merged = dict(data.merged.iter_rows()) if data.merged.height else {}
    for a in gone.iter_rows(named=True):
        aid, name = a["account_id"], a.get("account_name")
        into = merged.get(aid)
        detail = (
            f"{aid} ({name}) merged as a duplicate into {into}"
            if into
            else f"{aid} ({name}) is no longer in the CRM export"
        )
        out.append(
            _flag(
                "account", "merged" if into else "removed", aid, name, detail, a["potential"] or 0.0
            )
        )
    return out


def team_flags(kpis: dict[str, float], thresholds: DriftThresholds, tolerance: float) -> list[dict]:
    out = []
    checks = (
        ("potential_cv", thresholds.potential_cv_target, "potential CV"),
        ("workload_cv", thresholds.workload_cv_target, "workload CV"),
    )
    for key, target, label in checks:
        if kpis[key] > target:
            out.append(
                _flag(
                    "team",
                    f"{key}_above_target",
                    None,
                    None,
                    f"{label} {kpis[key]:.3f} above target {target:.2f}",
                    kpis[key],
                )
            )
    if kpis["share_in_band"] < 1:
        out.append(
            _flag(
                "team",
                "reps_out_of_band",
                None,
                None,
                f"{percent(kpis['share_in_band'])} of active reps within ±{percent(tolerance)} "
                f"of target ({kpis['reps_out_of_band']} out of band)",
                kpis["share_in_band"],
            )
        )
    if kpis["active_owned_share"] < 1:
        out.append(
            _flag(
                "team",
                "potential_without_active_owner",
                None,
                None,
                f"{percent(1 - kpis['active_owned_share'], 1)} of potential has no active owner "
                f"({kpis['unowned_accounts']} accounts)",
                kpis["active_owned_share"],
            )
        )
    return out


def drift_flags(
    data: PlanningInput,
    books: pl.DataFrame,
    kpis: dict[str, float],
    previous: tuple[pl.DataFrame, pl.DataFrame] | None,
    thresholds: DriftThresholds,
    tolerance: float,
) -> pl.DataFrame:
    """All flags of a snapshot as one frame (FLAG_SCHEMA)."""
    prev_reps, prev_accounts = previous if previous else (None, None)
    rows = (
        rep_flags(data, books, prev_reps, thresholds)
        + account_flags(data, prev_accounts, thresholds)
        + team_flags(kpis, thresholds, tolerance)
    )
    frame = pl.DataFrame(
        rows, schema={k: v for k, v in FLAG_SCHEMA.items() if k != "snapshot_date"}
    )
    return frame.with_columns(snapshot_date=pl.lit(data.snapshot_date, dtype=pl.Date)).select(
        list(FLAG_SCHEMA)
    )


def summarize(flags: pl.DataFrame, scope: str, limit: int = 6) -> str:
    """One readable line per scope: the count by flag, then the first sentences."""
    mine = flags.filter(pl.col("scope") == scope)
    if mine.is_empty():
        return f"No {scope} drift."
    counts = mine.group_by("flag").len().sort(["len", "flag"], descending=[True, False])
    head = ", ".join(f"{n} {f.replace('_', ' ')}" for f, n in counts.iter_rows())
    priority = {"left": 0, "on_leave": 1, "back_from_leave": 2, "over_capacity": 3}
    ordered = mine.with_columns(
        p=pl.col("flag").replace_strict(priority, default=9, return_dtype=pl.Int64),
        mag=pl.col("value").abs(),
    ).sort(["p", "mag"], descending=[False, True])
    examples = "; ".join(ordered["detail"].head(limit).to_list())
    return f"{head}. {examples}"[:1000]


REVERTED_FLAG = "reverted_in_crm"


def reverted_flags(confirmations: pl.DataFrame, snapshot_date) -> pl.DataFrame:
    """One account flag per delivered change the snapshot shows reverted in the CRM.

    ``confirmations`` are ``plans.confirmations`` rows (territory_ops.writeback.confirm):
    the account, the owner we set and the owner the CRM shows now.
    """
    rows = []
    for r in confirmations.iter_rows(named=True):
        account = r["account_name"] or r["account_id"]
        rows.append(
            {"snapshot_date": snapshot_date}
            | _flag(
                "account",
                REVERTED_FLAG,
                r["account_id"],
                r["account_name"],
                f"reverted in CRM: {account} ({r['account_id']}) — we set "
                f"{_who(r['set_owner_id'], r['set_owner_name'])}, it now has "
                f"{_who(r['shown_owner_id'], r['shown_owner_name'])}",
                1.0,
            )
        )
    return pl.DataFrame(rows, schema=FLAG_SCHEMA)
