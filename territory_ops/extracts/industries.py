"""The industries the pipeline knows, the certification each one requires, and skill gaps.

Two sources, read where the pipeline reads them:

* the **known industries**: the Salesforce standard Industry picklist (``names.INDUSTRIES``),
  what value maps should target. Scoring takes any text (the model gives every industry with
  five accounts or more its own coefficient; the fallback rule an industry fit from won
  deals), but only these values are the ones the sample, the docs and the shipped mappings use;
* the **required skills**: the dbt seed ``industry_requirements.csv``, joined by exact industry
  into ``int_accounts_enriched.required_skill``. An account needing a skill may only be owned
  by an active rep holding it (hard rule 2).

A skill no active rep holds leaves every account needing it without an owner, in any plan:
``skill_gaps`` finds them, so a mapping check, a pass and the hiring plan can say so.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

import polars as pl

from territory_ops.extracts.names import INDUSTRIES
from territory_ops.formatting import money
from territory_ops.settings import DBT_PROJECT_DIR

REQUIREMENTS_SEED = DBT_PROJECT_DIR / "seeds" / "industry_requirements.csv"
KNOWN_INDUSTRIES: tuple[str, ...] = tuple(profile.name for profile in INDUSTRIES)


@cache
def industry_skills() -> dict[str, str]:
    """industry -> required skill, from the dbt seed (the same rows dbt joins)."""
    with REQUIREMENTS_SEED.open(encoding="utf-8", newline="") as handle:
        return {
            row["industry"].strip(): row["required_skill"].strip()
            for row in csv.DictReader(handle)
            if row.get("industry", "").strip()
        }


def required_skill(industry: str | None) -> str:
    """The skill an account of ``industry`` requires ("" for none); exact match, as in SQL."""
    return industry_skills().get(industry or "", "")


def industries_table() -> pl.DataFrame:
    """industry, required_skill, in_picklist: every known industry and every seeded one."""
    skills = industry_skills()
    names = sorted(set(KNOWN_INDUSTRIES) | set(skills))
    return pl.DataFrame(
        {
            "industry": names,
            "required_skill": [skills.get(n, "") for n in names],
            "in_picklist": [n in KNOWN_INDUSTRIES for n in names],
        }
    )


def industries_markdown() -> str:
    """The table docs/scoring.md shows (a test keeps the page equal to this)."""
    lines = ["| industry | required skill |", "|---|---|"]
    for name, skill, _ in industries_table().iter_rows():
        lines.append(f"| {name} | {f'`{skill}`' if skill else '–'} |")
    return "\n".join(lines)


def normalize_skills(value: str | None) -> set[str]:
    """A ';'-separated skill list as stg_crm__users reads it: lower case, no spaces."""
    return {s for s in (value or "").lower().replace(" ", "").split(";") if s}


@dataclass(frozen=True)
class SkillGap:
    """Accounts needing a skill that no active rep holds."""

    skill: str
    accounts: int
    potential: float | None  # None when not scored yet (a mapping check)
    industries: tuple[str, ...]

    def sentence(self) -> str:
        worth = f" (potential {money(self.potential)}/yr)" if self.potential is not None else ""
        where = f" ({', '.join(self.industries)})" if self.industries else ""
        return (
            f"{self.accounts:,} account(s){where}{worth} need {self.skill}, which no active "
            "rep holds: no plan can give them an owner. Certify a rep (Certifications__c), "
            "hire one (territory-ops hiring), or map those industries elsewhere"
        )


def skill_gaps(accounts: pl.DataFrame, reps: pl.DataFrame) -> list[SkillGap]:
    """Skills accounts need that no active rep holds, largest potential (or count) first.

    ``accounts``: ``required_skill`` (else derived from ``industry``), optional ``potential``
    and ``industry``; ``reps``: ``skills`` (';'-separated) and ``active``.
    """
    if "required_skill" in accounts.columns:
        need = accounts["required_skill"].fill_null("").cast(pl.Utf8).to_list()
    else:
        need = [required_skill(i) for i in accounts["industry"].to_list()]
    held: set[str] = set()
    for skills, active in reps.select("skills", "active").iter_rows():
        if active is True or str(active).lower() == "true":
            held |= normalize_skills(skills)
    frame = pl.DataFrame(
        {
            "skill": [s.strip().lower() for s in need],
            "industry": accounts["industry"].fill_null("").cast(pl.Utf8)
            if "industry" in accounts.columns
            else [""] * accounts.height,
            "potential": accounts["potential"].cast(pl.Float64)
            if "potential" in accounts.columns
            else [None] * accounts.height,
        },
        schema={"skill": pl.Utf8, "industry": pl.Utf8, "potential": pl.Float64},
    ).filter((pl.col("skill") != "") & ~pl.col("skill").is_in(sorted(held)))
    has_potential = "potential" in accounts.columns
    gaps = [
        SkillGap(
            skill=skill,
            accounts=group.height,
            potential=float(group["potential"].fill_null(0.0).sum()) if has_potential else None,
            industries=tuple(sorted({i for i in group["industry"] if i})),
        )
        for (skill,), group in frame.group_by("skill")
    ]
    return sorted(gaps, key=lambda g: (-(g.potential or 0.0), -g.accounts, g.skill))
