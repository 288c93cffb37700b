"""Pull Account, User and Opportunity from a Salesforce org into a landing snapshot.

The snapshot has the landing contract's files and columns (territory_ops.extracts.spec), so
ingest, the quality gate and dbt read it unchanged. It appears whole or not at all: every file
is written into a hidden sibling folder that is renamed to ``<as_of>/`` at the end, so a sensor
watching the landing folder never sees half a pull.

Credentials come from the environment only (an access token, or the JWT bearer flow:
territory_ops.crm.salesforce_auth) and are never logged or written. Before reading an
object the pull asks the org to describe it: a field the org lacks (often a field the
integration user cannot see) stops the pull by name, unless the configuration declares it
absent.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceOperationError,
    SalesforceRefusedRequest,
)

from territory_ops.crm.salesforce_auth import Credentials, SalesforceAuthError
from territory_ops.crm.snapshot import (
    CrmPullError,
    checked_feeds,
    new_snapshot_folder,
    write_snapshot,
)
from territory_ops.extracts.spec import (
    ACCOUNTS,
    OPPORTUNITIES,
    USERS,
    ExtractSpec,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

# Salesforce object -> the extract it lands as, and the fields the pull reads (the contract's
# list, in the landing file's column order).
OBJECTS: dict[str, ExtractSpec] = {"Account": ACCOUNTS, "User": USERS, "Opportunity": OPPORTUNITIES}
READ_COLUMNS: dict[str, tuple[str, ...]] = {
    "Account": ACCOUNTS.columns,
    "User": USERS.columns,
    "Opportunity": tuple(c for c in OPPORTUNITIES.columns if c not in ("Type", "Probability")),
}
MAPPING_NAME = "salesforce"


class SalesforcePullError(CrmPullError):
    """A pull that cannot finish; the message names the object and field where one is at fault."""


@dataclass(frozen=True)
class FieldConfig:
    """How this org names the contract's fields.

    ``renames`` maps ``Object.Column`` (the landing column) to the org's API name;
    ``absent`` holds ``Object.Column`` entries the org does not have: their column lands empty.
    """

    renames: Mapping[str, str] = field(default_factory=dict)
    absent: frozenset[str] = frozenset()

    def org_field(self, sobject: str, column: str) -> str:
        return self.renames.get(f"{sobject}.{column}", column)

    def is_absent(self, sobject: str, column: str) -> bool:
        return f"{sobject}.{column}" in self.absent


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff for limits, 5xx and connection errors."""

    attempts: int = 5
    first_wait_s: float = 1.0
    max_wait_s: float = 30.0
    # per request: simple-salesforce sets none, and a stalled connection would hang the pull
    timeout_s: float = 120.0
    sleep: Callable[[float], None] = time.sleep

    def wait(self, attempt: int) -> float:
        return min(self.first_wait_s * 2**attempt, self.max_wait_s)


