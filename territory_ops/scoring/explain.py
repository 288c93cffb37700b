"""Factor contributions: from log space to currency, and from currency to one sentence.

Both the model and the rule express a score as ``ln P = ln B + sum_g c_g``: the base ``B``
(the score of a typical account) times one multiplicative effect ``exp(c_g)`` per factor.
Currency contributions use the logarithmic mean ``L(P, B) = (P - B) / (ln P - ln B)``
(the LMDI index decomposition): ``contrib_g = L * c_g``. They are exact — ``B + sum_g
contrib_g = P`` — have the sign of ``c_g``, and never blow up (L lies between B and P).

The sentence reads the contributions back: factors in order of their currency size, each
with its multiplicative effect ``exp(c_g) - 1`` ("industry fit +18%").
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from territory_ops.formatting import money
from territory_ops.scoring.config import FACTOR_LABELS, FACTORS


def logarithmic_mean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """L(a, b) = (a - b) / (ln a - ln b), with L(a, a) = a; a, b > 0."""
    a = np.asarray(a, dtype=np.float64)
    b = np.broadcast_to(np.asarray(b, dtype=np.float64), a.shape)
    out = a.copy()
    differ = np.abs(a - b) > 1e-9 * np.maximum(np.abs(a), 1.0)
    out[differ] = (a[differ] - b[differ]) / (np.log(a[differ]) - np.log(b[differ]))
    return out


def currency_contributions(
    potential: np.ndarray, base: np.ndarray | float, log_contributions: np.ndarray
) -> np.ndarray:
    """Currency contribution of each factor (columns), exact for ``ln P - ln B = sum c``."""
    potential = np.asarray(potential, dtype=np.float64)
    weights = logarithmic_mean(potential, np.broadcast_to(base, potential.shape))
    return log_contributions * weights[:, None]


def round_exactly(
    potential: np.ndarray, contributions: np.ndarray, decimals: int = 2
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Round the potential and the factor contributions; the base takes the rounding remainder.

    Returns (potential, base, contributions), all rounded, with ``base + contributions.sum(1)``
    equal to ``potential`` to the cent.
    """
    potential = np.round(np.asarray(potential, dtype=np.float64), decimals)
    contributions = np.round(contributions, decimals)
    base = np.round(potential - contributions.sum(axis=1), decimals)
    return potential, base, contributions


# Effects beyond this factor read as "×50+" / "÷50+": a ratio of a thin-history outlier to
# the typical account says "far bigger", not a precise number.
MAX_SHOWN_FACTOR = 50.0


def format_effect(log_effect: float) -> str:
    """A multiplicative effect as a signed percentage: +18%, −3%, ×4.2 for large ones,
    capped at ×50+ and ÷50+."""
    if log_effect >= math.log(MAX_SHOWN_FACTOR):
        return f"×{MAX_SHOWN_FACTOR:.0f}+"
    if log_effect <= -math.log(MAX_SHOWN_FACTOR):
        return f"÷{MAX_SHOWN_FACTOR:.0f}+"
    factor = math.exp(log_effect)
    if factor >= 3.0:
        return f"×{factor:.1f}"
    pct = (factor - 1.0) * 100.0
    sign = "+" if pct >= 0 else "−"
    return f"{sign}{abs(pct):.0f}%"


def factor_effects(potential: float, base: float, contributions: Sequence[float]) -> list[float]:
    """Log effect c_g of each factor, recovered from currency contributions."""
    if potential <= 0 or base <= 0:
        return [math.log1p(max(c / base, -0.999)) if base > 0 else 0.0 for c in contributions]
    weight = float(logarithmic_mean(np.array([potential]), np.array([base]))[0])
    return [c / weight for c in contributions]


def ranked_factors(
    contributions: Sequence[float], factors: Sequence[str] = FACTORS, limit: int = 4
) -> list[int]:
    """Indexes of the factors to name: biggest absolute currency contribution first."""
    order = sorted(range(len(factors)), key=lambda i: (-abs(contributions[i]), i))
    return [i for i in order if abs(contributions[i]) >= 0.005][:limit]


def effects_and_order(
    potential: float, base: float, contributions: Sequence[float], limit: int = 4
) -> tuple[list[float], list[int]]:
    """The log effect of every factor and the indexes of the factors a sentence names."""
    return (
        factor_effects(potential, base, contributions),
        ranked_factors(contributions, FACTORS[: len(contributions)], limit),
    )


def explanation_sentence(
    potential: float,
    base: float,
    contributions: Sequence[float],
    factors: Sequence[str] = FACTORS,
    limit: int = 4,
    rule_based: bool = False,
    note: str = "",
) -> str:
    """'$85k/yr vs. $42k typical: industry fit +18%, intent surge +11%, growth +4%, size −3%';
    ``note`` (e.g. which input was missing) follows the factors after a semicolon."""
    effects = factor_effects(potential, base, contributions)
    named = [
        f"{FACTOR_LABELS.get(factors[i], factors[i])} {format_effect(effects[i])}"
        for i in ranked_factors(contributions, factors, limit)
    ]
    head = f"{money(potential)}/yr vs. {money(base)} typical"
    body = ": " + ", ".join(named) if named else ": a typical account"
    if note:
        body += f"; {note}"
    tail = " (rule-based estimate)" if rule_based else ""
    return head + body + tail


def explanation_sentences(
    potential: np.ndarray,
    base: np.ndarray,
    contributions: np.ndarray,
    factors: Sequence[str] = FACTORS,
    limit: int = 4,
    rule_based: bool = False,
    notes: Sequence[str] | None = None,
) -> list[str]:
    return [
        explanation_sentence(
            float(p),
            float(b),
            contributions[i].tolist(),
            factors,
            limit,
            rule_based,
            notes[i] if notes is not None else "",
        )
        for i, (p, b) in enumerate(zip(potential, base, strict=True))
    ]
