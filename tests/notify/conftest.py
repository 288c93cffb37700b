"""A Slack-compatible Web API on loopback (real HTTP, real slack-sdk client) and sample data."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlparse

import polars as pl
import pytest

from territory_ops.writeback.proposal_rows import proposal_id, proposals_frame
from tests.org.tables import write_org_chart as write_org_table

TOKEN = "xoxb-4242-TEST-super-secret-token"


@dataclass
class FakeSlack:
    """State of the fake workspace: users, DMs, posted messages, scripted failures."""

    token: str
    users: dict[str, str] = field(default_factory=dict)  # e-mail -> user id
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    # method -> queued (status, headers, body) answers served before the normal behaviour
    script: dict[str, list[tuple[int, dict[str, str], dict[str, Any]]]] = field(
        default_factory=dict
    )
    down: bool = False  # every call answers 500
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: int = 0
    url: str = ""

    def posts(self) -> list[dict[str, Any]]:
        return [p for m, p in self.calls if m == "chat.postMessage" and p.get("_ok")]

    def fail_next(self, method: str, status: int, headers=None, body=None, times: int = 1) -> None:
        answer = (status, headers or {}, body or {"ok": False, "error": "fatal_error"})
        self.script.setdefault(method, []).extend([answer] * times)

    def handle(self, method: str, payload: dict[str, Any], auth: str) -> tuple[int, dict, dict]:
        with self.lock:
            self.calls.append((method, payload))
            if self.down:
                return 500, {}, {"ok": False, "error": "internal_error"}
            if self.script.get(method):
                return self.script[method].pop(0)
            if auth != f"Bearer {self.token}":
                return 200, {}, {"ok": False, "error": "invalid_auth"}
            return 200, {}, self._answer(method, payload)

    def _answer(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "user_id": "UBOT", "team": "Test"}
        if method == "users.lookupByEmail":
            user = self.users.get(p.get("email", ""))
            if not user:
                return {"ok": False, "error": "users_not_found"}
            return {"ok": True, "user": {"id": user, "profile": {"email": p["email"]}}}
        if method == "conversations.open":
            users = p.get("users")
            first = users[0] if isinstance(users, list) else str(users).split(",")[0]
            return {"ok": True, "channel": {"id": "D" + first}}
        if method == "chat.postMessage":
            if not p.get("text"):
                return {"ok": False, "error": "no_text"}
            self._ts += 1
            ts = f"1700000000.{self._ts:06d}"
            self.messages[(p["channel"], ts)] = {"text": p["text"], "blocks": p.get("blocks")}
            p["_ok"] = True
            return {"ok": True, "channel": p["channel"], "ts": ts}
        if method == "chat.postEphemeral":
            if not p.get("text") or not p.get("user"):
                return {"ok": False, "error": "no_text"}
            p["_ok"] = True
            return {"ok": True, "message_ts": "1700000000.999000"}
        if method == "chat.update":
            key = (p.get("channel"), p.get("ts"))
            if key not in self.messages:
                return {"ok": False, "error": "message_not_found"}
            self.messages[key] = {"text": p["text"], "blocks": p.get("blocks")}
            return {"ok": True, "channel": key[0], "ts": key[1]}
        return {"ok": False, "error": "unknown_method"}


def _handler(state: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  (http.server naming)
            url = urlparse(self.path)
            method = url.path.rsplit("/", 1)[-1]
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            payload: dict[str, Any] = {k: v[0] for k, v in parse_qs(url.query).items()}
            if raw.startswith("{"):
                payload.update(json.loads(raw))
            elif raw:
                payload.update({k: v[0] for k, v in parse_qs(raw).items()})
            if isinstance(payload.get("blocks"), str):
                payload["blocks"] = json.loads(payload["blocks"])
            status, headers, body = state.handle(
                method, payload, self.headers.get("Authorization", "")
            )
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST  # noqa: N815

        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            pass

    return Handler


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    state = FakeSlack(token=TOKEN)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/api/"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def refused_url() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/"


# ------------------------------------------------------------------------------------------
# sample data: two teams and a rep without a manager

REPS = [
    ("R1", "Ana Ruiz", "M1"),
    ("R2", "Ben Lee", "M1"),
    ("R3", "Cara Diaz", "M1"),
    ("R4", "Dev Patel", "M2"),
    ("R5", "Eve Stone", "M2"),
    ("R6", "Finn Ode", None),
    ("R7", "Gus Hale", None),
]
MANAGERS = {
    "M1": ("Maria Chen", "maria.chen@example.com", None),
    "M2": ("Omar Haddad", "omar.haddad@example.com", "U0OMAR"),
}
SLACK_USERS = {"maria.chen@example.com": "U0MARIA"}
# the org chart above the roster: director Dana over both managers; Cara (a rep) has a Slack id
DIRECTOR = ("D1", "Dana Reyes", "dana.reyes@example.com", "U0DANA")
REP_SLACK = {"R3": "U0CARA"}
SNAPSHOT = date(2026, 11, 1)
RUN_ID = "5f1e0c7a-2b9d-4c1e-9a55-0f3c2d1b7e11"
RUN_URL = f"http://dagster.example.com/runs/{RUN_ID}"


def roster_frame() -> pl.DataFrame:
    rows = []
    for rep_id, name, mgr in REPS:
        mname, email, slack = MANAGERS.get(mgr or "", (None, None, None))
        rows.append(
            {
                "rep_id": rep_id,
                "rep_name": name,
                "manager_id": mgr,
                "manager_name": mname,
                "manager_email": email,
                "manager_slack_user_id": slack,
            }
        )
    return pl.DataFrame(rows)


# (from, to, reason code): within M1, M1 <-> M2, new account, unassigned-manager reps
MOVES = [
    ("R2", "R1", "balance"),
    ("R4", "R3", "balance"),
    ("R5", "R4", "travel"),
    (None, "R2", "new"),
    ("R3", "R5", "cover"),
    ("R6", "R1", "orphaned"),
    ("R7", "R6", "balance"),  # neither rep has a manager: unrouted
]


def make_proposals(
    n: int = 7, *, run_id: str = RUN_ID, pass_kind: str = "full", status: str = "open"
) -> pl.DataFrame:
    names = {r[0]: r[1] for r in REPS}
    rows = []
    for i in range(n):
        frm, to, code = MOVES[i % len(MOVES)]
        account = f"001A{i:06d}"
        temporary = code == "cover"
        rows.append(
            {
                "proposal_id": proposal_id(SNAPSHOT, pass_kind, account, frm, to),
                "run_id": run_id,
                "pass_kind": pass_kind,
                "snapshot_date": SNAPSHOT,
                "created_at": datetime(2026, 11, 1, 6, 0),
                "account_id": account,
                "account_name": f"Northwind Traders {i}",
                "from_rep_id": frm,
                "from_rep_name": names.get(frm or ""),
                "to_rep_id": to,
                "to_rep_name": names[to],
                "reason_code": code,
                "reason": (
                    f"Brings {names[to]} toward the balance band (12% under target). "
                    "Potential is high because intent signals rose 40% this quarter."
                ),
                "potential": 250_000.0 - i * 1_000,
                "workload_hours": 40.0 + i % 9,
                "from_potential_before": None if frm is None else 1_200_000.0,
                "from_potential_after": None if frm is None else 1_050_000.0,
                "to_potential_before": 900_000.0,
                "to_potential_after": 1_010_000.0,
                "from_workload_before": None if frm is None else 1_400.0,
                "from_workload_after": None if frm is None else 1_330.0,
                "to_workload_before": 1_180.0,
                "to_workload_after": 1_260.0,
                "is_temporary": temporary,
                "temporary_until": date(2026, 12, 15) if temporary else None,
                "status": status,
                "superseded_by_run_id": None,
            }
        )
    return proposals_frame(rows)


def write_org_chart(con) -> None:
    """``marts.org_chart`` for the sample: reps, their managers and the director over them."""
    rows = [
        (rep_id, name, f"{rep_id.lower()}@example.com", mgr, "rep", REP_SLACK.get(rep_id))
        for rep_id, name, mgr in REPS
    ]
    rows += [(m, n, e, DIRECTOR[0], "manager", s) for m, (n, e, s) in MANAGERS.items()]
    rows.append((*DIRECTOR[:3], None, "manager", DIRECTOR[3]))
    write_org_table(con, rows)


@pytest.fixture
def sample() -> SimpleNamespace:
    """Sample data and constants for tests (conftest modules cannot be imported directly)."""
    return SimpleNamespace(
        roster=roster_frame(),
        proposals=make_proposals,
        run_id=RUN_ID,
        run_url=RUN_URL,
        snapshot=SNAPSHOT,
        token=TOKEN,
        slack_users=dict(SLACK_USERS),
        write_org_chart=write_org_chart,
    )
