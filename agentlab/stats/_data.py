"""What the statistics count: usable rows, task means, and tasks paired between two variants.

One weighting rule holds for every statistic in :mod:`agentlab.stats`: **each task weighs the
same**. A task's repeats are averaged first, then tasks are averaged, so a task with a failed
repeat neither gains nor loses weight. Means, pass rates, paired differences and pass@k all
follow it; only the standard error's clustering is a choice (:func:`weighted_mean_se`).

The helpers here are shared by the other statistics modules (they are public names in a
private module); users reach the statistics through :mod:`agentlab.stats`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentlab.errors import ConfigError
from agentlab.runs._results import error_rows

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    FloatArray = npt.NDArray[np.float64]

__all__ = ["PairedTasks", "paired_tasks", "t_crit", "usable_rows", "variant_names",
           "weighted_mean_se"]


def usable_rows(df: pd.DataFrame, col: str) -> pd.DataFrame:
    """Rows without an error and with a value in ``col`` (as floats).

    Raises:
        ConfigError: ``variant``, ``task_id`` or ``col`` is missing.
    """
    for needed in ("variant", "task_id", col):
        if needed not in df.columns:
            raise ConfigError(f"results have no {needed!r} column; score or load them first")
    ok = df[col].notna() & ~error_rows(df)
    out = df if bool(ok.all()) else df.loc[ok]
    if out[col].dtype != "float64":  # bools (passed) and ints (words) average as floats
        out = out.assign(**{col: out[col].astype(float)})
    return out


def variant_names(df: pd.DataFrame) -> list[str]:
    """The variants in order of first appearance."""
    return [str(v) for v in df["variant"].drop_duplicates()]


def t_crit(confidence: float, dof: float) -> float:
    """The two-sided t quantile for ``confidence``; NaN below one degree of freedom."""
    from scipy import stats

    return float(stats.t.ppf(0.5 + confidence / 2, dof)) if dof >= 1 else math.nan


def weighted_mean_se(values: FloatArray, tasks: npt.NDArray[np.object_],
                     clusters: npt.NDArray[np.object_] | None) -> tuple[float, float, int]:
    """The task-weighted mean, its cluster-robust standard error, and the cluster count.

    Each row weighs ``1 / (tasks * repeats of its task)``. The variance is the CR1
    sandwich ``G/(G-1) * sum over clusters of (sum of w * (x - mean))^2``; clustered on
    tasks it equals the variance of the task means over G. ``clusters=None`` makes every
    row its own cluster (the naive error bar that ignores repeats' correlation).
    """
    import numpy as np

    if len(values) == 0:
        return math.nan, math.nan, 0
    _, task_index, counts = np.unique(tasks, return_inverse=True, return_counts=True)
    weights = 1.0 / (len(counts) * counts[task_index])
    mean = float(np.sum(weights * values))
    resid = weights * (values - mean)
    if clusters is not None:
        index = np.unique(clusters, return_inverse=True)[1]
        resid = np.bincount(index, weights=resid).astype(float)
    sums = resid
    g = len(sums)
    var = g / (g - 1) * float(np.sum(sums**2)) if g > 1 else math.nan
    return mean, math.sqrt(var), g


@dataclass(frozen=True, eq=False)
class PairedTasks:
    """Two variants' repeat-averaged means on the tasks both answered.

    Attributes:
        tasks: The paired task ids, sorted.
        variant_means: The variant's mean per paired task.
        baseline_means: The baseline's mean per paired task.
        n_dropped: Tasks in the results for these two variants that could not be paired
            (one side has no usable answer: only errors or missing values).
    """

    tasks: tuple[str, ...]
    variant_means: FloatArray
    baseline_means: FloatArray
    n_dropped: int

    @property
    def diffs(self) -> FloatArray:
        """Per-task (variant - baseline)."""
        out: FloatArray = self.variant_means - self.baseline_means
        return out


def paired_tasks(df: pd.DataFrame, metric: str, variant: str, baseline: str) -> PairedTasks:
    """Pair two variants by task on ``metric`` (repeats averaged per task first).

    Args:
        df: Results (error rows and missing values are left out here).
        metric: The column compared.
        variant: The variant compared.
        baseline: The reference variant.

    Returns:
        The paired task means and how many tasks were dropped.

    Raises:
        ConfigError: A column is missing, or a variant has no usable value.
    """
    import numpy as np

    data = usable_rows(df, metric)
    names, tasks = data["variant"].to_numpy(), data["task_id"].astype(str).to_numpy()
    values = data[metric].to_numpy(float)

    def task_means(name: str) -> tuple[npt.NDArray[np.str_], FloatArray]:
        mask = names == name
        if not mask.any():
            raise ConfigError(f"variant {name!r} has no usable {metric!r} values in the results")
        keys, index = np.unique(tasks[mask], return_inverse=True)
        return keys, np.bincount(index, values[mask]) / np.bincount(index)

    (keys_a, mean_a), (keys_b, mean_b) = task_means(variant), task_means(baseline)
    common, ia, ib = np.intersect1d(keys_a, keys_b, return_indices=True)
    attempted = df.loc[df["variant"].isin([variant, baseline]), "task_id"].astype(str).nunique()
    return PairedTasks(tuple(str(t) for t in common), mean_a[ia], mean_b[ib],
                       attempted - len(common))
