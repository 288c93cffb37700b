"""``territory-ops optimize | make-instance``: the optimizer on canonical tables, and the
benchmark books it is measured on (territory_ops.optimize)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

commands = typer.Typer()


@commands.command()
def optimize(
    accounts: Path = typer.Option(..., "--accounts", help="accounts table (CSV or Parquet)"),
    reps: Path = typer.Option(..., "--reps", help="reps table (CSV or Parquet)"),
    out: Path = typer.Option(..., "--out", help="plan CSV to write"),
    mode: Literal["full", "micro"] = typer.Option(
        "full", "--mode", help="full (quarterly) or micro (monthly)"
    ),
    tolerance: float = typer.Option(0.05, "--tolerance", help="balance band: +- share of target"),
    max_moves: int | None = typer.Option(
        None, "--max-moves", help="micro: max moves of accounts whose owner is active (default 0)"
    ),
    time_limit: float | None = typer.Option(
        None,
        "--time-limit",
        help="wall-clock budget for the whole run, seconds (default: fits the book, printed)",
    ),
    seed: int = typer.Option(0, "--seed", help="random seed (same input + seed = same plan)"),
    travel_matrix: Path | None = typer.Option(
        None, "--travel-matrix", help="sparse account_id,rep_id,minutes"
    ),
    candidates: int | None = typer.Option(
        None, "--candidates", help="eligible reps kept per family"
    ),
    max_accounts_per_rep: int | None = typer.Option(
        None, "--max-accounts-per-rep", help="cap on accounts per rep (on top of capacity)"
    ),
    core_limit: int | None = typer.Option(
        None, "--core-limit", help="big books: families in the exact model (default 25,000)"
    ),
    strict: bool = typer.Option(
        False,
        "--strict",
        help="fail on a capacity shortfall or a move budget too small for inherited violations",
    ),
) -> None:
    """Assign every account to one active eligible rep: hard rules, band, travel, disruption.

    Always writes a plan unless a rule no plan can keep is broken (or --strict). A capacity
    shortfall, inherited overloads and a time-out are reported on stderr and in the metrics.
    Writes the plan CSV and prints one JSON metrics object as the last line of stdout.
    """
    import json
    import sys
    import time

    from territory_ops.csv_safe import write_csv_safe
    from territory_ops.optimize import HardRuleInfeasible, InputError, OptimizeOptions
    from territory_ops.optimize import optimize as run_optimize

    t0 = time.perf_counter()

    def progress(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:6.1f}s] {msg}", file=sys.stderr, flush=True)

    options = OptimizeOptions(
        mode=mode,
        tolerance=tolerance,
        max_moves=max_moves,
        time_limit=time_limit,
        seed=seed,
        candidates=candidates,
        max_accounts_per_rep=max_accounts_per_rep,
        progress=progress,
        strict=strict,
        **({"core_limit": core_limit} if core_limit else {}),
    )
    try:
        result = run_optimize(accounts, reps, options, travel_matrix)
    except (InputError, HardRuleInfeasible, ValueError, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(code=2) from exc
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    m = result.metrics
    short = m.get("capacity_shortfall")
    if short:
        if short.get("summary"):
            print(short["summary"][0].upper() + short["summary"][1:], file=sys.stderr)
        more = ", ".join(x["text"] for x in short["more_reps_by_segment"])
        print(
            f"capacity shortfall: {short['total_hours']:,.0f} h over capacity_hours on "
            f"{len(short['reps'])} rep(s), worst at {100 * short['max_utilisation']:.0f}% ({more})",
            file=sys.stderr,
        )
    for row in m.get("inherited_violation_details") or []:
        print(f"inherited: {row['text']}", file=sys.stderr)
    write_csv_safe(result.plan, out)
    result.metrics["seconds"] = round(time.perf_counter() - t0, 2)
    print(json.dumps(result.metrics, default=float))


@commands.command("make-instance")
def make_instance(
    accounts: int = typer.Option(5000, "--accounts", help="number of accounts"),
    reps: int = typer.Option(40, "--reps", help="number of reps"),
    seed: int = typer.Option(0, "--seed"),
    out: Path = typer.Option(..., "--out", help="folder for accounts.csv and reps.csv"),
    messy: bool = typer.Option(
        False, "--messy", help="the mess real books carry (defaults of the options below)"
    ),
    unassigned_share: float | None = typer.Option(
        None, "--unassigned-share", help="share of accounts with no owner"
    ),
    departed_share: float | None = typer.Option(
        None, "--departed-share", help="share of reps who left and still own their accounts"
    ),
    overloaded_share: float | None = typer.Option(
        None, "--overloaded-share", help="share of reps handed accounts beyond capacity"
    ),
    departed_lock_share: float | None = typer.Option(
        None, "--departed-lock-share", help="share of the departed reps' accounts locked"
    ),
    capacity_factor: float | None = typer.Option(
        None, "--capacity-factor", help="scale every capacity (< 1: team short of capacity)"
    ),
) -> None:
    """Write a benchmark book of the canonical shape (real cities, heavy tails, families).

    --messy and the options after it add what real CRM books carry: unassigned accounts,
    departed reps with their accounts and locks, overloaded reps, a team short of capacity.
    """
    from territory_ops.optimize.synthetic_books import Mess, write_instance

    mess = Mess.messy() if messy else Mess()
    mess = mess.override(
        unassigned_share=unassigned_share,
        departed_share=departed_share,
        overloaded_share=overloaded_share,
        departed_lock_share=departed_lock_share,
        capacity_factor=capacity_factor,
    )
    a, r = write_instance(accounts, reps, seed, out, mess=mess)
    typer.echo(f"wrote {a} and {r}")
