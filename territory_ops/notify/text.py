"""Text helpers for Slack messages: escaping, hours and KPI values, and fitting lists into limits.

Slack reads ``&``, ``<`` and ``>`` as markup (``<!channel>`` pings everyone), so every value that
comes from data is escaped. Lists are fitted by whole items and end with "and N more — see the
run" instead of being cut in the middle of a sentence.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from territory_ops.formatting import money, percent

# Slack Block Kit limits (https://api.slack.com/reference/block-kit/blocks)
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_TEXT = 2000
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
# Slack truncates a message's whole payload around 12k characters (blocks JSON + text);
# staying well below leaves room for the message updates a decision makes.
MAX_MESSAGE_CHARS = 10_000
MAX_FALLBACK_TEXT = 1500
MAX_LIST_SECTION = 1500  # a list section (reps, covers) leaves room for the moves

_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")


def escape(value: object) -> str:
    """Escape a data value for Slack mrkdwn / plain text (``&``, ``<``, ``>``)."""
    text = "" if value is None else str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shorten(text: str, limit: int) -> str:
    """``text`` if it fits, else its leading whole sentences (or words + "…") within ``limit``."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    if ends and ends[-1] >= limit // 3:
        return head[: ends[-1]]
    cut = head[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:")
    return cut + "…"


def fit_lines(lines: Sequence[str], limit: int, more: str = "…and {n} more — see the run") -> str:
    """Join whole ``lines`` with newlines within ``limit`` characters; the rest become ``more``."""
    full = "\n".join(lines)
    if len(full) <= limit:
        return full
    used = -1  # no newline before the first line
    keep = 0
    for line in lines:
        tail = 1 + len(more.format(n=len(lines) - keep - 1))
        if used + 1 + len(line) + tail > limit:
            break
        used += 1 + len(line)
        keep += 1
    if keep == 0:  # even the first line is too long: keep its leading sentences
        tail = more.format(n=len(lines) - 1)
        return shorten(lines[0], limit - len(tail) - 1) + "\n" + tail
    return "\n".join([*lines[:keep], more.format(n=len(lines) - keep)])


def hours(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.0f} h"


def signed_hours(value: float) -> str:
    return ("+" if value >= 0 else "") + hours(value)


def number(value: object, unit: str = "") -> str:
    """Format a KPI value by unit: ``$`` money, ``h`` hours, ``%`` a value already in percent,
    ``share`` a fraction shown as a percentage (0.19 -> 19%), else plain."""
    if value is None:
        return "n/a"
    if not isinstance(value, int | float):
        return escape(value)
    if unit == "$":
        return money(float(value))
    if unit == "h":
        return hours(float(value))
    if unit == "%":
        return f"{float(value):.1f}%"
    if unit == "share":
        return percent(float(value))
    if isinstance(value, int) or float(value).is_integer():
        return f"{value:,.0f}{(' ' + unit) if unit else ''}"
    if unit:
        return f"{value:,.1f} {unit}"
    return f"{value:,.2f}"
