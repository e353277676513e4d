"""Error bars on each variant's mean: task-weighted, clustered on tasks, clipped to the metric.

After Evan Miller (2024), "Adding Error Bars to Evals" (arXiv:2411.00640), recommendations 1
and 2: a standard error from the Central Limit Theorem, clustered because repeats of one task
are not independent samples. Re-exported by :mod:`agentlab.stats`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentlab.scoring.metrics import get_metric
from agentlab.stats._data import t_crit, usable_rows, variant_names, weighted_mean_se

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["variant_stats"]


def variant_stats(
    df: pd.DataFrame, metric: str = "quality", *, cluster: str | None = "task_id",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Mean of a metric per variant, with a clustered standard error and t interval.

    Every task weighs the same (repeats are averaged within their task). The interval is
    clipped to the metric's bounds (:func:`agentlab.scoring.get_metric`): a mean of 0–1
    scores stays in 0–1 even when t says otherwise with few tasks.

    Args:
        df: Results.
        metric: The column to average.
        cluster: Column whose groups are not independent (repeats of a task);
            ``None`` treats every row as independent (too narrow; for comparison only).
        confidence: Interval coverage.

    Returns:
        Indexed by variant (in order of appearance): ``n``, ``n_tasks``, ``mean``,
        ``se``, ``ci_low``, ``ci_high`` (t with ``clusters - 1`` degrees of freedom; NaN
        with one cluster).

    Raises:
        ConfigError: A needed column is missing.
    """
    import pandas as pd

    data = usable_rows(df, metric)
    info = get_metric(metric)
    names, tasks = data["variant"].to_numpy(), data["task_id"].astype(str).to_numpy(object)
    values = data[metric].to_numpy(float)
    groups = data[cluster].astype(str).to_numpy(object) if cluster else None
    rows = []
    for variant in variant_names(df):
        mask = names == variant
        mean, se, g = weighted_mean_se(values[mask], tasks[mask],
                                       groups[mask] if groups is not None else None)
        half = t_crit(confidence, g - 1) * se
        rows.append({"variant": variant, "n": int(mask.sum()), "n_tasks": len(set(tasks[mask])),
                     "mean": mean, "se": se, "ci_low": info.clip(mean - half),
                     "ci_high": info.clip(mean + half)})
    return pd.DataFrame(rows).set_index("variant")
