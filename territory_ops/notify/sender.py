"""Delivering digests: an abstract sender, the Slack Web API one, and a local outbox folder.

The Slack sender reads nothing itself; ``sender_from_env`` picks it when ``SLACK_BOT_TOKEN`` is
set (base URL from ``SLACK_API_URL``, for a Slack-compatible gateway and for tests) and the
outbox folder otherwise, so a run without Slack still succeeds and leaves readable files.
The token lives only inside the ``WebClient``: it is never logged, never in an error message
(``scrub_secrets``), never in a file.
"""

from __future__ import annotations

import json
import os
import random
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter

from territory_ops.notify.digest import Recipient

TOKEN_ENV = "SLACK_BOT_TOKEN"
API_URL_ENV = "SLACK_API_URL"
# Slack errors that retrying cannot fix (the recipient does not exist or cannot be reached)
PERMANENT_ERRORS = frozenset(
    {
        "users_not_found",
        "channel_not_found",
        "user_not_found",
        "cannot_dm_bot",
        "is_archived",
        "message_not_found",
        "cant_update_message",
    }
)
_TOKEN_PATTERN = re.compile(r"xox[abposr]-[A-Za-z0-9-]+")


def scrub_secrets(text: str, secrets: Sequence[str] = ()) -> str:
    """``text`` with every given secret and anything shaped like a Slack token masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _TOKEN_PATTERN.sub("xox?-***", text)


@dataclass(frozen=True)
class Receipt:
    """Where a message landed: Slack channel id + ts, or the outbox file."""

    via: str  # "slack" | "outbox"
    channel: str
    ts: str


class _ProportionalJitter(Jitter):
    """Up to +50 % of the interval (slack-sdk's default adds up to a whole second each time)."""

    def recalculate(self, duration: float) -> float:
        return duration * (1.0 + 0.5 * random.random())


class DeliveryError(Exception):
    """A message could not be delivered; ``permanent`` when retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class DigestSender(ABC):
    """Posts a message (text + blocks) to a recipient, and updates a posted message."""

    via: str = "abstract"

    @abstractmethod
    def send(
        self, recipient: Recipient, text: str, blocks: Sequence[Mapping[str, Any]], *, key: str
    ) -> Receipt:
        """Deliver one message; ``key`` is the outbox idempotency key. Raises DeliveryError."""

    @abstractmethod
    def update(
        self, channel: str, ts: str, text: str, blocks: Sequence[Mapping[str, Any]]
    ) -> Receipt:
        """Replace a delivered message (e.g. after a decision). Raises DeliveryError."""

    def tell(self, channel: str, user: str, text: str) -> None:
        """A reply only ``user`` sees in ``channel`` (e.g. why a click changed nothing);
        without Slack there is no one to show it to."""
        return None

    def scrub(self, text: str) -> str:
        return scrub_secrets(text)


class SlackDigestSender(DigestSender):
    """Slack Web API through slack-sdk's ``WebClient`` with retries for 429, 5xx and network."""

    via = "slack"

    def __init__(
        self,
        token: str,
        base_url: str | None = None,
        *,
        max_retries: int = 3,
        backoff_factor: float = 0.5,
        timeout: int = 15,
    ) -> None:
        if not token or not token.strip():
            raise ValueError(f"a Slack bot token is required (set {TOKEN_ENV})")
        if base_url and not base_url.endswith("/"):
            base_url += "/"  # urljoin would drop the last path segment ("/api")
        backoff = BackoffRetryIntervalCalculator(backoff_factor, _ProportionalJitter())
        self._client = WebClient(
            token=token,
            base_url=base_url or WebClient.BASE_URL,
            timeout=timeout,
            retry_handlers=[
                RateLimitErrorRetryHandler(max_retry_count=max_retries),  # honours Retry-After
                ServerErrorRetryHandler(max_retry_count=max_retries, interval_calculator=backoff),
                ConnectionErrorRetryHandler(
                    max_retry_count=max_retries, interval_calculator=backoff
                ),
            ],
        )
        self._dm_channels: dict[str, str] = {}

    def __repr__(self) -> str:  # never show the token
        return f"SlackDigestSender(base_url={self._client.base_url!r})"

    @property
    def base_url(self) -> str:
        return self._client.base_url

    def scrub(self, text: str) -> str:
        return scrub_secrets(text, [self._client.token or ""])

    def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._client, method)(**kwargs)
        except SlackApiError as err:
            data = err.response.data if isinstance(err.response.data, dict) else {}
            code = str(data.get("error", ""))
            status = err.response.status_code
            detail = json.dumps(data, sort_keys=True)[:300]  # the gateway's words, scrubbed
            raise DeliveryError(
                self.scrub(
                    f"Slack {method} failed (HTTP {status}, {code or 'no error'}): {detail}"
                ),
                permanent=code in PERMANENT_ERRORS,
            ) from None
        except Exception as err:  # network errors after the retries are used up
            raise DeliveryError(
                self.scrub(f"Slack {method} failed: {type(err).__name__}: {err}")
            ) from None

    def resolve_channel(self, recipient: Recipient) -> str:
        """Channel to post to: the given channel, else a DM opened with the user (id or e-mail)."""
        if recipient.channel:
            return recipient.channel
        user_id = recipient.slack_user_id
        if not user_id:
            if not recipient.email:
                raise DeliveryError(
                    f"recipient {recipient.key} has neither a Slack id nor an e-mail",
                    permanent=True,
                )
            found = self._call("users_lookupByEmail", email=recipient.email)
            user_id = found["user"]["id"]
        if user_id not in self._dm_channels:
            opened = self._call("conversations_open", users=[user_id])
            self._dm_channels[user_id] = opened["channel"]["id"]
        return self._dm_channels[user_id]

    def send(
        self, recipient: Recipient, text: str, blocks: Sequence[Mapping[str, Any]], *, key: str
    ) -> Receipt:
        channel = self.resolve_channel(recipient)
        posted = self._call(
            "chat_postMessage",
            channel=channel,
            text=text,
            blocks=list(blocks),
            unfurl_links=False,
            unfurl_media=False,
        )
        return Receipt("slack", posted["channel"], posted["ts"])

    def update(
        self, channel: str, ts: str, text: str, blocks: Sequence[Mapping[str, Any]]
    ) -> Receipt:
        updated = self._call("chat_update", channel=channel, ts=ts, text=text, blocks=list(blocks))
        return Receipt("slack", updated["channel"], updated["ts"])

    def tell(self, channel: str, user: str, text: str) -> None:
        self._call("chat_postEphemeral", channel=channel, user=user, text=text)


