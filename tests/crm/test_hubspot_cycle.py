"""The whole loop against the HubSpot stand-in: a portal holding the sample book is pulled, the
pass (the real Dagster job) proposes, RevOps approves, the push applies company owners and, as
the holdover policy says, deal owners (a record HubSpot rejects stays approved with its error
and goes in with the next push), and the next pull and pass confirm what HubSpot shows and
flag what someone changed back. Owners' home bases and managers, which HubSpot does not keep,
come from the owner details file RevOps maintains."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

import pipelines.definitions  # noqa: F401  (see below)
from pipelines.run import run_territory_pass
from territory_ops.cli import app
from territory_ops.crm.hubspot import OWNER_DETAILS_VAR, TOKEN_VAR, URL_VAR
from tests.conftest import use_home

from .hubspot_standin import Company, Deal, Owner, Portal, running

# The definitions are loaded before the test sets HubSpot's variables, so the pass job here is
# the one of a deployment that lands snapshots by the command line (`crm pull`), not by the
# pass's own pull asset, whose snapshot would be dated by the clock.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("crm_hubspot_cycle")]
TOKEN = "pat-na1-cycle-secret-4242"
# a full pass's balance moves take effect on the first day of the next quarter
DUE_DAY = "2027-01-01"
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


def _cli(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def _statuses(db: Path) -> dict[str, str]:
    """Status by account of the first pass's proposals (a later pass may propose again)."""
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(
            con.execute(
                "select account_id, status from plans.proposals where pass_kind = 'full'"
            ).fetchall()
        )


def test_pull_pass_approve_push_pull_confirms_and_flags_a_revert(
    sample_records: dict[str, list[dict[str, Any]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = use_home(monkeypatch, tmp_path / "home")
    db = settings.duckdb_path
    landing = tmp_path / "landing"
    outputs: list[str] = []
    with running(_portal(sample_records)) as hubspot:
        portal = hubspot.portal
        monkeypatch.setenv(TOKEN_VAR, TOKEN)
        monkeypatch.setenv(URL_VAR, hubspot.url)
        monkeypatch.setenv(
            OWNER_DETAILS_VAR, str(_owner_details(sample_records, tmp_path / "owners.csv"))
        )

        # 1. the pull, then the pass: the very job the schedule starts
        outputs.append(
            _cli("crm", "pull", "--crm", "hubspot", "--out", str(landing), "--as-of", "2026-11-30")
        )
        outcome = run_territory_pass(landing, settings, {"pass_kind": "full"})
        assert outcome.success, outcome.failures
        with duckdb.connect(str(db), read_only=True) as con:
            moves = con.execute(
                "select proposal_id, account_id, from_rep_id, to_rep_id from plans.proposals "
                "where status = 'open' and from_rep_id is not null order by account_id"
            ).fetchall()
        assert len(moves) >= 2, "the full pass proposes moves on the sample"

        # 2. RevOps approves them all (the routing policy approved the placements)
        ids = [arg for pid, *_ in moves for arg in ("--id", pid)]
        outputs.append(_cli("proposals", "approve", *ids, "--by", "revops@example.com"))
        with duckdb.connect(str(db), read_only=True) as con:
            due = [
                row[0]
                for row in con.execute(
                    "select account_id from plans.proposals where status = 'approved' "
                    "and coalesce(effective_on, date '1900-01-01') <= cast(? as date)",
                    [DUE_DAY],
                ).fetchall()
            ]
        assert set(due) >= {a for _, a, *_ in moves}

        # 3. the push: a record HubSpot rejects stays approved with its error
        rejected, reverted = moves[0], moves[1]
        portal.reject[rejected[1]] = ("VALIDATION_ERROR", "Property values were not valid")
        first = _cli("crm", "push", "--crm", "hubspot", "--as-of", DUE_DAY)
        outputs.append(first)
        assert "VALIDATION_ERROR × 1" in first
        statuses = _statuses(db)
        assert statuses[rejected[1]] == "approved"
        assert {statuses[a] for _, a, *_ in moves[1:]} == {"applied"}
        portal.reject.clear()
        outputs.append(_cli("crm", "push", "--crm", "hubspot", "--as-of", DUE_DAY))
        assert _statuses(db)[rejected[1]] == "applied"
        companies = [record for obj, record, _ in portal.updates if obj == "companies"]
        assert sorted(companies) == sorted(due)  # each applied exactly once
        with duckdb.connect(str(db), read_only=True) as con:
            transfers = con.execute(
                "select opportunity_id, to_owner_id from plans.deal_transfers "
                "where status = 'applied'"
            ).fetchall()
        deals = [(record, owner) for obj, record, owner in portal.updates if obj == "deals"]
        assert sorted(deals) == sorted(transfers) and len(set(deals)) == len(deals)

        # 4. someone changes one back in HubSpot; the next pull and pass settle them all
        company = next(c for c in portal.companies if c.id == reverted[1])
        company.properties["hubspot_owner_id"] = reverted[2]
        time.sleep(1.1)  # the warehouse keeps times to the second: the pull is after the push
        outputs.append(
            _cli("crm", "pull", "--crm", "hubspot", "--out", str(landing), "--as-of", "2026-12-02")
        )
        outcome = run_territory_pass(landing, settings, {"pass_kind": "refresh"})
        assert outcome.success, outcome.failures

    statuses = _statuses(db)
    assert statuses[reverted[1]] == "reverted", statuses
    assert {statuses[a] for _, a, *_ in moves if a != reverted[1]} == {"confirmed"}
    with duckdb.connect(str(db), read_only=True) as con:
        flags = con.execute(
            "select subject_id, detail from plans.drift_flags where flag = 'reverted_in_crm'"
        ).fetchall()
    assert [f[0] for f in flags] == [reverted[1]]
    assert f"we set {reverted[3]}" in flags[0][1] and f"now has {reverted[2]}" in flags[0][1]
    status = _cli("crm", "status", "--crm", "hubspot")
    outputs.append(status)
    assert "snapshot 2026-12-02" in status and "reverted in the CRM: 1" in status

    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".duckdb" for p in written)
    assert all(TOKEN.encode() not in p.read_bytes() for p in written)
    assert TOKEN not in "".join(outputs)
