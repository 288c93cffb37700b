"""The dbt unit tests (``unit_tests:`` in the models' yml) pass, each of them.

dbt builds a unit test's fixtures with the column types of the real input relations, so the
tests run against the warehouse of one accepted pass (a copy: nothing is written to the
shared one).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from territory_ops.settings import DBT_PROJECT_DIR, dbt_executable

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("accepted_pass")]

# The models whose rules are pinned by unit tests; a test renamed away would fail here.
EXPECTED = {
    "duplicates_differing_by_case_whitespace_and_website_form_merge",
    "families_follow_chains_merged_parents_and_stop_at_unknown_ones",
    "a_parent_cycle_ends_at_the_depth_cap",
    "target_weights_are_segment_shares_normalised_to_the_largest",
    "reps_on_leave_or_without_capacity_do_not_dilute_their_segment",
    "zero_total_potential_leaves_the_ramp_factor",
    "a_segment_without_potential_gets_the_floor_weight",
}


def test_every_dbt_unit_test_passes(accepted_pass: tuple[Path, Path], tmp_path: Path):
    _, home = accepted_pass
    database = tmp_path / "territory.duckdb"
    shutil.copy2(home / "territory.duckdb", database)
    target = tmp_path / "target"
    done = subprocess.run(
        [
            dbt_executable(),
            "test",
            "--select",
            "test_type:unit",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(target),
            "--log-path",
            str(tmp_path / "logs"),
            "--vars",
            json.dumps({"duckdb_path": str(database)}),
        ],
        cwd=DBT_PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    results = json.loads((target / "run_results.json").read_text())["results"]
    outcome = {r["unique_id"].rsplit(".", 1)[-1]: r["status"] for r in results}
    assert set(outcome) >= EXPECTED, sorted(outcome)
    assert set(outcome.values()) == {"pass"}, outcome
