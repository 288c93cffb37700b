"""The whole loop against the Salesforce stand-in, signed in by the JWT bearer flow: a pull lands
a snapshot, the pass (the real Dagster job) proposes, RevOps approves, the push applies (a
record the org rejects stays approved with its error and goes in with the next push), the next
pull confirms what the org shows and flags what someone changed back. Then everything the run
wrote is searched for the token and the private key."""

from __future__ import annotations

import logging
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from typer.testing import CliRunner

from pipelines.crm import build_crm_assets
from pipelines.resources import LandingResource, WarehouseResource
from pipelines.run import run_territory_pass
from territory_ops.cli import app
from territory_ops.settings import ensure_dagster_home
from tests.conftest import use_home

from .fake_salesforce import FakeOrg, FakeSalesforce

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("crm_cycle")]
# a full pass's balance moves take effect on the first day of the next quarter
DUE_DAY = "2027-01-01"


def _jwt_settings(org: FakeOrg, server: FakeSalesforce, folder: Path, mp: pytest.MonkeyPatch):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = folder / "connected-app.key"
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key_file.write_bytes(pem)
    org.jwt_public_key = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    mp.delenv("SALESFORCE_ACCESS_TOKEN")
    mp.delenv("SALESFORCE_INSTANCE_URL")  # the token endpoint names the instance
    mp.setenv("SALESFORCE_USERNAME", org.username)
    mp.setenv("SALESFORCE_CONSUMER_KEY", org.consumer_key)
    mp.setenv("SALESFORCE_PRIVATE_KEY_FILE", str(key_file))
    mp.setenv("SALESFORCE_LOGIN_URL", server.url)
    body = b"".join(pem.splitlines()[1:-1])  # the key material, without its PEM frame
    return key_file, [body[i : i + 40] for i in range(0, len(body) - 40, 40)]


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _statuses(db: Path) -> dict[str, str]:
    """Status by account of the first pass's proposals (a later pass may propose again)."""
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(
            con.execute(
                "select account_id, status from plans.proposals where pass_kind = 'full'"
            ).fetchall()
        )


def test_pull_pass_approve_push_pull_confirms_and_flags_a_revert_without_leaking_secrets(
    salesforce: FakeSalesforce,
    org: FakeOrg,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for name in ("territory_ops", "urllib3", "simple_salesforce", "pipelines"):
        caplog.set_level(logging.DEBUG, logger=name)
    settings = use_home(monkeypatch, tmp_path / "home")
    landing = tmp_path / "landing"
    key_file, key_pieces = _jwt_settings(org, salesforce, tmp_path / "tls", monkeypatch)
    outputs: list[str] = []

    # 1. the scheduled pull: the Dagster asset lands the first snapshot
    pull_asset = build_crm_assets("salesforce")[0]
    with dg.DagsterInstance.from_config(str(ensure_dagster_home(settings))) as instance:
        result = dg.materialize(
            [pull_asset],
            instance=instance,
            resources={
                "landing": LandingResource(path=str(landing)),
                "warehouse": WarehouseResource(
                    database=str(settings.duckdb_path), archive_dir=str(settings.archive_dir)
                ),
            },
            run_config={"ops": {"crm__pull": {"config": {"as_of": "2026-11-30"}}}},
        )
    assert result.success and (landing / "2026-11-30" / "Account.csv").exists()
    assert org.tokens_minted >= 1  # signed in through the JWT bearer flow

    # 2. the pass: the very job the sensor starts
    outcome = run_territory_pass(landing, settings, {"pass_kind": "full"})
    assert outcome.success, outcome.failures
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        moves = con.execute(
            "select proposal_id, account_id, from_rep_id, to_rep_id from plans.proposals "
            "where status = 'open' and from_rep_id is not null order by account_id"
        ).fetchall()
    assert len(moves) >= 2, "the full pass proposes moves on the sample"

    # 3. RevOps approves them all
    ids = [arg for pid, *_ in moves for arg in ("--id", pid)]
    outputs.append(_cli("proposals", "approve", *ids, "--by", "revops@example.com"))
    # beside them, the routing policy approved the pass's placements, covers and hand-backs
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        due = [
            row[0]
            for row in con.execute(
                "select account_id from plans.proposals where status = 'approved' "
                "and coalesce(effective_on, date '1900-01-01') <= cast(? as date)",
                [DUE_DAY],
            ).fetchall()
        ]
    assert set(due) >= {a for _, a, *_ in moves}

    # 4. the push: one record rejected by the org stays approved with its error
    rejected, reverted = moves[0], moves[1]
    org.reject_records[rejected[1]] = ("INACTIVE_OWNER_OR_USER", "operation with inactive user")
    push = _cli("crm", "push", "--crm", "salesforce", "--as-of", DUE_DAY)
    outputs.append(push)
    assert "INACTIVE_OWNER_OR_USER × 1" in push
    statuses = _statuses(settings.duckdb_path)
    assert statuses[rejected[1]] == "approved"
    assert {statuses[a] for _, a, *_ in moves[1:]} == {"applied"}
    org.reject_records.clear()
    outputs.append(_cli("crm", "push", "--crm", "salesforce", "--as-of", DUE_DAY))
    assert _statuses(settings.duckdb_path)[rejected[1]] == "applied"
    applied = [record for obj, record, _ in org.applied if obj == "Account"]
    assert sorted(applied) == sorted(due)  # each applied exactly once
    # deals follow as the holdover policy says: exactly the deal ledger's applied transfers
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        transfers = con.execute(
            "select opportunity_id, to_owner_id from plans.deal_transfers where status = 'applied'"
        ).fetchall()
    deals = [(record, owner) for obj, record, owner in org.applied if obj == "Opportunity"]
    assert sorted(deals) == sorted(transfers) and len(set(deals)) == len(deals)

    # 5. someone changes one back in Salesforce; the next pull and pass settle them all
    account = next(a for a in org.records["Account"] if a["Id"] == reverted[1])
    account["OwnerId"] = reverted[2]
    outputs.append(
        _cli("crm", "pull", "--crm", "salesforce", "--out", str(landing), "--as-of", "2026-12-02")
    )
    outcome = run_territory_pass(landing, settings, {"pass_kind": "refresh"})
    assert outcome.success, outcome.failures
    statuses = _statuses(settings.duckdb_path)
    assert statuses[reverted[1]] == "reverted"
    assert {statuses[a] for _, a, *_ in moves if a != reverted[1]} == {"confirmed"}
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        flags = con.execute(
            "select subject_id, detail from plans.drift_flags where flag = 'reverted_in_crm'"
        ).fetchall()
    assert [f[0] for f in flags] == [reverted[1]]
    assert f"we set {reverted[3]}" in flags[0][1] and f"now has {reverted[2]}" in flags[0][1]

    status = _cli("crm", "status", "--crm", "salesforce")
    outputs.append(status)
    assert "snapshot 2026-12-02" in status
    assert f"confirmed by a later snapshot: {len(due) - 1}" in status
    assert "reverted in the CRM: 1" in status

    # 6. nothing the run wrote holds the access token or the private key
    secrets = [org.token.encode(), *key_pieces]
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != key_file]
    assert any(p.suffix == ".duckdb" for p in written) and any("dagster" in str(p) for p in written)
    for path in written:
        if path.parent.name == "tls":  # the stand-in's own certificate and key
            continue
        data = path.read_bytes()
        for secret in secrets:
            assert secret not in data, f"{path} holds secret material"
    text = caplog.text + "".join(outputs)
    assert all(secret.decode() not in text for secret in secrets)
