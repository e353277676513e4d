"""Error bars and comparisons for eval results.

After Evan Miller (2024), "Adding Error Bars to Evals" (arXiv:2411.00640).

The paper's five recommendations and where they live here:

1. Report standard errors from the Central Limit Theorem: :func:`variant_stats`.
2. Cluster them when observations are grouped. Repeats of one task are not
   independent samples, so every error bar here is clustered on ``task_id``.
3. Reduce variance by resampling: average the repeats of a task before comparing
   (:func:`paired_difference` does), and see :func:`sample_size` for what more
   repeats buy.
4. Compare variants on paired differences: both variants answer the same tasks, so
   task difficulty cancels out (:func:`paired_difference`, :func:`compare_to_baseline`,
   :func:`mcnemar`, :func:`sign_test`).
5. Plan with a power analysis: :func:`sample_size`.

Every function takes the results DataFrame (``variant``, ``task_id``, ``repeat``,
metric columns, ``error``); error rows and missing values are left out.

This module holds the exact tests and pass@k; it re-exports the rest, so
``from agentlab.stats import ...`` reaches every function:
:mod:`agentlab.stats._errorbars` (means and paired differences), :mod:`agentlab.stats._plan`
(sample size) and :mod:`agentlab.stats._summary` (summary table, length bias).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from agentlab.errors import ConfigError
from agentlab.stats._baseline import pick_baseline
from agentlab.stats._errorbars import (
    PairedDiff,
    _mean_se,
    _t_crit,
    _task_diffs,
    _usable,
    _variants,
    compare_to_baseline,
    paired_difference,
    variant_stats,
)
from agentlab.stats._plan import PlanRow, SampleSizePlan, sample_size
from agentlab.stats._summary import length_bias, summary

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "McNemarResult", "PairedDiff", "PlanRow", "SampleSizePlan", "SignTest",
    "compare_to_baseline", "length_bias", "mcnemar", "paired_difference", "pass_at_k",
    "pass_hat_k", "pick_baseline", "sample_size", "sign_test", "summary", "variant_stats",
]


# -- exact tests -------------------------------------------------------------------


@dataclass(frozen=True)
class McNemarResult:
    """An exact McNemar test on pass/fail outcomes.

    Attributes:
        variant: The variant compared.
        baseline: The reference variant.
        unit: ``task`` (per-task outcome) or ``pair`` (matched repeats).
        n: Units compared.
        both_pass: Units both passed.
        variant_only: Units only the variant passed.
        baseline_only: Units only the baseline passed.
        both_fail: Units both failed.
        p_value: Exact two-sided binomial p-value on the discordant units.
    """

    variant: str
    baseline: str
    unit: Literal["task", "pair"]
    n: int
    both_pass: int
    variant_only: int
    baseline_only: int
    both_fail: int
    p_value: float


def _binom_p(k: int, n: int) -> float:
    from scipy import stats

    return float(stats.binomtest(k, n, 0.5).pvalue) if n else 1.0


def mcnemar(
    df: pd.DataFrame, variant: str, baseline: str, col: str = "passed", *,
    unit: Literal["task", "pair"] = "task",
) -> McNemarResult:
    """Exact McNemar test: do the variants differ in which units they pass?

    With ``unit="task"`` a task counts as passed by a variant when at least half of
    its repeats pass (the same rule on both sides keeps the test fair), and tasks
    are the units. With ``unit="pair"`` rows are matched on ``(task_id, repeat)``;
    matched repeats are exchangeable under the null, so the exact test stays valid.

    Args:
        df: Results with a boolean ``col``.
        variant: The variant compared.
        baseline: The reference variant.
        col: The pass/fail column.
        unit: ``task`` or ``pair``.

    Returns:
        The 2x2 table and p-value.

    Raises:
        ConfigError: A column is missing.
    """
    data = _usable(df, col)
    keys = ["task_id"] if unit == "task" else ["task_id", "repeat"]
    if unit == "pair" and "repeat" not in data.columns:
        raise ConfigError("unit='pair' needs a 'repeat' column; use unit='task'")
    side = {
        name: data[data["variant"] == name].groupby(keys)[col].mean() >= 0.5
        for name in (variant, baseline)
    }
    both = side[variant].to_frame("a").join(side[baseline].to_frame("b"), how="inner")
    a, b = both["a"].to_numpy(bool), both["b"].to_numpy(bool)
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    return McNemarResult(variant, baseline, unit, len(both), int((a & b).sum()), only_a, only_b,
                         int((~a & ~b).sum()), _binom_p(only_a, only_a + only_b))


@dataclass(frozen=True)
class SignTest:
    """A sign test on per-task differences.

    Attributes:
        variant: The variant compared.
        baseline: The reference variant.
        metric: The column compared.
        wins: Tasks where the variant's mean is higher.
        losses: Tasks where it is lower.
        ties: Tasks with equal means (left out of the test).
        p_value: Exact two-sided binomial p-value.
    """

    variant: str
    baseline: str
    metric: str
    wins: int
    losses: int
    ties: int
    p_value: float


def sign_test(df: pd.DataFrame, variant: str, baseline: str,
              metric: str = "quality") -> SignTest:
    """Sign test on repeat-averaged per-task differences (robust to outliers).

    Args:
        df: Results.
        variant: The variant compared.
        baseline: The reference variant.
        metric: The column compared.

    Returns:
        Wins, losses, ties and the p-value.

    Raises:
        ConfigError: A variant or column is missing.
    """
    d = _task_diffs(_usable(df, metric), metric, variant, baseline)
    wins, losses = int((d > 0).sum()), int((d < 0).sum())
    return SignTest(variant, baseline, metric, wins, losses, len(d) - wins - losses,
                    _binom_p(wins, wins + losses))


# -- pass@k ------------------------------------------------------------------------


def _pass_k(df: pd.DataFrame, k: int, col: str, all_k: bool,
            confidence: float) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    if k < 1:
        raise ConfigError(f"k must be at least 1, got {k}")
    data = _usable(df, col)
    rows = []
    for variant in _variants(df):
        part = data[data["variant"] == variant].groupby("task_id")[col].agg(["size", "sum"])
        part = part[part["size"] >= k]  # a task needs k attempts to estimate pass@k
        est = np.array([
            math.comb(int(c), k) / math.comb(int(n), k) if all_k
            else 1 - math.comb(int(n - c), k) / math.comb(int(n), k)
            for n, c in zip(part["size"], part["sum"], strict=True)
        ], dtype=float)
        mean, se, g = _mean_se(est, None)
        half = _t_crit(confidence, g - 1) * se
        rows.append({"variant": variant, "k": k, "estimate": mean, "se": se,
                     "ci_low": max(0.0, mean - half), "ci_high": min(1.0, mean + half),
                     "n_tasks": g})
    return pd.DataFrame(rows).set_index("variant")


def pass_at_k(df: pd.DataFrame, k: int, col: str = "passed", *,
              confidence: float = 0.95) -> pd.DataFrame:
    """pass@k per variant: chance that at least one of k attempts passes.

    Per task, with n repeats of which c pass, the unbiased estimate is
    ``1 - C(n-c, k) / C(n, k)``; tasks with fewer than k usable repeats are left out,
    and the estimates are averaged over tasks (error bars over tasks).

    Args:
        df: Results with a boolean ``col``.
        k: Attempts.
        col: The pass/fail column.
        confidence: Interval coverage.

    Returns:
        Indexed by variant: ``k``, ``estimate``, ``se``, ``ci_low``, ``ci_high``,
        ``n_tasks``.

    Raises:
        ConfigError: ``k`` below 1 or a column is missing.
    """
    return _pass_k(df, k, col, False, confidence)


def pass_hat_k(df: pd.DataFrame, k: int, col: str = "passed", *,
               confidence: float = 0.95) -> pd.DataFrame:
    """pass^k per variant: chance that all of k attempts pass (reliability).

    Per task the unbiased estimate is ``C(c, k) / C(n, k)``; otherwise as
    :func:`pass_at_k`.

    Args:
        df: Results with a boolean ``col``.
        k: Attempts.
        col: The pass/fail column.
        confidence: Interval coverage.

    Returns:
        Indexed by variant: ``k``, ``estimate``, ``se``, ``ci_low``, ``ci_high``,
        ``n_tasks``.

    Raises:
        ConfigError: ``k`` below 1 or a column is missing.
    """
    return _pass_k(df, k, col, True, confidence)
