"""The scenario_comparison job: one step per scenario, the table and chart in the metadata,
and a failed scenario fails the run after the report is written."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.resources import WarehouseResource
from pipelines.scenarios import scenario_comparison
from tests.scenarios.conftest import book


def _warehouse(path: Path) -> None:
    accounts, reps = book()
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.register("a", accounts.to_arrow())
        con.register("r", reps.to_arrow())
        con.execute("create table marts.account_profiles as select * from a")
        con.execute("create table marts.rep_roster as select * from r")


@pytest.mark.slow
def test_each_scenario_is_a_step_and_the_comparison_lands_in_metadata(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    _warehouse(db)
    good = tmp_path / "band.yaml"
    good.write_text("name: Band 5%\ntolerance: 0.05\n", encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Bad\nremove_reps: [R42]\n", encoding="utf-8")
    config = {
        "ops": {
            "scenario_baseline": {"config": {"time_limit": 1.0}},
            "scenario_files": {"config": {"files": [str(good), str(bad)]}},
            "compare_scenarios": {"config": {"out_dir": str(tmp_path / "out")}},
        }
    }
    result = scenario_comparison.execute_in_process(
        run_config=config,
        resources={"warehouse": WarehouseResource(database=str(db), archive_dir=str(tmp_path))},
        raise_on_error=False,
    )
    steps = {e.step_key for e in result.all_events if e.is_step_success}
    assert {"run_one_scenario[band]", "run_one_scenario[bad]"} <= steps
    assert not result.success  # the bad scenario fails the run ...
    mats = [
        e.event_specific_data.materialization
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
    ]
    assert [m.asset_key.path for m in mats] == [["scenario_comparison"]]  # ... after the report
    md = mats[0].metadata["comparison"].value
    assert "| Band 5% |" in md and "unknown rep 'R42'" in md and "data:image/png;base64," in md
    assert (tmp_path / "out" / "report.html").exists()
