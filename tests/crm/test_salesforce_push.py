"""Pushing approved owner changes into the HTTPS Salesforce stand-in (Bulk API 2.0 ingest)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from territory_ops.cli import app
from territory_ops.crm.ledger import latest_errors
from territory_ops.crm.push import push_due
from territory_ops.crm.salesforce import RetryPolicy, pull_salesforce
from territory_ops.crm.salesforce_push import SalesforceBulkChannel, parse_error
from territory_ops.record_ids import id_key
from territory_ops.settings import PROJECT_ROOT
from territory_ops.writeback.confirm import confirm_changes
from territory_ops.writeback.decisions import ensure_decisions_table

from .fake_salesforce import FakeOrg, FakeSalesforce
from .push_fixtures import approved_moves, decisions, statuses

TODAY = date(2026, 12, 1)
NO_WAIT = RetryPolicy(sleep=lambda _s: None)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TERRITORY_OPS_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


@pytest.fixture
def con(home: Path):
    connection = duckdb.connect(str(home / "territory.duckdb"))
    ensure_decisions_table(connection)
    yield connection
    connection.close()


def _moves(org: FakeOrg, n: int) -> list[tuple[str, str, str]]:
    """``n`` accounts, each to an active user who does not own it yet."""
    active = [u["Id"] for u in org.records["User"] if u.get("IsActive") is not False]
    moves = []
    for i, account in enumerate(org.records["Account"][:n]):
        to = next(u for u in active[i:] + active if u != account["OwnerId"])
        moves.append((account["Id"], account["OwnerId"], to))
    return moves


def _owners(org: FakeOrg) -> dict[str, str]:
    return {a["Id"]: a["OwnerId"] for a in org.records["Account"]}


def _push(con: duckdb.DuckDBPyConnection, **kw):
    channel = SalesforceBulkChannel(os.environ, NO_WAIT, poll_s=0.01)
    return push_due(con, channel, TODAY, sleep=lambda _s: None, **kw)


def test_a_push_applies_what_is_due_with_the_job_id_and_sends_nothing_twice(
    salesforce: FakeSalesforce, org: FakeOrg, con: duckdb.DuckDBPyConnection
) -> None:
    moves = _moves(org, 4)
    later = moves[3][0]
    approved_moves(con, moves, effective_on={later: date(2027, 1, 1)})
    org.in_progress_polls = 2  # the job is still running at the first polls

    report = _push(con)

    assert statuses(con) == {a: ("approved" if a == later else "applied") for a, _, _ in moves}
    assert {a: o for a, _, o in moves if a != later}.items() <= _owners(org).items()
    applied = decisions(con, "apply")
    jobs = dict(con.execute("select job_id, state from crm.push_jobs").fetchall())
    assert applied.height == 3 and set(applied["note"]) == set(jobs) and len(jobs) == 1
    assert set(jobs.values()) == {"finished"}
    assert (report.applied_records, report.failed, report.later) == (3, 0, 1)
    uploads = org.uploads
    again = _push(con)
    assert org.uploads == uploads and again.sent == 0  # nothing is sent twice


def test_a_rejected_record_stays_approved_with_its_error_and_the_next_push_applies_it(
    salesforce: FakeSalesforce, org: FakeOrg, con: duckdb.DuckDBPyConnection
) -> None:
    moves = _moves(org, 3)
    rejected = moves[1][0]
    approved_moves(con, moves)
    org.reject_records[rejected] = ("ENTITY_IS_LOCKED", "the record is locked by approval")

    report = _push(con)

    assert statuses(con)[rejected] == "approved"
    assert report.failed_by_code() == {"ENTITY_IS_LOCKED": 1}
    errors = latest_errors(con, "salesforce")
    assert errors.select("record_id", "error_code", "error_message").rows() == [
        (rejected, "ENTITY_IS_LOCKED", "the record is locked by approval")
    ]
    org.reject_records.clear()
    second = _push(con)
    assert set(statuses(con).values()) == {"applied"}
    assert second.sent == 1  # only the rejected record went out again
    assert Counter(r for _, r, _ in org.applied) == {a: 1 for a, _, _ in moves}
    assert latest_errors(con, "salesforce").is_empty()


def test_a_locked_row_is_sent_again_at_once_with_backoff(
    salesforce: FakeSalesforce, org: FakeOrg, con: duckdb.DuckDBPyConnection
) -> None:
    moves = _moves(org, 2)
    approved_moves(con, moves)
    org.lock_times[moves[0][0]] = 2
    waits: list[float] = []
    channel = SalesforceBulkChannel(os.environ, NO_WAIT, poll_s=0.01)
    report = push_due(con, channel, TODAY, sleep=waits.append)
    assert set(statuses(con).values()) == {"applied"}
    assert waits == [1.0, 2.0] and len(report.job_ids) == 3 and report.failed == 0


def test_limits_and_server_errors_are_retried(
    salesforce: FakeSalesforce, org: FakeOrg, con: duckdb.DuckDBPyConnection
) -> None:
    approved_moves(con, _moves(org, 2))
    org.fail_429_times, org.fail_503_times, org.expire_session_times = 1, 1, 1
    report = _push(con)
    assert set(statuses(con).values()) == {"applied"} and report.refused is None
    assert (org.fail_429_times, org.fail_503_times, org.expire_session_times) == (0, 0, 0)


def test_an_upload_whose_answer_is_lost_is_never_uploaded_again(
    salesforce: FakeSalesforce, org: FakeOrg, con: duckdb.DuckDBPyConnection
) -> None:
    moves = _moves(org, 3)
    approved_moves(con, moves)
    org.drop_after_upload = True
    report = _push(con)
    assert org.uploads == 1 and report.refused is None
    assert set(statuses(con).values()) == {"applied"}


def test_a_job_that_ends_failed_is_refused_and_nothing_is_marked(
    salesforce: FakeSalesforce, org: FakeOrg, con: duckdb.DuckDBPyConnection, home: Path
) -> None:
    approved_moves(con, _moves(org, 2))
    con.close()
    org.fail_job = "InvalidBatch : Field name not found : OwnerID"
    result = CliRunner().invoke(
        app, ["crm", "push", "--crm", "salesforce", "--as-of", "2026-12-01"]
    )
    assert result.exit_code == 1, result.output
    assert "ended Failed" in result.output and "Field name not found" in result.output
    with duckdb.connect(str(home / "territory.duckdb")) as again:
        assert set(statuses(again).values()) == {"approved"}
        alert = again.execute(
            "select kind, status, text from notify.outbox order by created_at"
        ).fetchall()
    assert [(k, s) for k, s, _ in alert] == [("alert:crm_push_refused", "sent")]
    result = CliRunner().invoke(
        app, ["crm", "push", "--crm", "salesforce", "--as-of", "2026-12-01"]
    )
    assert result.exit_code == 0, result.output
    assert "applied: 2 change(s)" in result.output


def test_a_push_whose_every_record_is_rejected_marks_nothing_and_sends_one_alert(
    salesforce: FakeSalesforce, org: FakeOrg, con: duckdb.DuckDBPyConnection, home: Path
) -> None:
    moves = _moves(org, 3)
    approved_moves(con, moves)
    con.close()
    for account, _, _ in moves:
        org.reject_records[account] = ("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access")
    result = CliRunner().invoke(
        app, ["crm", "push", "--crm", "salesforce", "--as-of", "2026-12-01"]
    )
    assert result.exit_code == 0, result.output  # the CRM answered
    assert "INSUFFICIENT_ACCESS_OR_READONLY × 3" in result.output
    with duckdb.connect(str(home / "territory.duckdb")) as again:
        assert set(statuses(again).values()) == {"approved"}
        rows = again.execute("select kind, status, text from notify.outbox").fetchall()
    assert [(k, s) for k, s, _ in rows] == [("alert:crm_push_rejected", "sent")]
    assert "rejected every record" in rows[0][2]
    files = list((home / "outbox" / "slack").glob("*.txt"))
    assert len(files) == 1 and "INSUFFICIENT_ACCESS_OR_READONLY" in files[0].read_text()


def test_a_push_killed_after_its_upload_is_recovered_by_polling_the_recorded_job(
    salesforce: FakeSalesforce, org: FakeOrg, con: duckdb.DuckDBPyConnection, home: Path
) -> None:
    moves = _moves(org, 3)
    approved_moves(con, moves)
    con.close()
    org.hold_upload = threading.Event()
    command = [sys.executable, "-m", "territory_ops.cli", "crm", "push", "--crm", "salesforce"]
    process = subprocess.Popen(
        [*command, "--as-of", "2026-12-01"],
        cwd=PROJECT_ROOT,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert org.upload_arrived.wait(60), "the push never uploaded"
        process.send_signal(signal.SIGKILL)  # dies with the upload sent, its answer pending
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
        org.hold_upload.set()
    org.hold_upload = None
    with duckdb.connect(str(home / "territory.duckdb")) as again:
        recorded = again.execute("select job_id, state from crm.push_jobs").fetchall()
        assert [state for _, state in recorded] == ["created"]  # recorded before the upload
        report = _push(again)
        assert report.recovered_jobs == [recorded[0][0]] and report.sent == 0
        assert set(statuses(again).values()) == {"applied"}
        assert set(decisions(again, "apply")["note"]) == {recorded[0][0]}
    assert org.uploads == 1  # never uploaded again
    assert Counter(r for _, r, _ in org.applied) == {a: 1 for a, _, _ in moves}


def test_salesforce_error_texts_split_into_code_and_message() -> None:
    assert parse_error("INACTIVE_OWNER_OR_USER:operation performed with inactive user:--") == (
        "INACTIVE_OWNER_OR_USER",
        "operation performed with inactive user",
    )
    assert parse_error("REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --") == (
        "REQUIRED_FIELD_MISSING",
        "Required fields are missing: [Name]",
    )
    assert parse_error("something odd") == ("UNKNOWN_ERROR", "something odd")


def test_15_character_ids_from_an_export_are_applied_and_confirmed_by_the_api_s_18(
    salesforce: FakeSalesforce, org: FakeOrg, con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # the decisions were made on a hand export, which shows Ids in their 15-character form
    moves = [(a[:15], frm[:15], to[:15]) for a, frm, to in _moves(org, 3)]
    approved_moves(con, moves)

    report = _push(con)

    assert (report.applied_records, report.failed) == (3, 0)
    assert set(statuses(con).values()) == {"applied"}
    owners = _owners(org)  # the org keeps its 18-character Ids
    assert {len(o) for a, _, _ in moves for o in (owners[a + id_key(a)[15:]],)} == {18}
    assert {(a, owners[a + id_key(a)[15:]][:15]) for a, _, _ in moves} == {
        (a, to) for a, _, to in moves
    }
    assert _push(con).sent == 0  # nothing is sent twice

    # the next pull (through the API: 18 characters) confirms them
    pull_salesforce(tmp_path / "landing", date(2026, 12, 2), os.environ)
    snapshot = pl.read_csv(
        tmp_path / "landing" / "2026-12-02" / "Account.csv", infer_schema=False
    ).select(pl.col("Id").alias("account_id"), pl.col("OwnerId").alias("current_rep_id"))
    assert set(snapshot["account_id"].str.len_chars()) == {18}
    confirm_changes(
        con,
        snapshot,
        pl.DataFrame({"rep_id": []}, schema={"rep_id": pl.String}),
        date(2026, 12, 2),
        taken_at=datetime(2099, 1, 1),
    )
    assert set(statuses(con).values()) == {"confirmed"}


def test_an_unreachable_crm_stops_the_push_with_one_alert_naming_the_setting(
    salesforce: FakeSalesforce,
    org: FakeOrg,
    con: duckdb.DuckDBPyConnection,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    approved_moves(con, _moves(org, 2))
    con.close()
    with socket.socket() as sock:  # a port nothing listens on: connection refused
        sock.bind(("127.0.0.1", 0))
        dead = f"https://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", dead)

    result = CliRunner().invoke(
        app, ["crm", "push", "--crm", "salesforce", "--as-of", "2026-12-01"]
    )

    assert result.exit_code == 1, result.output
    assert f"cannot reach Salesforce at {dead} after 5 tries" in result.output
    assert "check SALESFORCE_INSTANCE_URL" in result.output
    assert "Traceback" not in result.output and org.token not in result.output
    with duckdb.connect(str(home / "territory.duckdb")) as again:
        assert set(statuses(again).values()) == {"approved"}
        alerts = again.execute("select kind, status, text from notify.outbox").fetchall()
    assert [(k, s) for k, s, _ in alerts] == [("alert:crm_push_refused", "sent")]
    assert dead in alerts[0][2] and "SALESFORCE_INSTANCE_URL" in alerts[0][2]
    assert org.uploads == 0
