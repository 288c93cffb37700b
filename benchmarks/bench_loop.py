"""Benchmark: the continuous loop at production size.

    python -m benchmarks.bench_loop [--accounts 100000 --reps 300 --seed 1]

Generates a 3-month sample, then runs the real territory job in process, one whole run per
pass, each on the next snapshot as it lands (ingest -> gate -> dbt -> scores -> plan ->
drift -> proposals -> digests):

1. ``full`` on the first snapshot (quarterly redesign);
2. ``micro`` on the second (monthly);
3. ``refresh`` on the third (what the sensor starts when a snapshot lands between passes).

It prints one markdown table (wall time per pass, the planning steps' share, peak resident
memory of the process so far) to copy into docs/benchmarks.md with the machine. Targets
(2 cores): full <= 12 min, micro <= 4 min, refresh <= 2.5 min, peak < 8 GB.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

AS_OF = date(2026, 10, 31)
PASSES = ("full", "micro", "refresh")
PLANNING_STEPS = ("territory_plan", "drift_report", "proposed_changes", "manager_digests")
TARGET_S = {"full": 12 * 60, "micro": 4 * 60, "refresh": 150}


@dataclass(frozen=True)
class PassTiming:
    pass_kind: str
    snapshot: str
    wall_s: float
    planning_s: float  # territory_plan .. manager_digests
    peak_mb: float  # peak resident memory so far: this process or its largest child (dbt)
    changed: int
    success: bool


def peak_rss_mb() -> float:
    # dbt runs in a subprocess: its peak counts too (Linux reports KiB)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, child) / 1024


def _step_seconds(run_id: str) -> dict[str, float]:
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        return {
            s.step_key: (s.end_time or 0.0) - (s.start_time or 0.0)
            for s in instance.get_run_step_stats(run_id)
        }


def _changed(database: Path, run_id: str) -> int:
    import duckdb

    with duckdb.connect(str(database), read_only=True) as con:
        row = con.execute(
            "select count(*) from plans.assignments where run_id = ? and changed", [run_id]
        ).fetchone()
    return int(row[0]) if row else 0


def run_loop(
    work: Path,
    *,
    accounts: int,
    reps: int,
    seed: int = 1,
    passes: tuple[str, ...] = PASSES,
) -> list[PassTiming]:
    """Generate a sample under ``work`` and time one job run per pass kind, snapshot by snapshot.

    Sets the project's environment variables for this process (a benchmark is an entry point).
    """
    home = work / "home"
    os.environ["TERRITORY_OPS_HOME"] = str(home)
    os.environ["TERRITORY_OPS_DUCKDB"] = str(home / "territory.duckdb")
    os.environ["DAGSTER_HOME"] = str(home / "dagster_home")
    from pipelines.run import run_territory_pass
    from territory_ops.extracts.sample import generate_sample
    from territory_ops.settings import Settings

    source, landing = work / "generated", work / "landing"
    generate_sample(
        source, accounts=accounts, reps=reps, months=len(passes), seed=seed, as_of=AS_OF
    )
    snapshots = sorted(p.name for p in source.glob("20*-*-*"))
    landing.mkdir(parents=True, exist_ok=True)
    settings = Settings.from_env()
    out: list[PassTiming] = []
    for kind, day in zip(passes, snapshots, strict=False):
        shutil.copytree(source / day, landing / day)  # the snapshot lands
        started = time.perf_counter()
        outcome = run_territory_pass(landing, settings, {"pass_kind": kind})
        wall = time.perf_counter() - started
        steps = _step_seconds(outcome.run_id)
        out.append(
            PassTiming(
                pass_kind=kind,
                snapshot=day,
                wall_s=wall,
                planning_s=sum(steps.get(k, 0.0) for k in PLANNING_STEPS),
                peak_mb=peak_rss_mb(),
                changed=_changed(settings.duckdb_path, outcome.run_id) if outcome.success else 0,
                success=outcome.success,
            )
        )
    return out


def markdown(timings: list[PassTiming], accounts: int, reps: int, seed: int) -> str:
    lines = [
        f"### Continuous loop ({accounts:,} accounts, {reps} reps)",
        "",
        f"Command: `python -m benchmarks.bench_loop --accounts {accounts} --reps {reps} "
        f"--seed {seed}`  ",
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GB, "
        f"load average at the end {os.getloadavg()[0]:.1f}",
        "",
        "| pass | snapshot | whole run (ingest → proposals) | planning steps | target at 100k | "
        "peak RSS so far | changes | ok |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for t in timings:
        lines.append(
            f"| {t.pass_kind} | {t.snapshot} | {t.wall_s:,.1f} s | {t.planning_s:,.1f} s | "
            f"≤ {TARGET_S[t.pass_kind]} s | {t.peak_mb:,.0f} MB | {t.changed:,} | "
            f"{'yes' if t.success else 'FAILED'} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_loop_"))
    timings = run_loop(work, accounts=args.accounts, reps=args.reps, seed=args.seed)
    print(markdown(timings, args.accounts, args.reps, args.seed))
    if not all(t.success for t in timings):
        raise SystemExit("a pass failed: see the Dagster runs under " + str(work / "home"))


if __name__ == "__main__":
    main()
