"""The data-quality gate as Dagster asset checks (logic: ``territory_ops.quality``).

* ``raw_quality_gate`` validates, for every ``raw/<extract>`` asset, the load that
  ``raw/current_loads`` would promote. Per asset it reports a blocking ``quality_gate`` check
  (error-severity findings) and a non-blocking ``quality_warnings`` check. A failed blocking
  check skips everything downstream in the run: ``raw/current_loads``, dbt, and whatever is
  built on the marts (scoring, planning, proposals, digests). The bad loads are marked
  ``rejected`` in ``raw.load_registry`` and ONE "run blocked" alert goes to RevOps. A handful
  of rows failing a row-level rule are quarantined instead: the warnings check says so and
  ONE "rows quarantined" warning goes to RevOps; the pass goes on without those rows.
* ``mart_quality_gate`` does the same for ``account_profiles`` and ``rep_roster``.
* ``quarantine_counts`` reports the rows dbt put in ``quarantine.*`` (non-blocking).

Great Expectations is imported inside the checks, never when the definitions load.
"""

import dagster as dg

from pipelines.alerts import AlertSink
from pipelines.resources import LandingResource, WarehouseResource
from territory_ops.extracts.spec import EXTRACTS

GATE_CHECK = "quality_gate"
WARNINGS_CHECK = "quality_warnings"
QUARANTINE_CHECK = "quarantine_is_empty"
RAW_KEYS = {spec.name: dg.AssetKey(["raw", spec.name]) for spec in EXTRACTS}
MART_KEYS = {
    "account_profiles": dg.AssetKey("account_profiles"),
    "rep_roster": dg.AssetKey("rep_roster"),
}
QUARANTINE_MODELS = {
    "quarantine.crm_opportunities": dg.AssetKey("quarantine_crm_opportunities"),
    "quarantine.crm_accounts": dg.AssetKey("quarantine_crm_accounts"),
}


def _gate_specs(keys: dict[str, dg.AssetKey], what: str) -> list[dg.AssetCheckSpec]:
    specs = []
    for name, key in keys.items():
        specs.append(
            dg.AssetCheckSpec(
                GATE_CHECK,
                asset=key,
                blocking=True,
                description=(
                    f"Error-severity expectations of suite expectations/{name}.json on {what}: "
                    "a failure stops everything downstream in the run."
                ),
            )
        )
        specs.append(
            dg.AssetCheckSpec(
                WARNINGS_CHECK,
                asset=key,
                blocking=False,
                description=f"Warning-severity expectations of suite expectations/{name}.json.",
            )
        )
    return specs


def _results(key: dg.AssetKey, findings, base_metadata: dict) -> list[dg.AssetCheckResult]:
    errors = [f for f in findings if f.is_error]
    # quarantined rows first: the check's description is its first finding
    warnings = sorted((f for f in findings if not f.is_error), key=lambda f: not f.quarantine)
    quarantined = sum(f.unexpected_count or 0 for f in findings if f.quarantine)
    common = {**base_metadata, "quarantine_candidates": quarantined}
    return [
        _result(key, GATE_CHECK, errors, "errors", "No error-severity findings.", common),
        _result(key, WARNINGS_CHECK, warnings, "warnings", "No warnings.", common),
    ]


def _result(
    key: dg.AssetKey, check: str, found: list, count_label: str, clean: str, common: dict
) -> dg.AssetCheckResult:
    """One check's result: passed when nothing was found; the first finding describes it."""
    from territory_ops.quality.report import findings_markdown

    is_gate = check == GATE_CHECK
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=check,
        passed=not found,
        severity=dg.AssetCheckSeverity.ERROR if is_gate else dg.AssetCheckSeverity.WARN,
        description=found[0].one_line()[:1000] if found else clean,
        metadata={
            **common,
            count_label: len(found),
            "findings": dg.MetadataValue.md(findings_markdown(found)),
        },
    )


