"""The one format for money, shares and counts that digests, drift, scores and scenarios share."""

from __future__ import annotations

import math

from territory_ops.formatting import count, money, percent, signed_money


def test_money_is_compact_and_signed():
    assert money(420) == "$420"
    assert money(860_400) == "$860k"
    assert money(1_240_000) == "$1.24M"
    assert money(2_100_000_000) == "$2.10B"
    assert money(-40_000) == "-$40k"
    assert money(None) == money(math.nan) == "n/a"
    assert signed_money(110_000) == "+$110k"
    assert signed_money(-40_000) == "-$40k"
    assert signed_money(0) == "+$0"


def test_percent_reads_a_share():
    assert percent(0.19) == "19%"
    assert percent(1.0) == "100%"
    assert percent(0.0123, 1) == "1.2%"
    assert percent(0.25, signed=True) == "+25%"
    assert percent(-0.333, signed=True) == "-33%"
    assert percent(None) == "n/a"


def test_count_groups_thousands():
    assert count(12400) == "12,400"
    assert count(7) == "7"
