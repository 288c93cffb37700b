"""Pushing approved owner changes into the HubSpot stand-in (batch update of hubspot_owner_id)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date

import duckdb
import pytest

from territory_ops.crm.errors import CrmPushError
from territory_ops.crm.hubspot import TOKEN_VAR, URL_VAR
from territory_ops.crm.hubspot_push import HubSpotBatchChannel
from territory_ops.crm.ledger import latest_errors
from territory_ops.crm.push import push_due

from .hubspot_standin import Company, HubSpotStandIn, Owner, Portal, running
from .push_fixtures import approved_moves, statuses

TOKEN = "pat-na1-push-secret-0000"
TODAY = date(2026, 12, 1)


def _portal() -> Portal:
    return Portal(
        token=TOKEN,
        companies=[
            Company(str(101 + i), {"name": f"Company {i}", "hubspot_owner_id": "9001"})
            for i in range(5)
        ],
        owners=[
            Owner("9001", "ava@example.com"),
            Owner("9002", "ben@example.com"),
            Owner("9003", "cy@example.com", archived=True),
        ],
    )


@pytest.fixture
def hubspot(monkeypatch: pytest.MonkeyPatch):
    with running(_portal()) as server:
        monkeypatch.setenv(TOKEN_VAR, TOKEN)
        monkeypatch.setenv(URL_VAR, server.url)
        yield server


def _push(con: duckdb.DuckDBPyConnection, server: HubSpotStandIn):
    return push_due(con, HubSpotBatchChannel({TOKEN_VAR: TOKEN, URL_VAR: server.url}), TODAY)


def _owner(server: HubSpotStandIn, company: str) -> str | None:
    return next(c for c in server.portal.companies if c.id == company).properties[
        "hubspot_owner_id"
    ]


def test_batch_update_applies_owners_and_records_per_record_errors(
    hubspot: HubSpotStandIn, con: duckdb.DuckDBPyConnection
) -> None:
    approved_moves(con, [("101", "9001", "9002"), ("102", "9001", "9003"), ("103", "9001", "9002")])
    hubspot.portal.reject["103"] = ("OBJECT_NOT_FOUND", "Could not get some companies")

    report = _push(con, hubspot)

    assert statuses(con) == {"101": "applied", "102": "approved", "103": "approved"}
    assert _owner(hubspot, "101") == "9002" and _owner(hubspot, "102") == "9001"
    assert report.failed_by_code() == {"VALIDATION_ERROR": 1, "OBJECT_NOT_FOUND": 1}
    errors = latest_errors(con, "hubspot")
    assert dict(errors.select("record_id", "error_code").rows()) == {
        "102": "VALIDATION_ERROR",
        "103": "OBJECT_NOT_FOUND",
    }
    assert "9003 is not a valid owner id" in errors.filter(record_id="102")["error_message"][0]

    hubspot.portal.reject.clear()
    second = _push(con, hubspot)
    assert statuses(con)["103"] == "applied" and second.sent == 2  # 101 is not sent again
    assert Counter(r for _, r, _ in hubspot.portal.updates) == {"101": 1, "103": 1}


def test_a_429_waits_its_retry_after_and_the_push_goes_through(
    hubspot: HubSpotStandIn, con: duckdb.DuckDBPyConnection
) -> None:
    approved_moves(con, [("101", "9001", "9002")])
    hubspot.fail_next(429, retry_after=1)
    started = time.monotonic()
    report = _push(con, hubspot)
    assert time.monotonic() - started >= 1.0
    assert statuses(con) == {"101": "applied"} and report.refused is None
    assert [status for _, status, _ in hubspot.requests] == [429, 200]


def test_a_bad_token_refuses_the_push_and_names_the_variable_only(
    hubspot: HubSpotStandIn, con: duckdb.DuckDBPyConnection
) -> None:
    approved_moves(con, [("101", "9001", "9002")])
    channel = HubSpotBatchChannel({TOKEN_VAR: "pat-wrong-token", URL_VAR: hubspot.url})
    report = push_due(con, channel, TODAY)
    assert report.refused and TOKEN_VAR in report.refused and "pat-wrong" not in report.refused
    assert statuses(con) == {"101": "approved"}


def test_a_batch_whose_answer_was_lost_is_recovered_by_reading_the_owners_back(
    hubspot: HubSpotStandIn, con: duckdb.DuckDBPyConnection
) -> None:
    approved_moves(con, [("101", "9001", "9002"), ("104", "9001", "9002")])
    hubspot.portal.drop_after_update = True
    first = _push(con, hubspot)
    assert first.refused and statuses(con) == {"101": "approved", "104": "approved"}
    second = _push(con, hubspot)
    assert len(second.recovered_jobs) == 1 and second.sent == 0
    assert statuses(con) == {"101": "applied", "104": "applied"}
    assert len(hubspot.portal.updates) == 2  # applied once, read back, never sent again


def test_no_token_is_named() -> None:
    with pytest.raises(CrmPushError, match=TOKEN_VAR):
        HubSpotBatchChannel({})
