"""Time the sample generator at the size the issue asks for: 100k accounts, 300 reps, 1 month;
and measure the team's utilisation of the book it writes.

Run from the project root::

    .venv/bin/python -m benchmarks.bench_sample [--accounts N --reps M --months K --out DIR]
        [--as-of YYYY-MM-DD] [--utilisation-only DIR]

Prints rows per file, wall-clock seconds (geography loading included: a cold process) and the
last snapshot's team utilisation: total workload hours over the available reps' capacity hours,
by the project's own rules (``territory_ops.scoring.workload`` on each account's segment and
open opportunities, ``territory_ops.capacity.rep_capacity`` on the users and their deals),
whitespace told apart as the rule does (no activity in a year, no open deal, no win in three),
read straight from the landing files (before de-duplication, which merges ~1.5% of accounts).
``--utilisation-only DIR`` measures an existing landing folder without generating.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from territory_ops.capacity.capacity import AVAILABLE_STATUSES, rep_capacity
from territory_ops.dbt_vars import dbt_var
from territory_ops.extracts.sample import generate_sample
from territory_ops.scoring.config import WorkloadConfig
from territory_ops.scoring.workload import workload_hours


@dataclass(frozen=True)
class Utilisation:
    snapshot: str
    workload_hours: float
    capacity_hours: float
    available_reps: int
    accounts: int
    in_coverage: int  # accounts the workload rule plans at full cadence (not whitespace)

    @property
    def share(self) -> float:
        return self.workload_hours / max(self.capacity_hours, 1e-9)


def team_utilisation(landing: Path) -> Utilisation:
    """The last snapshot's workload over its available reps' capacity."""
    snap = max(p for p in landing.iterdir() if p.is_dir() and p.name[:1].isdigit())
    as_of = date.fromisoformat(snap.name)
    accounts = pl.read_csv(snap / "Account.csv", infer_schema=False)
    opps = pl.read_csv(snap / "Opportunity.csv", infer_schema=False)
    users = pl.read_csv(snap / "User.csv", infer_schema=False)
    enterprise = float(dbt_var("enterprise_min_employees"))
    mid_market = float(dbt_var("mid_market_min_employees"))
    employees = pl.col("NumberOfEmployees").cast(pl.Float64)
    open_deals = (
        opps.filter(pl.col("IsClosed") == "false")
        .group_by("AccountId")
        .agg(open_opportunity_count=pl.len())
        .rename({"AccountId": "account_id"})
    )
    close = pl.col("CloseDate").str.to_date()
    wins = (
        opps.filter((pl.col("IsWon") == "true") & (close > pl.lit(as_of).dt.offset_by("-3y")))
        .group_by("AccountId")
        .agg(won_count_3y=pl.len())
        .rename({"AccountId": "account_id"})
    )
    books = accounts.select(
        account_id="Id",
        segment=pl.when(employees >= enterprise)
        .then(pl.lit("enterprise"))
        .when(employees >= mid_market)
        .then(pl.lit("mid_market"))
        .otherwise(pl.lit("smb")),
        last_activity_date=pl.col("LastActivityDate").str.to_date(strict=False),
        snapshot_date=pl.lit(as_of),
    )
    books = books.join(open_deals, on="account_id", how="left").join(
        wins, on="account_id", how="left"
    )
    hours = workload_hours(books, WorkloadConfig())
    work = float(hours["workload_hours"].sum())
    stamp = pl.col("CreatedDate").str.to_datetime(time_zone=None, strict=False)
    capacity = rep_capacity(
        users.select(
            user_id="Id",
            sales_role="Sales_Role__c",
            is_active=pl.col("IsActive") == "true",
            segments="Segment__c",
            planned_capacity_hours=pl.col("Capacity_Hours__c").cast(pl.Float64),
            leave_until=pl.col("Leave_Until__c").str.to_date(),
            created_at=stamp,
            snapshot_date=pl.lit(as_of),
        ),
        opps.select(
            owner_id="OwnerId",
            amount=pl.col("Amount").cast(pl.Float64),
            close_date=pl.col("CloseDate").str.to_date(),
            is_closed=pl.col("IsClosed") == "true",
            is_won=pl.col("IsWon") == "true",
            created_at=stamp,
        ),
    ).filter(pl.col("status").is_in(AVAILABLE_STATUSES))
    return Utilisation(
        snap.name,
        work,
        float(capacity["capacity_hours"].sum()),
        capacity.height,
        books.height,
        int(hours["in_coverage"].sum()),
    )


def print_utilisation(landing: Path) -> None:
    u = team_utilisation(landing)
    work, cap, reps, n_accounts = u.workload_hours, u.capacity_hours, u.available_reps, u.accounts
    print(
        f"utilisation ({u.snapshot}): {work:,.0f} h of workload on {cap:,.0f} h of {reps} "
        f"available reps = {u.share:.1%}; {work / n_accounts:.1f} h per account, "
        f"{cap / max(reps, 1):,.0f} h per rep; {u.in_coverage / n_accounts:.1%} of accounts in "
        f"coverage ({u.in_coverage / max(reps, 1):,.0f} per rep); "
        f"90% needs {work / 0.9 / max(reps, 1):,.0f} h per rep"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument("--months", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 9, 30))
    parser.add_argument("--out", type=Path, default=None, help="keep the files here")
    parser.add_argument("--utilisation-only", type=Path, default=None, metavar="DIR")
    args = parser.parse_args()
    if args.utilisation_only is not None:
        print_utilisation(args.utilisation_only)
        return
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch) / "landing"
        start = time.perf_counter()
        summary = generate_sample(
            out, args.accounts, args.reps, args.months, args.seed, as_of=args.as_of
        )
        seconds = time.perf_counter() - start
        print(
            f"sample: {args.accounts:,} accounts, {args.reps} reps, {args.months} month(s), "
            f"seed {args.seed}, {os.cpu_count()} CPU(s)"
        )
        for name, rows in summary.rows_per_file().items():
            print(f"  {name:<20} {rows:>12,} rows")
        print(f"  {'total':<20} {sum(summary.rows_per_file().values()):>12,} rows")
        print(f"seconds: {seconds:.1f}")
        print_utilisation(out)


if __name__ == "__main__":
    main()