class _TimeoutSession(requests.Session):
    """A requests session whose every call has a timeout unless the caller gives one."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self.timeout_s = timeout_s

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.timeout_s)
        return super().request(*args, **kwargs)


class _Session:
    """A Salesforce client that retries what is worth retrying and re-authenticates once."""

    def __init__(self, env: Mapping[str, str], retry: RetryPolicy) -> None:
        self._env = env
        self._retry = retry
        self._reauthenticated = False
        self.creds = _credentials(env, retry)
        self.version = self.creds.api_version or self._newest_version()
        self.sf = self._connect()

    def _connect(self) -> Salesforce:
        return Salesforce(
            instance_url=self.creds.instance_url,
            session_id=self.creds.access_token,
            version=self.version,
            session=_TimeoutSession(self._retry.timeout_s),
        )

    def _newest_version(self) -> str:
        # simple-salesforce has no call for the versions list (it is outside /vXX.X/).
        def versions() -> list[dict[str, str]]:
            url = f"{self.creds.instance_url}/services/data/"
            response = requests.get(url, timeout=self._retry.timeout_s)
            if response.status_code >= 500:
                raise SalesforceGeneralError(response.url, response.status_code, "versions", b"")
            response.raise_for_status()
            return response.json()

        listed = self.call(versions)
        return max((v["version"] for v in listed), key=lambda v: tuple(map(int, v.split("."))))

    def call(self, fn: Callable[[], T]) -> T:
        attempt = 0  # re-authenticating does not use up an attempt
        while True:
            try:
                return fn()
            except SalesforceExpiredSession:
                jwt = self.creds.from_jwt
                what = "a new JWT bearer token" if jwt else "re-reading SALESFORCE_ACCESS_TOKEN"
                if self._reauthenticated:
                    raise SalesforcePullError(
                        f"Salesforce refused the session again after {what} "
                        "(INVALID_SESSION_ID): set a fresh access token or check the JWT settings"
                    ) from None
                # An access token from the environment is read again (a scheduler may have
                # refreshed it); the JWT bearer flow mints a new one.
                log.warning("Salesforce session expired; re-authenticating with %s", what)
                self._reauthenticated = True
                self.creds = _credentials(self._env, self._retry)
                self.sf = self._connect()
            except requests.exceptions.SSLError:
                raise SalesforcePullError(
                    f"the TLS certificate of {self.creds.instance_url} is not trusted: for a "
                    "private certificate authority set REQUESTS_CA_BUNDLE to its PEM file"
                ) from None
            except (
                SalesforceRefusedRequest,
                SalesforceGeneralError,
                requests.ConnectionError,
                requests.Timeout,
            ) as e:
                if not _worth_retrying(e) or attempt >= self._retry.attempts - 1:
                    raise SalesforcePullError(self._unanswered(e, attempt + 1)) from None
                wait = self._retry.wait(attempt)
                log.warning("Salesforce: %s; retrying in %.1fs", _describe(e), wait)
                self._retry.sleep(wait)
                attempt += 1
            except SalesforceError as e:  # INVALID_FIELD, MALFORMED_QUERY, NOT_FOUND, ...
                raise SalesforcePullError(
                    f"Salesforce refused the request: {_describe(e)}"
                ) from None
            except SalesforceOperationError as e:  # a Bulk API 2.0 job failed or timed out
                raise SalesforcePullError(f"Salesforce bulk query job: {e}") from None

    def _unanswered(self, error: Exception, tries: int) -> str:
        if not isinstance(error, requests.ConnectionError | requests.Timeout):
            return f"Salesforce did not answer: {_describe(error)}"
        setting = (
            "the instance SALESFORCE_LOGIN_URL's token endpoint named"
            if self.creds.from_jwt
            else "SALESFORCE_INSTANCE_URL"
        )
        return (
            f"cannot reach Salesforce at {self.creds.instance_url} after {tries} tr"
            f"{'y' if tries == 1 else 'ies'} ({_describe(error)}): check {setting} and the network"
        )

    def describe_fields(self, sobject: str) -> set[str]:
        described = self.call(lambda: getattr(self.sf, sobject).describe())
        return {f["name"] for f in described["fields"]}

    def records(self, soql: str) -> Iterator[dict[str, Any]]:
        # Page by page (query, then nextRecordsUrl), each page retried on its own, so a failure
        # on page 40 does not start the object again.
        page = self.call(lambda: self.sf.query(soql))
        while True:
            yield from page["records"]
            if page["done"]:
                return
            next_url = page["nextRecordsUrl"]
            page = self.call(lambda url=next_url: self.sf.query_more(url, identifier_is_url=True))

    def bulk_records(self, sobject: str, soql: str) -> Iterator[dict[str, str]]:
        # Bulk API 2.0 (for orgs too large for REST paging): a failed page restarts the job, so
        # the pages are collected inside one retried call.
        def pages() -> list[str]:
            return list(getattr(self.sf.bulk2, sobject).query(soql, wait=0))

        for page in self.call(pages):
            yield from csv.DictReader(io.StringIO(page))


def _worth_retrying(error: Exception) -> bool:
    if isinstance(error, requests.ConnectionError | requests.Timeout):
        return True
    if isinstance(error, SalesforceRefusedRequest):
        return "REQUEST_LIMIT_EXCEEDED" in _error_codes(error)
    # 429: a gateway's or the org's concurrent-request limit, answered before any work
    return isinstance(error, SalesforceGeneralError) and (
        error.status >= 500 or error.status == 429
    )


def _credentials(env: Mapping[str, str], retry: RetryPolicy) -> Credentials:
    try:
        return Credentials.from_env(env, retry.timeout_s)
    except SalesforceAuthError as err:
        raise SalesforcePullError(str(err)) from None


def _error_codes(error: SalesforceError) -> list[str]:
    content = error.content
    if isinstance(content, list):
        return [str(e.get("errorCode", "")) for e in content if isinstance(e, dict)]
    return []


def _describe(error: Exception) -> str:
    """An error for a person: Salesforce's own code and message, never headers or tokens."""
    if isinstance(error, SalesforceError):
        content = error.content
        if isinstance(content, list) and content and isinstance(content[0], dict):
            return f"{content[0].get('errorCode')} ({error.status}): {content[0].get('message')}"
        return f"HTTP {error.status} from {error.resource_name or 'Salesforce'}"
    return type(error).__name__


