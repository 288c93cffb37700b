"""Optimizer benchmark: fresh books, tidy and messy, full + micro + two baselines.

    python -m benchmarks.bench_optimizer [--sizes small,large] [--seed N] [--workdir DIR]
        [--kinds tidy,messy] [--no-baselines] [--no-micro] [--tolerance T]

The optimizer runs with no ``--time-limit`` (the default that fits the book is used and
reported). A *messy* book (``make-instance --messy``) carries what real CRM books do:
unassigned accounts, departed reps with their accounts and locks, overloaded reps; micro
runs on it directly (today's messy assignment) with each move budget of the size.

Every solve runs in its own subprocess (``/usr/bin/time -v`` gives wall time and peak RSS):
the optimizer through the CLI, the baselines through ``python -m
territory_ops.optimize.baselines``. Micro mode runs on a "next month" instance derived from
the full plan: today's owners are the full plan, 2% of the active reps leave (their locks
are dropped), potentials drift (x lognormal(0, 0.3)) and 3% of accounts are new.
Prints a markdown table, and per full plan how many reps are out of band for which reason
(``--no-micro`` runs the full pass only; ``--tolerance`` sets the band, default 5%).
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

SIZES = {"small": (5_000, 40, (100, 1000)), "large": (100_000, 300, (1000,))}
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


def _make(n: int, m: int, seed: int, folder: Path, messy: bool) -> None:
    cmd = [PY, "-m", "territory_ops.cli", "make-instance", "--accounts", str(n), "--reps", str(m)]
    cmd += ["--seed", str(seed), "--out", str(folder)] + ["--messy"] * messy
    subprocess.run(cmd, check=True, capture_output=True)


def _optimize(
    folder: Path, out: Path, seed: int, extra: list[str], tolerance: float = 0.05
) -> tuple[dict, float, float]:
    cmd = [PY, "-m", "territory_ops.cli", "optimize"]
    cmd += ["--accounts", str(folder / "accounts.csv"), "--reps", str(folder / "reps.csv")]
    cmd += ["--tolerance", str(tolerance), "--seed", str(seed), "--out", str(out)]
    return _run([*cmd, *extra])


def reasons_text(metrics: dict) -> str:
    """How many reps are out of band for which reason (the reason's words before a colon)."""
    counts: dict[str, int] = {}
    for rep in metrics.get("out_of_band_reps", []):
        key = str(rep["reason"]).split(":")[0]
        counts[key] = counts.get(key, 0) + 1
    return "; ".join(f"{n} {why}" for why, n in sorted(counts.items())) or "every rep in band"


def bench(
    size: str,
    seed: int,
    work: Path,
    kind: str,
    baselines: bool,
    micro: bool = True,
    tolerance: float = 0.05,
) -> list[dict]:
    n, m, budgets = SIZES[size]
    label = f"{n}/{m} {kind} s{seed}"
    folder = work / f"{size}_{kind}_{seed}"
    _make(n, m, seed, folder, kind == "messy")
    rows = []
    res, secs, rss = _optimize(
        folder, folder / "plan_full.csv", seed, ["--mode", "full"], tolerance
    )
    rows.append({"size": label, "method": "optimizer full", "wall_s": secs, "rss_gb": rss, **res})
    print(f"{label} full, out of band: {reasons_text(res)}", file=sys.stderr, flush=True)
    for kind_b in ("greedy", "kmeans") if baselines else ():
        res, secs, rss = _run(
            [
                PY,
                "-m",
                "territory_ops.optimize.baselines",
                kind_b,
                str(folder / "accounts.csv"),
                str(folder / "reps.csv"),
                str(folder / f"{kind_b}.csv"),
            ]
        )
        rows.append(
            {"size": label, "method": f"baseline {kind_b}", "wall_s": secs, "rss_gb": rss, **res}
        )
    if not micro:
        return rows
    # micro: a tidy book's next month (from the full plan), or the messy book as it is
    book = folder
    if kind == "tidy":
        if not (folder / "plan_full.csv").exists():
            return rows
        book = work / f"{size}_{kind}_{seed}_next"
        _next_month(folder, folder / "plan_full.csv", book, seed + 1)
    for moves in budgets:
        res, secs, rss = _optimize(
            book,
            book / f"plan_micro_{moves}.csv",
            seed,
            ["--mode", "micro", "--max-moves", str(moves)],
            tolerance,
        )
        rows.append(
            {
                "size": label,
                "method": f"optimizer micro ({moves} moves)",
                "wall_s": secs,
                "rss_gb": rss,
                **res,
            }
        )
    return rows


def table(rows: list[dict]) -> str:
    head = (
        "| book | method | hard viol. | inherited | short h | reps in band | CV "
        "| max dev (before) | travel km | LP bound km | gap | moves | limit s (hit) "
        "| wall s | peak GB |"
    )
    out = [head, "|" + "---|" * 15]
    for r in rows:
        if "error" in r:
            out.append(
                f"| {r['size']} | {r['method']} | error: {r['error'][:120]} | | | | | | | | "
                f"| | | {r['wall_s']:.0f} | {r['rss_gb']:.2f} |"
            )
            continue
        before = (
            f" ({r['potential_max_dev_before']:.3f})" if "potential_max_dev_before" in r else ""
        )
        bound = f"{r['lp_travel_bound_km']:.1f}" if r.get("lp_travel_bound_km") else "-"
        gap = f"{100 * r['gap']:.2f}%" if r.get("gap") is not None else "-"
        short = r.get("capacity_shortfall")
        limit = (
            f"{r['time_limit_s']:.0f}{' (hit)' if r.get('time_limit_hit') else ''}"
            if "time_limit_s" in r
            else "-"
        )
        out.append(
            f"| {r['size']} | {r['method']} | {r['hard_violations']} "
            f"| {r.get('inherited_violations', '-')} "
            f"| {short['total_hours'] if short else 0:,.0f} "
            f"| {r['reps_in_band']}/{r['reps_active']} "
            f"| {r['potential_cv']:.3f} | {r['potential_max_dev']:.3f}{before} "
            f"| {r['travel_km']:.1f} | {bound} "
            f"| {gap} | {r.get('moves', '-')} | {limit} | {r['wall_s']:.0f} | {r['rss_gb']:.2f} |"
        )
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="small")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--workdir", default="/tmp/territory_bench")
    ap.add_argument("--kinds", default="tidy,messy")
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--no-micro", action="store_true")
    ap.add_argument("--tolerance", type=float, default=0.05)
    args = ap.parse_args()
    rows = []
    for size in args.sizes.split(","):
        for kind in args.kinds.split(","):
            rows += bench(
                size,
                args.seed,
                Path(args.workdir),
                kind,
                not args.no_baselines,
                not args.no_micro,
                args.tolerance,
            )
            print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    print(table(rows))


if __name__ == "__main__":
    main()
