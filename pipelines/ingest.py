"""Ingest assets: each extract of the landing folder lands in DuckDB schema ``raw``."""

import dagster as dg

from pipelines import crm
from pipelines.alerts import AlertSink
from pipelines.resources import LandingResource, WarehouseResource
from territory_ops.extracts.errors import ExtractError
from territory_ops.extracts.ingest import land_extract
from territory_ops.extracts.reference import load_postal_centroids
from territory_ops.extracts.reporting import load_summary, loads_markdown
from territory_ops.extracts.spec import EXTRACTS, ExtractSpec
from territory_ops.quality.promotion import promote_current_loads
from territory_ops.quality.report import ingest_blocked_alert

INGEST_GROUP = "ingest"


def _failure(err: ExtractError) -> dg.Failure:
    return dg.Failure(
        description=str(err),
        metadata={"file": str(err.path), "column": err.column or "", "problem": err.problem},
    )


def build_raw_extract_asset(spec: ExtractSpec) -> dg.AssetsDefinition:
    @dg.asset(
        key=["raw", spec.name],
        group_name=INGEST_GROUP,
        kinds={"csv", "duckdb"},
        description=f"{spec.description} Landed as text from every snapshot's {spec.file_name}.",
        pool="duckdb_writer",
        deps=crm.pull_deps,  # a configured CRM is pulled first
    )
    def _raw_extract(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        landing: LandingResource,
        alerts: AlertSink,
    ) -> dg.MaterializeResult:
        try:
            with warehouse.connect() as con:
                results = land_extract(con, landing.folder, spec, warehouse.archive_path)
        except ExtractError as err:
            alert = ingest_blocked_alert(err.path, err.problem, err.column, context.run_id)
            alerts.send(alert, context.log)
            raise _failure(err) from None
        newly = [r for r in results if r.landed]
        context.log.info(
            f"{spec.file_name}: {len(newly)} new load(s), "
            f"{len(results) - len(newly)} already landed"
        )
        summary = load_summary(results)
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": summary.pop("row_count"),
                **summary,
                "source_mapping": landing.mapping_name,
                "loads": dg.MetadataValue.md(loads_markdown(results)),
            }
        )

    return _raw_extract


raw_extract_assets = [build_raw_extract_asset(spec) for spec in EXTRACTS]


@dg.asset(
    key=["reference", "postal_centroids"],
    group_name="reference",
    kinds={"duckdb"},
    description="US ZIP code centroids from the offline `zipcodes` package (geocoding fallback).",
    pool="duckdb_writer",
)
def postal_centroids(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        rows = load_postal_centroids(con)
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})


@dg.asset(
    key=["raw", "current_loads"],
    group_name=INGEST_GROUP,
    kinds={"duckdb"},
    deps=[a.key for a in raw_extract_assets],
    description=(
        "Which landed load of each extract dbt builds from: the newest one that was not "
        "rejected. Runs only when every extract landed (and, with the quality gate, passed)."
    ),
    pool="duckdb_writer",
)
def current_loads(warehouse: WarehouseResource) -> dg.MaterializeResult:
    try:
        with warehouse.connect() as con:
            promoted = promote_current_loads(con)
    except ExtractError as err:
        raise _failure(err) from None
    snapshot = next(iter(promoted.values()))[1]
    return dg.MaterializeResult(
        metadata={
            "snapshot_date": snapshot.isoformat(),
            "loads": dg.MetadataValue.json({k: v[0] for k, v in promoted.items()}),
        }
    )
