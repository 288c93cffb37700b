"""How amounts, shares and counts read in every sentence people see.

Digests, drift flags, score explanations and the scenario report quote the same figures; one
format keeps "$1.24M" in a Slack digest and in the plan's drift line the same number. This
module imports nothing from the project, so any layer may use it.
"""

from __future__ import annotations

import math


def money(value: float | None) -> str:
    """Compact currency: $2.10B, $1.24M, $860k, $420; n/a when unknown."""
    if value is None or math.isnan(value):
        return "n/a"
    sign = "-" if value < 0 else ""
    v = abs(value)
    if v >= 1e9:
        return f"{sign}${v / 1e9:,.2f}B"
    if v >= 1e6:
        return f"{sign}${v / 1e6:,.2f}M"
    if v >= 1e3:
        return f"{sign}${v / 1e3:,.0f}k"
    return f"{sign}${v:,.0f}"


def signed_money(value: float) -> str:
    """A change in money: +$110k, -$40k, +$0."""
    return ("+" if value >= 0 else "") + money(value)


def percent(share: float | None, digits: int = 0, *, signed: bool = False) -> str:
    """A share (0.19) as a percentage (19%); ``signed`` for changes (+25%, -3%)."""
    if share is None or math.isnan(share):
        return "n/a"
    return f"{share:{'+' if signed else ''}.{digits}%}"


def count(n: int) -> str:
    """A whole number with thousands separators: 12,400."""
    return f"{int(n):,}"
