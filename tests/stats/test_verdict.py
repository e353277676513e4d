"""The verdict words, the smallest usable suite, and Holm's correction."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agentlab import stats


def test_holm_hand_computed() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 -> 0.02, 0.03, 0.06, 0.04 -> running max
    adjusted = stats.holm([0.01, 0.04, 0.03, 0.005])
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])
    with_nan = stats.holm([0.01, math.nan, 0.04])  # NaN is not part of the family
    assert with_nan[0] == pytest.approx(0.02) and math.isnan(with_nan[1])
    assert with_nan[2] == pytest.approx(0.04)
    assert stats.holm([0.9, 0.8]).tolist() == [1.0, 1.0]
    rows = stats.holm(np.array([[0.01, 0.04], [0.5, 0.02]]))
    assert rows == pytest.approx(np.array([[0.02, 0.04], [0.5, 0.04]]))


def test_holm_keeps_family_wise_error_with_six_null_variants() -> None:
    # Finding 5: 6 null variants against one baseline gave at least one false verdict 22%
    # of the time. The variants share the baseline, so their tests are correlated.
    rng = np.random.default_rng(6)
    reps, n = 1500, 20
    task = rng.normal(0, 0.3, (reps, 1, n))
    means = task + rng.normal(0, 0.1, (reps, 7, n)) + rng.normal(0, 0.3, (reps, 7, n))
    diffs = (means[:, 1:] - means[:, :1]).reshape(reps * 6, n)
    p = stats.compare_diffs(diffs).p_value.reshape(reps, 6)
    raw = float(np.mean((p <= 0.05).any(axis=1)))
    adjusted = float(np.mean((stats.holm(p) <= 0.05).any(axis=1)))
    assert 0.15 <= raw <= 0.28
    assert adjusted <= 0.065  # 5% nominal + 2.6 Monte Carlo standard errors


def test_min_tasks_is_where_the_exact_test_can_first_reject() -> None:
    assert stats.min_tasks(0.05) == 6  # 2 / 2**5 = 0.0625 > 0.05 >= 2 / 2**6
    assert stats.min_tasks(0.0625) == 5 and stats.min_tasks(0.01) == 8


def test_verdict_words_are_the_documented_set() -> None:
    assert set(stats.VERDICTS) == {"better", "worse", "higher", "lower",
                                   "no detectable difference", "insufficient data", "baseline"}
    rng = np.random.default_rng(0)
    seen = set()
    for shift in (-1.0, 0.0, 1.0):
        res = stats.compare_diffs(shift + rng.normal(0, 0.2, (50, 8)))
        for mean, p in zip(res.mean, res.p_value, strict=True):
            seen.add(stats.verdict(float(mean), float(p), 8, "higher", 0.05))
    assert seen == {"better", "worse", "no detectable difference"}  # never higher/lower
