"""``territory-ops plan show --by manager|level N`` and ``territory-ops drift --under EMAIL`` on a
real warehouse: a pass over the tiny book with a three-level organisation in marts.org_chart."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from territory_ops.cli import app
from territory_ops.planning import store
from territory_ops.planning.config import load_pass_config
from territory_ops.planning.service import propose_and_publish, report_drift, stage_plan
from tests.org.tables import write_org_chart as write_org_table

from .conftest import MANUAL, SNAPSHOT, make_accounts, make_reps, write_marts

# Ana and Ben (New York) in Mia's team, Cleo (Chicago) in Max's, both under Dana West;
# Dev (Chicago) in Moe's team under Eve East
CHART = [
    ("D1", "Dana West", "dana@x.io", None, "manager"),
    ("D2", "Eve East", "eve@x.io", None, "manager"),
    ("M1", "Mia One", "mia@x.io", "D1", "manager"),
    ("M2", "Max Two", "max@x.io", "D1", "manager"),
    ("M3", "Moe Three", "moe@x.io", "D2", "manager"),
    ("R1", "Ana Alvarez", "ana@x.io", "M1", "rep"),
    ("R2", "Ben Brooks", "ben@x.io", "M1", "rep"),
    ("R3", "Cleo Chen", "cleo@x.io", "M2", "rep"),
    ("R4", "Dev Dutta", "dev@x.io", "M3", "rep"),
]


def write_org_chart(con: duckdb.DuckDBPyConnection) -> None:
    write_org_table(con, [(*row, None) for row in CHART])


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        reps = make_reps(R1=("on_leave", date(2026, 9, 15)))
        write_marts(con, make_accounts(), reps, SNAPSHOT)
        write_org_chart(con)
        config = load_pass_config(overrides={"pass_kind": "micro", **MANUAL})
        stage_plan(con, "run-1", config)
        report_drift(con, "run-1")
        propose_and_publish(con, "run-1")
    monkeypatch.setenv("TERRITORY_OPS_DUCKDB", str(path))
    return path


def _proposals(path: Path) -> pl.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return store.proposals(con)


def test_plan_show_by_manager_rolls_up_the_whole_hierarchy(warehouse: Path) -> None:
    out = CliRunner().invoke(app, ["plan", "show", "--by", "manager"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert "per manager" in lines[0] and "micro pass run-1" in lines[0]
    assert lines[1].startswith("node ") and "in band" in lines[1]
    rows = lines[3:]
    # region by region, each director before its teams (indented), teams by name
    order = ["Dana West", "  Max Two", "  Mia One", "Eve East", "  Moe Three"]
    assert [r[: len(n)] for r, n in zip(rows, order, strict=True)] == order
    # Ana's four accounts leave Mia's team (covers), one of them to Eve's region; each waits
    # for Mia (her side of a move between teams, by the decision rights)
    mia = rows[2].split()
    assert mia[mia.index("4/4/0") + 1] == "0/2"


def test_plan_show_by_level_keeps_one_level(warehouse: Path) -> None:
    runner = CliRunner()
    top = runner.invoke(app, ["plan", "show", "--by", "level", "1"])
    assert top.exit_code == 0, top.output
    assert "Dana West" in top.output and "Eve East" in top.output
    assert "Mia One" not in top.output
    # Dana's row: 3 reps (Ana on leave is not active), 2 teams
    dana = next(line for line in top.output.splitlines() if line.startswith("Dana West"))
    assert dana.split()[2:5] == ["1", "2", "2"]  # level, teams, active reps
    second = runner.invoke(app, ["plan", "show", "--by", "level", "2"])
    assert second.exit_code == 0, second.output
    assert all(n in second.output for n in ("Mia One", "Max Two", "Moe Three"))
    assert "Dana West" not in second.output
    deep = runner.invoke(app, ["plan", "show", "--by", "level", "5"])
    assert deep.exit_code == 1 and "No manager at level 5" in deep.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--by", "team"], "--by takes manager or level N"),
        (["--by", "level"], "--by level needs the level"),
        (["--by", "manager", "2"], "--by manager takes no level"),
    ],
)
def test_plan_show_by_rejects_what_it_cannot_roll_up(warehouse: Path, args, words) -> None:
    out = CliRunner().invoke(app, ["plan", "show", *args])
    assert out.exit_code == 2 and words in out.output


def test_drift_under_a_director_lists_their_flags_and_proposals(warehouse: Path) -> None:
    out = CliRunner().invoke(app, ["drift", "--under", "DANA@x.io"])
    assert out.exit_code == 0, out.output
    text = out.output
    assert text.startswith("Under Dana West (dana@x.io), level 1")
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("Drift flags ("))
    assert "1 on leave" in lines[head]
    # people first: Ana's leave, then the amounts
    assert lines[head + 1] == (
        "  [rep] R1 (Ana Alvarez) on leave until 2026-09-15: 4 accounts, $400k potential "
        "need a cover"
    )
    mine = _proposals(warehouse).filter(
        pl.col("from_rep_id").is_in(["R1", "R2", "R3"])
        | pl.col("to_rep_id").is_in(["R1", "R2", "R3"])
    )
    assert mine.height > 0
    listed = [line for line in text.splitlines() if line.strip().startswith("P-")]
    assert sorted(line.split()[0] for line in listed) == sorted(mine["proposal_id"])
    assert f"Proposals of the published plan ({mine.height}:" in text
    # Ana's own team leads the table; Eve's region is not in it
    assert "Mia One" in text and "Eve East" not in text


def test_drift_under_another_region_leaves_the_first_out(warehouse: Path) -> None:
    out = CliRunner().invoke(app, ["drift", "--under", "moe@x.io"])
    assert out.exit_code == 0, out.output
    assert "Under Moe Three (moe@x.io), level 2" in out.output
    assert "Ana Alvarez) on leave" not in out.output
    theirs = _proposals(warehouse).filter(
        (pl.col("from_rep_id") == "R4") | (pl.col("to_rep_id") == "R4")
    )
    listed = [line for line in out.output.splitlines() if line.strip().startswith("P-")]
    assert len(listed) == theirs.height


def test_drift_under_someone_not_in_the_organisation(warehouse: Path) -> None:
    out = CliRunner().invoke(app, ["drift", "--under", "nobody@x.io"])
    assert out.exit_code == 2 and "No one with e-mail or id 'nobody@x.io'" in out.output


def test_drift_report_and_plan_summary_carry_one_table_per_region(tmp_path: Path) -> None:
    """What the Dagster UI shows (drift_report's by_region, the plan summary's section)."""
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        write_marts(con, make_accounts(), make_reps(R1=("on_leave", date(2026, 9, 15))), SNAPSHOT)
        write_org_chart(con)
        stage_plan(con, "run-1", load_pass_config(overrides={"pass_kind": "micro", **MANUAL}))
        drift = report_drift(con, "run-1")
        published = propose_and_publish(con, "run-1")
    for markdown in (drift.by_region, published.summary):
        heads = [line for line in markdown.splitlines() if line.startswith("#### ")]
        assert "#### Dana West" in heads and "#### Eve East" in heads
        assert "| → Mia One |" in markdown
    assert "### By region, today → plan" in published.summary
    assert "open/waiting/approved" not in drift.by_region  # no proposals before the drift
    # the drift report has no proposals yet; the published plan counts Ana's four covers
    dana = next(line for line in published.summary.splitlines() if line.startswith("| Dana"))
    assert "| 4/1/0 |" in dana
