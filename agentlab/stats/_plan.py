"""Power analysis: how many tasks and repeats a paired comparison needs.

After Evan Miller (2024), "Adding Error Bars to Evals", section 5. Re-exported by
:mod:`agentlab.stats`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentlab.errors import ConfigError
from agentlab.stats._errorbars import _task_diffs, _usable

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PlanRow", "SampleSizePlan", "sample_size"]


@dataclass(frozen=True)
class PlanRow:
    """One way to reach the planned power.

    Attributes:
        repeats: Repeats per task and variant.
        n_tasks: Tasks needed.
        calls: Model calls for the two variants (``2 * n_tasks * repeats``).
    """

    repeats: int
    n_tasks: int
    calls: int


def _tasks_needed(var: float, d: float, alpha: float, power: float) -> int:
    """Smallest task count whose paired t-test detects ``d`` with the given power."""
    from scipy import stats

    if var <= 0:
        return 2
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    n = max(2, math.ceil(float(z**2 * var / d**2)))
    for _ in range(50):  # refine with t quantiles, which matter for small n
        t = stats.t.ppf(1 - alpha / 2, n - 1) + stats.t.ppf(power, n - 1)
        new = max(2, math.ceil(float(t**2 * var / d**2)))
        if new == n:
            break
        n = new
    return n


@dataclass(frozen=True)
class SampleSizePlan:
    """How many tasks and repeats a comparison needs (Miller 2024, section 5).

    The variance of one task's difference with K repeats per variant is
    ``between_var + within_var / K``: more repeats shrink only the second term.

    Attributes:
        variant: The variant compared.
        baseline: The reference variant.
        metric: The column compared.
        d: The difference to detect.
        alpha: Two-sided significance level.
        power: Chance of detecting ``d`` when it is real.
        between_var: Variance across tasks of the true per-task difference.
        within_var: Repeat-to-repeat variance, summed over the two variants.
        repeats: Repeats per task observed in the data.
        n_tasks: Tasks needed at the observed repeats.
        min_tasks: Tasks needed even with unlimited repeats.
        options: Tasks needed for 1, 2, 3, 5 and 10 repeats.
        note: Caveats about the estimate.
    """

    variant: str
    baseline: str
    metric: str
    d: float
    alpha: float
    power: float
    between_var: float
    within_var: float
    repeats: int
    n_tasks: int
    min_tasks: int
    options: tuple[PlanRow, ...]
    note: str

    def tasks_for(self, repeats: int) -> int:
        """Tasks needed with ``repeats`` repeats per task and variant.

        Args:
            repeats: Repeats per task and variant (at least 1).

        Returns:
            The task count.
        """
        var = self.between_var + self.within_var / max(1, repeats)
        return _tasks_needed(var, self.d, self.alpha, self.power)


def _variance_parts(data: pd.DataFrame, metric: str, variant: str,
                    baseline: str) -> tuple[float, float, float, int]:
    """Observed var of task differences, summed within var, mean 1/K, typical K."""
    import numpy as np

    d = _task_diffs(data, metric, variant, baseline)
    if len(d) < 3:
        raise ConfigError(f"need at least 3 tasks answered by both {variant!r} and "
                          f"{baseline!r} to plan; run a pilot first")
    stats_ = data[data["variant"].isin([variant, baseline])].groupby(
        ["variant", "task_id"])[metric].agg(["var", "size"])
    within = stats_.groupby(level=0)["var"].mean().fillna(0.0)  # var is NaN with 1 repeat
    inv_k = stats_.groupby(level=0)["size"].apply(lambda s: float(np.mean(1 / s)))
    within_sum = float(within.sum())
    observed_noise = float((within * inv_k).sum())
    k = round(float(stats_["size"].median()))
    return float(d.var(ddof=1)), within_sum, observed_noise, k


def sample_size(
    df: pd.DataFrame, variant: str, baseline: str, metric: str = "quality",
    d: float = 0.05, *, alpha: float = 0.05, power: float = 0.8,
) -> SampleSizePlan:
    """Plan an experiment able to detect a paired difference ``d`` (power analysis).

    The pilot ``df`` gives the between-task variance of the per-task difference and
    the within-task (repeat) variance of each variant; the plan uses the paired t
    test of :func:`paired_difference`.

    Args:
        df: Pilot results with both variants, ideally with 2+ repeats.
        variant: The variant compared.
        baseline: The reference variant.
        metric: The column compared.
        d: Smallest difference worth detecting (in the metric's units).
        alpha: Two-sided significance level.
        power: Wanted chance of detecting ``d``.

    Returns:
        The plan.

    Raises:
        ConfigError: ``d`` not positive, too few common tasks, or a missing column.
    """
    if not d > 0:
        raise ConfigError(f"d must be a positive difference, got {d}")
    var_d, within, noise, k = _variance_parts(_usable(df, metric), metric, variant, baseline)
    note = ""
    if within == 0 and k <= 1:
        note = "no repeats in the pilot: within-task noise is unknown, so repeats show no gain"
    between = max(0.0, var_d - noise)
    if var_d < noise:
        note = "between-task variance estimated at 0 (noisy pilot); more tasks would help"
    options = tuple(
        PlanRow(r, n := _tasks_needed(between + within / r, d, alpha, power), 2 * n * r)
        for r in (1, 2, 3, 5, 10)
    )
    return SampleSizePlan(
        variant, baseline, metric, d, alpha, power, between, within, k,
        _tasks_needed(between + within / max(1, k), d, alpha, power),
        _tasks_needed(between, d, alpha, power), options, note,
    )
