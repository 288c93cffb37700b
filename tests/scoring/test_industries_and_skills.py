"""Industries and the skills they imply: documented from the data the code reads, and a skill
no active rep holds is a warning in the mapping check, the pass summary, drift and the hiring
plan — never a silent unowned publish."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import duckdb
import polars as pl
from typer.testing import CliRunner

from territory_ops.cli.app import app
from territory_ops.extracts.industries import (
    KNOWN_INDUSTRIES,
    REQUIREMENTS_SEED,
    industries_markdown,
    industry_skills,
    required_skill,
    skill_gaps,
)
from territory_ops.extracts.mapping import check_mapping
from territory_ops.extracts.sample.common import _IND_NAMES, _IND_SKILL, _SKILLS
from territory_ops.planning.config import load_pass_config
from territory_ops.planning.plan import run_pass
from territory_ops.planning.service import propose_and_publish, report_drift, stage_plan
from territory_ops.scenarios.coverage import coverage_gaps
from territory_ops.scenarios.hiring import suggest_hires
from tests.planning.conftest import SNAPSHOT, make_accounts, make_input, make_reps, write_marts
from tests.scenarios.conftest import book as gap_book

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "scoring.md"
HUBSPOT = ROOT / "tests" / "extracts" / "fixtures" / "hubspot"


def _healthcare(accounts: pl.DataFrame, ids: list[str]) -> pl.DataFrame:
    """Mark ``ids`` as Healthcare accounts, with the skill the seed requires."""
    hit = pl.col("account_id").is_in(ids)
    return accounts.with_columns(
        industry=pl.when(hit).then(pl.lit("Healthcare")).otherwise(pl.col("industry")),
        required_skill=pl.when(hit)
        .then(pl.lit(required_skill("Healthcare")))
        .otherwise(pl.col("required_skill")),
    )


def test_the_docs_table_is_the_table_the_code_reads():
    text = DOC.read_text(encoding="utf-8")
    assert industries_markdown() in text
    with REQUIREMENTS_SEED.open(encoding="utf-8") as handle:
        seeded = {r["industry"]: r["required_skill"] for r in csv.DictReader(handle)}
    assert industry_skills() == seeded
    for industry, skill in seeded.items():
        assert f"| {industry} | `{skill}` |" in text
    assert len(re.findall(r"^\| [A-Z][^|]* \| (?:`\w+`|–) \|$", text, re.M)) == len(
        set(KNOWN_INDUSTRIES) | set(seeded)
    )


def test_the_sample_generator_requires_the_skills_dbt_joins():
    required = {name: _SKILLS[k] for name, k in zip(_IND_NAMES, _IND_SKILL, strict=True)}
    assert {n: s for n, s in required.items() if s} == industry_skills()
    assert {n for n, s in required.items() if not s} == set(_IND_NAMES) - set(industry_skills())


def test_skill_gaps_name_the_skill_the_accounts_and_their_potential():
    accounts = _healthcare(make_accounts(), ["A00", "A04"])
    gaps = skill_gaps(accounts, make_reps())
    assert [(g.skill, g.accounts, g.potential, g.industries) for g in gaps] == [
        ("hipaa_certified", 2, 200_000.0, ("Healthcare",))
    ]
    certified = make_reps().with_columns(
        skills=pl.when(pl.col("rep_id") == "R3")
        .then(pl.lit("HIPAA_Certified"))
        .otherwise(pl.lit(""))
    )
    assert skill_gaps(accounts, certified) == []
    # a certified rep who is away does not hold the skill for the plan
    away = certified.with_columns(active=pl.col("rep_id") != "R3")
    assert [g.skill for g in skill_gaps(accounts, away)] == ["hipaa_certified"]


def test_without_required_skill_the_industry_decides():
    accounts = pl.DataFrame({"industry": ["Government", "Retail", None]})
    reps = pl.DataFrame({"skills": [""], "active": [True]})
    gaps = skill_gaps(accounts, reps)
    assert [(g.skill, g.accounts, g.potential) for g in gaps] == [("fedramp_cleared", 1, None)]


def test_mapping_check_warns_when_a_value_map_requires_a_skill_nobody_has(tmp_path: Path):
    report = check_mapping(ROOT / "mappings" / "hubspot.yaml", HUBSPOT)
    warnings = [line for line in report.lines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "1 account(s) (Healthcare)" in warnings[0]
    assert "need hipaa_certified, which no active rep holds" in warnings[0]
    # a roster whose reps hold the certification: no warning
    mapping = (ROOT / "mappings" / "hubspot.yaml").read_text(encoding="utf-8")
    certified = mapping.replace(
        '      CreatedDate: {value: "2020-01-01"}\n',
        '      CreatedDate: {value: "2020-01-01"}\n'
        "      Certifications__c: {value: hipaa_certified}\n",
        1,
    )
    assert certified != mapping
    (tmp_path / "hubspot.yaml").write_text(certified, encoding="utf-8")
    shutil.copytree(HUBSPOT, tmp_path / "export")
    report = check_mapping(tmp_path / "hubspot.yaml", tmp_path / "export")
    assert not [line for line in report.lines() if line.startswith("warning:")]


def test_the_pass_says_so_in_its_summary_warnings_and_drift(tmp_path: Path):
    accounts = _healthcare(make_accounts(), ["A00", "A04"])
    result = run_pass(make_input(accounts), load_pass_config(overrides={"pass_kind": "micro"}))
    assert len(result.metrics["skill_gaps"]) == 1
    assert "2 account(s) (Healthcare)" in result.metrics["skill_gaps"][0]
    assert any(w.startswith("skill gap: 2 account(s)") for w in result.warnings)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        write_marts(con, accounts, make_reps(), SNAPSHOT)
        stage_plan(con, "run-1", load_pass_config(overrides={"pass_kind": "micro"}))
        drift = report_drift(con, "run-1")
        published = propose_and_publish(con, "run-1")
    flag = drift.flags.filter(pl.col("flag") == "skill_gap")
    assert flag.height == 1 and "hipaa_certified" in flag["detail"][0]
    assert "**Skill gap:** 2 account(s) (Healthcare)" in published.summary


def test_a_book_without_gaps_says_nothing():
    result = run_pass(make_input(), load_pass_config(overrides={"pass_kind": "micro"}))
    assert result.metrics["skill_gaps"] == []
    assert not any(w.startswith("skill gap") for w in result.warnings)


def test_the_hiring_plan_shows_them_as_a_gap_and_hires_the_skill():
    accounts, reps = gap_book()
    chicago = [f"Achi{i:03d}" for i in range(0, 30, 2)]  # enterprise accounts near R01
    accounts = _healthcare(accounts, chicago)
    gaps = coverage_gaps(accounts, reps)
    nobody = gaps.far_accounts.filter(pl.col("reason") == "no_eligible_rep")
    assert sorted(nobody["account_id"]) == sorted(chicago)
    assert [g.skill for g in gaps.skill_gaps] == ["hipaa_certified"]
    assert "skill hipaa_certified held by no active rep: 15 account(s)" in gaps.summary()
    plan = suggest_hires(accounts, reps, 2, time_limit=20)
    hired = plan.locations.filter(pl.col("skills").str.contains("hipaa_certified"))
    assert hired.height >= 1 and hired["accounts_covered"].sum() == 15


def test_the_industries_command_lists_industries_and_skills():
    result = CliRunner().invoke(app, ["industries"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["industry", "required", "skill"]
    rows = {line.split("  ")[0].strip(): line.split()[-1] for line in lines[1:]}
    assert rows["Healthcare"] == "hipaa_certified"
    assert rows["Government"] == "fedramp_cleared"
    assert rows["Retail"] == "-"
    assert len(rows) == len(set(KNOWN_INDUSTRIES) | set(industry_skills()))


def test_the_industries_command_counts_the_book_and_warns(settings):
    path = settings.duckdb_path
    path.parent.mkdir(parents=True, exist_ok=True)
    accounts = _healthcare(make_accounts(), ["A00", "A04"]).with_columns(
        industry=pl.when(pl.col("account_id") == "A01")
        .then(pl.lit("Biotech"))
        .otherwise(pl.col("industry"))
    )
    with duckdb.connect(str(path)) as con:
        write_marts(con, accounts, make_reps(), SNAPSHOT)
    result = CliRunner().invoke(app, ["industries", "--book"])
    assert result.exit_code == 0, result.output
    healthcare = next(line for line in result.output.splitlines() if line.startswith("Healthcare"))
    assert healthcare.split()[-1] == "2"
    assert "Biotech" in result.output and "not a known industry" in result.output
    assert "warning: 2 account(s) (Healthcare)" in result.output
