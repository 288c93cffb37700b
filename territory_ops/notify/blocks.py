"""Block Kit building blocks shared by every message: sections, buttons, pass line, limits.

Each builder keeps its text within Slack's limit for that element (whole sentences kept).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

import polars as pl

from territory_ops.notify.text import (
    MAX_CONTEXT_TEXT,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    escape,
    shorten,
)

MORE_TEXT = "…and {n} more — see the run"


def json_chars(value: object) -> int:
    """Characters of ``value`` as Slack receives it (JSON, non-ASCII kept)."""
    return len(json.dumps(value, ensure_ascii=False))


def require_columns(df: pl.DataFrame, required: Sequence[str], what: str) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(
            f"{what} lacks column(s) {', '.join(missing)}; it has: {', '.join(df.columns)}"
        )


def header_block(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": shorten(text, MAX_HEADER_TEXT)},
    }


def section_block(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": shorten(text, MAX_SECTION_TEXT)}}


def context_block(text: str) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": shorten(text, MAX_CONTEXT_TEXT)}],
    }


def button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def run_link(run_url: str | None, run_id: str | None) -> str:
    if run_url:
        return f"<{run_url}|see the run in Dagster>"
    return f"see run {escape(run_id)}" if run_id else "see the run"


def pass_line(snapshot: date, pass_kind: str, run_url: str | None, run_id: str | None) -> str:
    return (
        f"Snapshot {snapshot.isoformat()} · {escape(pass_kind)} pass · {run_link(run_url, run_id)}"
    )


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def rep_label(name: object, rep_id: object) -> str:
    if rep_id is None or rep_id == "":
        return "unassigned"
    return f"{escape(name or rep_id)}"
