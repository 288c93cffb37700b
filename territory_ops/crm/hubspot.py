"""Pull companies, owners and deals from HubSpot's CRM API into the landing contract's rows.

Companies become ``Account.csv``, owners ``User.csv`` and deals ``Opportunity.csv``, mapped the
way ``mappings/hubspot.yaml`` maps HubSpot's own exports: its value maps (industry, team, deal
stage) are read from that file, so an export and a pull of the same portal land alike. Values
are kept as text; one the landing contract cannot read (text in a revenue, an unknown stage)
is passed through for the quality gate to report.

Settings come from the environment only: ``HUBSPOT_ACCESS_TOKEN`` (a private-app token, never
logged or written) and ``HUBSPOT_API_URL`` (default ``https://api.hubapi.com``).

HubSpot owners carry no home base and no manager, which planning needs (a rep's home is where
travel is measured from; the gate blocks a roster without one). ``HUBSPOT_OWNER_DETAILS_FILE``
names a CSV kept by RevOps with an ``Email`` column and any of ``User.csv``'s other columns
(``ManagerId``, ``Home_PostalCode__c``, ``Home_Latitude__c``, ``Capacity_Hours__c``, ...): its
values fill what the pull left blank, matched by e-mail (case-insensitive).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import urllib3
from hubspot import HubSpot
from hubspot.crm.companies import ApiException as CompaniesApiError
from hubspot.crm.deals import ApiException as DealsApiError
from hubspot.crm.owners import ApiException as OwnersApiError
from urllib3.util.retry import Retry

from territory_ops.crm.snapshot import (
    CrmPullError,
    checked_feeds,
    new_snapshot_folder,
    write_snapshot,
)
from territory_ops.extracts.mapping.load import load_mapping
from territory_ops.extracts.mapping.locate import apply_geocode
from territory_ops.extracts.mapping.model import ColumnRule, SourceMapping
from territory_ops.extracts.spec import ACCOUNTS, OPPORTUNITIES, USERS, ExtractSpec

TOKEN_VAR = "HUBSPOT_ACCESS_TOKEN"
URL_VAR = "HUBSPOT_API_URL"
OWNER_DETAILS_VAR = "HUBSPOT_OWNER_DETAILS_FILE"
DEFAULT_API_URL = "https://api.hubapi.com"
HUBSPOT_MAPPING = Path(__file__).resolve().parents[2] / "mappings" / "hubspot.yaml"
PAGE_SIZE = 100  # HubSpot's largest page for the v3 object and owner endpoints

# HubSpot's internal property names, per landing column (the export's headers in the mapping
# are these properties' labels).
COMPANY_PROPERTIES: dict[str, str] = {
    "Name": "name",
    "Website": "domain",
    "Industry": "industry",
    "NumberOfEmployees": "numberofemployees",
    "AnnualRevenue": "annualrevenue",
    "BillingStreet": "address",
    "BillingCity": "city",
    "BillingState": "state",
    "BillingPostalCode": "zip",
    "BillingCountry": "country",
    "OwnerId": "hubspot_owner_id",
    "CreatedDate": "createdate",
    "LastActivityDate": "notes_last_updated",
}
DEAL_PROPERTIES: dict[str, str] = {
    "Name": "dealname",
    "StageName": "dealstage",
    "Amount": "amount",
    "CloseDate": "closedate",
    "OwnerId": "hubspot_owner_id",
    "CreatedDate": "createdate",
}
# Landing columns typed as dates whose HubSpot property is a timestamp.
DATE_COLUMNS = frozenset({"LastActivityDate", "CloseDate"})
# Timestamps land to the second without a zone, as the export mapping writes them (UTC).
TIMESTAMP_COLUMNS = frozenset({"CreatedDate"})
PARENT_ASSOCIATION = "child_to_parent_company"  # this company's link to its parent
PRIMARY_DEAL_COMPANY = "deal_to_company"  # the deal's primary company (others are unlabeled)

MAX_RETRY_AFTER = 60.0  # seconds: a longer Retry-After is waited only this long per try


class _BoundedRetry(Retry):
    """urllib3's retry, with HubSpot's Retry-After honoured up to ``MAX_RETRY_AFTER``."""

    def get_retry_after(self, response: Any) -> float | None:
        wait = super().get_retry_after(response)
        return None if wait is None else min(wait, MAX_RETRY_AFTER)


# Bounded retries: a 429 waits its Retry-After, a 5xx backs off (0.5 s, 1 s, 2 s, ...).
RETRY = _BoundedRetry(
    total=5,
    connect=2,  # an address that refuses connections is a setting to fix, not a blip to wait out
    status_forcelist=(429, 500, 502, 503, 504),
    backoff_factor=0.5,
    respect_retry_after_header=True,
    raise_on_status=False,  # the last answer reaches the client as its own API error
)

Rules = dict[tuple[str, str], ColumnRule]
BILLING_ADDRESS = {
    "postal_code": "BillingPostalCode",
    "city": "BillingCity",
    "state": "BillingState",
    "country": "BillingCountry",
}
_ISO_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T")


class HubSpotPullError(CrmPullError):
    """A pull that cannot complete; the message names the object and property or setting."""


def hubspot_landing_frames(
    env: Mapping[str, str], *, mapping_path: Path | str = HUBSPOT_MAPPING
) -> dict[str, pl.DataFrame]:
    """``Account.csv``, ``User.csv`` and ``Opportunity.csv`` rows (text) from the HubSpot portal."""
    token = env.get(TOKEN_VAR, "").strip()
    if not token:
        raise HubSpotPullError(f"{TOKEN_VAR} is not set: a HubSpot private-app token is needed")
    client = HubSpot(
        access_token=token, host=env.get(URL_VAR, "").strip() or DEFAULT_API_URL, retry=RETRY
    )
    rules = _rules(load_mapping(mapping_path))
    companies = _fetch("companies", list(COMPANY_PROPERTIES.values()), client)
    owners = _fetch_owners(client)
    deals = _fetch("deals", list(DEAL_PROPERTIES.values()), client)
    users = [_user(o, rules) for o in owners]
    details_file = env.get(OWNER_DETAILS_VAR, "").strip()
    if details_file:
        users = with_owner_details(users, Path(details_file))
    return {
        ACCOUNTS.file_name: _frame(ACCOUNTS, [_account(c, rules) for c in companies]),
        USERS.file_name: _frame(USERS, users),
        OPPORTUNITIES.file_name: _frame(OPPORTUNITIES, [_opportunity(d, rules) for d in deals]),
    }


def with_owner_details(users: list[dict[str, str]], path: Path) -> list[dict[str, str]]:
    """``users`` with the blanks the owner details file fills (see the module doc).

    Stops, naming the file, on an unknown column, a row without an e-mail, an e-mail twice,
    or a row for an owner the portal does not have (active or archived).
    """
    where = f"{OWNER_DETAILS_VAR} ({path})"
    try:
        details = pl.read_csv(path, infer_schema=False, encoding="utf8").fill_null("")
    except FileNotFoundError:
        raise HubSpotPullError(f"{where}: the file does not exist") from None
    except (pl.exceptions.ComputeError, UnicodeDecodeError) as err:
        raise HubSpotPullError(f"{where}: not a readable UTF-8 CSV ({err})") from None
    allowed = set(USERS.columns) - {"Id", "Email"}
    unknown = [c for c in details.columns if c != "Email" and c not in allowed]
    if "Email" not in details.columns or unknown:
        raise HubSpotPullError(
            f"{where}: expected an Email column and columns of User.csv "
            f"({', '.join(sorted(allowed))}); "
            + (f"unknown: {', '.join(unknown)}" if unknown else "Email is missing")
        )
    keys = details["Email"].str.strip_chars().str.to_lowercase()
    problems = []
    if (keys == "").any():
        rows = [i + 2 for i, k in enumerate(keys) if not k][:3]
        problems.append(f"rows without an Email (line {', '.join(map(str, rows))})")
    twice = sorted({k for k in keys if k and (keys == k).sum() > 1})
    if twice:
        problems.append(f"an Email on more than one row ({', '.join(twice[:3])})")
    known = {u["Email"].strip().lower() for u in users}
    strangers = [k for k in keys if k and k not in known]
    if strangers:
        problems.append(f"owners HubSpot does not have ({', '.join(strangers[:3])})")
    if problems:
        raise HubSpotPullError(f"{where}: " + "; ".join(problems))
    by_email = dict(zip(keys, details.drop("Email").to_dicts(), strict=True))
    filled = []
    for user in users:
        extra = by_email.get(user["Email"].strip().lower(), {})
        filled.append(user | {c: v for c, v in extra.items() if v and not user.get(c)})
    return filled


def _fetch(obj: str, properties: list[str], client: HubSpot) -> list[Any]:
    """Every record of a CRM object with ``properties`` and its company associations."""
    basic_api = getattr(client.crm, obj).basic_api
    records = list(
        _pages(
            obj,
            lambda after: basic_api.get_page(
                limit=PAGE_SIZE, after=after, properties=properties, associations=["companies"]
            ),
        )
    )
    for prop in properties:
        if records and all(prop not in (r.properties or {}) for r in records):
            # HubSpot leaves out a requested property it does not know: say which one.
            raise HubSpotPullError(
                f"HubSpot {obj}: property {prop!r} is missing from every record "
                "(is it deleted, renamed or hidden from this private app's scopes?)"
            )
    return records


def _fetch_owners(client: HubSpot) -> list[Any]:
    """Active owners, then archived ones (departed reps still own records until reassigned)."""
    api = client.crm.owners.owners_api
    owners: list[Any] = []
    for archived in (False, True):
        owners += _pages(
            "owners",
            lambda after, archived=archived: api.get_page(
                limit=PAGE_SIZE, after=after, archived=archived
            ),
        )
    return owners


def _pages(obj: str, get_page: Callable[[str | None], Any]) -> Iterator[Any]:
    after: str | None = None
    while True:
        try:
            page = get_page(after)
        except urllib3.exceptions.HTTPError as err:  # no answer at all (refused, DNS, TLS)
            raise HubSpotPullError(
                f"HubSpot {obj}: cannot reach the API ({type(err).__name__}); "
                f"check {URL_VAR} and the network"
            ) from None
        except (CompaniesApiError, DealsApiError, OwnersApiError) as err:  # one per API package
            raise HubSpotPullError(_describe(obj, err)) from None
        yield from page.results
        following = page.paging.next if page.paging else None
        if following is None or not following.after:
            return
        after = following.after


def _describe(obj: str, err: Any) -> str:
    """A message from HubSpot's error body, without the request (its token) or headers."""
    status = err.status
    try:
        body = json.loads(err.body or "{}")
    except (TypeError, ValueError):
        body = {}
    if not isinstance(body, dict):  # a proxy's page or an odd body: keep the status alone
        body = {}
    detail = f"{body.get('category', err.reason)}: {body.get('message', '')}".rstrip(": ")
    if status == 401:
        hint = f"check {TOKEN_VAR} (a valid private-app access token)"
    elif status == 403:
        hint = f"the private app behind {TOKEN_VAR} lacks the crm.objects.{obj}.read scope"
    elif status == 429:
        hint = "the portal's rate limit held after retries; run again later"
    elif status >= 500:
        hint = "HubSpot did not answer after retries"
    else:
        hint = "HubSpot refused the request"
    return f"HubSpot {obj}: reading failed with HTTP {status} ({detail}); {hint}"