class OutboxDigestSender(DigestSender):
    """No Slack: each message becomes ``<outbox>/slack/<key>.json`` (+ a ``.txt`` to read)."""

    via = "outbox"

    def __init__(self, outbox_dir: str | Path) -> None:
        self.folder = Path(outbox_dir) / "slack"

    def __repr__(self) -> str:
        return f"OutboxDigestSender({str(self.folder)!r})"

    def _write(self, name: str, payload: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        body = json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True)
        (self.folder / f"{name}.json").write_text(body + "\n", encoding="utf-8")
        (self.folder / f"{name}.txt").write_text(payload["text"] + "\n", encoding="utf-8")

    def send(
        self, recipient: Recipient, text: str, blocks: Sequence[Mapping[str, Any]], *, key: str
    ) -> Receipt:
        name = key[:32]
        self._write(name, {"recipient": asdict(recipient), "text": text, "blocks": list(blocks)})
        return Receipt("outbox", str(self.folder), name)

    def update(
        self, channel: str, ts: str, text: str, blocks: Sequence[Mapping[str, Any]]
    ) -> Receipt:
        path = self.folder / f"{ts}.json"
        if not path.exists():
            raise DeliveryError(f"no outbox message {ts} to update", permanent=True)
        payload = json.loads(path.read_text(encoding="utf-8"))
        payload.update({"text": text, "blocks": list(blocks)})
        self._write(ts, payload)
        return Receipt("outbox", channel, ts)


def sender_from_env(
    outbox_dir: str | Path, env: Mapping[str, str] | None = None, **slack_options: Any
) -> DigestSender:
    """Slack when ``SLACK_BOT_TOKEN`` is set (``SLACK_API_URL`` optional), else the outbox.

    The one place that choice is made: the CLI, the pipeline's Slack resource and the alert
    sink all ask here, at the moment they send (the token is never stored in config).
    """
    env = os.environ if env is None else env
    if not env.get(TOKEN_ENV, "").strip():
        return OutboxDigestSender(outbox_dir)
    return slack_sender_from_env(env, **slack_options)


def slack_sender_from_env(
    env: Mapping[str, str] | None = None, **slack_options: Any
) -> SlackDigestSender:
    """The Slack sender of ``SLACK_BOT_TOKEN`` / ``SLACK_API_URL``; no token is a permanent
    :class:`DeliveryError` (for callers that must not fall back to the folder)."""
    env = os.environ if env is None else env
    token = env.get(TOKEN_ENV, "").strip()
    if not token:
        raise DeliveryError(f"{TOKEN_ENV} is not set", permanent=True)
    return SlackDigestSender(token, env.get(API_URL_ENV) or None, **slack_options)
