"""Exact tests per task: McNemar on pass/fail outcomes, and the sign test.

Both count tasks, never rows. Repeats of a task share the task's difficulty and the variants'
task-specific strengths, so matched repeats are not independent pairs: under a null whose
average effect is zero but varies by task, a test on matched repeats is "significant" 19–29%
of the time at the 5% level. Per task, units are independent and the exact binomial test
(``scipy.stats.binomtest``) keeps its level. Re-exported by :mod:`agentlab.stats`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentlab.stats._data import paired_tasks

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["McNemarResult", "SignTest", "mcnemar", "sign_test"]


def _binom_p(k: int, n: int) -> float:
    from scipy import stats

    return float(stats.binomtest(k, n, 0.5).pvalue) if n else 1.0


@dataclass(frozen=True)
class McNemarResult:
    """An exact McNemar test on per-task pass/fail outcomes.

    Attributes:
        variant: The variant compared.
        baseline: The reference variant.
        n: Tasks compared (answered by both).
        both_pass: Tasks both passed.
        variant_only: Tasks only the variant passed.
        baseline_only: Tasks only the baseline passed.
        both_fail: Tasks both failed.
        p_value: Exact two-sided binomial p-value on the discordant tasks.
        n_dropped: Tasks one of the two has no usable answer for.
    """

    variant: str
    baseline: str
    n: int
    both_pass: int
    variant_only: int
    baseline_only: int
    both_fail: int
    p_value: float
    n_dropped: int


def mcnemar(df: pd.DataFrame, variant: str, baseline: str,
            col: str = "passed") -> McNemarResult:
    """Exact McNemar test: do the variants differ in which tasks they pass?

    A task counts as passed by a variant when at least half of its repeats pass (the
    same rule on both sides keeps the test fair); tasks are the units.

    Args:
        df: Results with a boolean ``col``.
        variant: The variant compared.
        baseline: The reference variant.
        col: The pass/fail column.

    Returns:
        The 2x2 table of tasks and the p-value.

    Raises:
        ConfigError: A variant or column is missing.
    """
    pairs = paired_tasks(df, col, variant, baseline)
    a, b = pairs.variant_means >= 0.5, pairs.baseline_means >= 0.5
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    return McNemarResult(variant, baseline, len(pairs.tasks), int((a & b).sum()), only_a,
                         only_b, int((~a & ~b).sum()), _binom_p(only_a, only_a + only_b),
                         pairs.n_dropped)


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
    d = paired_tasks(df, metric, variant, baseline).diffs
    wins, losses = int((d > 0).sum()), int((d < 0).sum())
    return SignTest(variant, baseline, metric, wins, losses, len(d) - wins - losses,
                    _binom_p(wins, wins + losses))
