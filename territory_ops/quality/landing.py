"""Run the gate on a landing folder without Dagster and without touching the warehouse.

The folder is landed with the normal ingest functions into an in-memory DuckDB (files are
archived to a temporary folder), then validated like a pass would validate it. Volume is
compared with the project warehouse's last accepted loads when a warehouse exists (opened
read-only), else with the folder's own previous snapshot.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb

from territory_ops.extracts.errors import ExtractError
from territory_ops.extracts.ingest import land_extract
from territory_ops.extracts.spec import EXTRACTS
from territory_ops.quality.checks import Baseline
from territory_ops.quality.findings import GateReport, ValidatedLoad
from territory_ops.quality.gate import (
    candidate_loads,
    finding_from_extract_error,
    registry_baselines,
    run_raw_gate,
)


def warehouse_baselines(
    warehouse: Path, candidates: dict[str, ValidatedLoad]
) -> tuple[dict[str, Baseline], str]:
    """Last accepted load per extract in an existing warehouse (read-only), and a note.

    The same rule as a pass (``registry_baselines``): a file already accepted there is not
    compared with itself, because load ids derive from the file's content.
    """
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as err:
        return (
            {},
            f"warehouse {warehouse} not readable ({err.__class__.__name__}): volume vs folder",
        )
    try:
        out = registry_baselines(con, candidates, label="warehouse's last accepted load")
    except duckdb.CatalogException:
        return {}, f"warehouse {warehouse} has no load registry yet"
    finally:
        con.close()
    return out, f"volume compared with the accepted loads in {warehouse}"


def folder_baselines(
    con: duckdb.DuckDBPyConnection, candidates: dict[str, ValidatedLoad]
) -> dict[str, Baseline]:
    """The folder's own previous snapshot of each extract."""
    out = {}
    for extract, load in candidates.items():
        row = con.execute(
            "select row_count, snapshot_date, source_file from raw.load_registry "
            "where extract = ? and snapshot_date < ? order by snapshot_date desc limit 1",
            [extract, load.snapshot_date],
        ).fetchone()
        if row:
            out[extract] = Baseline(
                int(row[0]), row[1], f"previous snapshot {row[1].isoformat()}/{row[2]}"
            )
    return out


def validate_landing(landing: Path, warehouse: Path | None = None) -> GateReport:
    """The gate's report for the newest snapshot of ``landing`` (nothing is written anywhere)."""
    con = duckdb.connect()
    ingest_findings = []
    with tempfile.TemporaryDirectory(prefix="territory-ops-validate-") as archive:
        for spec in EXTRACTS:
            try:
                land_extract(con, landing, spec, Path(archive))
            except ExtractError as err:
                ingest_findings.append(finding_from_extract_error(err, spec.name))
    try:
        candidates = candidate_loads(con)
    except duckdb.CatalogException:  # nothing landed at all
        candidates = {}
    notes = []
    baselines: dict[str, Baseline] = {}
    if warehouse is not None and warehouse.exists():
        baselines, note = warehouse_baselines(warehouse, candidates)
        notes.append(note)
    if not baselines and candidates:
        baselines = folder_baselines(con, candidates)
        notes.append("volume compared with the folder's previous snapshot")
    report = (
        run_raw_gate(con, baselines=baselines, landing_dir=landing)
        if candidates
        else GateReport(findings=())
    )
    con.close()
    return GateReport(
        findings=(*ingest_findings, *report.findings),
        loads=report.loads,
        suites=report.suites,
        expectations_evaluated=report.expectations_evaluated,
        notes=tuple(notes),
        quarantined=report.quarantined,
    )
