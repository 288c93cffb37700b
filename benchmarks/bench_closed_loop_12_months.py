"""Benchmark: twelve simulated months of the closed loop, against an annual plan and no planning.

    nice python -m benchmarks.bench_closed_loop_12_months [--accounts 3000 --reps 40 --months 12]
        [--seed 7] [--arms loop,annual,none] [--out docs/img/closed_loop_12_months.png]

A sample of ``--months`` monthly snapshots (the generator's drift: a rep leaves, one is hired
and one goes on leave every month; accounts grow, shrink and arrive) plus CRM events the
generator does not write (about a third of the reps leave in a year at any team size, each
replaced by a hire; accounts deleted, duplicates merged; with ``--acquisitions``, families
acquired by another), then three arms over the
same months, each with its own warehouse and CRM, each month through the real territory job
(the job runner the CLI uses):

* ``loop``: a full pass in month 1, a micro pass every later month; the routing policy
  approves what it may, each manager decides the rest of their team's proposals with a seeded
  policy (approve most, reject some, the rep appeals a few approvals), RevOps settles last
  month's appeals; ``territory-ops writeback --as-of <next snapshot>``; the CRM simulator
  imports the batch into the next month before it is ingested;
* ``annual``: the same full pass in month 1 approved as a whole, then only placements of new
  and orphaned accounts (refresh passes, all approved);
* ``none``: nobody acts on anything (refresh passes only to measure the book).

Per month and arm: the CRM's figures as the month's snapshot lands (reps in band, potential and
workload CV, accounts without an active owner), proposals (new / still waiting, forced /
discretionary), owner changes written back and imported, the cumulative share of accounts that
changed owner, flip-flops, deals in holdover. Prints a markdown table and writes a PNG chart.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

AS_OF = date(2026, 12, 31)
ARMS = ("loop", "annual", "none")
ARM_LABELS = {
    "loop": "Closed loop (monthly)",
    "annual": "Annual plan",
    "none": "No planning",
}
# placements of new and orphaned accounts, leave covers and hand-backs: a plan must make them
FORCED_REASONS = frozenset({"new", "orphaned", "cover", "return"})
ROWS_FILE = "rows.json"  # every month's row so far, for --combine and for a stopped run


@dataclass
class MonthRow:
    arm: str
    month: int
    snapshot: str
    pass_kind: str
    ok: bool
    seconds: float
    in_band: float | None = None  # the CRM as the month lands (before the pass)
    potential_cv: float | None = None
    workload_cv: float | None = None
    without_owner: int | None = None
    plan_without_owner: int | None = None  # accounts the published plan leaves unowned
    plan_in_band: float | None = None  # the pass's plan
    plan_potential_cv: float | None = None
    plan_out: int | None = None  # active reps outside the plan's band ...
    plan_out_proven: int | None = None  # ... of which a check proves the band out of reach
    band_moves: int | None = None  # the LP's fewest moves to its best band (micro passes)
    move_budget: int | None = None  # ... and the month's budget
    new: int = 0
    waiting: int = 0
    forced: int = 0
    discretionary: int = 0
    routed: int = 0  # approved by the routing policy before anyone looked
    approved: int = 0
    rejected: int = 0
    appealed: int = 0
    written_back: int = 0  # account owner changes written back after this month's decisions
    imported: int = 0  # owner changes the CRM imported into this month's snapshot
    gone: int = 0  # batch rows whose account was deleted or merged before the import
    changed_share: float = 0.0  # cumulative share of accounts whose owner an import changed
    discretionary_moves: int = 0  # imported this month, not forced
    flip_flops: int | None = None
    holdovers: int | None = None
    accounts: int = 0


@dataclass
class Decisions:
    approved: int = 0
    rejected: int = 0
    appealed: int = 0
    settled: int = 0
    refused: list[str] = field(default_factory=list)


# --- where the territory job, the warehouse and the write-back are reached ---------------------


def use_home(home: Path) -> None:
    """Point this process (the job runner, the CLI's warehouse) at one arm's home."""
    os.environ["TERRITORY_OPS_HOME"] = str(home)
    os.environ["TERRITORY_OPS_DUCKDB"] = str(home / "territory.duckdb")
    os.environ["DAGSTER_HOME"] = str(home / "dagster_home")


def run_pass(landing: Path, day: date, kind: str, time_limit: float | None = None):
    """The territory job over the snapshots up to ``day``, exactly as ``territory-ops run
    --landing L --pass KIND --as-of DAY`` runs it."""
    from territory_ops.cli.jobs import find_job_runner
    from territory_ops.planning.landing import landing_as_of
    from territory_ops.settings import Settings, disable_telemetry

    disable_telemetry()
    settings = Settings.from_env()
    view = landing_as_of(landing, day, settings.home / "as_of")
    overrides: dict = {"pass_kind": kind}
    if time_limit is not None:
        overrides["time_limit"] = time_limit
    return find_job_runner()(view, settings, overrides)


def cli(args: list[str]) -> int:
    """One ``territory-ops`` command in this process; its exit code."""
    import typer

    from territory_ops.cli.app import app

    try:
        code = app(args, standalone_mode=False)
    except typer.Exit as done:
        return int(done.exit_code)
    return int(code or 0)


def write_back(out: Path, as_of: date) -> list[Path]:
    """``territory-ops writeback --out OUT --as-of DATE``; the batch folders it wrote."""
    from territory_ops.extracts.sample.crm_simulator import BATCH_NAME

    out.mkdir(parents=True, exist_ok=True)
    before = {p.name for p in out.iterdir()}
    code = cli(["writeback", "--out", str(out), "--as-of", as_of.isoformat()])
    if code != 0:
        raise RuntimeError(f"territory-ops writeback exited with {code}")
    return sorted(
        p for p in out.iterdir() if p.name not in before and p.is_dir() and BATCH_NAME.match(p.name)
    )


def connect():
    import duckdb

    from territory_ops.settings import Settings

    return duckdb.connect(str(Settings.from_env().duckdb_path))


# --- decisions -----------------------------------------------------------------------------------


def _decide_each(con, ids: list[str], action: str, by: str, out: Decisions) -> int:
    """Decide ``ids`` together; if the batch is refused, one by one, skipping refusals."""
    from territory_ops.writeback.decisions import DecisionRefused, decide

    if not ids:
        return 0
    try:
        return len(decide(con, ids, action, by=by, channel="cli"))
    except DecisionRefused:
        done = 0
        for pid in ids:
            try:
                done += len(decide(con, [pid], action, by=by, channel="cli"))
            except DecisionRefused as err:
                out.refused.extend(f"{p}: {why}" for p, why in err.reasons.items())
        return done


_ID = re.compile(r"\b[\w-]*\d[\w-]{5,}\b")  # proposal, account and rep ids in a reason


def refusal_kinds(refused: list[str]) -> list[tuple[str, int]]:
    """Refused decisions (``"<proposal id>: <why>"``) grouped by why, ids left out, each
    proposal once (a move between two teams is tried by both managers); most frequent first."""
    why = dict(r.split(": ", 1) if ": " in r else ("", r) for r in refused)
    kinds = Counter(_ID.sub("…", text) for text in why.values())
    return sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))


def _teams(con) -> list[str]:
    from territory_ops.notify.pass_digests import run_roster

    roster = run_roster(con)
    return sorted(e for e in roster["manager_email"].unique().to_list() if e)


def _open_for(con, manager: str) -> list[str]:
    from territory_ops.notify.pass_digests import run_roster
    from territory_ops.writeback.decisions import open_proposal_ids_for_manager

    return open_proposal_ids_for_manager(con, run_roster(con), manager)


def approve_all_per_manager(con, month: int) -> Decisions:
    """Each manager approves every open proposal of their team ("approve all for my team")."""
    out = Decisions()
    for manager in _teams(con):
        out.approved += _decide_each(con, _open_for(con, manager), "approve", manager, out)
    return out


def seeded_managers(
    seed: int, approve: float = 0.85, reject: float = 0.10, appeal: float = 0.04
) -> Callable[..., Decisions]:
    """Managers approve most and reject some of their team's proposals; the losing rep appeals a
    few approvals; RevOps settles the appeals waiting from earlier months (half each way).
    Proposals left neither approved nor rejected wait for the next month."""

    def policy(con, month: int) -> Decisions:
        from territory_ops.writeback.decisions import open_appeals

        rng = np.random.default_rng([seed, month])
        out = Decisions()
        waiting = [a["proposal_id"] for a in open_appeals(con)]
        settle = rng.random(len(waiting)) < 0.5
        out.settled += _decide_each(
            con, [p for p, s in zip(waiting, settle, strict=True) if s], "approve", "revops", out
        )
        out.settled += _decide_each(
            con, [p for p, s in zip(waiting, settle, strict=True) if not s], "reject", "revops", out
        )
        for manager in _teams(con):
            ids = _open_for(con, manager)
            draw = rng.random(len(ids))
            yes = [p for p, d in zip(ids, draw, strict=True) if d < approve]
            no = [p for p, d in zip(ids, draw, strict=True) if approve <= d < approve + reject]
            out.approved += _decide_each(con, yes, "approve", manager, out)
            out.rejected += _decide_each(con, no, "reject", manager, out)
            contested = [p for p in yes if rng.random() < appeal / approve]
            out.appealed += _decide_each(con, contested, "appeal", "rep", out)
        return out

    return policy


def routed_by_policy(con, run_id: str) -> int:
    """Proposals of ``run_id`` already approved when the pass ended: the routing policy's result
    (automatic approvals are audit-log rows the policy made). Managers decide what is left."""
    row = con.execute(
        "select count(*) from plans.proposals where run_id = ? and status = 'approved'", [run_id]
    ).fetchone()
    return int(row[0]) if row else 0


# --- what a month did ----------------------------------------------------------------------------


def _earlier_undecided(con, run_id: str, snapshot: date) -> pl.DataFrame:
    from territory_ops.warehouse import query_frame

    return query_frame(
        con,
        "select proposal_id, account_id, to_rep_id from plans.proposals "
        "where run_id <> ? and snapshot_date < ? and status in ('open', 'superseded')",
        [run_id, snapshot],
    )


def proposal_figures(con, run_id: str, snapshot: date) -> dict[str, int | None]:
    """New / still waiting, forced / discretionary, flip-flops of the pass ``run_id``."""
    from territory_ops.warehouse import query_frame

    mine = query_frame(
        con,
        "select proposal_id, account_id, to_rep_id, reason_code, status from plans.proposals "
        "where run_id = ? or (status = 'open' and snapshot_date < ?)",
        [run_id, snapshot],
    )
    earlier = _earlier_undecided(con, run_id, snapshot)
    same = mine.join(earlier.select("account_id", "to_rep_id"), on=["account_id", "to_rep_id"])
    continued = set(same["proposal_id"].to_list()) | (
        set(mine["proposal_id"].to_list()) & set(earlier["proposal_id"].to_list())
    )
    retargeted = mine.join(
        earlier.select("account_id", pl.col("to_rep_id").alias("earlier_to")), on="account_id"
    ).filter(pl.col("to_rep_id") != pl.col("earlier_to"))
    forced = mine.filter(pl.col("reason_code").is_in(list(FORCED_REASONS))).height
    return {
        "new": mine.height - len(continued),
        "waiting": len(continued),
        "forced": forced,
        "discretionary": mine.height - forced,
        "retargeted": retargeted["account_id"].n_unique(),
    }


def deals_in_holdover(con, as_of: date) -> int | None:
    """Open deals a moved account's previous owner still holds on ``as_of`` (the holdover
    report of the proposed_changes metadata); None where the warehouse keeps no holdovers."""
    try:
        from territory_ops.planning.due import holdover_report
    except ImportError:  # a write-back without a holdover policy
        return None
    return holdover_report(con, as_of).height


def _imported_ids(batches: list[Path]) -> tuple[set[str], int]:
    """Account ids a batch changed, and how many of them were discretionary (change log)."""
    ids: set[str] = set()
    discretionary = 0
    for batch in batches:
        accounts = pl.read_csv(batch / "Account.csv", infer_schema=False)
        ids |= set(accounts["Id"].to_list())
        log = batch / "change_log.csv"
        if log.is_file():
            frame = pl.read_csv(log, infer_schema=False)
            if "object" in frame.columns:  # the log lists deals beside their account
                frame = frame.filter(pl.col("object") == "Account")
            if "reason_code" in frame.columns:
                discretionary += frame.filter(
                    ~pl.col("reason_code").is_in(list(FORCED_REASONS))
                ).height
    return ids, discretionary


# --- one arm -------------------------------------------------------------------------------------


@dataclass
class Arm:
    name: str
    landing: Path
    home: Path
    writeback: Path
    first_pass: str  # month 1
    later_pass: str  # months 2..
    decide: Callable[..., Decisions] | None  # None: nobody acts
    time_limit: float | None = None
    changed: set[str] = field(default_factory=set)
    pending: list[Path] = field(default_factory=list)  # written back, not yet imported


def run_month(arm: Arm, month: int, snapshots: list[date]) -> MonthRow:
    """Import what was written back, run the month's pass, decide, write back."""
    from territory_ops.extracts.sample.crm_simulator import apply_writeback
    from territory_ops.optimize.report import reason_is_proven
    from territory_ops.planning import store

    use_home(arm.home)
    day = snapshots[month - 1]
    started = time.perf_counter()
    imported, gone, discretionary_moves = 0, 0, 0
    if month > 1 and arm.decide is not None:
        result = apply_writeback(arm.writeback, arm.landing / day.isoformat())
        imported, gone = result.objects["Account.csv"].applied, result.gone
        ids, discretionary_moves = _imported_ids(arm.pending)
        arm.changed |= ids - set(result.objects["Account.csv"].gone)
        arm.pending = []
    kind = arm.first_pass if month == 1 else arm.later_pass
    outcome = run_pass(arm.landing, day, kind, arm.time_limit)
    row = MonthRow(arm.name, month, day.isoformat(), kind, outcome.success, 0.0)
    row.imported, row.gone, row.discretionary_moves = imported, gone, discretionary_moves
    with connect() as con:
        record = store.run_record(con, outcome.run_id) if outcome.success else None
        if record is not None:
            before, after = record["kpis_before"] or {}, record["kpis_after"] or {}
            metrics = record["metrics"] or {}
            row.in_band = before.get("share_in_band")
            row.potential_cv = before.get("potential_cv")
            row.workload_cv = before.get("workload_cv")
            row.without_owner = before.get("unowned_accounts")
            row.plan_in_band = after.get("share_in_band")
            row.plan_without_owner = after.get("unowned_accounts")
            row.plan_potential_cv = after.get("potential_cv")
            oob = metrics.get("out_of_band_reps") or []
            row.plan_out = len(oob)
            row.plan_out_proven = sum(reason_is_proven(str(x.get("reason", ""))) for x in oob)
            row.band_moves = metrics.get("lp_band_moves")
            row.move_budget = metrics.get("max_moves")
            row.accounts = int(record["accounts"] or 0)
            figures = proposal_figures(con, outcome.run_id, day)
            row.new, row.waiting = int(figures["new"] or 0), int(figures["waiting"] or 0)
            row.forced, row.discretionary = figures["forced"] or 0, figures["discretionary"] or 0
            flips = metrics.get("flip_flops")
            row.flip_flops = int(flips) if flips is not None else figures["retargeted"]
            row.routed = routed_by_policy(con, outcome.run_id)
            if arm.decide is not None:
                made = arm.decide(con, month)
                row.approved, row.rejected = made.approved + made.settled, made.rejected
                row.appealed = made.appealed
    if arm.decide is not None and month < len(snapshots):
        arm.pending = write_back(arm.writeback, snapshots[month])
        row.written_back = sum(
            pl.read_csv(b / "Account.csv", infer_schema=False).height for b in arm.pending
        )
    with connect() as con:
        row.holdovers = deals_in_holdover(con, day)
    row.changed_share = len(arm.changed) / row.accounts if row.accounts else 0.0
    row.seconds = time.perf_counter() - started
    return row


