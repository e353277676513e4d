"""Per-variant means: task-weighted, clustered on tasks, clipped to the metric's bounds."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from agentlab import stats
from agentlab.errors import ConfigError

Simulate = Callable[..., pd.DataFrame]
Table = Callable[..., pd.DataFrame]


def test_clustered_ci_covers_variant_mean_and_naive_does_not(simulate: Simulate) -> None:
    rng = np.random.default_rng(7)
    clustered = naive = 0
    for _ in range(200):
        df = simulate(rng, n_tasks=15, repeats=4, task_sd=0.3)
        row = stats.variant_stats(df).loc["base"]
        clustered += row.ci_low <= 0.5 <= row.ci_high
        flat = stats.variant_stats(df, cluster=None).loc["base"]
        naive += flat.ci_low <= 0.5 <= flat.ci_high
    assert 0.91 <= clustered / 200 <= 0.99  # 95% ± 2.7 Monte Carlo standard errors
    assert naive / 200 < 0.85  # treating repeats as independent overstates precision


def test_variant_stats_columns_and_counts(simulate: Simulate) -> None:
    df = simulate(np.random.default_rng(1), n_tasks=6, repeats=2)
    df.loc[0, "error"] = "rate_limit"
    out = stats.variant_stats(df)
    assert list(out.index) == ["base", "new"]
    assert list(out.columns) == ["n", "n_tasks", "mean", "se", "ci_low", "ci_high"]
    assert out.loc["base", "n"] == 11 and out.loc["new", "n_tasks"] == 6
    values = df.loc[(df.variant == "new")].groupby("task_id")["quality"].mean()
    assert out.loc["new", "se"] == pytest.approx(values.std() / math.sqrt(6))


def test_every_task_weighs_the_same(make_table: Table) -> None:
    # Finding 3's second half: pass_rate weighted rows while diff and pass@k weighted tasks.
    df = make_table([("a", "t1", True), ("a", "t1", True), ("a", "t1", True),
                     ("a", "t2", False), ("a", "t2", False), ("a", "t2", False)], "passed")
    df.loc[[4, 5], "error"] = "timeout"  # t2 keeps one usable repeat
    rows_weighted = df.loc[df["error"].isna(), "passed"].mean()
    assert rows_weighted == pytest.approx(0.75)
    assert stats.variant_stats(df, "passed").loc["a", "mean"] == pytest.approx(0.5)
    assert stats.pass_at_k(df, 1).loc["a", "estimate"] == pytest.approx(0.5)
    assert stats.summary(df)["pass_rate"].loc["a"] == pytest.approx(0.5)


def test_interval_is_clipped_to_the_metrics_bounds(make_table: Table) -> None:
    rows = [("a", "t1", 1.0), ("a", "t2", 1.0), ("a", "t3", 0.8)]
    quality = stats.variant_stats(make_table(rows)).loc["a"]
    assert quality.ci_high == 1.0 and quality.ci_low < 0.8
    judged = stats.variant_stats(make_table([(v, t, x * 4 + 1) for v, t, x in rows],
                                            "judge_score"), "judge_score").loc["a"]
    assert judged.ci_high == 5.0  # judge scores are 1–5
    free = stats.variant_stats(make_table(rows, "mystery"), "mystery").loc["a"]
    assert free.ci_high > 1.0  # an undeclared column has no bounds to clip to
    one = stats.variant_stats(make_table(rows[:1])).loc["a"]
    assert one["mean"] == 1.0 and math.isnan(one.ci_low) and math.isnan(one.ci_high)


def test_missing_column_is_a_config_error(simulate: Simulate) -> None:
    df = simulate(np.random.default_rng(0), n_tasks=3)
    with pytest.raises(ConfigError, match="no 'score_mypy_strict' column"):
        stats.variant_stats(df, "score_mypy_strict")
