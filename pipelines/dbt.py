"""dbt models as Dagster assets (dagster-dbt): every model, seed and test in one lineage graph.

The dbt project is split in two asset definitions so that Python assets (scoring) can sit
between them: ``dbt_prep`` (staging, intermediate, seeds) and ``dbt_marts``.
"""

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from pipelines.metadata import to_metadata
from pipelines.resources import WarehouseResource, dbt_project
from territory_ops.metadata import StepSummary
from territory_ops.summary import mart_summaries

MARTS_SELECTION = "path:models/marts"


class TerritoryDbtTranslator(DagsterDbtTranslator):
    """Asset keys are plain model names (``account_profiles``); groups are dbt layers."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            return dg.AssetKey(dbt_resource_props["name"])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


def translator() -> TerritoryDbtTranslator:
    # Source tests (e.g. unique ids of the scores tables) run in every build; as asset checks
    # on the upstream assets their results show in the UI instead of as log warnings.
    return TerritoryDbtTranslator(
        settings=DagsterDbtTranslatorSettings(enable_source_tests_as_checks=True)
    )


def dbt_build_args(duckdb_path: str) -> list[str]:
    """Arguments for ``dbt build``; dagster-dbt adds the selection of the assets being run.

    The warehouse is handed to dbt's subprocess as a var that profiles.yml reads, so the
    warehouse resource's config is the only place the path is set (no environment variable).
    """
    return ["build", "--vars", json.dumps({"duckdb_path": duckdb_path})]


def dbt_asset_options(name: str, **selection: str) -> dict[str, Any]:
    """What both halves of the dbt project share; ``selection`` is ``select=`` or ``exclude=``."""
    return {
        "manifest": dbt_project().manifest_path,
        "project": dbt_project(),
        "name": name,
        "dagster_dbt_translator": translator(),
        "pool": "duckdb_writer",  # one DuckDB writer at a time
        **selection,
    }


PARSE_FILE = "partial_parse.msgpack"

# Each build writes its own folder under dbt_project/target (manifest, compiled SQL, dbt.log:
# what explains a failed build), about 7 MB at the sample's size. A scheduled deployment
# builds twice a run, so folders older than a week go, except each step's newest ones.
BUILDS_KEPT_DAYS = 7
BUILDS_KEPT_NEWEST = 20


def kept_parse(duckdb_path: str, name: str) -> Path:
    """Where the last parse of step ``name`` for this warehouse is kept, beside it.

    dbt re-parses the whole project when the vars or the profile differ from its last parse
    (about 2.5 s a build, twice a run), and the warehouse's path is in both: the parse
    dagster-dbt seeds each build with is `dbt parse`'s, without them. Each warehouse keeps its
    own, and dbt still checks every file, var and the profile before it reuses one.
    """
    db = Path(duckdb_path)
    return db.parent / ".dbt_parse" / f"{db.stem}.{name}.msgpack"


def dbt_build(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, duckdb_path: str, name: str
) -> Iterator[Any]:
    """``dbt build`` of this step's selection, seeded with the warehouse's last parse."""
    run = f"{name}-{context.run_id[:7]}-{uuid.uuid4().hex[:7]}"  # as dagster-dbt names them
    target = Path(dbt_project().project_dir) / "target" / run
    kept = kept_parse(duckdb_path, name)
    if kept.exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(kept, target / PARSE_FILE)
    try:
        yield from dbt.cli(
            dbt_build_args(duckdb_path), context=context, target_path=target
        ).stream()
    finally:
        made = target / PARSE_FILE
        if made.exists():  # written whole, then renamed: a reader never sees half a parse
            kept.parent.mkdir(parents=True, exist_ok=True)
            part = kept.with_suffix(".part")
            shutil.copyfile(made, part)
            os.replace(part, kept)
        prune_builds(target.parent, name)


def prune_builds(
    target_root: Path,
    name: str,
    now: float | None = None,
    days: float = BUILDS_KEPT_DAYS,
    newest: int = BUILDS_KEPT_NEWEST,
) -> list[Path]:
    """Delete step ``name``'s build folders older than ``days``, keeping its ``newest``;
    returns what was deleted. Age is the folder's last change: a build still running (of this
    or another process) is minutes old, so it is never taken."""
    now = time.time() if now is None else now
    folders = []
    for path in target_root.glob(f"{name}-*"):
        try:
            folders.append((path.stat().st_mtime, path))
        except FileNotFoundError:  # another process pruned it first
            continue
    folders.sort(reverse=True)
    gone = []
    for changed, path in folders[newest:]:
        if now - changed > days * 86400:
            shutil.rmtree(path, ignore_errors=True)
            gone.append(path)
    return gone


@dbt_assets(**dbt_asset_options("dbt_prep", exclude=MARTS_SELECTION))
def dbt_prep_assets(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
):
    yield from dbt_build(context, dbt, warehouse.database, "dbt_prep")


@dbt_assets(**dbt_asset_options("dbt_marts", select=MARTS_SELECTION))
def dbt_mart_assets(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
):
    # DuckDB has one writer: dbt's subprocess holds the file until it exits, so the marts'
    # summaries are read after the build and attached to their materializations then.
    events = []
    try:
        for event in dbt_build(context, dbt, warehouse.database, "dbt_marts"):
            events.append(event)
    except Exception:
        yield from events
        raise
    with warehouse.connect(read_only=True) as con:
        summaries = mart_summaries(con)
    yield from (with_summary(event, summaries) for event in events)


def with_summary(event: Any, summaries: Mapping[str, StepSummary]) -> Any:
    """The event, with the library's summary added when it materializes a summarized mart."""
    if not isinstance(event, dg.Output | dg.AssetMaterialization):
        return event
    key = event.asset_key if isinstance(event, dg.AssetMaterialization) else None
    name = key.to_user_string() if key else event.output_name
    summary = summaries.get(name)
    if summary is None:
        return event
    return event.with_metadata({**event.metadata, **to_metadata(summary)})