def _rules(mapping: SourceMapping) -> dict[tuple[str, str], ColumnRule]:
    """The mapping's column rules by (extract, landing column)."""
    return {
        (output.spec.name, rule.target): rule
        for output in mapping.outputs
        for part in output.parts
        for rule in part.columns
    }


def _mapped(rules: Rules, spec: ExtractSpec, target: str, value: str) -> str:
    """``value`` through the mapping's value map; passed through where the map lacks it."""
    rule = rules.get((spec.name, target))
    if rule is None:
        raise HubSpotPullError(f"the HubSpot mapping has no {spec.name}.{target} rule")
    if rule.value_map and value in rule.value_map:
        return rule.value_map[value]
    if rule.unmapped == "default" and rule.default is not None:
        return rule.default
    return value


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _landing_time(column: str, value: str) -> str:
    """A HubSpot ISO timestamp cut to the landing column's date or second; other text as is."""
    if not _ISO_TIMESTAMP.match(value):
        return value
    if column in DATE_COLUMNS:
        return value[:10]
    return value[:19] if column in TIMESTAMP_COLUMNS else value


def _associated(record: Any, preferred_type: str, *, only_preferred: bool) -> str:
    """The associated company id of ``preferred_type`` (else the first, unless ``only``)."""
    links = record.associations.get("companies") if record.associations else None
    results = links.results if links else []
    for link in results:
        if link.type == preferred_type:
            return _text(link.id)
    return "" if only_preferred or not results else _text(results[0].id)


