"""The landing-folder contract: which extract files exist, their columns and raw tables.

A landing folder holds one sub-folder per snapshot, named by its ISO date::

    landing/
      2026-09-30/  Account.csv  User.csv  Opportunity.csv  intent_signals.csv  firmographics.csv
      2026-10-31/  ...
      _truth/      (written by the sample generator for evaluation only; never read by the pipeline)

Every file lands in DuckDB schema ``raw`` as text (``all_varchar``) so that nothing is lost on
the way in: typing happens in dbt staging and problems are reported by the quality gate.
Folders whose name starts with ``_`` or ``.`` are ignored by ingest.

Column names follow the source system's export (Salesforce API names for CRM objects).
Required columns must be present for ingest to accept a file; optional columns may be absent
and are filled with NULL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from territory_ops.dbt_vars import dbt_var

SNAPSHOT_DIR_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Salesforce's default opportunity stages, in funnel order (dbt var ``opportunity_stages``:
# the staging test of accepted stage names reads the same list).
OPPORTUNITY_STAGES: tuple[str, ...] = tuple(dbt_var("opportunity_stages"))
# Stages late enough that moving the account would put a deal at risk: they lock the account.
# One rule for SQL and Python: the dbt var ``late_stages`` (int_opportunities_rolled_up).
LATE_STAGES: tuple[str, ...] = tuple(dbt_var("late_stages"))

SEGMENTS: tuple[str, ...] = ("enterprise", "mid_market", "smb")
# Sales_Role__c: rep (account executive), manager (any level), and the overlay roles se, csm,
# specialist (docs/overlays.md). One list for SQL and Python: the dbt var ``sales_roles``.
SALES_ROLES: tuple[str, ...] = tuple(dbt_var("sales_roles"))


@dataclass(frozen=True)
class ExtractSpec:
    """One extract file of a snapshot and the raw table it lands in."""

    name: str  # short logical name, also the Dagster asset name under ``raw/``
    file_name: str  # file name inside a snapshot folder
    raw_table: str  # table in schema ``raw``
    primary_key: tuple[str, ...]
    required_columns: tuple[str, ...]
    optional_columns: tuple[str, ...] = field(default_factory=tuple)
    description: str = ""

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required_columns + self.optional_columns


ACCOUNTS = ExtractSpec(
    name="crm_accounts",
    file_name="Account.csv",
    raw_table="crm_accounts",
    primary_key=("Id",),
    required_columns=(
        "Id",
        "Name",
        "ParentId",
        "Website",
        "Industry",
        "NumberOfEmployees",
        "AnnualRevenue",
        "BillingStreet",
        "BillingCity",
        "BillingState",
        "BillingPostalCode",
        "BillingCountry",
        "BillingLatitude",
        "BillingLongitude",
        "OwnerId",
        "CreatedDate",
        "LastActivityDate",
    ),
    # Territory_Lock__c: manual pin by RevOps ("true"/"false").
    optional_columns=("Territory_Lock__c",),
    description="Salesforce Account export (one row per CRM account).",
)

USERS = ExtractSpec(
    name="crm_users",
    file_name="User.csv",
    raw_table="crm_users",
    primary_key=("Id",),
    required_columns=(
        "Id",
        "Name",
        "Email",
        "ManagerId",
        "IsActive",
        "Title",
        "Sales_Role__c",  # rep | manager | se | csm | specialist
        "Segment__c",  # enterprise | mid_market | smb (empty for managers)
        "Home_PostalCode__c",
        "Home_Latitude__c",
        "Home_Longitude__c",
        "CreatedDate",  # the user's start date (hire date proxy)
    ),
    optional_columns=(
        "Certifications__c",  # ';'-separated, e.g. hipaa_certified;fedramp_cleared
        "Capacity_Hours__c",  # selling hours per year the rep's manager planned for
        "Leave_Until__c",  # date: on leave until then (exclusive)
        "Slack_User_Id__c",  # the user's Slack member id (digests DM it before e-mail lookup)
    ),
    description="Salesforce User export (reps and their managers).",
)

OPPORTUNITIES = ExtractSpec(
    name="crm_opportunities",
    file_name="Opportunity.csv",
    raw_table="crm_opportunities",
    primary_key=("Id",),
    required_columns=(
        "Id",
        "AccountId",
        "OwnerId",
        "StageName",
        "Amount",
        "CloseDate",
        "IsClosed",
        "IsWon",
        "CreatedDate",
    ),
    optional_columns=("Name", "Type", "Probability"),
    description="Salesforce Opportunity export, full history (open and closed).",
)

INTENT = ExtractSpec(
    name="intent_signals",
    file_name="intent_signals.csv",
    raw_table="intent_signals",
    primary_key=("domain", "topic", "week"),
    required_columns=("domain", "topic", "surge_score", "week"),
    description="Weekly intent topic surges per company domain (Bombora/6sense style), 0-100.",
)

FIRMOGRAPHICS = ExtractSpec(
    name="firmographics_companies",
    file_name="firmographics.csv",
    raw_table="firmographics_companies",
    primary_key=("domain",),
    required_columns=(
        "domain",
        "employees",
        "revenue_usd",
        "revenue_growth_pct",
        "naics_code",
    ),
    optional_columns=("company_name", "funding_total_usd", "technologies"),
    description="Firmographic company data by domain (ZoomInfo/Clearbit style).",
)

# Columns a source mapping adds when it geocodes rows offline (territory_ops.geocode): every
# raw table has them so that dbt can read them whatever the source; Salesforce-shaped exports
# leave them empty (their coordinates, when present, are the billing address's).
GEO_PRECISION_COLUMNS: dict[str, str] = {
    "crm_accounts": "Geo_Precision__c",
    "crm_users": "Geo_Precision__c",
}
# ... and the geocoder's flag (doubtful / foreign / unlocated) the planning pass acts on
GEO_FLAG_COLUMNS: dict[str, str] = {
    "crm_accounts": "Geo_Flag__c",
    "crm_users": "Geo_Flag__c",
}

EXTRACTS: tuple[ExtractSpec, ...] = (ACCOUNTS, USERS, OPPORTUNITIES, INTENT, FIRMOGRAPHICS)
EXTRACTS_BY_NAME: dict[str, ExtractSpec] = {e.name: e for e in EXTRACTS}

# Columns ingest adds to every raw row: where it came from and when.
LOAD_COLUMNS: tuple[str, ...] = (
    "_load_id",
    "_snapshot_date",
    "_source_file",
    "_content_hash",
    "_row_number",
)


def parse_snapshot_dir(name: str) -> date | None:
    """Return the snapshot date a folder name stands for, or None if it is not a snapshot."""
    if not SNAPSHOT_DIR_PATTERN.match(name):
        return None
    try:
        return date.fromisoformat(name)
    except ValueError:
        return None
