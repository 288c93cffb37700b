"""Salesforce credentials from the environment: an access token, or the OAuth 2.0 JWT bearer flow.

``SALESFORCE_ACCESS_TOKEN`` (with ``SALESFORCE_INSTANCE_URL``) is used as it is. Without it,
unattended runs sign a short-lived JWT with the connected app's private key
(``SALESFORCE_USERNAME``, ``SALESFORCE_CONSUMER_KEY``, ``SALESFORCE_PRIVATE_KEY_FILE``) and
trade it at ``SALESFORCE_LOGIN_URL/services/oauth2/token`` (default
``https://login.salesforce.com``) for an access token and the org's instance URL.

simple-salesforce signs the same JWT, but it builds the token URL from a ``domain`` as
``https://<domain>.salesforce.com``, so a My Domain login URL or a private endpoint cannot be
given; the exchange is one POST, done here with ``requests``. The token and the key never
leave this module's objects: not in a repr, a log line or an error message.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import requests

from territory_ops.crm.errors import CrmError

DEFAULT_LOGIN_URL = "https://login.salesforce.com"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME_S = 180  # Salesforce accepts assertions valid for at most three minutes
JWT_VARIABLES = ("SALESFORCE_USERNAME", "SALESFORCE_CONSUMER_KEY", "SALESFORCE_PRIVATE_KEY_FILE")


class SalesforceAuthError(CrmError):
    """The settings do not give a session; the message names the variable, never its value."""


@dataclass(frozen=True)
class Credentials:
    instance_url: str
    access_token: str = field(repr=False)  # never in a repr, a log line or a traceback
    api_version: str | None
    from_jwt: bool = False  # an expired session mints a new token instead of re-reading one

    @classmethod
    def from_env(cls, env: Mapping[str, str], timeout_s: float = 60.0) -> Credentials:
        url = env.get("SALESFORCE_INSTANCE_URL", "").strip().rstrip("/")
        token = env.get("SALESFORCE_ACCESS_TOKEN", "").strip()
        version = env.get("SALESFORCE_API_VERSION", "").strip().removeprefix("v") or None
        if token:
            if not url:
                raise SalesforceAuthError("SALESFORCE_INSTANCE_URL is not set")
            return cls(url, token, version)
        missing = [name for name in JWT_VARIABLES if not env.get(name, "").strip()]
        if missing:
            raise SalesforceAuthError(
                "SALESFORCE_ACCESS_TOKEN is not set, and the JWT bearer flow needs "
                f"{', '.join(missing)}"
            )
        minted_url, minted = jwt_bearer_token(env, timeout_s)
        return cls(url or minted_url, minted, version, from_jwt=True)


def jwt_bearer_token(env: Mapping[str, str], timeout_s: float) -> tuple[str, str]:
    """(instance URL, access token) for the connected app's signed assertion."""
    login_url = env.get("SALESFORCE_LOGIN_URL", "").strip().rstrip("/") or DEFAULT_LOGIN_URL
    key_file = Path(env["SALESFORCE_PRIVATE_KEY_FILE"].strip())
    try:
        key = key_file.read_bytes()
    except OSError as err:
        raise SalesforceAuthError(
            f"SALESFORCE_PRIVATE_KEY_FILE cannot be read ({err.strerror})"
        ) from None
    claims = {
        "iss": env["SALESFORCE_CONSUMER_KEY"].strip(),
        "sub": env["SALESFORCE_USERNAME"].strip(),
        "aud": login_url,
        "exp": int(time.time()) + JWT_LIFETIME_S,
    }
    try:
        assertion = jwt.encode(claims, key, algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError):
        raise SalesforceAuthError(
            "SALESFORCE_PRIVATE_KEY_FILE does not hold an RSA private key in PEM form"
        ) from None
    try:
        response = requests.post(
            f"{login_url}/services/oauth2/token",
            data={"grant_type": JWT_GRANT, "assertion": assertion},
            timeout=timeout_s,
        )
    except requests.exceptions.SSLError:
        raise SalesforceAuthError(
            f"the TLS certificate of {login_url} is not trusted: for a private certificate "
            "authority set REQUESTS_CA_BUNDLE to its PEM file"
        ) from None
    except requests.RequestException as err:
        raise SalesforceAuthError(
            f"cannot reach SALESFORCE_LOGIN_URL {login_url} ({type(err).__name__})"
        ) from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or "access_token" not in body:
        # OAuth's error body: {"error": "invalid_grant", "error_description": "..."}
        reason = f"{body.get('error', response.status_code)}: {body.get('error_description', '')}"
        raise SalesforceAuthError(
            f"Salesforce refused the JWT bearer login ({reason.rstrip(': ')}): check that "
            "SALESFORCE_CONSUMER_KEY is the connected app's, SALESFORCE_USERNAME is "
            "pre-authorized for it, and the certificate uploaded to it matches "
            "SALESFORCE_PRIVATE_KEY_FILE"
        )
    return str(body.get("instance_url", "")).rstrip("/"), str(body["access_token"])
