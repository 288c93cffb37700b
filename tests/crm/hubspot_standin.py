"""A loopback stand-in for HubSpot's CRM v3 API: companies, owners and deals, as the docs show them.

What the connector reads and writes: ``GET /crm/v3/objects/companies`` and ``/deals``
(``properties``, ``associations``, ``limit``, ``after`` paging through ``paging.next.after``),
``GET /crm/v3/owners/`` (teams, ``archived``), ``POST .../batch/update`` (200 when every input
was updated, 207 with a ``StandardError`` per problem — ``category``, ``message``,
``context.ids``) and ``POST .../batch/read``, bearer-token auth and HubSpot's JSON error body.
``fail_next`` queues one-off failures (a 429 with ``Retry-After``, a 502) to test retries;
``Portal.reject`` makes given records fail an update with a given category. An update changes
the owner the next read shows.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

STAMP = "2026-01-01T00:00:00.000Z"


@dataclass
class Company:
    id: str
    properties: dict[str, str | None]
    parent_id: str | None = None


@dataclass
class Owner:
    id: str
    email: str
    first_name: str = ""
    last_name: str = ""
    teams: list[str] = field(default_factory=list)  # the first one is the primary team
    archived: bool = False
    created_at: str = STAMP


@dataclass
class Deal:
    id: str
    properties: dict[str, str | None]
    company_ids: list[str] = field(default_factory=list)


@dataclass
class Failure:
    status: int
    headers: dict[str, str]
    category: str


@dataclass
class Portal:
    """The HubSpot account the stand-in serves."""

    token: str
    companies: list[Company] = field(default_factory=list)
    owners: list[Owner] = field(default_factory=list)
    deals: list[Deal] = field(default_factory=list)
    # properties HubSpot knows for each object (an unknown requested property is left out)
    known_properties: dict[str, set[str]] = field(default_factory=dict)
    # record id -> (category, message): a batch update fails that record (207)
    reject: dict[str, tuple[str, str]] = field(default_factory=dict)
    updates: list[tuple[str, str, str]] = field(default_factory=list)  # (object, id, owner)
    drop_after_update: bool = False  # the next update is applied, its answer never sent


class HubSpotStandIn:
    """Serves a ``Portal`` on 127.0.0.1 (a free port) from a thread until ``stop``."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.requests: list[tuple[float, int, str]] = []  # (time, status, path with query)
        self._failures: list[Failure] = []
        self._children: dict[str, list[str]] | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> HubSpotStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for a serve loop that must be running
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def fail_next(self, status: int, *, retry_after: int | None = None) -> None:
        """The next request is answered with ``status`` (once)."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        category = {403: "MISSING_SCOPES", 429: "RATE_LIMITS", 502: "BAD_GATEWAY"}.get(
            status, "INTERNAL_ERROR"
        )
        with self._lock:
            self._failures.append(Failure(status, headers, category))

    def take_failure(self) -> Failure | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def children(self, *, first_page: bool) -> dict[str, list[str]]:
        """Child company ids by parent, read again when a listing starts (tests edit the
        portal between pulls, never during one)."""
        with self._lock:
            if first_page or self._children is None:
                index: dict[str, list[str]] = {}
                for company in self.portal.companies:
                    if company.parent_id:
                        index.setdefault(company.parent_id, []).append(company.id)
                self._children = index
            return self._children

    def record(self, status: int, path: str) -> None:
        with self._lock:
            self.requests.append((time.monotonic(), status, path))


@contextmanager
def running(portal: Portal) -> Iterator[HubSpotStandIn]:
    """A started stand-in serving ``portal``, stopped on leaving."""
    server = HubSpotStandIn(portal).start()
    try:
        yield server
    finally:
        server.stop()


def _handler(standin: HubSpotStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            # list parameters come as ``properties=a,b`` or repeated (``properties=a&properties=b``)
            query = {k: ",".join(v) for k, v in parse_qs(url.query).items()}
            failure = standin.take_failure()
            if failure is not None:
                self._error(failure.status, "Injected failure", failure.category, failure.headers)
                return
            if self.headers.get("Authorization") != f"Bearer {standin.portal.token}":
                self._error(
                    401,
                    "Authentication credentials not found. This API supports OAuth 2.0 "
                    "authentication and you can find more details at "
                    "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                    "INVALID_AUTHENTICATION",
                )
                return
            path = url.path.rstrip("/")
            portal = standin.portal
            if path == "/crm/v3/objects/companies":
                children = standin.children(first_page="after" not in query)
                page = _page(
                    portal.companies, query, lambda c: _company(c, query, portal, children)
                )
            elif path == "/crm/v3/objects/deals":
                page = _page(portal.deals, query, lambda d: _deal(d, query, portal))
            elif path == "/crm/v3/owners":
                archived = query.get("archived", "false").lower() == "true"
                owners = [o for o in portal.owners if o.archived == archived]
                page = _page(owners, query, _owner)
            else:
                self._error(404, f"Unknown path {url.path}", "OBJECT_NOT_FOUND")
                return
            self._send(200, page)

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or "{}")
            failure = standin.take_failure()
            if failure is not None:
                self._error(failure.status, "Injected failure", failure.category, failure.headers)
                return
            if self.headers.get("Authorization") != f"Bearer {standin.portal.token}":
                self._error(401, "Authentication credentials not found.", "INVALID_AUTHENTICATION")
                return
            parts = url.path.rstrip("/").split("/")  # /crm/v3/objects/<obj>/batch/<verb>
            if len(parts) != 7 or parts[4] not in ("companies", "deals") or parts[5] != "batch":
                self._error(404, f"Unknown path {url.path}", "OBJECT_NOT_FOUND")
                return
            obj, verb = parts[4], parts[6]
            records = {
                r.id: r
                for r in (standin.portal.companies if obj == "companies" else standin.portal.deals)
            }
            if verb == "read":
                wanted = body.get("properties") or []
                found = [
                    _record(i, {p: records[i].properties.get(p) for p in wanted})
                    for i in (x["id"] for x in body.get("inputs", []))
                    if i in records
                ]
                self._send(200, {"status": "COMPLETE", "results": found, **_times()})
                return
            if verb != "update":
                self._error(404, f"Unknown path {url.path}", "OBJECT_NOT_FOUND")
                return
            self._update(obj, records, body.get("inputs", []))

        def _update(self, obj: str, records: dict[str, Any], inputs: list[dict]) -> None:
            portal = standin.portal
            owners = {o.id: o for o in portal.owners}
            results, errors = [], []
            for item in inputs:
                record_id, props = str(item.get("id")), item.get("properties") or {}
                owner = props.get("hubspot_owner_id")
                if record_id not in records:
                    errors.append(
                        _standard_error(
                            "OBJECT_NOT_FOUND",
                            f"Could not get some {obj} objects, they may be deleted or not "
                            "exist. Check that ids are valid.",
                            record_id,
                        )
                    )
                elif record_id in portal.reject:
                    errors.append(_standard_error(*portal.reject[record_id], record_id))
                elif owner is not None and (owner not in owners or owners[owner].archived):
                    errors.append(
                        _standard_error(
                            "VALIDATION_ERROR",
                            f'Property values were not valid: [{{"isValid":false,"message":'
                            f'"{owner} is not a valid owner id","error":"INVALID_OWNER_ID",'
                            f'"name":"hubspot_owner_id"}}]',
                            record_id,
                        )
                    )
                else:
                    records[record_id].properties.update(props)
                    portal.updates.append((obj, record_id, str(owner)))
                    results.append(_record(record_id, dict(records[record_id].properties)))
            if portal.drop_after_update:
                portal.drop_after_update = False
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            answer: dict[str, Any] = {"status": "COMPLETE", "results": results, **_times()}
            if errors:
                answer |= {"numErrors": len(errors), "errors": errors}
            self._send(207 if errors else 200, answer)

        def _error(
            self, status: int, message: str, category: str, headers: dict[str, str] | None = None
        ) -> None:
            body = {
                "status": "error",
                "message": message,
                "correlationId": "00000000-0000-0000-0000-000000000000",
                "category": category,
            }
            self._send(status, body, headers or {})

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
            data = json.dumps(body).encode()
            standin.record(status, self.path)  # before answering: the client may look at once
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _times() -> dict[str, str]:
    return {"startedAt": STAMP, "completedAt": STAMP}


def _standard_error(category: str, message: str, record_id: str) -> dict[str, Any]:
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": {"ids": [record_id]},
        "errors": [],
    }


def _page(
    records: list[Any], query: dict[str, str], shown: Callable[[Any], dict[str, Any]]
) -> dict[str, Any]:
    """One page of ``limit`` records from the cursor ``after`` (HubSpot's cursors are opaque);
    only the page's records are rendered, so a large portal pages in linear time."""
    limit = min(int(query.get("limit", "10")), 100)
    start = int(query.get("after", "0"))
    body: dict[str, Any] = {"results": [shown(r) for r in records[start : start + limit]]}
    if start + limit < len(records):
        body["paging"] = {"next": {"after": str(start + limit), "link": "?after=..."}}
    return body


def _requested(query: dict[str, str], name: str) -> list[str]:
    return [p for p in query.get(name, "").split(",") if p]


def _properties(
    obj: str, values: dict[str, str | None], record_id: str, query: dict[str, str], portal: Portal
) -> dict[str, str | None]:
    known = portal.known_properties.get(obj)
    props: dict[str, str | None] = {"hs_object_id": record_id}
    for name in _requested(query, "properties"):
        if known is None or name in known:
            props[name] = values.get(name)
    return props


def _record(record_id: str, props: dict[str, str | None]) -> dict[str, Any]:
    return {
        "id": record_id,
        "properties": props,
        "createdAt": STAMP,
        "updatedAt": STAMP,
        "archived": False,
    }


def _company(
    company: Company, query: dict[str, str], portal: Portal, children: dict[str, list[str]]
) -> dict[str, Any]:
    record = _record(
        company.id, _properties("companies", company.properties, company.id, query, portal)
    )
    if "companies" in _requested(query, "associations"):
        links = []
        if company.parent_id:
            links.append({"id": company.parent_id, "type": "child_to_parent_company"})
        links += [
            {"id": child, "type": "parent_to_child_company"}
            for child in children.get(company.id, [])
        ]
        if links:  # HubSpot leaves out an association type with no links
            record["associations"] = {"companies": {"results": links}}
    return record


def _deal(deal: Deal, query: dict[str, str], portal: Portal) -> dict[str, Any]:
    record = _record(deal.id, _properties("deals", deal.properties, deal.id, query, portal))
    if "companies" in _requested(query, "associations") and deal.company_ids:
        record["associations"] = {
            "companies": {
                "results": [{"id": c, "type": "deal_to_company"} for c in deal.company_ids]
            }
        }
    return record


def _owner(owner: Owner) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": owner.id,
        "email": owner.email,
        "type": "PERSON",
        "firstName": owner.first_name,
        "lastName": owner.last_name,
        "userId": int(owner.id) + 100000 if owner.id.isdigit() else None,
        "createdAt": owner.created_at,
        "updatedAt": owner.created_at,
        "archived": owner.archived,
    }
    if owner.teams:
        record["teams"] = [
            {"id": str(i + 1), "name": name, "primary": i == 0}
            for i, name in enumerate(owner.teams)
        ]
    return record
