"""The closed-loop benchmark's plumbing without a job run: the table, the chart, combining
the rows of arms run side by side, and the figures it reads from a warehouse."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path

import duckdb

from benchmarks.bench_closed_loop_12_months import (
    ROWS_FILE,
    MonthRow,
    chart,
    load_rows,
    markdown,
    proposal_figures,
)
from territory_ops.planning import store


def _row(arm: str, month: int, band: float) -> MonthRow:
    return MonthRow(
        arm,
        month,
        f"2026-0{month}-28",
        "micro",
        True,
        61.0,
        in_band=band,
        potential_cv=0.2,
        workload_cv=0.3,
        without_owner=12,
        plan_without_owner=0,
        plan_in_band=0.97,
        plan_potential_cv=0.05,
        plan_out=3,
        plan_out_proven=2,
        band_moves=19,
        move_budget=4,
        new=40,
        waiting=3,
        forced=35,
        discretionary=8,
        imported=50,
        discretionary_moves=4,
        changed_share=0.125,
        flip_flops=0,
        accounts=400,
    )


def test_rows_of_arms_run_apart_combine_into_one_table_in_arm_order(tmp_path: Path) -> None:
    for arm in ("none", "loop"):
        (tmp_path / arm).mkdir()
        rows = [dataclasses.asdict(_row(arm, m, 0.5 + 0.1 * m)) for m in (2, 1)]
        (tmp_path / arm / ROWS_FILE).write_text(json.dumps(rows))
    rows = load_rows([tmp_path / "none", tmp_path / "loop"])
    assert [(r.arm, r.month) for r in rows] == [("loop", 1), ("loop", 2), ("none", 1), ("none", 2)]
    table = markdown(rows).splitlines()
    assert len(table) == 2 + 4
    assert len({line.count("|") for line in table}) == 1  # every row has the header's cells
    assert table[2].startswith(
        "| loop | 1 | micro | 60% / 97% | 2 / 1 | 19 / 4 | 0.200 / 0.050 | 0.300 | 12 / 0 |"
    )
    assert "| 40 / 3 | 35 / 8 |" in table[2] and "| 50 (4) | 12% |" in table[2]
    png = chart(rows, tmp_path / "chart.png", "two months").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_new_and_waiting_proposals_and_retargeted_ones(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        store.ensure_schema(con)
        rows = [
            # month 1: three proposals nobody decided (superseded by month 2's pass)
            ("p1", "r1", date(2026, 1, 31), "A1", "R1", "orphaned", "superseded"),
            ("p2", "r1", date(2026, 1, 31), "A2", "R2", "balance", "superseded"),
            ("p3", "r1", date(2026, 1, 31), "A3", "R3", "new", "approved"),
            # month 2: A1 again to the same rep, A2 to another, A4 new
            ("q1", "r2", date(2026, 2, 28), "A1", "R1", "orphaned", "open"),
            ("q2", "r2", date(2026, 2, 28), "A2", "R9", "balance", "open"),
            ("q4", "r2", date(2026, 2, 28), "A4", "R4", "new", "open"),
        ]
        for pid, run, day, account, rep, code, status in rows:
            con.execute(
                "insert into plans.proposals (proposal_id, run_id, pass_kind, snapshot_date, "
                "created_at, account_id, to_rep_id, reason_code, reason, is_temporary, status) "
                "values (?, ?, 'micro', ?, now(), ?, ?, ?, ?, false, ?)",
                [pid, run, day, account, rep, code, code, status],
            )
        figures = proposal_figures(con, "r2", date(2026, 2, 28))
    assert figures == {"new": 2, "waiting": 1, "forced": 2, "discretionary": 1, "retargeted": 1}
