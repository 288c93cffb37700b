"""The ``scenario_comparison`` job: the baseline is read once, each scenario is its own step
(dynamic outputs, so the multiprocess executor runs them side by side), then one step writes
the report and shows the comparison table and chart in the UI. Logic: territory_ops.scenarios."""

import re
from pathlib import Path

import dagster as dg

from pipelines.resources import WarehouseResource
from territory_ops.scenarios.compare import DEFAULT_COST_PER_REP, markdown_table
from territory_ops.scenarios.report import all_rows, write_report
from territory_ops.scenarios.run import (
    Baseline,
    ScenarioOutcome,
    baseline_from_warehouse,
    baseline_rows,
    run_scenario,
)
from territory_ops.settings import PROJECT_ROOT

SCENARIO_JOB = "scenario_comparison"
SCENARIO_DIR = PROJECT_ROOT / "scenarios"


class BaselineConfig(dg.Config):
    time_limit: float | None = None  # seconds per optimizer run; None: fits the book size
    cost_per_rep: float = DEFAULT_COST_PER_REP
    hire_time_limit: float = 60.0


class FilesConfig(dg.Config):
    files: list[str] = []  # empty: every scenarios/*.yaml of the project


class ReportConfig(dg.Config):
    out_dir: str = "var/scenarios"


@dg.op(description="Latest marts, the full pass's settings and the published plan, read once.")
def scenario_baseline(config: BaselineConfig, warehouse: WarehouseResource) -> Baseline:
    with warehouse.connect(read_only=True) as con:
        return baseline_from_warehouse(
            con,
            time_limit=config.time_limit,
            cost_per_rep=config.cost_per_rep,
            hire_time_limit=config.hire_time_limit,
        )


@dg.op(out=dg.DynamicOut(str), description="One step per scenario file.")
def scenario_files(config: FilesConfig):
    files = config.files or sorted(str(p) for p in SCENARIO_DIR.glob("*.yaml"))
    seen: set[str] = set()
    for f in files:
        key = re.sub(r"[^A-Za-z0-9_]+", "_", Path(f).stem) or "scenario"
        while key in seen:  # two files with one stem in different folders
            key += "_"
        seen.add(key)
        yield dg.DynamicOutput(f, mapping_key=key)


@dg.op(description="Apply one scenario and run the optimizer on it.")
def run_one_scenario(
    context: dg.OpExecutionContext, baseline: Baseline, file: str
) -> ScenarioOutcome:
    outcome = run_scenario(file, baseline)
    if outcome.ok:
        context.log.info(f"{outcome.name}: {outcome.row.get('notes')}")
    else:
        context.log.error(outcome.error)
    row = outcome.row
    context.add_output_metadata(
        {
            "scenario": outcome.name,
            "status": "ok" if outcome.ok else str(outcome.error),
            "reps_in_band": dg.MetadataValue.int(int(row.get("reps_in_band") or 0)),  # type: ignore[call-overload]
            "moves": dg.MetadataValue.int(int(row.get("moves") or 0)),  # type: ignore[call-overload]
        }
    )
    return outcome


@dg.op(
    description="Comparison table + chart (metadata) and report.html; fails if any scenario did."
)
def compare_scenarios(
    context: dg.OpExecutionContext,
    config: ReportConfig,
    baseline: Baseline,
    outcomes: list[ScenarioOutcome],
) -> str:
    from territory_ops.maps import markdown_image

    outcomes = sorted(outcomes, key=lambda o: o.file)
    report = write_report(all_rows(baseline_rows(baseline), outcomes), outcomes, config.out_dir)
    md = markdown_table(report.frame)
    if report.chart_png:
        md += "\n\n" + markdown_image(report.chart_png, "balance vs travel vs moves")
    metadata = {
        "comparison": dg.MetadataValue.md(md),
        "report": dg.MetadataValue.path(str(report.html)),
        "scenarios": dg.MetadataValue.int(len(outcomes)),
        "failed": dg.MetadataValue.int(sum(not o.ok for o in outcomes)),
    }
    # yielded before the failure below, so the UI shows the table of a partly failed run too
    yield dg.AssetMaterialization(asset_key=SCENARIO_JOB, metadata=metadata)
    failed = [o.error for o in outcomes if not o.ok]
    if failed:
        raise dg.Failure(
            description=f"{len(failed)} scenario(s) failed:\n" + "\n".join(str(f) for f in failed),
            metadata=metadata,
        )
    yield dg.Output(str(report.html))


@dg.job(
    name=SCENARIO_JOB,
    executor_def=dg.multiprocess_executor,
    description=(
        "What-if scenarios side by side vs today and the published plan (docs/scenarios.md)."
    ),
)
def scenario_comparison() -> None:
    base = scenario_baseline()
    outcomes = scenario_files().map(lambda f: run_one_scenario(base, f))
    compare_scenarios(base, outcomes.collect())