def _properties(record: Any, columns: Mapping[str, str]) -> dict[str, str]:
    props = record.properties or {}
    row = {column: _text(props.get(prop)) for column, prop in columns.items()}
    return {c: _landing_time(c, v) for c, v in row.items()}


def _account(company: Any, rules: Rules) -> dict[str, str]:
    row = _properties(company, COMPANY_PROPERTIES)
    row["Id"] = _text(company.id)
    row["ParentId"] = _associated(company, PARENT_ASSOCIATION, only_preferred=True)
    row["Industry"] = _mapped(rules, ACCOUNTS, "Industry", row["Industry"])
    return row


def _user(owner: Any, rules: Rules) -> dict[str, str]:
    teams = owner.teams or []
    team = next((t.name for t in teams if t.primary), teams[0].name if teams else "")
    email = _text(owner.email)
    return {
        "Id": _text(owner.id),
        "Name": email,  # as the export mapping has it: owners are known by their e-mail
        "Email": email,
        "ManagerId": "",  # HubSpot owners carry no manager
        "IsActive": "false" if owner.archived else "true",
        "Title": team,
        "Sales_Role__c": _mapped(rules, USERS, "Sales_Role__c", team),
        "Segment__c": _mapped(rules, USERS, "Segment__c", team),
        "CreatedDate": owner.created_at.date().isoformat() if owner.created_at else "",
    }


