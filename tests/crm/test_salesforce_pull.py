"""Pulling a Salesforce org into a landing snapshot, against a loopback HTTPS stand-in."""

from __future__ import annotations

import csv
import json
import logging
import os
import socket
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from typer.testing import CliRunner

from pipelines.alerts import LocalAlertSink
from pipelines.crm import build_crm_assets
from pipelines.resources import LandingResource, WarehouseResource
from territory_ops.cli.app import app
from territory_ops.crm.salesforce import (
    FieldConfig,
    RetryPolicy,
    SalesforcePullError,
    pull_salesforce,
)
from territory_ops.crm.snapshot import CrmPullError
from territory_ops.extracts.ingest import declared_absent
from territory_ops.extracts.spec import ACCOUNTS, EXTRACTS, FIRMOGRAPHICS, INTENT
from tests.crm.conftest import SAMPLE_AS_OF
from tests.crm.fake_salesforce import FakeOrg, FakeSalesforce

AS_OF = date(2026, 12, 1)
NO_WAIT = RetryPolicy(attempts=3, first_wait_s=0.0, sleep=lambda _s: None)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _pull(out: Path, **kwargs) -> Path:
    return pull_salesforce(out, AS_OF, os.environ, retry=NO_WAIT, **kwargs)


def test_a_pull_through_the_cli_lands_a_snapshot_the_gate_accepts(
    salesforce: FakeSalesforce, org: FakeOrg, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    runner = CliRunner()
    pulled = runner.invoke(
        app, ["crm", "pull", "--crm", "salesforce", "--out", str(landing), "--as-of", "2026-12-01"]
    )
    assert pulled.exit_code == 0, pulled.output
    snapshot = landing / "2026-12-01"
    assert sorted(p.name for p in landing.iterdir()) == ["2026-12-01"]  # no staging left
    for spec in EXTRACTS:
        assert (snapshot / spec.file_name).is_file(), spec.file_name
    accounts = _rows(snapshot / "Account.csv")
    assert len(accounts) == len(org.records["Account"])
    assert list(accounts[0]) == list(ACCOUNTS.columns)
    assert {r["Id"] for r in accounts} == {r["Id"] for r in org.records["Account"]}
    users = _rows(snapshot / "User.csv")
    assert {u["IsActive"] for u in users} == {"true", "false"}
    # the API's +0000 datetimes land in the export's Z form
    assert org.records["User"][0]["CreatedDate"].endswith("+0000")
    assert all(u["CreatedDate"].endswith("Z") for u in users)
    # no CRM holds intent or firmographics: declared absent like a source mapping does
    assert declared_absent(snapshot / INTENT.file_name, INTENT)
    assert declared_absent(snapshot / FIRMOGRAPHICS.file_name, FIRMOGRAPHICS)

    validated = runner.invoke(
        app, ["validate", str(landing), "--warehouse", str(tmp_path / "none.duckdb")]
    )
    assert validated.exit_code == 0, validated.output
    assert "PASSED" in validated.output


def test_records_are_read_across_several_pages(
    salesforce: FakeSalesforce, org: FakeOrg, tmp_path: Path
) -> None:
    org.page_size = 30  # 100 accounts: four pages
    snapshot = _pull(tmp_path / "landing")
    accounts = _rows(snapshot / "Account.csv")
    assert [r["Id"] for r in accounts] == [r["Id"] for r in org.records["Account"]]
    pages = [p for p in org.requests if "/query/" in p and not p.endswith("/query/")]
    assert len(pages) >= 3  # nextRecordsUrl was followed, not just the first page


def test_a_503_is_retried_and_the_pull_succeeds(
    salesforce: FakeSalesforce, org: FakeOrg, tmp_path: Path
) -> None:
    org.fail_503_times = 1
    org.limit_exceeded_times = 1
    snapshot = _pull(tmp_path / "landing")
    assert org.fail_503_times == 0 and org.limit_exceeded_times == 0
    assert len(_rows(snapshot / "Opportunity.csv")) == len(org.records["Opportunity"])


@pytest.mark.parametrize(
    ("switch", "times", "code", "left"),
    [
        # retries are bounded: three attempts, then the pull gives up
        ("fail_503_times", 10, "SERVER_UNAVAILABLE", 10 - NO_WAIT.attempts),
        # one re-authentication only: a token refused again is not retried
        ("expire_session_times", 2, "INVALID_SESSION_ID", 0),
    ],
)
def test_a_failure_that_persists_stops_the_pull_and_leaves_no_snapshot(
    salesforce: FakeSalesforce,
    org: FakeOrg,
    tmp_path: Path,
    switch: str,
    times: int,
    code: str,
    left: int,
) -> None:
    setattr(org, switch, times)
    with pytest.raises(SalesforcePullError, match=code):
        _pull(tmp_path / "landing")
    assert getattr(org, switch) == left
    assert list((tmp_path / "landing").iterdir()) == []


def test_an_expired_session_re_reads_the_token_and_the_pull_succeeds(
    salesforce: FakeSalesforce, org: FakeOrg, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    org.expire_session_times = 1
    with caplog.at_level(logging.WARNING):
        snapshot = _pull(tmp_path / "landing")
    assert org.expire_session_times == 0
    assert "re-reading SALESFORCE_ACCESS_TOKEN" in caplog.text
    assert len(_rows(snapshot / "User.csv")) == len(org.records["User"])


def test_a_missing_field_stops_the_pull_naming_object_field_and_permission(
    salesforce: FakeSalesforce, org: FakeOrg, tmp_path: Path
) -> None:
    org.fields["Account"].remove("Territory_Lock__c")
    landing = tmp_path / "landing"
    result = CliRunner().invoke(
        app, ["crm", "pull", "--crm", "salesforce", "--out", str(landing), "--as-of", "2026-12-01"]
    )
    assert result.exit_code != 0
    assert "Account.Territory_Lock__c" in result.output
    assert "field-level security" in result.output
    assert not any(landing.iterdir())  # neither the snapshot nor its staging folder


def test_a_field_the_query_refuses_stops_the_pull_with_salesforces_message(
    salesforce: FakeSalesforce, org: FakeOrg, tmp_path: Path
) -> None:
    org.query_rejects.add("Opportunity.IsWon")
    with pytest.raises(SalesforcePullError, match="INVALID_FIELD.*'IsWon' on entity 'Opportunity'"):
        _pull(tmp_path / "landing")
    assert list((tmp_path / "landing").iterdir()) == []


def test_an_unreachable_instance_is_retried_then_reported(
    salesforce: FakeSalesforce, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    retry = RetryPolicy(attempts=2, first_wait_s=0.5, sleep=waits.append)
    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", "https://127.0.0.1:9")  # nothing listens
    with pytest.raises(SalesforcePullError, match="ConnectionError"):
        pull_salesforce(tmp_path / "landing", AS_OF, os.environ, retry=retry)
    assert waits == [0.5]
    assert not (tmp_path / "landing").exists()


def test_the_configured_api_version_is_used(
    salesforce: FakeSalesforce, org: FakeOrg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALESFORCE_API_VERSION", "v58.0")
    org.page_size = 40  # the next pages keep the version too
    _pull(tmp_path / "landing")
    assert "/services/data/" not in org.requests  # no need to ask for the versions list
    assert all(p.startswith("/services/data/v58.0/") for p in org.requests)


def test_a_field_declared_absent_lands_as_an_empty_column(
    salesforce: FakeSalesforce, org: FakeOrg, tmp_path: Path
) -> None:
    org.fields["Account"].remove("Territory_Lock__c")
    snapshot = _pull(
        tmp_path / "landing", fields=FieldConfig(absent=frozenset({"Account.Territory_Lock__c"}))
    )
    accounts = _rows(snapshot / "Account.csv")
    assert {a["Territory_Lock__c"] for a in accounts} == {""}


def test_a_renamed_field_is_read_under_the_orgs_name(
    salesforce: FakeSalesforce, org: FakeOrg, tmp_path: Path
) -> None:
    org.fields["User"] = ["Rep_Segment__c" if f == "Segment__c" else f for f in org.fields["User"]]
    for user in org.records["User"]:
        user["Rep_Segment__c"] = user.pop("Segment__c")
    snapshot = _pull(
        tmp_path / "landing", fields=FieldConfig(renames={"User.Segment__c": "Rep_Segment__c"})
    )
    segments = {u["Segment__c"] for u in _rows(snapshot / "User.csv")}
    assert {"enterprise", "mid_market", "smb"} & segments


def test_an_existing_snapshot_is_never_overwritten(
    salesforce: FakeSalesforce, tmp_path: Path
) -> None:
    (tmp_path / "landing" / AS_OF.isoformat()).mkdir(parents=True)
    with pytest.raises(CrmPullError, match="already exists"):
        _pull(tmp_path / "landing")


def test_the_access_token_is_in_no_file_the_pull_wrote_nor_in_its_log(
    salesforce: FakeSalesforce, org: FakeOrg, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    org.fail_503_times = 1
    org.expire_session_times = 1
    landing = tmp_path / "landing"
    with caplog.at_level(logging.DEBUG):
        result = CliRunner().invoke(
            app, ["crm", "pull", "--crm", "salesforce", "--out", str(landing)]
        )
    assert result.exit_code == 0, result.output
    written = [p for p in landing.rglob("*") if p.is_file()]
    assert len(written) >= 6
    for path in written:
        assert org.token not in path.read_text(encoding="utf-8"), path
    assert org.token not in result.output
    assert org.token not in caplog.text
    assert "re-reading" in caplog.text  # the log was captured, and it is clean


def test_the_stand_in_answers_errors_the_salesforce_way(tmp_path: Path) -> None:
    import requests

    with FakeSalesforce(tmp_path, FakeOrg()) as server:
        response = requests.get(
            f"{server.url}/services/data/v60.0/query",
            params={"q": "SELECT Id FROM Account"},
            headers={"Authorization": "Bearer wrong"},
            verify=str(server.cert_path),
            timeout=10,
        )
    assert response.status_code == 401
    assert response.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_the_sample_fixture_is_the_generators_last_snapshot(org: FakeOrg) -> None:
    assert SAMPLE_AS_OF.isoformat() == "2026-11-30"
    assert len(org.records["Account"]) == 100


def test_a_configured_feed_file_lands_and_the_other_is_declared_absent(
    salesforce: FakeSalesforce, tmp_path: Path
) -> None:
    intent = tmp_path / "intent.csv"
    intent.write_text("domain,topic,surge_score,week\nkala.io,crm,71,2026-11-23\n")
    landing = tmp_path / "landing"
    result = CliRunner().invoke(
        app,
        ["crm", "pull", "--crm", "salesforce", "--out", str(landing), "--intent-file", str(intent)],
    )
    assert result.exit_code == 0, result.output
    snapshot = next(landing.iterdir())
    assert (snapshot / INTENT.file_name).read_text() == intent.read_text()
    assert declared_absent(snapshot / INTENT.file_name, INTENT) is None
    assert declared_absent(snapshot / FIRMOGRAPHICS.file_name, FIRMOGRAPHICS)


def test_a_feed_file_without_its_columns_stops_the_pull_before_the_crm_is_asked(
    salesforce: FakeSalesforce, org: FakeOrg, tmp_path: Path
) -> None:
    intent = tmp_path / "intent.csv"
    intent.write_text("domain,topic\nkala.io,crm\n")
    with pytest.raises(CrmPullError, match="surge_score"):
        _pull(tmp_path / "landing", feeds={"intent_signals": intent})
    assert org.requests == []
    assert not (tmp_path / "landing").exists()


def test_a_bulk_query_pull_lands_the_same_files_as_rest_paging(
    salesforce: FakeSalesforce, org: FakeOrg, tmp_path: Path
) -> None:
    org.page_size = 30
    rest = _pull(tmp_path / "rest")
    landing = tmp_path / "bulk"
    result = CliRunner().invoke(
        app,
        ["crm", "pull", "--crm", "salesforce", "--out", str(landing), "--as-of", "2026-12-01"]
        + ["--bulk"],
    )
    assert result.exit_code == 0, result.output
    assert org.bulk_pages >= 6  # several pages per object, by Sforce-Locator
    for name in ("Account.csv", "User.csv", "Opportunity.csv"):
        assert (landing / "2026-12-01" / name).read_text() == (rest / name).read_text(), name


def test_an_untrusted_certificate_says_how_to_trust_it(
    salesforce: FakeSalesforce, org: FakeOrg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.setenv("SALESFORCE_API_VERSION", "60.0")
    with pytest.raises(SalesforcePullError, match="REQUESTS_CA_BUNDLE"):
        _pull(tmp_path / "landing")
    assert not (tmp_path / "landing" / AS_OF.isoformat()).exists()


def test_a_stalled_request_times_out_and_is_retried(
    salesforce: FakeSalesforce, org: FakeOrg, tmp_path: Path
) -> None:
    org.stall_s = 3.0
    retry = RetryPolicy(attempts=3, first_wait_s=0.0, timeout_s=0.5, sleep=lambda _s: None)
    snapshot = pull_salesforce(tmp_path / "landing", AS_OF, os.environ, retry=retry)
    assert org.stall_s == 0.0
    assert len(_rows(snapshot / "Account.csv")) == len(org.records["Account"])


@pytest.mark.parametrize("variable", ["SALESFORCE_INSTANCE_URL", "SALESFORCE_ACCESS_TOKEN"])
def test_a_missing_setting_is_named_and_nothing_lands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", "https://127.0.0.1:9")
    monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", "token")
    monkeypatch.delenv(variable)
    landing = tmp_path / "landing"
    result = CliRunner().invoke(app, ["crm", "pull", "--crm", "salesforce", "--out", str(landing)])
    assert result.exit_code == 1
    assert f"{variable} is not set" in result.output
    assert not landing.exists()


def test_a_scheduled_pull_of_an_unreachable_crm_stops_with_one_alert(
    salesforce: FakeSalesforce, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:  # a port nothing listens on: connection refused
        sock.bind(("127.0.0.1", 0))
        dead = f"https://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", dead)
    outbox = tmp_path / "outbox"
    result = dg.materialize(
        [build_crm_assets("salesforce")[0]],
        resources={
            "landing": LandingResource(path=str(tmp_path / "landing")),
            "warehouse": WarehouseResource(
                database=str(tmp_path / "w.duckdb"), archive_dir=str(tmp_path / "archive")
            ),
            "alerts": LocalAlertSink(outbox_dir=str(outbox)),
        },
        run_config={"ops": {"crm__pull": {"config": {"as_of": "2026-11-30"}}}},
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    description = failure.step_failure_data.user_failure_data.description
    assert f"cannot reach Salesforce at {dead}" in description
    (alert,) = [json.loads(line) for line in (outbox / "alerts.jsonl").read_text().splitlines()]
    assert alert["kind"] == "crm_pull_failed"
    assert "SALESFORCE_INSTANCE_URL" in alert["text"] and dead in alert["text"]
    assert "Traceback" not in alert["text"]
    assert not (tmp_path / "landing" / "2026-11-30").exists()
