"""pass@k and pass^k, including when there is too little data to say."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from agentlab import stats
from agentlab.errors import ConfigError


def passfail(rows: list[tuple[str, str, int, bool]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["variant", "task_id", "repeat", "passed"])


def test_pass_at_k_and_pass_hat_k_hand_computed() -> None:
    df = passfail([
        ("a", "t1", 0, True), ("a", "t1", 1, False), ("a", "t1", 2, False),
        ("a", "t2", 0, True), ("a", "t2", 1, True), ("a", "t2", 2, True),
        ("a", "t3", 0, True),  # one attempt only: left out for k=2
    ])
    at2 = stats.pass_at_k(df, 2).loc["a"]
    # t1: 1 - C(2,2)/C(3,2) = 2/3; t2: 1
    assert at2["estimate"] == pytest.approx((2 / 3 + 1) / 2) and at2["n_tasks"] == 2
    hat2 = stats.pass_hat_k(df, 2).loc["a"]
    # t1: C(1,2)/C(3,2) = 0; t2: C(3,2)/C(3,2) = 1
    assert hat2["estimate"] == pytest.approx(0.5)
    assert stats.pass_at_k(df, 1).loc["a", "estimate"] == pytest.approx((1 / 3 + 1 + 1) / 3)
    assert 0.0 <= at2["ci_low"] <= at2["estimate"] <= at2["ci_high"] <= 1.0
    with pytest.raises(ConfigError, match="k must be"):
        stats.pass_at_k(df, 0)


def test_nan_stays_nan_not_a_made_up_interval() -> None:
    # Finding 8: k above the repeats (or one task) gave estimate NaN with CI [0, 1].
    df = passfail([("a", "t1", 0, True), ("a", "t1", 1, False), ("a", "t2", 0, True),
                   ("a", "t2", 1, True)])
    too_big = stats.pass_at_k(df, 3).loc["a"]
    assert too_big["n_tasks"] == 0
    assert all(math.isnan(too_big[c]) for c in ("estimate", "se", "ci_low", "ci_high"))
    one = stats.pass_hat_k(df[df.task_id == "t2"], 2).loc["a"]
    assert one["estimate"] == 1.0 and math.isnan(one["ci_low"]) and math.isnan(one["ci_high"])