@dg.multi_asset_check(
    specs=_gate_specs(RAW_KEYS, "the newest landed load"),
    name="raw_quality_gate",
    description=(
        "Validates the load of each extract that raw/current_loads would promote (Great "
        "Expectations suites in expectations/ plus volume, freshness, US-bounds and "
        "referential checks). Errors block the pass and reject the load; warnings do not."
    ),
    pool="duckdb_writer",
)
def raw_quality_gate(
    context: dg.AssetCheckExecutionContext,
    warehouse: WarehouseResource,
    landing: LandingResource,
    alerts: AlertSink,
):
    from territory_ops.quality.gate import apply_raw_gate
    from territory_ops.quality.report import blocked_alert, quarantine_alert, raw_kept_line

    with warehouse.connect() as con:
        outcome = apply_raw_gate(con, landing_dir=landing.folder)
    report, rejected = outcome.report, outcome.rejected
    for name, key in RAW_KEYS.items():
        load = report.load_for(name)
        metadata = {
            "suite": f"expectations/{name}.json",
            "file": load.file if load else "",
            "load_id": load.load_id if load else "",
            "snapshot_date": load.snapshot_date.isoformat() if load else "",
            "dagster/row_count": load.row_count if load else 0,
            "rejected": bool(load and load.load_id in rejected),
            "quarantined_rows": sum(1 for r in report.quarantined if r.extract == name),
        }
        yield from _results(key, report.for_extract(name), metadata)
    context.log.info(
        f"quality gate: {report.expectations_evaluated} expectations/checks on "
        f"{len(report.loads)} load(s): {len(report.errors)} error(s), "
        f"{len(report.warnings)} warning(s), {len(report.quarantined)} row(s) quarantined"
    )
    if report.blocked:
        kept = raw_kept_line(outcome.kept_snapshot, rejected, report)
        alerts.send(
            blocked_alert(report, stage="raw", kept=kept, run_id=context.run.run_id), context.log
        )
    elif report.quarantined:
        alerts.send(quarantine_alert(report, run_id=context.run.run_id), context.log)


@dg.multi_asset_check(
    specs=_gate_specs(MART_KEYS, "the mart dbt just built"),
    name="mart_quality_gate",
    description=(
        "Validates marts.account_profiles and marts.rep_roster against their suites before "
        "scoring and planning use them."
    ),
    pool="duckdb_writer",
)
def mart_quality_gate(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, alerts: AlertSink
):
    from territory_ops.quality.gate import run_mart_gate
    from territory_ops.quality.report import MART_KEPT_LINE, blocked_alert

    with warehouse.connect(read_only=True) as con:
        report = run_mart_gate(con, tables=tuple(MART_KEYS))
    for name, key in MART_KEYS.items():
        yield from _results(key, report.for_extract(name), {"suite": f"expectations/{name}.json"})
    if report.blocked:
        alerts.send(
            blocked_alert(report, stage="mart", kept=MART_KEPT_LINE, run_id=context.run.run_id),
            context.log,
        )


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            QUARANTINE_CHECK,
            asset=key,
            blocking=False,
            description=f"Rows of the current snapshot held back in {table}, by reason.",
        )
        for table, key in QUARANTINE_MODELS.items()
    ],
    name="quarantine_counts",
    pool="duckdb_writer",  # a reading process cannot open the file while another writes it
)
def quarantine_counts(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
    from territory_ops.quality.quarantine import quarantine_counts as counts

    with warehouse.connect(read_only=True) as con:
        found = counts(con, tuple(QUARANTINE_MODELS))
    for table, key in QUARANTINE_MODELS.items():
        by_reason = found.get(table, {})
        total = sum(by_reason.values())
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name=QUARANTINE_CHECK,
            passed=total == 0,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"{total} row(s) in {table}" if total else f"{table} is empty",
            metadata={"quarantined_rows": total, "by_reason": dg.MetadataValue.json(by_reason)},
        )


quality_checks = [raw_quality_gate, mart_quality_gate, quarantine_counts]
