"""Clustered error bars: per-variant means and paired differences between variants.

Also holds the helpers the other statistics modules share (usable rows, cluster-
robust standard errors, per-task differences). The public entry point for all of
them is :mod:`agentlab.stats`, which re-exports these names.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Literal

from agentlab.errors import ConfigError
from agentlab.runs._results import error_rows

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    FloatArray = npt.NDArray[np.float64]

__all__ = ["Direction", "PairedDiff", "Verdict", "compare_to_baseline", "paired_difference",
           "variant_stats"]

Verdict = Literal["better", "worse", "higher", "lower", "no detectable difference",
                  "insufficient data"]
Direction = bool | None | Literal["auto"]


# -- shared helpers ----------------------------------------------------------------


def _usable(df: pd.DataFrame, col: str) -> pd.DataFrame:
    """Rows without an error and with a value in ``col`` (as floats)."""
    for needed in ("variant", "task_id", col):
        if needed not in df.columns:
            raise ConfigError(f"results have no {needed!r} column; score or load them first")
    ok = df[col].notna() & ~error_rows(df)
    out = df if bool(ok.all()) else df.loc[ok]
    if out[col].dtype != "float64":  # bools (passed) and ints (words) average as floats
        out = out.assign(**{col: out[col].astype(float)})
    return out


def _variants(df: pd.DataFrame) -> list[str]:
    return [str(v) for v in df["variant"].drop_duplicates()]


def _t_crit(confidence: float, dof: float) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.5 + confidence / 2, dof)) if dof >= 1 else math.nan


def _mean_se(values: FloatArray,
             clusters: npt.NDArray[np.object_] | None) -> tuple[float, float, int]:
    """Mean, its (cluster-robust) standard error, and the number of clusters."""
    import numpy as np

    n = len(values)
    if n == 0:
        return math.nan, math.nan, 0
    mean = float(values.mean())
    if clusters is None:
        se = float(values.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
        return mean, se, n
    _, index = np.unique(clusters, return_inverse=True)
    sums = np.bincount(index, weights=values - mean)
    g = len(sums)
    # Sandwich variance of a mean with the G/(G-1) small-sample factor; with equal
    # cluster sizes it equals the variance of the cluster means over G.
    var = g / (g - 1) * float(np.sum(sums**2)) / n**2 if g > 1 else math.nan
    return mean, math.sqrt(var), g


def variant_stats(
    df: pd.DataFrame, metric: str = "quality", *, cluster: str | None = "task_id",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Mean of a metric per variant, with a clustered standard error and t interval.

    Args:
        df: Results.
        metric: The column to average.
        cluster: Column whose groups are not independent (repeats of a task);
            ``None`` treats every row as independent.
        confidence: Interval coverage.

    Returns:
        Indexed by variant (in order of appearance): ``n``, ``n_tasks``, ``mean``,
        ``se``, ``ci_low``, ``ci_high`` (t with ``clusters - 1`` degrees of freedom).

    Raises:
        ConfigError: A needed column is missing.
    """
    import pandas as pd

    data = _usable(df, metric)
    names, tasks = data["variant"].to_numpy(), data["task_id"].to_numpy()
    values = data[metric].to_numpy(float)
    groups = data[cluster].astype(str).to_numpy() if cluster else None
    rows = []
    for variant in _variants(df):
        mask = names == variant
        mean, se, g = _mean_se(values[mask], groups[mask] if groups is not None else None)
        half = _t_crit(confidence, g - 1) * se
        rows.append({"variant": variant, "n": int(mask.sum()), "n_tasks": len(set(tasks[mask])),
                     "mean": mean, "se": se, "ci_low": mean - half, "ci_high": mean + half})
    return pd.DataFrame(rows).set_index("variant")


# -- paired comparisons --------------------------------------------------------------


@dataclass(frozen=True)
class PairedDiff:
    """A paired comparison of two variants over the tasks both answered.

    Attributes:
        variant: The variant compared.
        baseline: The reference variant.
        metric: The column compared.
        mean_diff: Mean over tasks of (variant - baseline), repeats averaged first.
        se: Standard error of ``mean_diff``.
        ci_low: Lower end of the interval.
        ci_high: Upper end of the interval.
        p_value: Two-sided p-value for no difference.
        n_tasks: Tasks both variants answered.
        verdict: ``better``/``worse`` (or ``higher``/``lower`` for a metric without
            a preferred direction) when the interval excludes 0.
        method: ``t`` or ``bootstrap``.
    """

    variant: str
    baseline: str
    metric: str
    mean_diff: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    n_tasks: int
    verdict: Verdict
    method: Literal["t", "bootstrap"]


def _higher_is_better(metric: str, direction: Direction) -> bool | None:
    if direction != "auto":
        return direction
    return True if metric in ("quality", "passed") or metric.startswith("score_") else None


def _verdict(lo: float, hi: float, n: int, better: bool | None) -> Verdict:
    if n < 2 or math.isnan(lo):
        return "insufficient data"
    if lo > 0 or hi < 0:
        up = lo > 0
        if better is None:
            return "higher" if up else "lower"
        return "better" if up == better else "worse"
    return "no detectable difference"


