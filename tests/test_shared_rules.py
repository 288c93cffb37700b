"""Each rule lives in one place: SQL and Python read the same dbt var or the same query.

The behaviour on real data (SQL and Python giving the same answers) is checked in
tests/pipelines/test_materialize.py; these tests catch a rule being copied again.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from territory_ops.capacity.capacity import AVAILABLE_STATUSES
from territory_ops.dbt_vars import dbt_var
from territory_ops.extracts.ingest import land_extract
from territory_ops.extracts.spec import EXTRACTS, LATE_STAGES, OPPORTUNITY_STAGES, SALES_ROLES
from territory_ops.org import roles as org_roles
from territory_ops.quality.gate import candidate_loads, registry_baselines
from territory_ops.quality.landing import warehouse_baselines
from territory_ops.quality.promotion import newest_loads, promote_current_loads, reject_load
from territory_ops.scoring import rules
from territory_ops.settings import DBT_PROJECT_DIR, PROJECT_ROOT

MODELS = DBT_PROJECT_DIR / "models"


def model_text() -> str:
    return "\n".join(p.read_text() for p in sorted(MODELS.rglob("*")) if p.is_file())


def test_python_reads_the_dbt_vars_the_models_use():
    assert tuple(dbt_var("late_stages")) == LATE_STAGES
    assert set(LATE_STAGES) < set(OPPORTUNITY_STAGES)
    assert tuple(dbt_var("opportunity_stages")) == OPPORTUNITY_STAGES
    assert tuple(dbt_var("available_rep_statuses")) == AVAILABLE_STATUSES
    assert float(dbt_var("rule_v1")["wallet_cap"]) == rules.WALLET_CAP
    assert tuple(dbt_var("sales_roles")) == SALES_ROLES == org_roles.SALES_ROLES
    assert tuple(dbt_var("overlay_roles")) == org_roles.OVERLAY_ROLES
    macros = "\n".join(p.read_text() for p in sorted((DBT_PROJECT_DIR / "macros").glob("*.sql")))
    assert "var('unknown_role_as_account_executive')" in macros
    assert "is_account_executive(" in (MODELS / "marts" / "rep_roster.sql").read_text()
    sql = model_text()
    for var in (
        "late_stages",
        "opportunity_stages",
        "available_rep_statuses",
        "rule_v1",
        "overlay_roles",
        "overlay_default_capacity_hours",
    ):
        assert f"var('{var}')" in sql, f"no model reads var {var}"


def test_no_model_spells_out_a_shared_rule_again():
    sql = model_text()
    for stage in OPPORTUNITY_STAGES:
        assert f"'{stage}'" not in sql and f'"{stage}"' not in sql, stage
    enriched = (MODELS / "intermediate" / "int_accounts_enriched.sql").read_text()
    for number in ("0.002", "5000000"):
        assert number not in enriched
    scoring_assets = (PROJECT_ROOT / "pipelines" / "scoring.py").read_text()
    assert "int_accounts_deduplicated" not in scoring_assets


def land_all(con: duckdb.DuckDBPyConnection, landing: Path, archive: Path) -> None:
    for spec in EXTRACTS:
        land_extract(con, landing, spec, archive)


def test_the_gate_validates_exactly_the_loads_promotion_would_promote(landing_copy, tmp_path):
    con = duckdb.connect()
    land_all(con, landing_copy, tmp_path / "archive")
    newest = newest_loads(con)
    assert newest == {k: (v.load_id, v.snapshot_date) for k, v in candidate_loads(con).items()}
    # reject the newest accounts load: both step back to the previous snapshot, together
    assert reject_load(con, newest["crm_accounts"][0], "test")
    after = newest_loads(con)
    assert after["crm_accounts"][1] < newest["crm_accounts"][1]
    assert after == {k: (v.load_id, v.snapshot_date) for k, v in candidate_loads(con).items()}


def test_validate_and_a_pass_compare_volume_with_the_same_load(landing_copy, tmp_path):
    """``territory-ops validate`` and the pass's gate pick the same "last accepted load"."""
    snapshots = sorted(p for p in landing_copy.iterdir() if p.name[0].isdigit())
    later = tmp_path / "later"
    shutil.move(snapshots[-1], later)
    warehouse = tmp_path / "territory.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        land_all(con, landing_copy, tmp_path / "archive")
        promote_current_loads(con)  # the first snapshot is accepted
        shutil.move(later, snapshots[-1])
        land_all(con, landing_copy, tmp_path / "archive")
        candidates = candidate_loads(con)
        in_pass = registry_baselines(con, candidates)
    in_validate, _ = warehouse_baselines(warehouse, candidates)
    assert set(in_pass) == set(in_validate) == {spec.name for spec in EXTRACTS}
    for name, baseline in in_pass.items():
        assert (baseline.row_count, baseline.snapshot_date) == (
            in_validate[name].row_count,
            in_validate[name].snapshot_date,
        )
        assert baseline.snapshot_date < candidates[name].snapshot_date


# one worker imports the definitions in a fresh interpreter for both users of the probe
@pytest.mark.xdist_group("fresh_definitions_import")
def test_loading_the_definitions_writes_no_environment_variable(fresh_definitions_import):
    # Only the project's own settings: libraries (polars' allocator) may set their internals.
    assert fresh_definitions_import["env_changed"] == []


@pytest.mark.parametrize("name", ["late_stages", "rule_v1"])
def test_a_missing_var_is_named(name, monkeypatch):
    from territory_ops import dbt_vars

    monkeypatch.setattr(dbt_vars, "dbt_vars", lambda: {})
    with pytest.raises(KeyError, match=name):
        dbt_vars.dbt_var(name)
