"""Time digests and write-back for a large pass: render, enqueue, deliver to the outbox, export.

Run from the project root::

    .venv/bin/python -m benchmarks.bench_notify [--proposals N --reps M --team K]

Synthetic proposals (seeded) for ``--reps`` reps in teams of ``--team``; delivery goes to the
local outbox folder (no Slack), so the figures are the library's own cost.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl

from territory_ops.notify.digest import render_manager_digests
from territory_ops.notify.outbox import deliver_pending, enqueue_digests
from territory_ops.notify.sender import OutboxDigestSender
from territory_ops.notify.summary import render_revops_summary
from territory_ops.writeback.decisions import approve
from territory_ops.writeback.export import export_approved
from territory_ops.writeback.proposal_rows import insert_proposals, proposal_id, proposals_frame


def synthetic(n: int, reps: int, team: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = random.Random(seed)
    rep_ids = [f"005R{i:05d}" for i in range(reps)]
    roster = pl.DataFrame(
        {
            "rep_id": rep_ids,
            "rep_name": [f"Rep {i}" for i in range(reps)],
            "manager_id": [f"005M{i // team:04d}" for i in range(reps)],
            "manager_name": [f"Manager {i // team}" for i in range(reps)],
            "manager_email": [f"manager{i // team}@example.com" for i in range(reps)],
        }
    )
    rows = []
    for i in range(n):
        frm, to = rng.sample(rep_ids, 2)
        account = f"001B{i:07d}"
        rows.append(
            {
                "proposal_id": proposal_id(date(2026, 11, 1), "full", account, frm, to),
                "run_id": "bench-run",
                "pass_kind": "full",
                "snapshot_date": date(2026, 11, 1),
                "created_at": datetime(2026, 11, 1, 6),
                "account_id": account,
                "account_name": f"Account {i}",
                "from_rep_id": frm,
                "from_rep_name": frm,
                "to_rep_id": to,
                "to_rep_name": to,
                "reason_code": "balance",
                "reason": "Brings the rep toward the band. Potential is high: intent rose 40%.",
                "potential": rng.uniform(1e4, 5e5),
                "workload_hours": rng.uniform(5, 120),
                "from_potential_before": 1.2e6,
                "from_potential_after": 1.1e6,
                "to_potential_before": 1.0e6,
                "to_potential_after": 1.1e6,
                "from_workload_before": 1400.0,
                "from_workload_after": 1350.0,
                "to_workload_before": 1300.0,
                "to_workload_after": 1350.0,
                "is_temporary": i % 25 == 0,
                "temporary_until": date(2026, 12, 15) if i % 25 == 0 else None,
                "status": "open",
            }
        )
    return proposals_frame(rows), roster


def _timed(label: str, fn, results: list[tuple[str, float]]):
    start = time.perf_counter()
    value = fn()
    results.append((label, time.perf_counter() - start))
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--proposals", type=int, default=5_000)
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument("--team", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    proposals, roster = synthetic(args.proposals, args.reps, args.team, args.seed)
    times: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as scratch:
        con = duckdb.connect(str(Path(scratch) / "bench.duckdb"))
        routed = _timed(
            "render manager digests",
            lambda: render_manager_digests(proposals, roster, run_url="http://d/runs/bench-run"),
            times,
        )
        summary = _timed(
            "render RevOps summary",
            lambda: render_revops_summary(proposals, channel="#revops", unrouted=routed.unrouted),
            times,
        )
        digests = [*routed.digests, summary]
        _timed("enqueue into notify.outbox", lambda: enqueue_digests(con, digests), times)
        sender = OutboxDigestSender(Path(scratch) / "outbox")
        report = _timed("deliver to the outbox folder", lambda: deliver_pending(con, sender), times)
        _timed("re-enqueue (all known)", lambda: enqueue_digests(con, digests), times)
        insert_proposals(con, proposals)
        ids = proposals["proposal_id"].to_list()
        _timed("approve all", lambda: approve(con, ids, by="bench"), times)
        result = _timed(
            "write-back export", lambda: export_approved(con, Path(scratch) / "crm"), times
        )
        con.close()
    sizes = [d.message_chars() for d in digests]
    print(
        f"notify: {args.proposals:,} open proposals, {args.reps} reps, "
        f"{len(routed.digests)} managers, {os.cpu_count()} CPU(s)"
    )
    print(f"digests: {len(digests)}, sent {len(report.sent)}, largest {max(sizes):,} chars")
    print(f"write-back rows: {result.rows:,}")
    for label, seconds in times:
        print(f"  {label:32s} {seconds:8.2f} s")


if __name__ == "__main__":
    main()
