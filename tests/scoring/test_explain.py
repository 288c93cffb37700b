"""The score sentence quotes amounts the way digests and drift flags do."""

from __future__ import annotations

import math

import numpy as np

from territory_ops.scoring.explain import currency_contributions, explanation_sentence


def _sentence(potential: float, base: float, log_effects: list[float]) -> str:
    contributions = currency_contributions(np.array([potential]), base, np.array([log_effects]))[
        0
    ].tolist()
    return explanation_sentence(potential, base, contributions)


def test_sentence_uses_the_shared_money_format():
    grown = math.log(1_240_000 / 42_000)
    sentence = _sentence(1_240_000, 42_000, [grown, 0, 0, 0, 0, 0])
    assert sentence == "$1.24M/yr vs. $42k typical: industry fit ×29.5"
    small = _sentence(8_600, 12_000, [0, math.log(8_600 / 12_000), 0, 0, 0, 0])
    assert small == "$9k/yr vs. $12k typical: size −28%"


def test_a_typical_account_names_no_factor():
    assert _sentence(42_000, 42_000, [0.0] * 6) == "$42k/yr vs. $42k typical: a typical account"