# --- the sample's months -------------------------------------------------------------------------


def prepare_sample(
    work: Path, accounts: int, reps: int, months: int, seed: int, acquisitions: float = 0.0
) -> Path:
    """The generated months plus the CRM events the generator does not write."""
    from territory_ops.extracts.sample import generate_sample
    from territory_ops.extracts.sample.crm_events import apply_crm_events

    source = work / "generated"
    generate_sample(source, accounts=accounts, reps=reps, months=months, seed=seed, as_of=AS_OF)
    apply_crm_events(source, seed=seed, acquisitions_per_month=acquisitions)
    return source


def make_arms(
    work: Path, source: Path, arms: tuple[str, ...], seed: int, time_limit: float | None
) -> list[Arm]:
    out = []
    for name in arms:
        landing = work / name / "landing"
        shutil.copytree(source, landing, ignore=shutil.ignore_patterns("_truth"))
        decide = {
            "loop": seeded_managers(seed),
            "annual": approve_all_per_manager,
            "none": None,
        }[name]
        first = "full" if name != "none" else "refresh"
        later = "micro" if name == "loop" else "refresh"
        out.append(
            Arm(
                name,
                landing,
                work / name / "home",
                work / name / "writeback",
                first,
                later,
                decide,
                time_limit,
            )
        )
    return out