def _task_diffs(data: pd.DataFrame, metric: str, variant: str, baseline: str) -> FloatArray:
    """Per-task (variant - baseline) of the repeat-averaged metric, common tasks only."""
    import numpy as np

    names, tasks = data["variant"].to_numpy(), data["task_id"].astype(str).to_numpy()
    values = data[metric].to_numpy(float)

    def task_means(name: str) -> tuple[npt.NDArray[np.str_], FloatArray]:
        mask = names == name
        if not mask.any():
            raise ConfigError(f"variant {name!r} has no usable {metric!r} values in the results")
        keys, index = np.unique(tasks[mask], return_inverse=True)
        return keys, np.bincount(index, values[mask]) / np.bincount(index)

    (keys_a, mean_a), (keys_b, mean_b) = task_means(variant), task_means(baseline)
    _, ia, ib = np.intersect1d(keys_a, keys_b, return_indices=True)
    diffs: FloatArray = mean_a[ia] - mean_b[ib]
    return diffs


def _t_paired(d: FloatArray, confidence: float) -> tuple[float, float, float, float, float]:
    from scipy import stats

    n, mean = len(d), float(d.mean()) if len(d) else math.nan
    if n < 2:
        return mean, math.nan, math.nan, math.nan, math.nan
    se = float(d.std(ddof=1)) / math.sqrt(n)
    if se == 0:  # every task moved by the same amount
        return mean, 0.0, mean, mean, 1.0 if mean == 0 else 0.0
    half = _t_crit(confidence, n - 1) * se
    p = 2 * float(stats.t.sf(abs(mean / se), n - 1))
    return mean, se, mean - half, mean + half, p


def _bootstrap(d: FloatArray, confidence: float, n_boot: int,
               seed: int) -> tuple[float, float, float, float, float]:
    import numpy as np

    n, mean = len(d), float(d.mean()) if len(d) else math.nan
    if n < 2:
        return mean, math.nan, math.nan, math.nan, math.nan
    rng = np.random.default_rng(seed)
    boots = d[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)
    lo, hi = np.quantile(boots, [0.5 - confidence / 2, 0.5 + confidence / 2])
    # p-value: how often the null-centred bootstrap mean is at least as extreme.
    extreme = int(np.sum(np.abs(boots - mean) >= abs(mean)))
    return mean, float(boots.std(ddof=1)), float(lo), float(hi), (extreme + 1) / (n_boot + 1)


def paired_difference(
    df: pd.DataFrame, variant: str, baseline: str, metric: str = "quality", *,
    method: Literal["t", "bootstrap"] = "t", n_boot: int = 2000, seed: int = 0,
    confidence: float = 0.95, higher_is_better: Direction = "auto",
) -> PairedDiff:
    """Compare two variants on the tasks both answered, pairing by task.

    Repeats are averaged per task and variant first (they are not independent),
    then the per-task differences are summarised: a t interval, or a percentile
    bootstrap over tasks.

    Args:
        df: Results.
        variant: The variant compared.
        baseline: The reference variant.
        metric: The column compared.
        method: ``t`` or ``bootstrap``.
        n_boot: Bootstrap resamples.
        seed: Bootstrap seed.
        confidence: Interval coverage.
        higher_is_better: Whether a higher metric is an improvement; ``None`` words the
            verdict ``higher``/``lower``; ``auto`` means ``True`` for ``quality``,
            ``passed`` and ``score_*`` and ``None`` otherwise (lengths, cost).

    Returns:
        The comparison.

    Raises:
        ConfigError: A variant or column is missing.
    """
    d = _task_diffs(_usable(df, metric), metric, variant, baseline)
    if method == "bootstrap":
        mean, se, lo, hi, p = _bootstrap(d, confidence, n_boot, seed)
    else:
        mean, se, lo, hi, p = _t_paired(d, confidence)
    verdict = _verdict(lo, hi, len(d), _higher_is_better(metric, higher_is_better))
    return PairedDiff(variant, baseline, metric, mean, se, lo, hi, p, len(d), verdict, method)


def compare_to_baseline(
    df: pd.DataFrame, baseline: str, metric: str = "quality", **kw: object,
) -> pd.DataFrame:
    """:func:`paired_difference` of every other variant against ``baseline``.

    Args:
        df: Results.
        baseline: The reference variant.
        metric: The column compared.
        **kw: Passed to :func:`paired_difference` (``method``, ``confidence``...).

    Returns:
        One row per variant (index), the :class:`PairedDiff` fields as columns.

    Raises:
        ConfigError: The baseline or column is missing.
    """
    import pandas as pd

    rows = [asdict(paired_difference(df, v, baseline, metric, **kw))  # type: ignore[arg-type]
            for v in _variants(df) if v != baseline]
    if not rows:
        return pd.DataFrame(columns=[f for f in PairedDiff.__dataclass_fields__ if f != "variant"])
    return pd.DataFrame(rows).set_index("variant")
