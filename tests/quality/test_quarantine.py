"""Which failures quarantine rows and which block, and how held rows are recorded."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from territory_ops.extracts.raw_schema import ensure_raw_schema
from territory_ops.quality.config import QualityConfigError, quarantine_max_share
from territory_ops.quality.findings import Finding, ValidatedLoad
from territory_ops.quality.quarantine import (
    QUARANTINED_ROWS_TABLE,
    record_quarantine,
    settle_row_failures,
)

LOAD = ValidatedLoad("crm_accounts", "L1", date(2026, 11, 30), "Account.csv", 400, "landed")
TABLE = "quarantine.crm_accounts"


def _row_rule(lines: range | tuple[int, ...], **fields) -> Finding:
    rows = tuple(
        {"_row_number": n, "Id": f"001{n:05d}", "CreatedDate": "2026-12-15T09:30:00"} for n in lines
    )
    base = dict(
        suite="crm_accounts",
        expectation="expect_column_values_to_be_between",
        severity="error",
        file="2026-11-30/Account.csv",
        column="CreatedDate",
        observed=f"{len(rows)} of 400 rows",
        message="CreatedDate is not in the future",
        examples=rows[:5],
        extract="crm_accounts",
        load_id="L1",
        quarantine_reason="created_after_snapshot",
        rows=rows,
    )
    return Finding(**(base | fields))


def test_a_handful_is_quarantined_a_flood_or_a_file_error_blocks():
    findings, held = settle_row_failures([_row_rule((3, 9))], LOAD, TABLE, 0.01)
    assert [f.severity for f in findings] == ["warning"] and findings[0].quarantine == TABLE
    assert [(r.source_row_number, r.record_id, r.value) for r in held] == [
        (3, "00100003", "2026-12-15T09:30:00"),
        (9, "00100009", "2026-12-15T09:30:00"),
    ]

    flood, held = settle_row_failures([_row_rule(range(1, 6))], LOAD, TABLE, 0.01)
    assert flood[0].is_error and not held and "too many to quarantine" in flood[0].message

    duplicate = _row_rule((4, 5), expectation="expect_column_values_to_be_unique", rows=())
    duplicate = Finding(**{**duplicate.__dict__, "quarantine_reason": None})
    both, held = settle_row_failures([_row_rule((3,)), duplicate], LOAD, TABLE, 0.01)
    assert [f.severity for f in both] == ["error", "error"] and not held

    off, held = settle_row_failures([_row_rule((3,))], LOAD, TABLE, 0.0)
    assert off[0].is_error and not held, "a share of 0 never quarantines"


def test_the_share_is_counted_in_distinct_rows_across_rules():
    revenue = _row_rule((3, 4), column="AnnualRevenue", quarantine_reason="negative_value")
    findings, held = settle_row_failures([_row_rule((3, 4)), revenue], LOAD, TABLE, 0.005)
    assert all(not f.is_error for f in findings), "2 distinct rows of 400 = 0.5%"
    assert "2 of 400 rows" in findings[0].message and len(held) == 4


def test_the_share_setting_is_checked(tmp_path: Path):
    assert quarantine_max_share() == 0.01
    for bad in ("quarantine_max_share: 1.5\n", "quarantine_max_share: yes\n", "other: 1\n"):
        path = tmp_path / "quality.yaml"
        path.write_text(bad)
        with pytest.raises(QualityConfigError, match="quarantine_max_share"):
            quarantine_max_share.__wrapped__(path)


def test_held_rows_are_recorded_once_per_load_with_the_raw_row_and_the_count():
    con = duckdb.connect()
    ensure_raw_schema(con)
    con.execute(
        "insert into raw.load_registry (load_id, extract, raw_table, snapshot_date, "
        "source_file, content_hash, row_count, loaded_at) values "
        "('L1', 'crm_accounts', 'crm_accounts', '2026-11-30', 'Account.csv', 'h', 400, ?)",
        [datetime(2026, 12, 1)],
    )
    con.execute(
        "insert into raw.crm_accounts (_load_id, _snapshot_date, _source_file, _content_hash, "
        "_row_number, \"Id\", \"Name\") values ('L1', '2026-11-30', 'Account.csv', 'h', 3, "
        "'00100003', 'Acme')"
    )
    _, held = settle_row_failures([_row_rule((3,))], LOAD, TABLE, 0.01)
    for _ in range(2):  # a re-run validates the same load again: same rows, not twice
        assert record_quarantine(con, ["L1"], held) == {"L1": 1}
    rows = con.execute(
        f"select source_row_number, reason, row_values from {QUARANTINED_ROWS_TABLE}"
    ).fetchall()
    assert [(r[0], r[1]) for r in rows] == [(3, "created_after_snapshot")]
    assert json.loads(rows[0][2])["Name"] == "Acme"
    registry = con.execute("select quarantined_rows from raw.load_registry").fetchall()
    assert registry == [(1,)]
    assert record_quarantine(con, ["L1"], []) == {"L1": 0}
    assert con.execute(f"select count(*) from {QUARANTINED_ROWS_TABLE}").fetchone() == (0,)