def run_benchmark(
    work: Path,
    *,
    accounts: int,
    reps: int,
    months: int,
    seed: int,
    arms: tuple[str, ...] = ARMS,
    time_limit: float | None = None,
    acquisitions: float = 0.0,
    progress: Callable[[MonthRow], None] | None = None,
) -> list[MonthRow]:
    source = prepare_sample(work, accounts, reps, months, seed, acquisitions)
    snapshots = sorted(date.fromisoformat(p.name) for p in source.glob("20*-*-*"))
    rows: list[MonthRow] = []
    for arm in make_arms(work, source, arms, seed, time_limit):
        for month in range(1, len(snapshots) + 1):
            row = run_month(arm, month, snapshots)
            rows.append(row)
            if progress is not None:
                progress(row)
    return rows


# --- report --------------------------------------------------------------------------------------


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.0f}%"


def _num(v: float | int | None, fmt: str = "{:.3f}") -> str:
    return "n/a" if v is None else fmt.format(v)


def _out(r: MonthRow) -> str:
    if r.plan_out is None or r.plan_out_proven is None:
        return "n/a"
    return f"{r.plan_out_proven} / {r.plan_out - r.plan_out_proven}"


def _need(r: MonthRow) -> str:
    if r.band_moves is None or r.move_budget is None:
        return "n/a"
    return f"{r.band_moves:,} / {r.move_budget:,}"