def _check_fields(sobject: str, wanted: dict[str, str], available: set[str]) -> None:
    missing = [(column, name) for column, name in wanted.items() if name not in available]
    if not missing:
        return
    column, name = missing[0]
    renamed = f" (the landing column {column})" if name != column else ""
    more = (
        f"; also missing: {', '.join(f'{sobject}.{n}' for _, n in missing[1:])}"
        if missing[1:]
        else ""
    )
    raise SalesforcePullError(
        f"Salesforce object {sobject} has no field {name}{renamed}: the integration user may "
        f"lack field-level security on {sobject}.{name}, or the org does not have it — grant "
        f"read access, rename it in the field configuration, or declare {sobject}.{column} "
        f"absent{more}"
    )


# The REST API writes datetimes as 2016-11-02T14:06:52.000+0000; exports (and the landing
# contract's staging models) use the Z form, which states the same UTC instant.
UTC_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?)\+0000$")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return UTC_DATETIME.sub(r"\1Z", str(value))


def _pull_object(
    session: _Session, sobject: str, fields: FieldConfig, path: Path, bulk: bool
) -> int:
    columns = READ_COLUMNS[sobject]
    wanted = {c: fields.org_field(sobject, c) for c in columns if not fields.is_absent(sobject, c)}
    _check_fields(sobject, wanted, session.describe_fields(sobject))
    soql = f"SELECT {', '.join(wanted.values())} FROM {sobject}"
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        records = session.bulk_records(sobject, soql) if bulk else session.records(soql)
        for record in records:
            writer.writerow([_cell(record.get(wanted[c])) if c in wanted else "" for c in columns])
            rows += 1
    return rows


def pull_salesforce(
    out_dir: Path,
    as_of: date,
    env: Mapping[str, str],
    fields: FieldConfig | None = None,
    retry: RetryPolicy | None = None,
    feeds: Mapping[str, Path] | None = None,
    bulk: bool = False,
) -> Path:
    """Write ``out_dir/<as_of>/`` from the org; return the snapshot folder.

    ``feeds`` maps an extract name (``intent_signals``, ``firmographics_companies``) to the file
    that provides it; the others are declared absent. ``bulk`` reads through Bulk API 2.0
    query jobs instead of REST query paging. Raises SalesforcePullError (and leaves no
    snapshot folder) when the pull cannot finish.
    """
    fields = fields or FieldConfig()
    feeds = checked_feeds(feeds or {})
    new_snapshot_folder(out_dir, as_of)  # before the org is asked for anything
    session = _Session(env, retry or RetryPolicy())

    def write_objects(folder: Path) -> dict[str, int]:
        return {
            sobject: _pull_object(session, sobject, fields, folder / spec.file_name, bulk)
            for sobject, spec in OBJECTS.items()
        }

    target, counts = write_snapshot(out_dir, as_of, MAPPING_NAME, write_objects, feeds)
    log.info("Salesforce pull: %s into %s", counts, target)
    return target


__all__ = ["FieldConfig", "RetryPolicy", "SalesforcePullError", "pull_salesforce"]
