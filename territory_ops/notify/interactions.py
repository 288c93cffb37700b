"""Checking and reading Slack interaction requests (button clicks on a digest).

``verify_interaction`` accepts a request only when its ``X-Slack-Signature`` is the HMAC of the
body with the signing secret (``SLACK_SIGNING_SECRET``), its timestamp is at most five minutes
old, and the same signed request has not been seen before (a replay). The HTTP endpoint that
uses it (``territory-ops serve-actions``) is separate; this is the library part.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

from slack_sdk.signature import Clock, SignatureVerifier

from territory_ops.notify.model import ACTION_EFFECTIVE_DATE

SIGNING_SECRET_ENV = "SLACK_SIGNING_SECRET"
MAX_AGE_SECONDS = 300


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str  # "ok" or why the request was refused (safe to log: no secret, no body)


class ReplayGuard:
    """Remembers signatures seen within the last five minutes (one endpoint process)."""

    def __init__(self, window_seconds: int = MAX_AGE_SECONDS) -> None:
        self.window = window_seconds
        self._seen: dict[str, int] = {}

    def first_time(self, signature: str, timestamp: int, now: float) -> bool:
        """True the first time a signature is offered; records it."""
        horizon = now - 2 * self.window  # anything older is refused as stale anyway
        self._seen = {s: t for s, t in self._seen.items() if t >= horizon}
        if signature in self._seen:
            return False
        self._seen[signature] = timestamp
        return True


class _FixedClock(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def verify_interaction(
    signing_secret: str,
    body: bytes | str,
    headers: Mapping[str, str],
    *,
    replay_guard: ReplayGuard | None = None,
    now: float | None = None,
) -> Verdict:
    """Whether a request really comes from Slack, is fresh and is not a replay."""
    now = time.time() if now is None else now
    lower = {k.lower(): v for k, v in headers.items()}
    timestamp = lower.get("x-slack-request-timestamp")
    signature = lower.get("x-slack-signature")
    if not timestamp or not signature:
        return Verdict(False, "unsigned: missing X-Slack-Request-Timestamp or X-Slack-Signature")
    try:
        ts = int(timestamp)
    except ValueError:
        return Verdict(False, "malformed X-Slack-Request-Timestamp")
    age = now - ts
    if abs(age) > MAX_AGE_SECONDS:
        return Verdict(False, f"stale: request timestamp is {age:.0f} s off (limit 300 s)")
    verifier = SignatureVerifier(signing_secret, clock=_FixedClock(now))
    if not verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
        return Verdict(False, "forged: signature does not match the body")
    # check the replay only for genuine requests, so forged ones cannot poison the cache
    if replay_guard is not None and not replay_guard.first_time(signature, ts, now):
        return Verdict(False, "replayed: this signed request was already processed")
    return Verdict(True, "ok")


def sign_request(signing_secret: str, body: bytes | str, timestamp: int) -> dict[str, str]:
    """Headers Slack would send with ``body`` (for tests and local tools)."""
    signature = SignatureVerifier(signing_secret).generate_signature(
        timestamp=str(timestamp), body=body
    )
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature or "",
        "Content-Type": "application/x-www-form-urlencoded",
    }


@dataclass(frozen=True)
class Interaction:
    """One button click: who clicked what, and the message to update."""

    action_id: str
    value: str
    proposal_ids: tuple[str, ...]
    slack_user_id: str
    slack_user_name: str
    channel_id: str | None
    message_ts: str | None
    manager_id: str | None = None  # "approve all" only
    run_id: str | None = None  # "approve all" only
    effective_on: str | None = None  # YYYY-MM-DD picked beside the button, if any


def parse_interaction(body: bytes | str) -> list[Interaction]:
    """The clicks in a ``block_actions`` payload (form field ``payload``, JSON)."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    fields = parse_qs(text)
    if "payload" not in fields:
        raise ValueError("interaction body has no 'payload' form field")
    payload = json.loads(fields["payload"][0])
    if payload.get("type") != "block_actions":
        raise ValueError(f"unsupported interaction type {payload.get('type')!r}")
    user = payload.get("user") or {}
    channel = (payload.get("channel") or {}).get("id")
    ts = (payload.get("container") or {}).get("message_ts") or (payload.get("message") or {}).get(
        "ts"
    )
    state = (payload.get("state") or {}).get("values") or {}
    out = []
    for action in payload.get("actions") or []:
        value = str(action.get("value", ""))
        ids: tuple[str, ...] = (value,) if value.startswith("P-") else ()
        manager_id = run_id = None
        if value.startswith("{"):
            scope = json.loads(value)
            ids = tuple(scope.get("proposal_ids") or ())
            manager_id, run_id = scope.get("manager_id"), scope.get("run_id")
        out.append(
            Interaction(
                action_id=str(action.get("action_id", "")),
                value=value,
                proposal_ids=ids,
                slack_user_id=str(user.get("id", "")),
                slack_user_name=str(user.get("username") or user.get("name") or ""),
                channel_id=channel,
                message_ts=ts,
                manager_id=manager_id,
                run_id=run_id,
                effective_on=_picked_date(state, str(action.get("block_id", ""))),
            )
        )
    return out


def _picked_date(state: dict, block_id: str) -> str | None:
    """The date chosen in the block's date picker when the button was clicked (Slack sends
    the message's input state with every ``block_actions`` payload)."""
    picker = (state.get(block_id) or {}).get(ACTION_EFFECTIVE_DATE) or {}
    picked = picker.get("selected_date")
    return str(picked) if picked else None
