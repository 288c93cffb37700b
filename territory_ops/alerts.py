"""Alerts to people (RevOps, managers): a channel-independent message and its plain-text form.

The pipeline builds an ``Alert`` and hands it to an alert sink (``pipelines/alerts.py``): the
local sink logs it and appends it to ``var/outbox/alerts.jsonl``; the Slack sink (Slack issue)
posts ``render_alert_text`` as the message text with blocks built from the same fields.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

AlertSeverity = Literal["error", "warning", "info"]
ALERTS_FILE = "alerts.jsonl"
_ICONS = {"error": ":rotating_light:", "warning": ":warning:", "info": ":information_source:"}


@dataclass(frozen=True)
class Alert:
    title: str
    lines: tuple[str, ...]
    severity: AlertSeverity = "error"
    audience: str = "revops"  # who must act
    kind: str = "run_blocked"  # machine-readable type for routing/dedup
    details: dict[str, Any] = field(default_factory=dict)  # structured payload (findings...)
    run_id: str | None = None
    created_at: str = field(
        default_factory=lambda: datetime.now(UTC).replace(microsecond=0).isoformat()
    )

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["lines"] = list(self.lines)
        data["text"] = render_alert_text(self)
        return data


def render_alert_text(alert: Alert, *, emoji: bool = False) -> str:
    """The alert as plain text: title line, then one line per item (Slack ``text`` fallback)."""
    icon = f"{_ICONS.get(alert.severity, '')} " if emoji else ""
    head = f"{icon}[{alert.severity.upper()}] {alert.title}"
    body = [f"• {line}" for line in alert.lines]
    tail = [f"(run {alert.run_id})"] if alert.run_id else []
    return "\n".join([head, *body, *tail])


def append_to_outbox(alert: Alert, outbox_dir: Path) -> Path:
    """Append the alert as one JSON line to ``<outbox>/alerts.jsonl``; returns the file."""
    outbox_dir.mkdir(parents=True, exist_ok=True)
    path = outbox_dir / ALERTS_FILE
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(alert.as_json(), default=str) + "\n")
    return path


def read_outbox(outbox_dir: Path) -> list[dict[str, Any]]:
    path = outbox_dir / ALERTS_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
