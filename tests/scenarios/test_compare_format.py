"""Report cells quote money, bands and counts the way the digests do."""

from __future__ import annotations

import math

from territory_ops.scenarios.compare import fmt


def test_report_cells_use_the_shared_formats() -> None:
    assert fmt(4_120_000.0, "money") == "$4.12M"
    assert fmt(860_400.0, "money") == "$860k"
    assert fmt(2_500_000_000.0, "money") == "$2.50B"
    assert fmt(0.1, "pct") == "±10%"
    assert fmt(12400, "d") == "12,400"
    assert fmt(0.00125, "pp") == "+0.12 pp"
    assert fmt(math.nan, "money") == fmt(None, "d") == "–"
