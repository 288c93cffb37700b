"""The certificate line of a pass summary says what its travel bound measures."""

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


def test_a_pass_that_weighs_moves_shows_travel_with_its_moves_not_a_gap():
    for gap in (0.324, 0.013):
        line = certificate_line(_metrics(gap, 3000.0))
        assert line.startswith(
            "Certificate (travel only): travel 624.4 km with the 467 move(s) this pass kept; "
            "lower bound on travel alone 554.965 km (LP relaxation (GLOP))."
        )
        assert "gap" not in line and "%" not in line
        assert "not a distance from optimal" in line


def test_a_pass_that_ignores_moves_keeps_its_gap():
    line = certificate_line(_metrics(0.125, 0.0))
    assert line == (
        "Certificate: travel 624.4 km vs lower bound 554.965 km: gap 12.5% (LP relaxation (GLOP))."
    )
    assert certificate_line({"gap": None, "bound_method": "not computed"}) == (
        "Certificate: not computed."
    )
