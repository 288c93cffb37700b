"""A loopback HTTPS stand-in for the Salesforce REST API, written from its documentation.

It serves what the connector reads and writes: the API versions list,
``sobjects/<Object>/describe``, SOQL ``query`` with ``nextRecordsUrl`` paging, Bulk API 2.0
query jobs, Bulk API 2.0 ingest jobs (create, upload, close, poll, ``successfulResults`` /
``failedResults`` / ``unprocessedrecords``) and the OAuth 2.0 JWT bearer token endpoint (the
assertion's signature checked with the connected app's public key). Errors come the way
Salesforce sends them (a JSON array of ``{"message", "errorCode"}``). Tests fill its in-memory
org and flip switches to make it fail (429 / 503, an expired session, records rejected with a
given error code, a job that ends ``Failed``, a connection dropped after the upload). A
successful update job changes the records' owners, so the next pull shows them.

simple-salesforce always speaks ``https://``, so the server holds a self-signed certificate
made at test time; clients trust it through ``REQUESTS_CA_BUNDLE``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import ipaddress
import json
import re
import socket
import ssl
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from territory_ops.record_ids import id_key

API_VERSIONS = ("58.0", "59.0", "60.0")
SOQL = re.compile(r"^\s*select\s+(?P<fields>.+?)\s+from\s+(?P<object>\w+)\s*$", re.I | re.S)


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (certificate, key) PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "stand-in.crt", folder / "stand-in.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class FakeOrg:
    """The org's data and the switches tests flip."""

    token: str = "00Dfake!stand-in-token"
    # object -> records (dicts of API field name -> JSON value)
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # object -> field names describe lists (set by the test; default: every field of the records)
    fields: dict[str, list[str]] = field(default_factory=dict)
    page_size: int = 2000
    fail_503_times: int = 0
    limit_exceeded_times: int = 0
    expire_session_times: int = 0  # answer INVALID_SESSION_ID this many times
    stall_s: float = 0.0  # the next authenticated request waits this long before answering
    # "Object.Field" that describe lists but a query refuses (INVALID_FIELD)
    query_rejects: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)
    bulk_pages: int = 0
    fail_429_times: int = 0
    # ingest jobs: record id -> (errorCode, message) for records an update job rejects
    reject_records: dict[str, tuple[str, str]] = field(default_factory=dict)
    lock_times: dict[str, int] = field(default_factory=dict)  # UNABLE_TO_LOCK_ROW n times
    fail_job: str | None = None  # the next closed job ends Failed with this message
    drop_after_upload: bool = False  # the next upload is stored, its answer never sent
    hold_upload: threading.Event | None = None  # uploads wait for this before answering
    upload_arrived: threading.Event = field(default_factory=threading.Event)
    in_progress_polls: int = 0  # a closed job answers InProgress this many polls first
    uploads: int = 0
    applied: list[tuple[str, str, str]] = field(default_factory=list)  # (object, Id, OwnerId)
    ingest_jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    # JWT bearer flow: the connected app, its user and the public key its assertions verify with
    consumer_key: str = "3MVG9stand-in-consumer-key"
    username: str = "integration@example.com"
    jwt_public_key: bytes | None = None
    tokens_minted: int = 0
    _jobs: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    _cursors: dict[str, tuple[str, list[dict[str, Any]], int]] = field(default_factory=dict)

    def describe_fields(self, sobject: str) -> list[str]:
        if sobject in self.fields:
            return self.fields[sobject]
        names: dict[str, None] = {"Id": None}
        for record in self.records.get(sobject, []):
            names.update(dict.fromkeys(record))
        return list(names)


