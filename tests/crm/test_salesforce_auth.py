"""The JWT bearer flow against the stand-in's token endpoint: a signed assertion buys a session;
a wrong key or user is refused with the settings to check, never their values."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from territory_ops.crm.salesforce_auth import Credentials, SalesforceAuthError

from .fake_salesforce import FakeOrg, FakeSalesforce


def _key(folder: Path, name: str) -> tuple[Path, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = folder / name
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path, public


def _env(org: FakeOrg, server: FakeSalesforce, key_file: Path) -> dict[str, str]:
    return {
        "SALESFORCE_USERNAME": org.username,
        "SALESFORCE_CONSUMER_KEY": org.consumer_key,
        "SALESFORCE_PRIVATE_KEY_FILE": str(key_file),
        "SALESFORCE_LOGIN_URL": server.url,
    }


def test_a_signed_assertion_buys_a_session_for_the_instance_it_names(
    salesforce: FakeSalesforce, org: FakeOrg, tmp_path: Path
) -> None:
    key_file, org.jwt_public_key = _key(tmp_path, "app.key")
    creds = Credentials.from_env(_env(org, salesforce, key_file))
    assert (creds.instance_url, creds.access_token, creds.from_jwt) == (
        salesforce.url,
        org.token,
        True,
    )
    assert org.token not in repr(creds)


@pytest.mark.parametrize("wrong", ["key", "user"])
def test_a_refused_assertion_names_the_settings_not_their_values(
    salesforce: FakeSalesforce, org: FakeOrg, tmp_path: Path, wrong: str
) -> None:
    key_file, org.jwt_public_key = _key(tmp_path, "app.key")
    other_key, _ = _key(tmp_path, "other.key")
    env = _env(org, salesforce, other_key if wrong == "key" else key_file)
    if wrong == "user":
        env["SALESFORCE_USERNAME"] = "someone-else@example.com"
    with pytest.raises(SalesforceAuthError, match="invalid_grant") as caught:
        Credentials.from_env(env)
    message = str(caught.value)
    assert "SALESFORCE_PRIVATE_KEY_FILE" in message and "SALESFORCE_USERNAME" in message
    assert "someone-else" not in message and str(key_file) not in message


def test_missing_jwt_settings_are_named(tmp_path: Path) -> None:
    with pytest.raises(SalesforceAuthError, match="SALESFORCE_CONSUMER_KEY"):
        Credentials.from_env({"SALESFORCE_USERNAME": "u", "SALESFORCE_PRIVATE_KEY_FILE": "k"})
    not_a_key = tmp_path / "k.pem"
    not_a_key.write_text("not a key")
    env = {
        "SALESFORCE_USERNAME": "u",
        "SALESFORCE_CONSUMER_KEY": "c",
        "SALESFORCE_PRIVATE_KEY_FILE": str(not_a_key),
    }
    with pytest.raises(SalesforceAuthError, match="RSA private key in PEM"):
        Credentials.from_env(env)
