"""Optimizer benchmark: fresh instances, full + micro + two baselines, time and peak RSS.

    python -m benchmarks.bench_optimizer [--sizes small,large] [--seed N] [--workdir DIR]

Every solve runs in its own subprocess (``/usr/bin/time -v`` gives wall time and peak RSS):
the optimizer through the CLI, the baselines through ``python -m
territory_ops.optimize.baselines``. Micro mode runs on a "next month" instance derived from
the full plan: today's owners are the full plan, 2% of the active reps leave (their locks
are dropped), potentials drift (x lognormal(0, 0.3)) and 3% of accounts are new.
Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl

SIZES = {"small": (5_000, 40, 60, 300), "large": (100_000, 300, 540, 1000)}
PY = sys.executable


def _run(cmd: list[str]) -> tuple[dict, float, float]:
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", proc.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    parts = [float(x) for x in wall.group(1).split(":")] if wall else [float("nan")]
    secs = sum(p * 60**i for i, p in enumerate(reversed(parts)))
    lines = [x for x in proc.stdout.strip().splitlines() if x.startswith("{")]
    if proc.returncode != 0 or not lines:
        err = [x for x in proc.stderr.splitlines() if x.startswith("error")]
        return {"error": (err or ["failed"])[0]}, secs, int(rss.group(1)) / 1e6 if rss else 0
    return json.loads(lines[-1]), secs, int(rss.group(1)) / 1e6 if rss else 0.0


def _next_month(folder: Path, plan: Path, out: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = pl.read_csv(folder / "accounts.csv", infer_schema=False)
    r = pl.read_csv(folder / "reps.csv", infer_schema=False)
    owner = pl.read_csv(plan, infer_schema=False)["rep_id"]
    active = [x for x, act in zip(r["rep_id"], r["active"], strict=True) if act == "true"]
    gone = set(rng.choice(active, size=max(1, len(active) // 50), replace=False).tolist())
    new = rng.random(a.height) < 0.03
    pot = a["potential"].cast(pl.Float64).to_numpy() * rng.lognormal(0, 0.3, a.height)
    cur = [("" if n else o) for o, n in zip(owner.to_list(), new, strict=True)]
    locked = [
        "true" if lk == "true" and c and c not in gone else "false"
        for lk, c in zip(a["locked"].to_list(), cur, strict=True)
    ]
    a = a.with_columns(
        pl.Series("current_rep_id", cur),
        pl.Series("potential", np.round(pot, 2)),
        pl.Series("locked", locked),
    )
    r = r.with_columns(
        pl.when(pl.col("rep_id").is_in(list(gone)))
        .then(pl.lit("false"))
        .otherwise(pl.col("active"))
        .alias("active")
    )
    out.mkdir(parents=True, exist_ok=True)
    a.write_csv(out / "accounts.csv")
    r.write_csv(out / "reps.csv")


def bench(size: str, seed: int, work: Path) -> list[dict]:
    n, m, tl, moves = SIZES[size]
    folder = work / f"{size}_{seed}"
    subprocess.run(
        [
            PY,
            "-m",
            "territory_ops.cli",
            "make-instance",
            "--accounts",
            str(n),
            "--reps",
            str(m),
            "--seed",
            str(seed),
            "--out",
            str(folder),
        ],
        check=True,
        capture_output=True,
    )
    cli = [PY, "-m", "territory_ops.cli", "optimize"]
    common = ["--accounts", str(folder / "accounts.csv"), "--reps", str(folder / "reps.csv")]
    rows = []
    res, secs, rss = _run(
        [
            *cli,
            *common,
            "--mode",
            "full",
            "--tolerance",
            "0.05",
            "--time-limit",
            str(tl),
            "--seed",
            str(seed),
            "--out",
            str(folder / "plan_full.csv"),
        ]
    )
    rows.append(
        {"size": f"{n}/{m}", "method": "optimizer full", "wall_s": secs, "rss_gb": rss, **res}
    )
    for kind in ("greedy", "kmeans"):
        res, secs, rss = _run(
            [
                PY,
                "-m",
                "territory_ops.optimize.baselines",
                kind,
                str(folder / "accounts.csv"),
                str(folder / "reps.csv"),
                str(folder / f"{kind}.csv"),
            ]
        )
        rows.append(
            {"size": f"{n}/{m}", "method": f"baseline {kind}", "wall_s": secs, "rss_gb": rss, **res}
        )
    if (folder / "plan_full.csv").exists():
        nxt = work / f"{size}_{seed}_next"
        _next_month(folder, folder / "plan_full.csv", nxt, seed + 1)
        res, secs, rss = _run(
            [
                *cli,
                "--accounts",
                str(nxt / "accounts.csv"),
                "--reps",
                str(nxt / "reps.csv"),
                "--mode",
                "micro",
                "--max-moves",
                str(moves),
                "--time-limit",
                str(min(tl, 100)),
                "--seed",
                str(seed),
                "--out",
                str(nxt / "plan_micro.csv"),
            ]
        )
        rows.append(
            {
                "size": f"{n}/{m}",
                "method": f"optimizer micro ({moves} moves)",
                "wall_s": secs,
                "rss_gb": rss,
                **res,
            }
        )
    return rows


def table(rows: list[dict]) -> str:
    head = (
        "| size | method | hard viol. | reps in band | CV | max dev (before) | travel km "
        "| LP bound km | gap | moves | wall s | peak GB |"
    )
    out = [head, "|" + "---|" * 12]
    for r in rows:
        if "error" in r:
            out.append(
                f"| {r['size']} | {r['method']} | error: {r['error'][:120]} | | | | | | | "
                f"| {r['wall_s']:.0f} | {r['rss_gb']:.2f} |"
            )
            continue
        before = (
            f" ({r['potential_max_dev_before']:.3f})" if "potential_max_dev_before" in r else ""
        )
        bound = f"{r['lp_travel_bound_km']:.1f}" if r.get("lp_travel_bound_km") else "-"
        gap = f"{100 * r['gap']:.2f}%" if r.get("gap") is not None else "-"
        out.append(
            f"| {r['size']} | {r['method']} | {r['hard_violations']} "
            f"| {r['reps_in_band']}/{r['reps_active']} "
            f"| {r['potential_cv']:.3f} | {r['potential_max_dev']:.3f}{before} "
            f"| {r['travel_km']:.1f} | {bound} "
            f"| {gap} | {r.get('moves', '-')} | {r['wall_s']:.0f} | {r['rss_gb']:.2f} |"
        )
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="small")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--workdir", default="/tmp/territory_bench")
    args = ap.parse_args()
    rows = []
    for size in args.sizes.split(","):
        rows += bench(size, args.seed, Path(args.workdir))
    print(table(rows))


if __name__ == "__main__":
    main()