def markdown(rows: list[MonthRow]) -> str:
    head = (
        "| arm | month | pass | reps in band: CRM / plan | plan's reps out: proven / not "
        "| moves the band needs (LP) / budget | potential CV: CRM / plan | workload "
        "CV | without active owner: CRM / plan | proposals new / waiting | forced / "
        "discretionary | routed / approved / rejected / appealed | owner changes imported "
        "(discretionary) | changed "
        "owner so far | flip-flops | deals in holdover | run |"
    )
    lines = [head, "|---|---:|---|" + "---:|" * 14]
    for r in rows:
        lines.append(
            f"| {r.arm} | {r.month} | {r.pass_kind} | {_pct(r.in_band)} / "
            f"{_pct(r.plan_in_band)} | {_out(r)} | {_need(r)} | "
            f"{_num(r.potential_cv)} / {_num(r.plan_potential_cv)} | "
            f"{_num(r.workload_cv)} | {_num(r.without_owner, '{:,}')} / "
            f"{_num(r.plan_without_owner, '{:,}')} | "
            f"{r.new:,} / {r.waiting:,} | {r.forced:,} / {r.discretionary:,} | "
            f"{r.routed:,} / {r.approved:,} / {r.rejected:,} / {r.appealed:,} | "
            f"{r.imported:,} ({r.discretionary_moves:,}) | {_pct(r.changed_share)} | "
            f"{_num(r.flip_flops, '{:,}')} | {_num(r.holdovers, '{:,}')} | "
            f"{r.seconds:,.0f} s{'' if r.ok else ' FAILED'} |"
        )
    return "\n".join(lines)