def _bulk_cell(value: Any) -> str:
    """A value as Bulk API 2.0 CSV writes it: empty for null, lower-case booleans, Z datetimes."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return re.sub(r"\+0000$", "Z", str(value))


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        pass

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        url = urlsplit(self.path)
        self.server.org.requests.append(f"POST {url.path}")
        if url.path == "/services/oauth2/token":
            return self._token(parse_qs(self._body().decode()))
        if self._refused():
            return
        body = json.loads(self._body() or b"{}")
        if re.fullmatch(r"/services/data/v[\d.]+/jobs/query/?", url.path):
            return self._create_query_job(body)
        if re.fullmatch(r"/services/data/v[\d.]+/jobs/ingest/?", url.path):
            return self._create_ingest_job(body)
        return self._error(404, "NOT_FOUND", "The requested resource does not exist")

    def do_PUT(self) -> None:  # noqa: N802 - http.server's name
        url = urlsplit(self.path)
        org = self.server.org
        org.requests.append(f"PUT {url.path}")
        if self._refused():
            return
        data = self._body()
        match = re.fullmatch(r"/services/data/v[\d.]+/jobs/ingest/(\w+)/batches/?", url.path)
        job = org.ingest_jobs.get(match.group(1)) if match else None
        if job is None:
            return self._error(404, "NOT_FOUND", "The requested resource does not exist")
        if job["state"] != "Open" or job["data"] is not None:
            return self._error(400, "INVALIDJOBSTATE", "Job is not open for uploads")
        job["data"] = data.decode("utf-8")
        org.uploads += 1
        org.upload_arrived.set()
        if org.hold_upload is not None:
            org.hold_upload.wait(30)
        if org.drop_after_upload:
            org.drop_after_upload = False
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)  # the data is in; the answer never comes
            return
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_PATCH(self) -> None:  # noqa: N802 - http.server's name
        url = urlsplit(self.path)
        org = self.server.org
        org.requests.append(f"PATCH {url.path}")
        if self._refused():
            return
        body = json.loads(self._body() or b"{}")
        match = re.fullmatch(r"/services/data/v[\d.]+/jobs/ingest/(\w+)/?", url.path)
        job = org.ingest_jobs.get(match.group(1)) if match else None
        if job is None:
            return self._error(404, "NOT_FOUND", "The requested resource does not exist")
        if job["state"] != "Open":
            return self._error(400, "INVALIDJOBSTATE", f"Job is already {job['state']}")
        if body.get("state") == "Aborted":
            job["state"] = "Aborted"
        elif body.get("state") == "UploadComplete":
            _process(org, job)
        else:
            return self._error(400, "INVALIDJOBSTATE", f"cannot set state {body.get('state')}")
        self._json(200, _job_info(job))

    def _token(self, form: dict[str, list[str]]) -> None:
        """OAuth 2.0 JWT bearer: the assertion is checked as Salesforce checks it."""
        org = self.server.org
        grant = form.get("grant_type", [""])[0]
        if grant != "urn:ietf:params:oauth:grant-type:jwt-bearer" or org.jwt_public_key is None:
            return self._oauth_error("unsupported_grant_type", "grant type not supported")
        try:
            claims = jwt.decode(
                form.get("assertion", [""])[0],
                org.jwt_public_key,
                algorithms=["RS256"],
                audience=self.server.login_url,
                issuer=org.consumer_key,
                options={"require": ["exp", "iss", "sub", "aud"]},
            )
        except jwt.PyJWTError as err:
            return self._oauth_error("invalid_grant", f"invalid assertion: {type(err).__name__}")
        if claims["sub"] != org.username:
            return self._oauth_error("invalid_grant", "user hasn't approved this consumer")
        org.tokens_minted += 1
        self._json(
            200,
            {
                "access_token": org.token,
                "scope": "api",
                "instance_url": self.server.login_url,
                "id": f"{self.server.login_url}/id/00D/005",
                "token_type": "Bearer",
            },
        )

    def _oauth_error(self, error: str, description: str) -> None:
        self._json(400, {"error": error, "error_description": description})

    def _create_ingest_job(self, body: dict[str, Any]) -> None:
        org = self.server.org
        sobject = str(body.get("object", ""))
        if body.get("operation") != "update" or sobject not in org.records:
            return self._error(400, "INVALIDJOB", f"cannot {body.get('operation')} {sobject}")
        job_id = f"750{uuid.uuid4().hex[:15]}"
        org.ingest_jobs[job_id] = {
            "id": job_id,
            "object": sobject,
            "state": "Open",
            "data": None,
            "results": {"successfulResults": [], "failedResults": [], "unprocessedrecords": []},
            "error": None,
            "polls": 0,
        }
        self._json(200, {**_job_info(org.ingest_jobs[job_id]), "contentUrl": f"jobs/{job_id}"})

    def _ingest_get(self, job_id: str, results: str | None) -> None:
        org = self.server.org
        job = org.ingest_jobs.get(job_id)
        if job is None:
            return self._error(404, "NOT_FOUND", f"no job {job_id}")
        if results is None:
            if job["state"] == "JobComplete" and job["polls"] < org.in_progress_polls:
                job["polls"] += 1
                return self._json(200, {**_job_info(job), "state": "InProgress"})
            return self._json(200, _job_info(job))
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            {
                "successfulResults": ["sf__Id", "sf__Created", "Id", "OwnerId"],
                "failedResults": ["sf__Id", "sf__Error", "Id", "OwnerId"],
                "unprocessedrecords": ["Id", "OwnerId"],
            }[results]
        )
        writer.writerows(job["results"][results])
        body = out.getvalue().encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _refused(self) -> bool:
        """Answer the switched-on failures (and a wrong token); True when one was sent."""
        org = self.server.org
        if self.headers.get("Authorization") != f"Bearer {org.token}":
            self._error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        elif org.expire_session_times > 0:
            org.expire_session_times -= 1
            self._error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        elif org.fail_429_times > 0:
            org.fail_429_times -= 1
            self._error(429, "REQUEST_LIMIT_EXCEEDED", "Too many concurrent requests")
        elif org.fail_503_times > 0:
            org.fail_503_times -= 1
            self._error(503, "SERVER_UNAVAILABLE", "Service temporarily unavailable")
        elif org.limit_exceeded_times > 0:
            org.limit_exceeded_times -= 1
            self._error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        else:
            return False
        return True

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        org = self.server.org
        url = urlsplit(self.path)
        org.requests.append(url.path)
        if url.path.rstrip("/") == "/services/data":
            versions = [
                {"label": v, "url": f"/services/data/v{v}", "version": v} for v in API_VERSIONS
            ]
            return self._json(200, versions)
        if self._refused():
            return
        if org.stall_s:
            stall, org.stall_s = org.stall_s, 0.0
            time.sleep(stall)
        match = re.fullmatch(
            r"/services/data/v[\d.]+/jobs/ingest/(\w+)(?:/(?P<results>successfulResults|"
            r"failedResults|unprocessedrecords))?/?",
            url.path,
        )
        if match:
            return self._ingest_get(match.group(1), match.group("results"))
        match = re.fullmatch(
            r"/services/data/v[\d.]+/jobs/query/(\w+)(?P<results>/results)?", url.path
        )
        if match and match.group("results"):
            return self._query_job_results(match.group(1), parse_qs(url.query))
        if match:
            return self._json(200, {"id": match.group(1), "state": "JobComplete"})
        match = re.fullmatch(r"/services/data/v[\d.]+/sobjects/(\w+)/describe/?", url.path)
        if match:
            return self._describe(match.group(1))
        match = re.fullmatch(r"/services/data/v[\d.]+/query/?(?P<cursor>[\w-]+)?", url.path)
        if match and match.group("cursor"):
            return self._page(match.group("cursor"))
        if match:
            return self._query(parse_qs(url.query).get("q", [""])[0])
        return self._error(404, "NOT_FOUND", "The requested resource does not exist")

    def _describe(self, sobject: str) -> None:
        org = self.server.org
        if sobject not in org.records and sobject not in org.fields:
            return self._error(
                404, "NOT_FOUND", f"The requested resource does not exist: {sobject}"
            )
        fields = [{"name": n, "label": n} for n in org.describe_fields(sobject)]
        self._json(200, {"name": sobject, "fields": fields})

    def _selected(self, soql: str) -> tuple[str, list[str]] | None:
        """The object and fields of a SOQL query, or None after answering its error."""
        org = self.server.org
        parsed = SOQL.match(soql)
        if not parsed:
            self._error(400, "MALFORMED_QUERY", f"unexpected token in: {soql}")
            return None
        sobject = parsed.group("object")
        wanted = [f.strip() for f in parsed.group("fields").split(",")]
        known = set(org.describe_fields(sobject))
        for name in wanted:
            if name not in known or f"{sobject}.{name}" in org.query_rejects:
                self._error(
                    400,
                    "INVALID_FIELD",
                    f"No such column '{name}' on entity '{sobject}'. If you are attempting "
                    "to use a custom field, be sure to append the '__c' after the custom "
                    "field name.",
                )
                return None
        return sobject, wanted

    def _create_query_job(self, body: dict[str, Any]) -> None:
        selected = self._selected(str(body.get("query", "")))
        if selected is None:
            return
        job_id = f"750{uuid.uuid4().hex[:15]}"
        self.server.org._jobs[job_id] = selected
        self._json(200, {"id": job_id, "operation": "query", "state": "UploadComplete"})

    def _query_job_results(self, job_id: str, params: dict[str, list[str]]) -> None:
        org = self.server.org
        if job_id not in org._jobs:
            return self._error(404, "NOT_FOUND", f"no job {job_id}")
        sobject, wanted = org._jobs[job_id]
        rows = org.records.get(sobject, [])
        start = int(params.get("locator", ["0"])[0])
        # like Salesforce, a page may hold fewer records than maxRecords asks for
        end = start + min(org.page_size, int(params.get("maxRecords", ["50000"])[0]))
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(wanted)
        for record in rows[start:end]:
            writer.writerow([_bulk_cell(record.get(n)) for n in wanted])
        body = out.getvalue().encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Sforce-Locator", str(end) if end < len(rows) else "null")
        self.send_header("Sforce-NumberOfRecords", str(len(rows[start:end])))
        self.end_headers()
        self.wfile.write(body)
        org.bulk_pages += 1

    def _query(self, soql: str) -> None:
        org = self.server.org
        selected = self._selected(soql)
        if selected is None:
            return
        sobject, wanted = selected
        rows = [
            {
                "attributes": {"type": sobject, "url": f"/sobjects/{sobject}/{r.get('Id')}"},
                **{n: r.get(n) for n in wanted},
            }
            for r in org.records.get(sobject, [])
        ]
        self._send_page(sobject, rows, 0)

    def _page(self, cursor: str) -> None:
        org = self.server.org
        if cursor not in org._cursors:
            return self._error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        sobject, rows, start = org._cursors.pop(cursor)
        self._send_page(sobject, rows, start)

    def _send_page(self, sobject: str, rows: list[dict[str, Any]], start: int) -> None:
        org = self.server.org
        end = start + org.page_size
        body: dict[str, Any] = {
            "totalSize": len(rows),
            "done": end >= len(rows),
            "records": rows[start:end],
        }
        if end < len(rows):
            cursor = f"01g{uuid.uuid4().hex[:12]}-{end}"
            org._cursors[cursor] = (sobject, rows, end)
            version = re.search(r"/v([\d.]+)/", self.path).group(1)  # the version asked for
            body["nextRecordsUrl"] = f"/services/data/v{version}/query/{cursor}"
        self._json(200, body)

    def _error(self, status: int, code: str, message: str) -> None:
        self._json(status, [{"message": message, "errorCode": code}])

    def _json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _job_info(job: dict[str, Any]) -> dict[str, Any]:
    results = job["results"]
    return {
        "id": job["id"],
        "operation": "update",
        "object": job["object"],
        "state": job["state"],
        "numberRecordsProcessed": len(results["successfulResults"]) + len(results["failedResults"]),
        "numberRecordsFailed": len(results["failedResults"]),
        **({"errorMessage": job["error"]} if job["error"] else {}),
    }


def _process(org: FakeOrg, job: dict[str, Any]) -> None:
    """Close a job and run it at once: owners change for the records Salesforce accepts."""
    rows = list(csv.DictReader(io.StringIO(job["data"] or "")))
    results = job["results"]
    if job["data"] is None:
        job["state"], job["error"] = "Failed", "InvalidBatch : No data was uploaded for the job"
        return
    if org.fail_job is not None:
        job["state"], job["error"], org.fail_job = "Failed", org.fail_job, None
        results["unprocessedrecords"] = [[r["Id"], r["OwnerId"]] for r in rows]
        return
    # Salesforce takes an Id in its 15- or 18-character form and keeps the 18-character one
    by_id = {id_key(r["Id"]): r for r in org.records[job["object"]]}
    users = {id_key(u["Id"]): u for u in org.records.get("User", [])}
    for row in rows:
        record_id, owner = row["Id"], row["OwnerId"]
        record, user = by_id.get(id_key(record_id)), users.get(id_key(owner))
        error = org.reject_records.get(record_id)
        if org.lock_times.get(record_id, 0) > 0:
            org.lock_times[record_id] -= 1
            error = ("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")
        elif record is None:
            error = ("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        elif user is not None and user.get("IsActive") is False:
            error = ("INACTIVE_OWNER_OR_USER", "operation performed with inactive user")
        if error or record is None:
            results["failedResults"].append([record_id, f"{error[0]}:{error[1]}:--", *row.values()])
            continue
        record["OwnerId"] = user["Id"] if user is not None else owner
        org.applied.append((job["object"], record_id, owner))
        results["successfulResults"].append([record["Id"], "false", record_id, owner])
    job["state"] = "JobComplete"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    org: FakeOrg
    login_url: str

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and left (the stall switch) is expected; anything else is not.
        if not isinstance(sys.exc_info()[1], ConnectionError | ssl.SSLError):
            super().handle_error(request, client_address)


class FakeSalesforce:
    """Start with ``with FakeSalesforce(folder) as sf:``; ``sf.url`` is the instance URL."""

    def __init__(self, folder: Path, org: FakeOrg | None = None) -> None:
        self.org = org or FakeOrg()
        self.cert_path, key_path = make_certificate(folder)
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.org = self.org
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, key_path)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._server.login_url = self.url  # the org's login and instance URL are the same
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeSalesforce:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
