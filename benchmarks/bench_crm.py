"""CRM connector speed against the loopback stand-ins: pull and push at scale.

    nice python -m benchmarks.bench_crm [--accounts 100000] [--opportunities 500000]
        [--users 300] [--push 100000] [--hubspot-push 100000]
        [--hubspot-companies 100000] [--hubspot-deals 500000]

* Salesforce pull of Account, User and Opportunity through REST query paging (2,000 records a
  page) and through Bulk API 2.0 query jobs, into a landing snapshot;
* Salesforce push of ``--push`` approved account moves as one Bulk API 2.0 update job (record
  the job, upload, close, poll, read the three result files, mark applied);
* HubSpot push of ``--hubspot-push`` company owner changes by batch update (100 a request);
* HubSpot pull of ``--hubspot-companies`` companies, their owners and ``--hubspot-deals``
  deals (100 a page, with company associations) into a landing snapshot, geocoded offline.

The stand-ins (tests/crm) run in this process on loopback, so the figures measure the
connector and the client libraries plus a Python HTTP server — a floor for a real org's
network and processing time, not an estimate of it. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from territory_ops.crm.hubspot import TOKEN_VAR, URL_VAR
from territory_ops.crm.hubspot_push import HubSpotBatchChannel
from territory_ops.crm.push import push_due
from territory_ops.crm.salesforce import READ_COLUMNS, pull_salesforce
from territory_ops.crm.salesforce_push import SalesforceBulkChannel
from territory_ops.writeback.decisions import ensure_decisions_table, log_decisions
from territory_ops.writeback.proposal_rows import insert_proposals, proposals_frame

AS_OF = date(2026, 11, 30)
TODAY = date(2026, 12, 1)


def _org_records(accounts: int, users: int, opportunities: int) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(7)
    user_rows = [
        {
            "Id": f"005{i:015d}",
            "Name": f"Rep {i}",
            "Email": f"rep{i}@example.com",
            "IsActive": True,
            "Sales_Role__c": "rep",
            "Segment__c": "mid_market",
            "CreatedDate": "2020-01-01T00:00:00.000+0000",
        }
        for i in range(users)
    ]
    account_rows = [
        {
            "Id": f"001{i:015d}",
            "Name": f"Account {i}",
            "Industry": "Technology",
            "AnnualRevenue": str(rng.randint(1, 500) * 100_000),
            "NumberOfEmployees": str(rng.randint(10, 5000)),
            "BillingStreet": f"{i} Main St",
            "BillingCity": "Seattle",
            "BillingState": "WA",
            "BillingPostalCode": "98101",
            "BillingCountry": "US",
            "BillingLatitude": "47.6",
            "BillingLongitude": "-122.3",
            "OwnerId": user_rows[i % users]["Id"],
            "CreatedDate": "2021-03-04T10:15:00.000+0000",
        }
        for i in range(accounts)
    ]
    opportunity_rows = [
        {
            "Id": f"006{i:015d}",
            "AccountId": account_rows[i % accounts]["Id"],
            "OwnerId": account_rows[i % accounts]["OwnerId"],
            "StageName": "Prospecting",
            "Amount": "12000",
            "CloseDate": "2027-01-15",
            "IsClosed": False,
            "IsWon": False,
            "CreatedDate": "2026-08-01T10:00:00.000+0000",
            "Name": f"Deal {i}",
        }
        for i in range(opportunities)
    ]
    return {"Account": account_rows, "User": user_rows, "Opportunity": opportunity_rows}


@contextmanager
def _salesforce(folder: Path, records: dict[str, list[dict[str, Any]]]):
    from tests.crm.fake_salesforce import FakeOrg, FakeSalesforce

    org = FakeOrg(
        records=records,
        fields={k: list(dict.fromkeys(("Id", *v))) for k, v in READ_COLUMNS.items()},
    )
    with FakeSalesforce(folder, org) as server:
        env = {
            "REQUESTS_CA_BUNDLE": str(server.cert_path),
            "SALESFORCE_INSTANCE_URL": server.url,
            "SALESFORCE_ACCESS_TOKEN": org.token,
            "SALESFORCE_API_VERSION": "60.0",
        }
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield org, env
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _approved(con: duckdb.DuckDBPyConnection, moves: list[tuple[str, str, str]]) -> None:
    """``moves`` (account, from, to) as approved proposals with their approval logged."""
    rows = [
        {
            "proposal_id": f"P{i:08d}",
            "run_id": "bench",
            "pass_kind": "full",
            "snapshot_date": AS_OF,
            "created_at": datetime(2026, 11, 30, 6),
            "account_id": account,
            "account_name": account,
            "from_rep_id": frm,
            "to_rep_id": to,
            "to_rep_name": to,
            "reason_code": "balance",
            "reason": "bench",
            "is_temporary": False,
            "status": "approved",
        }
        for i, (account, frm, to) in enumerate(moves)
    ]
    insert_proposals(con, proposals_frame(rows))
    ensure_decisions_table(con)
    log_decisions(
        con,
        [r | {"status": "open"} for r in rows],
        "approve",
        "approved",
        "bench",
        None,
        "cli",
        None,
        datetime(2026, 11, 30, 7),
    )


def _timed(fn) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--opportunities", type=int, default=500_000)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--push", type=int, default=100_000)
    parser.add_argument("--hubspot-push", type=int, default=100_000)
    parser.add_argument("--hubspot-companies", type=int, default=100_000)
    parser.add_argument("--hubspot-deals", type=int, default=500_000)
    parser.add_argument(
        "--only",
        choices=("salesforce", "hubspot-push", "hubspot-pull"),
        action="append",
        help="run only these arms (repeatable; default: all)",
    )
    args = parser.parse_args()
    rows: list[tuple[str, str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        arms = set(args.only or ("salesforce", "hubspot-push", "hubspot-pull"))
        if "salesforce" in arms:
            rows += _salesforce_arms(work, args)
        if args.hubspot_push and "hubspot-push" in arms:
            rows.append(_hubspot_push(work, args.hubspot_push))
        if args.hubspot_companies and "hubspot-pull" in arms:
            rows.append(_hubspot_pull(work, args.hubspot_companies, args.users, args.hubspot_deals))
    print("| what | size | seconds | records/s |\n|---|---|---:|---:|")
    for what, size, secs in rows:
        n = int(size.split()[0].replace(",", ""))
        print(f"| {what} | {size} | {secs:.1f} | {n / secs:,.0f} |")


def _salesforce_arms(work: Path, args: argparse.Namespace) -> list[tuple[str, str, float]]:
    rows: list[tuple[str, str, float]] = []
    records = _org_records(args.accounts, args.users, args.opportunities)
    n_pulled = args.accounts + args.users + args.opportunities
    with _salesforce(work, records) as (org, env):
        for bulk, label in ((False, "REST query paging"), (True, "Bulk API 2.0 query")):
            out = work / ("bulk" if bulk else "rest")
            _, secs = _timed(lambda out=out, bulk=bulk: pull_salesforce(out, AS_OF, env, bulk=bulk))
            rows.append((f"Salesforce pull, {label}", f"{n_pulled:,} records", secs))
        users = [u["Id"] for u in records["User"]]
        moves = [
            (a["Id"], a["OwnerId"], users[(i + 1) % len(users)])
            for i, a in enumerate(records["Account"][: args.push])
        ]
        with duckdb.connect(str(work / "sf.duckdb")) as con:
            _approved(con, moves)
            channel = SalesforceBulkChannel(env, poll_s=0.2)
            report, secs = _timed(lambda: push_due(con, channel, TODAY))
            assert len(report.applied_changes) == len(moves), report.lines()
            rows.append(("Salesforce push, Bulk API 2.0 update", f"{len(moves):,} accounts", secs))
    return rows


def _hubspot_push(work: Path, n: int) -> tuple[str, str, float]:
    from tests.crm.hubspot_standin import Company, Owner, Portal, running

    portal = Portal(
        token="pat-bench",
        companies=[Company(str(10_000 + i), {"hubspot_owner_id": "1"}) for i in range(n)],
        owners=[Owner("1", "a@example.com"), Owner("2", "b@example.com")],
    )
    with running(portal) as server, duckdb.connect(str(work / "hs.duckdb")) as con:
        _approved(con, [(c.id, "1", "2") for c in portal.companies])
        channel = HubSpotBatchChannel({TOKEN_VAR: "pat-bench", URL_VAR: server.url})
        report, secs = _timed(lambda: push_due(con, channel, TODAY))
        assert len(report.applied_changes) == n, report.lines()
    return ("HubSpot push, batch update", f"{n:,} companies", secs)


def _hubspot_portal(companies: int, owners: int, deals: int):
    """A portal shaped like the Salesforce org above: US addresses the offline geocoder knows,
    one company in twenty a child of another, deals spread over the companies."""
    from tests.crm.hubspot_standin import Company, Deal, Owner, Portal

    rng = random.Random(11)
    cities = [("Seattle", "WA", "98101"), ("Austin", "TX", "78701"), ("Denver", "CO", "80202")]
    owner_ids = [str(1000 + i) for i in range(owners)]
    company_rows = []
    for i in range(companies):
        city, state, postal = cities[i % len(cities)]
        company_rows.append(
            Company(
                str(100_000 + i),
                {
                    "name": f"Company {i}",
                    "domain": f"company{i}.example.com",
                    "industry": "COMPUTER_SOFTWARE",
                    "numberofemployees": str(rng.randint(10, 5000)),
                    "annualrevenue": str(rng.randint(1, 500) * 100_000),
                    "address": f"{i} Main St",
                    "city": city,
                    "state": state,
                    "zip": postal,
                    "country": "United States",
                    "hubspot_owner_id": owner_ids[i % owners],
                    "createdate": "2021-03-04T10:15:00.000Z",
                    "notes_last_updated": "2026-10-01T09:00:00.000Z",
                },
                parent_id=str(100_000 + i - 1) if i % 20 == 19 else None,
            )
        )
    deal_rows = [
        Deal(
            str(5_000_000 + i),
            {
                "dealname": f"Deal {i}",
                "dealstage": "appointmentscheduled",
                "amount": "12000",
                "closedate": "2027-01-15T00:00:00.000Z",
                "hubspot_owner_id": owner_ids[(i % companies) % owners],
                "createdate": "2026-08-01T10:00:00.000Z",
            },
            company_ids=[company_rows[i % companies].id],
        )
        for i in range(deals)
    ]
    return Portal(
        token="pat-bench",
        companies=company_rows,
        owners=[Owner(o, f"rep{o}@example.com", "Rep", o, teams=["Mid-Market"]) for o in owner_ids],
        deals=deal_rows,
    )


def _hubspot_pull(work: Path, companies: int, owners: int, deals: int) -> tuple[str, str, float]:
    from territory_ops.crm.hubspot import pull_hubspot
    from tests.crm.hubspot_standin import running

    portal = _hubspot_portal(companies, owners, deals)
    with running(portal) as server:
        env = {TOKEN_VAR: "pat-bench", URL_VAR: server.url}
        (folder, counts), secs = _timed(lambda: pull_hubspot(work / "hubspot", AS_OF, env))
    assert counts["Account.csv"] == companies and counts["Opportunity.csv"] == deals, counts
    n = companies + owners + deals
    return ("HubSpot pull, v3 objects paging", f"{n:,} records", secs)


if __name__ == "__main__":
    pl.Config.set_tbl_rows(20)
    main()
