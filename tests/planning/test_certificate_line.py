"""The certificate line of a pass summary says what the travel bound leaves out."""

from __future__ import annotations

from territory_ops.planning.report import certificate_line


def _metrics(gap: float, disruption_km: float) -> dict:
    return {
        "travel_km": 624.4,
        "lp_travel_bound_km": 554.965,
        "gap": gap,
        "bound_method": "LP relaxation (GLOP)",
        "disruption_km": disruption_km,
        "moves": 467,
    }


def test_a_pass_that_weighs_moves_explains_its_gap():
    line = certificate_line(_metrics(0.125, 3000.0))
    assert line.startswith("Certificate: travel 624.4 km vs lower bound 554.965 km: gap 12.5%")
    assert "counts travel only" in line and "467 moved" in line


def test_a_small_gap_or_a_pass_that_ignores_moves_needs_no_note():
    assert "travel only" not in certificate_line(_metrics(0.013, 3000.0))
    assert "travel only" not in certificate_line(_metrics(0.125, 0.0))
    assert certificate_line({"gap": None, "bound_method": "not computed"}) == (
        "Certificate: not computed."
    )
