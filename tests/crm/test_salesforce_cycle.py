"""The whole loop against the Salesforce stand-in as a deployment runs it, no file touched by
hand: the nightly pull's schedule ticks and lands a snapshot (signed in by the JWT bearer flow),
the refresh sensor sees it and starts the pass job, each manager approves their digest in Slack
(signed clicks to the project's interaction handler, the Slack stand-in of tests/notify), the
evening push's schedule applies account owners and, as the holdover policy says, opportunity
owners (a record the org rejects stays approved with its error and goes in with the next
evening's push), and the next night's pull and pass confirm what the org shows and flag what
someone changed back. Then everything the run wrote is searched for the secrets.

The schedules and the sensor are the deployment's own, each tick in a process of its own
(tests/crm/scheduled_cycle.py drives the loop, the same for every CRM)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.notify.conftest import FakeSlack

from .fake_salesforce import FakeOrg, FakeSalesforce
from .scheduled_cycle import SIGNING_SECRET, CycleCrm, assert_no_secrets, run_cycle

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("crm_cycle")]


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


def test_scheduled_pull_sensor_pass_slack_approval_push_and_next_pull_confirm(
    salesforce: FakeSalesforce,
    org: FakeOrg,
    fake_slack: FakeSlack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for name in ("territory_ops", "urllib3", "simple_salesforce", "pipelines", "slack_sdk"):
        caplog.set_level(logging.DEBUG, logger=name)
    key_file, key_pieces = _jwt_settings(org, salesforce, tmp_path / "tls", monkeypatch)

    def set_owner(account_id: str, owner: str) -> None:
        next(a for a in org.records["Account"] if a["Id"] == account_id)["OwnerId"] = owner

    crm = CycleCrm(
        name="salesforce",
        rejects=org.reject_records,
        updates=lambda: org.applied,
        account_object="Account",
        deal_object="Opportunity",
        set_owner=set_owner,
        rejection=("INACTIVE_OWNER_OR_USER", "operation with inactive user"),
    )
    emails = {u["Id"]: u["Email"] for u in org.records["User"] if u.get("Email")}
    cycle = run_cycle(crm, fake_slack, emails, tmp_path, monkeypatch)
    assert org.tokens_minted >= 1  # each pull and push signed in through the JWT flow

    # nothing the run wrote holds the access token, the private key or Slack's secrets
    secrets = [org.token.encode(), *key_pieces, fake_slack.token.encode(), SIGNING_SECRET.encode()]
    assert_no_secrets(
        tmp_path,
        secrets,
        caplog.text + "".join(cycle.outputs),
        # the key file itself, and the stand-in's own certificate and key
        skip=lambda path: path == key_file or path.parent.name == "tls",
    )