def chart(rows: list[MonthRow], path: Path, title: str) -> Path:
    """Reps in band and potential CV per month, one line per arm (the CRM as each month lands)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"loop": "#1b7837", "annual": "#e08214", "none": "#8c8c8c"}
    fig, (band_ax, cv_ax) = plt.subplots(1, 2, figsize=(11, 4.6), dpi=110)
    for arm in dict.fromkeys(r.arm for r in rows):
        mine = [r for r in rows if r.arm == arm and r.in_band is not None]
        months = [r.month for r in mine]
        style = {"color": colors.get(arm), "marker": "o", "linewidth": 2.2, "markersize": 4}
        band_ax.plot(months, [100 * (r.in_band or 0) for r in mine], label=ARM_LABELS[arm], **style)
        cv_ax.plot(months, [r.potential_cv or 0 for r in mine], label=ARM_LABELS[arm], **style)
        if arm != "none":  # the plan each pass published (nobody acts on the none arm's)
            plan = {"color": colors.get(arm), "linestyle": "--", "linewidth": 1.2, "alpha": 0.8}
            band_ax.plot(months, [100 * (r.plan_in_band or 0) for r in mine], **plan)
            cv_ax.plot(months, [r.plan_potential_cv or 0 for r in mine], **plan)
    band_ax.axhline(95, color="#1b7837", linestyle=":", linewidth=1)
    band_ax.text(1, 96, "target 95%", color="#1b7837", fontsize=8)
    band_ax.set(title="Reps within ±10% of their potential target", ylabel="% of active reps")
    band_ax.set_ylim(0, 102)
    cv_ax.axhline(0.10, color="#1b7837", linestyle=":", linewidth=1)
    cv_ax.text(1, 0.105, "target < 0.10", color="#1b7837", fontsize=8)
    cv_ax.set(title="Spread of potential between reps (CV)", ylabel="coefficient of variation")
    cv_ax.set_ylim(bottom=0)
    for ax in (band_ax, cv_ax):
        ax.set_xlabel("month (solid: the CRM as the month's snapshot lands)")
        ax.set_xticks(sorted({r.month for r in rows}))
        ax.grid(alpha=0.25)
        ax.spines[["top", "right"]].set_visible(False)
    band_ax.plot([], [], color="#444444", linestyle="--", linewidth=1.2, label="its published plan")
    handles, labels = band_ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False, fontsize=9)
    fig.suptitle(title, fontsize=12, fontweight="bold")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--arms", default=",".join(ARMS), help="comma-separated: loop,annual,none")
    parser.add_argument("--time-limit", type=float, default=None, help="solver seconds per pass")
    parser.add_argument(
        "--acquisitions",
        type=float,
        default=0.0,
        help="families acquired by another per month (on average); where the joined families' "
        "locks sit with different reps, the pass keeps one owner (the parent's lock wins)",
    )
    parser.add_argument("--out", type=Path, default=Path("docs/img/closed_loop_12_months.png"))
    parser.add_argument("--work", type=Path, default=None, help="keep the runs here")
    parser.add_argument(
        "--combine",
        type=Path,
        nargs="+",
        default=None,
        help="only report: merge the rows.json of earlier runs (e.g. one arm per process)",
    )
    return parser.parse_args(argv)


def load_rows(works: list[Path]) -> list[MonthRow]:
    rows = [MonthRow(**r) for w in works for r in json.loads((w / ROWS_FILE).read_text())]
    return sorted(rows, key=lambda r: (ARMS.index(r.arm), r.month))


def main() -> None:
    args = parse_args()
    title = f"{args.months} months, {args.accounts:,} accounts, {args.reps} reps (seed {args.seed})"
    if args.combine:
        rows = load_rows(args.combine)
        measured = min(max(r.month for r in rows if r.arm == a) for a in {r.arm for r in rows})
        if measured < args.months:  # arms stopped early: say how far all of them got
            title = title.replace(
                f"{args.months} months", f"first {measured} of {args.months} months"
            )
        print(markdown(rows))
        print(f"\nChart: {chart(rows, args.out, title)}")
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_closed_loop_"))
    arms = tuple(a for a in args.arms.split(",") if a)

    done: list[MonthRow] = []

    def show(row: MonthRow) -> None:
        done.append(row)
        rows_json = json.dumps([dataclasses.asdict(r) for r in done], indent=1)
        (work / ROWS_FILE).write_text(rows_json + "\n")
        print(
            f"{row.arm} month {row.month}: {row.seconds:.0f} s, in band {_pct(row.in_band)}, "
            f"CV {_num(row.potential_cv)}, proposals {row.new}/{row.waiting}",
            flush=True,
        )

    rows = run_benchmark(
        work,
        accounts=args.accounts,
        reps=args.reps,
        months=args.months,
        seed=args.seed,
        arms=arms,
        time_limit=args.time_limit,
        acquisitions=args.acquisitions,
        progress=show,
    )
    print()
    print(markdown(rows))
    print(f"\nChart: {chart(rows, args.out, title)}")
    if not all(r.ok for r in rows):
        raise SystemExit(f"a pass failed: see the runs under {work}")


if __name__ == "__main__":
    main()
