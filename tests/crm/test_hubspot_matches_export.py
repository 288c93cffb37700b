"""A pull of a portal lands the same rows as the export mapping makes of that portal's exports."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from territory_ops.crm.hubspot import HUBSPOT_MAPPING, TOKEN_VAR, URL_VAR, hubspot_landing_frames
from territory_ops.extracts.mapping.translate import translate
from territory_ops.extracts.spec import ACCOUNTS, OPPORTUNITIES, USERS

from .hubspot_standin import Company, Deal, HubSpotStandIn, Owner, Portal, running

EXPORT = Path(__file__).resolve().parents[1] / "extracts" / "fixtures" / "hubspot"
TOKEN = "pat-na1-export-check"

# The export's column labels and the HubSpot properties behind them.
COMPANY_LABELS = {
    "Company name": "name",
    "Company Domain Name": "domain",
    "Industry": "industry",
    "Number of Employees": "numberofemployees",
    "Annual Revenue": "annualrevenue",
    "City": "city",
    "State/Region": "state",
    "Postal Code": "zip",
    "Country/Region": "country",
    "Company owner": "hubspot_owner_id",
    "Create Date": "createdate",
    "Last Activity Date": "notes_last_updated",
}
DEAL_LABELS = {
    "Deal Name": "dealname",
    "Deal Stage": "dealstage",
    "Amount": "amount",
    "Close Date": "closedate",
    "Create Date": "createdate",
    "Deal owner": "hubspot_owner_id",
}
TIMESTAMP_LABELS = {"Create Date", "Last Activity Date", "Close Date"}
# Columns only the export can fill (coordinates come from geocoding, not from either source;
# owners in the API have no manager or home postal code, and their create date is real).
EXPORT_ONLY = {
    "BillingLatitude",
    "BillingLongitude",
    "ManagerId",
    "Home_PostalCode__c",
    "Home_Latitude__c",
    "Home_Longitude__c",
    "CreatedDate@User.csv",
}


def _rows(name: str) -> list[dict[str, str]]:
    with (EXPORT / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _api_value(label: str, value: str) -> str | None:
    """The export's cell as the API returns the property (ISO timestamps in UTC, null if blank)."""
    if not value:
        return None
    return value.replace(" ", "T") + ":00.000Z" if label in TIMESTAMP_LABELS else value


def _properties(row: dict[str, str], labels: dict[str, str]) -> dict[str, str | None]:
    return {prop: _api_value(label, row[label]) for label, prop in labels.items()}


def _portal_of_the_export() -> Portal:
    return Portal(
        token=TOKEN,
        companies=[
            Company(
                r["Record ID"],
                _properties(r, COMPANY_LABELS),
                parent_id=r["Parent Company"] or None,
            )
            for r in _rows("companies.csv")
        ],
        owners=[
            Owner(
                r["Owner ID"],
                r["Email"],
                r["First Name"],
                r["Last Name"],
                teams=[r["Team"]],
                archived=r["Active"] != "true",
            )
            for r in _rows("owners.csv")
        ],
        deals=[
            Deal(
                r["Record ID"],
                _properties(r, DEAL_LABELS),
                company_ids=r["Associated Company IDs"].split(";"),
            )
            for r in _rows("deals.csv")
        ],
    )


@pytest.fixture
def standin() -> Iterator[HubSpotStandIn]:
    with running(_portal_of_the_export()) as server:
        yield server


def test_pull_lands_what_the_export_mapping_lands(standin: HubSpotStandIn, tmp_path: Path) -> None:
    translate(HUBSPOT_MAPPING, EXPORT, tmp_path / "landing")
    snapshot = tmp_path / "landing" / "2026-10-31"
    pulled = hubspot_landing_frames({TOKEN_VAR: TOKEN, URL_VAR: standin.url})

    for spec in (ACCOUNTS, USERS, OPPORTUNITIES):
        exported = pl.read_csv(snapshot / spec.file_name, infer_schema=False).fill_null("")
        columns = [
            c
            for c in spec.columns
            if c in exported.columns
            and c not in EXPORT_ONLY
            and f"{c}@{spec.file_name}" not in EXPORT_ONLY
        ]
        assert len(columns) >= 7, spec.file_name
        assert pulled[spec.file_name].select(columns).sort("Id").to_dicts() == (
            exported.select(columns).sort("Id").to_dicts()
        ), spec.file_name
