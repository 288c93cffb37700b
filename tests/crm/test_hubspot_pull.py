"""The HubSpot pull against a loopback stand-in of HubSpot's CRM v3 API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import urllib3
from typer.testing import CliRunner

from territory_ops.cli import app
from territory_ops.crm.hubspot import (
    COMPANY_PROPERTIES,
    DEAL_PROPERTIES,
    MAX_RETRY_AFTER,
    PAGE_SIZE,
    RETRY,
    TOKEN_VAR,
    URL_VAR,
    HubSpotPullError,
    hubspot_landing_frames,
    pull_hubspot,
    with_owner_details,
)
from territory_ops.extracts.spec import ACCOUNTS, OPPORTUNITIES, USERS

from .hubspot_standin import Company, Deal, HubSpotStandIn, Owner, Portal, running

TOKEN = "pat-na1-secret-0000-test"


def _company(cid: str, **props: str | None) -> Company:
    values: dict[str, str | None] = {
        "name": f"Company {cid}",
        "domain": f"c{cid}.example",
        "industry": "COMPUTER_SOFTWARE",
        "numberofemployees": "120",
        "annualrevenue": "5000000",
        "address": "1 Main St",
        "city": "Seattle",
        "state": "WA",
        "zip": "98101",
        "country": "United States",
        "hubspot_owner_id": "9001",
        "createdate": "2021-03-04T10:15:00.000Z",
        "notes_last_updated": "2026-09-12T16:00:00.000Z",
    }
    parent = props.pop("parent", None)
    values.update(props)
    return Company(cid, values, parent_id=parent)


def _deal(did: str, stage: str, companies: list[str], **props: str | None) -> Deal:
    values: dict[str, str | None] = {
        "dealname": f"Deal {did}",
        "dealstage": stage,
        "amount": "12000",
        "closedate": "2026-12-15T00:00:00Z",
        "hubspot_owner_id": "9001",
        "createdate": "2026-08-01T10:00:00.000Z",
    }
    values.update(props)
    return Deal(did, values, company_ids=companies)


def _portal() -> Portal:
    return Portal(
        token=TOKEN,
        companies=[
            _company("101"),
            _company("102", industry="HOSPITAL_HEALTH_CARE", hubspot_owner_id="9002"),
            _company("103", parent="101", industry="AEROSPACE", annualrevenue="about 3M"),
            _company("104", hubspot_owner_id=None, city=None),
        ],
        owners=[
            Owner("9000", "morgan.lee@example.com", "Morgan", "Lee", teams=["Leadership"]),
            Owner("9001", "ava.stone@example.com", "Ava", "Stone", teams=["Enterprise", "SMB"]),
            Owner("9002", "ben.okafor@example.com", "Ben", "Okafor", teams=["Mid-Market"]),
            Owner("9003", "cy.gone@example.com", "Cy", "Gone", teams=["SMB"], archived=True),
        ],
        deals=[
            _deal("5001", "closedwon", ["101"]),
            _deal("5002", "contractsent", ["102"]),
            _deal("5003", "closedlost", ["103"]),
            _deal("5004", "custom_pilot_stage", ["104"], amount="n/a"),
        ],
    )


@pytest.fixture
def standin() -> Iterator[HubSpotStandIn]:
    with running(_portal()) as server:
        yield server


def _env(server: HubSpotStandIn, token: str = TOKEN) -> dict[str, str]:
    return {TOKEN_VAR: token, URL_VAR: server.url}


def _by_id(frame: pl.DataFrame) -> dict[str, dict[str, str]]:
    return {row["Id"]: row for row in frame.iter_rows(named=True)}


def test_frames_have_the_landing_contracts_columns_as_text(standin: HubSpotStandIn) -> None:
    frames = hubspot_landing_frames(_env(standin))

    assert set(frames) == {"Account.csv", "User.csv", "Opportunity.csv"}
    for spec in (ACCOUNTS, USERS, OPPORTUNITIES):
        assert tuple(frames[spec.file_name].columns) == spec.columns
        assert set(frames[spec.file_name].dtypes) == {pl.String}


def test_companies_on_several_pages_all_land(standin: HubSpotStandIn) -> None:
    many = [_company(str(1000 + i)) for i in range(2 * PAGE_SIZE + 7)]
    standin.portal.companies = many

    accounts = hubspot_landing_frames(_env(standin))["Account.csv"]

    assert accounts.height == len(many)
    assert accounts["Id"].n_unique() == len(many)
    company_pages = [p for _, s, p in standin.requests if "/objects/companies" in p]
    assert len(company_pages) == 3
    assert any("after=200" in p for p in company_pages)


def test_accounts_map_owner_parent_address_and_industry(standin: HubSpotStandIn) -> None:
    accounts = _by_id(hubspot_landing_frames(_env(standin))["Account.csv"])

    assert accounts["101"]["OwnerId"] == "9001"
    assert accounts["101"]["Industry"] == "Technology"
    assert accounts["102"]["Industry"] == "Healthcare"
    assert accounts["103"]["Industry"] == "Other"  # the mapping's default for unmapped ones
    assert accounts["103"]["ParentId"] == "101"
    assert accounts["101"]["ParentId"] == ""  # a parent's link to its child is not its parent
    assert accounts["101"]["BillingStreet"] == "1 Main St"
    assert accounts["101"]["BillingPostalCode"] == "98101"
    assert accounts["101"]["NumberOfEmployees"] == "120"
    assert accounts["101"]["LastActivityDate"] == "2026-09-12"
    assert accounts["103"]["AnnualRevenue"] == "about 3M"  # for the quality gate to report
    assert accounts["104"]["OwnerId"] == ""
    assert accounts["104"]["BillingCity"] == ""


def test_deal_stages_map_onto_the_landing_stages(standin: HubSpotStandIn) -> None:
    deals = _by_id(hubspot_landing_frames(_env(standin))["Opportunity.csv"])

    assert (deals["5001"]["StageName"], deals["5001"]["IsClosed"], deals["5001"]["IsWon"]) == (
        "Closed Won",
        "true",
        "true",
    )
    assert (deals["5003"]["StageName"], deals["5003"]["IsClosed"], deals["5003"]["IsWon"]) == (
        "Closed Lost",
        "true",
        "false",
    )
    assert deals["5002"]["StageName"] == "Proposal/Price Quote"
    assert deals["5002"]["IsClosed"] == "false"
    assert deals["5002"]["CloseDate"] == "2026-12-15"
    assert deals["5002"]["AccountId"] == "102"
    # an unknown stage and a non-number amount are passed through for the gate to report
    assert deals["5004"]["StageName"] == "custom_pilot_stage"
    assert deals["5004"]["Amount"] == "n/a"


def test_owners_are_the_roster_with_team_roles_and_segments(standin: HubSpotStandIn) -> None:
    users = _by_id(hubspot_landing_frames(_env(standin))["User.csv"])

    assert set(users) == {"9000", "9001", "9002", "9003"}
    assert (users["9000"]["Sales_Role__c"], users["9000"]["Segment__c"]) == ("manager", "")
    assert (users["9001"]["Sales_Role__c"], users["9001"]["Segment__c"]) == ("rep", "enterprise")
    assert users["9001"]["Title"] == "Enterprise"  # the primary team, not the second one
    assert users["9002"]["Segment__c"] == "mid_market"
    assert users["9002"]["Email"] == "ben.okafor@example.com"
    assert users["9003"]["IsActive"] == "false"
    assert users["9001"]["IsActive"] == "true"
    assert users["9001"]["CreatedDate"] == "2026-01-01"


def test_a_429_waits_for_retry_after_then_succeeds(standin: HubSpotStandIn) -> None:
    standin.fail_next(429, retry_after=1)
    started = time.monotonic()

    frames = hubspot_landing_frames(_env(standin))

    assert frames["Account.csv"].height == 4
    statuses = [s for _, s, _ in standin.requests]
    assert statuses[:2] == [429, 200]
    waited = standin.requests[1][0] - standin.requests[0][0]
    assert waited >= 0.9  # Retry-After: 1 honoured
    assert time.monotonic() - started < 10


def test_a_502_is_retried_then_succeeds(standin: HubSpotStandIn) -> None:
    standin.fail_next(502)

    frames = hubspot_landing_frames(_env(standin))

    assert frames["Opportunity.csv"].height == 4
    assert [s for _, s, _ in standin.requests][:2] == [502, 200]


def test_a_bad_token_names_the_variable_but_not_the_token(standin: HubSpotStandIn) -> None:
    bad = "pat-na1-wrong-token-1234"

    with pytest.raises(HubSpotPullError) as caught:
        hubspot_landing_frames(_env(standin, token=bad))

    message = str(caught.value)
    assert TOKEN_VAR in message
    assert "401" in message and "companies" in message
    assert bad not in message and TOKEN not in message
    assert [s for _, s, _ in standin.requests] == [401]  # an auth error is not retried


def test_a_missing_token_is_a_clear_error(standin: HubSpotStandIn) -> None:
    with pytest.raises(HubSpotPullError, match=TOKEN_VAR):
        hubspot_landing_frames({URL_VAR: standin.url})
    assert standin.requests == []


def test_a_property_the_portal_lacks_names_object_and_property(standin: HubSpotStandIn) -> None:
    standin.portal.known_properties["deals"] = set(DEAL_PROPERTIES.values()) - {"amount"}
    standin.portal.known_properties["companies"] = set(COMPANY_PROPERTIES.values())

    with pytest.raises(HubSpotPullError) as caught:
        hubspot_landing_frames(_env(standin))

    assert "deals" in str(caught.value) and "'amount'" in str(caught.value)


def test_a_missing_scope_names_the_object_and_the_scope(standin: HubSpotStandIn) -> None:
    standin.fail_next(403)

    with pytest.raises(HubSpotPullError) as caught:
        hubspot_landing_frames(_env(standin))

    message = str(caught.value)
    assert "HTTP 403" in message and "crm.objects.companies.read" in message
    assert TOKEN not in message


def test_an_unreachable_api_names_the_url_variable() -> None:
    server = HubSpotStandIn(_portal())
    url = server.url
    server.stop()  # never started: the port is closed again

    with pytest.raises(HubSpotPullError, match=URL_VAR):
        hubspot_landing_frames({TOKEN_VAR: TOKEN, URL_VAR: url})


def test_a_long_retry_after_is_capped() -> None:
    response = urllib3.response.HTTPResponse(status=429, headers={"Retry-After": "86400"})

    assert RETRY.get_retry_after(response) == MAX_RETRY_AFTER


def test_the_cli_lands_a_snapshot_the_gate_reads_and_keeps_the_token_out(
    standin: HubSpotStandIn, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in _env(standin).items():
        monkeypatch.setenv(name, value)
    landing = tmp_path / "landing"
    runner = CliRunner()
    args = ["crm", "pull", "--crm", "hubspot", "--out", str(landing), "--as-of", "2026-09-30"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in landing.iterdir()) == ["2026-09-30"]  # no staging left
    validated = runner.invoke(
        app, ["validate", str(landing), "--warehouse", str(tmp_path / "none.duckdb")]
    )
    # the gate reads the pull like any extract: companies are located from their address,
    # and the values this portal holds that no landing column can read are named, not crashed on
    assert "BillingLatitude" not in validated.output, validated.output
    errors = [line for line in validated.output.splitlines() if line.startswith("[error]")]
    assert len(errors) == 3, validated.output
    assert "'about 3M'" in errors[0] and "'n/a'" in errors[1]
    assert "'custom_pilot_stage'" in errors[2]
    written = [p for p in landing.rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"Account.csv", "User.csv", "Opportunity.csv"}
    assert not any(TOKEN in p.read_text(encoding="utf-8") for p in written)
    assert TOKEN not in result.output
    again = runner.invoke(app, args)  # a snapshot is never overwritten
    assert again.exit_code == 1 and "already exists" in again.output


def test_a_failed_pull_leaves_no_snapshot_folder(standin: HubSpotStandIn, tmp_path) -> None:
    landing = tmp_path / "landing"
    with pytest.raises(HubSpotPullError):
        pull_hubspot(landing, date(2026, 11, 30), _env(standin, token="wrong"))
    assert not landing.exists() or list(landing.iterdir()) == []


def test_owner_details_fill_what_hubspot_lacks_by_email(tmp_path: Path) -> None:
    users = [
        {"Id": "9001", "Email": "Ava@Example.com", "ManagerId": "", "Home_PostalCode__c": ""},
        {"Id": "9002", "Email": "ben@example.com", "ManagerId": "", "Home_PostalCode__c": ""},
    ]
    details = tmp_path / "owners.csv"
    details.write_text(
        "Email,ManagerId,Home_PostalCode__c\nava@example.com,9000,98101\nben@example.com,,\n",
        encoding="utf-8",
    )
    filled = with_owner_details(users, details)
    assert [(u["ManagerId"], u["Home_PostalCode__c"]) for u in filled] == [
        ("9000", "98101"),
        ("", ""),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Email,Home_Zip\na@example.com,1\n", "unknown: Home_Zip"),
        ("ManagerId\n9000\n", "Email is missing"),
        ("Email,ManagerId\n,9000\n", "rows without an Email (line 2)"),
        ("Email,ManagerId\na@example.com,1\nA@example.com,2\n", "more than one row"),
        ("Email,ManagerId\nzoe@example.com,1\n", "owners HubSpot does not have (zoe@example.com)"),
    ],
)
def test_a_bad_owner_details_file_stops_the_pull_naming_file_and_rows(
    tmp_path: Path, text: str, message: str
) -> None:
    details = tmp_path / "owners.csv"
    details.write_text(text, encoding="utf-8")
    with pytest.raises(HubSpotPullError, match="HUBSPOT_OWNER_DETAILS_FILE") as err:
        with_owner_details([{"Id": "1", "Email": "a@example.com"}], details)
    assert message in str(err.value) and str(details) in str(err.value)
