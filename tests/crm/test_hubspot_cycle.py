"""The whole loop against the HubSpot stand-in as a deployment runs it, the same loop as the
Salesforce one (tests/crm/scheduled_cycle.py): the nightly pull's schedule ticks and lands a
snapshot of a portal holding the sample book, the refresh sensor starts the pass job, each
manager approves their digest in Slack, the evening push's schedule applies company owners and,
as the holdover policy says, deal owners (a record HubSpot rejects stays approved with its error
and goes in with the next evening's push), and the next night's pull and pass confirm what
HubSpot shows and flag what someone changed back. Owners' home bases and managers, which
HubSpot does not keep, come from the owner details file RevOps maintains."""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

import pytest

from territory_ops.crm.hubspot import OWNER_DETAILS_VAR, TOKEN_VAR, URL_VAR
from tests.notify.conftest import FakeSlack

from .hubspot_standin import Company, Deal, Owner, Portal, running
from .scheduled_cycle import SIGNING_SECRET, CycleCrm, assert_no_secrets, run_cycle

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("crm_hubspot_cycle")]
TOKEN = "pat-na1-cycle-secret-4242"
# mappings/hubspot.yaml read backwards: the portal's own values for the sample's
INDUSTRIES = {
    "Technology": "COMPUTER_SOFTWARE",
    "Healthcare": "HOSPITAL_HEALTH_CARE",
    "Retail": "RETAIL",
    "Finance": "FINANCIAL_SERVICES",
}
STAGES = {
    "Prospecting": "appointmentscheduled",
    "Qualification": "qualifiedtobuy",
    "Needs Analysis": "qualifiedtobuy",
    "Value Proposition": "presentationscheduled",
    "Id. Decision Makers": "decisionmakerboughtin",
    "Perception Analysis": "decisionmakerboughtin",
    "Proposal/Price Quote": "contractsent",
    "Negotiation/Review": "contractsent",
    "Closed Won": "closedwon",
    "Closed Lost": "closedlost",
}
# the details HubSpot's owners lack, kept by RevOps in a file
OWNER_DETAILS = ("ManagerId", "Home_PostalCode__c", "Home_Latitude__c", "Home_Longitude__c")


def _text(value: Any) -> str | None:
    return None if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _stamp(value: Any) -> str | None:
    """A date or timestamp as HubSpot's API gives it (ISO, UTC, milliseconds)."""
    if not value:
        return None
    text = str(value).replace("+0000", "Z")
    return f"{text}T00:00:00.000Z" if len(text) == 10 else text


def _team(user: dict[str, Any]) -> str:
    if user["Sales_Role__c"] == "manager":
        return "Leadership"
    segment = (user["Segment__c"] or "smb").split(";")[0]
    return {"enterprise": "Enterprise", "mid_market": "Mid-Market"}.get(segment, "SMB")


def _portal(records: dict[str, list[dict[str, Any]]]) -> Portal:
    """The sample book as a HubSpot portal holds it."""
    companies = [
        Company(
            a["Id"],
            {
                "name": a["Name"],
                "domain": _text(a["Website"]),
                "industry": INDUSTRIES.get(a["Industry"] or "", "OTHER"),
                "numberofemployees": _text(a["NumberOfEmployees"]),
                "annualrevenue": _text(a["AnnualRevenue"]),
                "address": _text(a["BillingStreet"]),
                "city": _text(a["BillingCity"]),
                "state": _text(a["BillingState"]),
                "zip": _text(a["BillingPostalCode"]),
                "country": _text(a["BillingCountry"]),
                "hubspot_owner_id": _text(a["OwnerId"]),
                "createdate": _stamp(a["CreatedDate"]),
                "notes_last_updated": _stamp(a["LastActivityDate"]),
            },
            parent_id=a["ParentId"],
        )
        for a in records["Account"]
    ]
    owners = [
        Owner(
            u["Id"],
            u["Email"],
            *(u["Name"].split(" ", 1) + [""])[:2],
            teams=[_team(u)],
            archived=u["IsActive"] is not True,
        )
        for u in records["User"]
    ]
    deals = [
        Deal(
            o["Id"],
            {
                "dealname": o["Name"],
                "dealstage": STAGES[o["StageName"]],
                "amount": _text(o["Amount"]),
                "closedate": _stamp(o["CloseDate"]),
                "hubspot_owner_id": _text(o["OwnerId"]),
                "createdate": _stamp(o["CreatedDate"]),
            },
            company_ids=[o["AccountId"]],
        )
        for o in records["Opportunity"]
    ]
    return Portal(token=TOKEN, companies=companies, owners=owners, deals=deals)


def _owner_details(records: dict[str, list[dict[str, Any]]], path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Email", *OWNER_DETAILS])
        for user in records["User"]:
            writer.writerow([user["Email"], *(_text(user[c]) or "" for c in OWNER_DETAILS)])
    return path


def test_scheduled_pull_sensor_pass_slack_approval_push_and_next_pull_confirm(
    sample_records: dict[str, list[dict[str, Any]]],
    fake_slack: FakeSlack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for name in ("territory_ops", "urllib3", "hubspot", "pipelines", "slack_sdk"):
        caplog.set_level(logging.DEBUG, logger=name)
    with running(_portal(sample_records)) as hubspot:
        portal = hubspot.portal
        monkeypatch.setenv(TOKEN_VAR, TOKEN)
        monkeypatch.setenv(URL_VAR, hubspot.url)
        monkeypatch.setenv(
            OWNER_DETAILS_VAR, str(_owner_details(sample_records, tmp_path / "owners.csv"))
        )

        def set_owner(company_id: str, owner: str) -> None:
            company = next(c for c in portal.companies if c.id == company_id)
            company.properties["hubspot_owner_id"] = owner

        crm = CycleCrm(
            name="hubspot",
            rejects=portal.reject,
            updates=lambda: portal.updates,
            account_object="companies",
            deal_object="deals",
            set_owner=set_owner,
            rejection=("VALIDATION_ERROR", "Property values were not valid"),
        )
        emails = {u["Id"]: u["Email"] for u in sample_records["User"] if u.get("Email")}
        cycle = run_cycle(crm, fake_slack, emails, tmp_path, monkeypatch)

    # nothing the run wrote holds HubSpot's token or Slack's secrets
    secrets = [TOKEN.encode(), fake_slack.token.encode(), SIGNING_SECRET.encode()]
    text = caplog.text + "".join(cycle.outputs)
    assert_no_secrets(tmp_path, secrets, text, skip=lambda path: False)