def _opportunity(deal: Any, rules: Rules) -> dict[str, str]:
    row = _properties(deal, DEAL_PROPERTIES)
    stage = row["StageName"]
    row["Id"] = _text(deal.id)
    row["AccountId"] = _associated(deal, PRIMARY_DEAL_COMPANY, only_preferred=False)
    row["StageName"] = _mapped(rules, OPPORTUNITIES, "StageName", stage)
    row["IsClosed"] = _mapped(rules, OPPORTUNITIES, "IsClosed", stage)
    row["IsWon"] = _mapped(rules, OPPORTUNITIES, "IsWon", stage)
    return row


def _frame(spec: ExtractSpec, rows: list[dict[str, str]]) -> pl.DataFrame:
    """The rows in the contract's columns and order, every value text ("" where unknown)."""
    return pl.DataFrame(
        {c: [row.get(c, "") for row in rows] for c in spec.columns},
        schema=dict.fromkeys(spec.columns, pl.String),
    )


def pull_hubspot(
    out_dir: Path, as_of: date, env: Mapping[str, str], feeds: Mapping[str, Path] | None = None
) -> tuple[Path, dict[str, int]]:
    """Write ``out_dir/<as_of>/`` from the portal (see :func:`hubspot_landing_frames`); the
    snapshot folder and rows per file. Companies carry no coordinates: they are geocoded
    offline from their address, as a source mapping's translation does."""
    feeds = checked_feeds(feeds or {})
    new_snapshot_folder(out_dir, as_of)  # before the portal is asked for anything
    frames = hubspot_landing_frames(env)
    frames[ACCOUNTS.file_name] = located_accounts(frames[ACCOUNTS.file_name])

    def write_objects(folder: Path) -> dict[str, int]:
        for name, frame in frames.items():
            frame.write_csv(folder / name)
        return {name: frame.height for name, frame in frames.items()}

    return write_snapshot(out_dir, as_of, "hubspot", write_objects, feeds)


def located_accounts(accounts: pl.DataFrame) -> pl.DataFrame:
    """``Account.csv`` rows with coordinates, precision and flag from the billing address
    (the offline geocoder of source mappings; what it doubts is flagged, not guessed)."""
    records = accounts.fill_null("").to_dicts()
    precision: Counter = Counter()
    notes: list[str] = []
    for record in records:
        apply_geocode("crm_accounts", BILLING_ADDRESS, record, precision, notes)
    if not records:
        return accounts
    return pl.DataFrame(records, schema=dict.fromkeys(records[0], pl.String))
