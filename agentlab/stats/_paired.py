"""Paired comparisons: is a variant better than the baseline on the same tasks?

Both variants answer the same tasks, so task difficulty cancels in the per-task
difference (Miller 2024, recommendation 4). The differences are then tested one of two ways:

- up to :data:`EXACT_MAX_TASKS` tasks, the **exact sign-flip permutation test**
  (``scipy.stats.permutation_test``, all ``2**n`` flips) with its confidence interval by
  inversion: the set of shifts the test does not reject. It assumes only that a task's
  difference is symmetric about the true one, which is what small suites need;
- with more tasks, the **t interval** and t-test (``scipy.stats.ttest_1samp``).

Degenerate spread never buys certainty: with fewer tasks than an exact test needs the verdict
is "insufficient data", and when every task moved by the same amount the p-value is the exact
sign test's and there is no interval (NaN), never a zero-width one. Re-exported by
:mod:`agentlab.stats`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Literal, NamedTuple

from agentlab.errors import ConfigError
from agentlab.scoring.metrics import get_metric
from agentlab.stats._data import paired_tasks, usable_rows, variant_names
from agentlab.stats._verdict import Verdict, holm, min_tasks, verdict

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    from agentlab.scoring.metrics import Direction

    FloatArray = npt.NDArray[np.float64]

__all__ = ["EXACT_MAX_TASKS", "Method", "PairedArrays", "PairedDiff", "compare_diffs",
           "compare_to_baseline", "paired_difference", "sign_flip_interval"]

Method = Literal["auto", "permutation", "t"]
EXACT_MAX_TASKS = 12
"""``method="auto"`` uses the exact permutation test up to this many tasks (4,096 flips)."""
_PERMUTATION_LIMIT = 16  # forced method="permutation": 65,536 flips is still quick
_DEGENERATE = 1e-9  # task differences this close, relative to their size, are all equal


class PairedArrays(NamedTuple):
    """Results of :func:`compare_diffs`, one entry per row of the differences."""

    mean: FloatArray
    se: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    p_value: FloatArray
    method: tuple[str, ...]


def _mean(x: FloatArray, axis: int) -> FloatArray:
    out: FloatArray = x.mean(axis=axis)
    return out


def sign_flip_interval(d: FloatArray, confidence: float) -> tuple[FloatArray, FloatArray]:
    """The confidence interval of the exact sign-flip test, by inversion (rows of ``d``).

    Shifting the differences by δ and flipping the signs of a subset F changes the mean
    past the observed one exactly when the mean of ``d`` over F lies beyond δ; so the
    interval's ends are order statistics of the ``2**n - 1`` subset means (Hartigan's
    construction). With ``j = floor(alpha * 2**n / 2)`` the interval is
    ``[j-th smallest, j-th largest]``; ``j = 0`` (too few tasks) gives ``(-inf, inf)``.

    Args:
        d: Per-task differences, shape ``(rows, n)``.
        confidence: Interval coverage.

    Returns:
        Lower and upper ends, one per row.
    """
    import numpy as np

    rows, n = d.shape
    total = 2**n
    j = math.floor((1 - confidence) * total / 2 + 1e-9)
    if j == 0 or n == 0:
        return np.full(rows, -np.inf), np.full(rows, np.inf)
    masks = ((np.arange(1, total)[:, None] >> np.arange(n)) & 1).astype(float)
    sizes = masks.sum(axis=1)
    low, high = np.empty(rows), np.empty(rows)
    step = max(1, 4_000_000 // total)
    for start in range(0, rows, step):
        part = d[start:start + step]
        means = part @ masks.T / sizes
        # Subset sums of tied values (pass/fail) land on 0 up to rounding; make them exact
        # so the interval touches 0 exactly when the test's p-value says it should.
        scale = np.abs(part).max(axis=1, keepdims=True)
        means[np.abs(means) <= 1e-12 * scale] = 0.0
        ends = np.partition(means, [j - 1, total - 1 - j], axis=1)
        low[start:start + step], high[start:start + step] = ends[:, j - 1], ends[:, total - 1 - j]
    return low, high


def _permutation(d: FloatArray, confidence: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    import numpy as np
    from scipy import stats

    rows, n = d.shape
    batch = max(1, min(2**n, 2_000_000 // max(1, rows * n)))
    result = stats.permutation_test((d,), _mean, permutation_type="samples", vectorized=True,
                                    n_resamples=np.inf, batch=batch, axis=-1)
    low, high = sign_flip_interval(d, confidence)
    return np.atleast_1d(result.pvalue).astype(float), low, high


def _t_test(d: FloatArray, confidence: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    import numpy as np
    from scipy import stats

    result = stats.ttest_1samp(d, 0.0, axis=-1)
    interval = result.confidence_interval(confidence)
    return (np.atleast_1d(result.pvalue).astype(float), np.atleast_1d(interval.low),
            np.atleast_1d(interval.high))


def _sign_test(d: FloatArray) -> FloatArray:
    """The exact sign test's p-value per row (for rows whose differences are all equal)."""
    import numpy as np
    from scipy import stats

    wins, losses = (d > 0).sum(axis=1), (d < 0).sum(axis=1)
    return np.array([stats.binomtest(int(w), int(w + lo)).pvalue if w + lo else 1.0
                     for w, lo in zip(wins, losses, strict=True)], dtype=float)


def compare_diffs(d: npt.ArrayLike, confidence: float = 0.95,
                  method: Method = "auto") -> PairedArrays:
    """Test per-task differences, one comparison per row (the vectorised core).

    Args:
        d: Per-task differences, shape ``(n,)`` or ``(rows, n)``; rows share ``n``.
        confidence: Interval coverage.
        method: ``auto`` (permutation up to :data:`EXACT_MAX_TASKS` tasks, else t),
            ``permutation`` (exact, up to 16 tasks) or ``t``.

    Returns:
        Means, standard errors (sd / sqrt(n)), interval ends, two-sided p-values and the
        method used per row: ``permutation``, ``t``, or ``sign`` when every difference in
        the row is the same (the exact sign test; the interval is then NaN).

    Raises:
        ConfigError: ``method="permutation"`` with more than 16 tasks.
    """
    import numpy as np

    diffs = np.atleast_2d(np.asarray(d, dtype=float))
    rows, n = diffs.shape
    nan = np.full(rows, np.nan)
    mean = diffs.mean(axis=1) if n else nan.copy()
    exact = method == "permutation" or (method == "auto" and n <= EXACT_MAX_TASKS)
    if exact and n > _PERMUTATION_LIMIT:
        raise ConfigError(f"method='permutation' is exact and needs at most "
                          f"{_PERMUTATION_LIMIT} tasks, got {n}; use method='auto' or 't'")
    name = "permutation" if exact else "t"
    if n < 2:
        return PairedArrays(mean, nan, nan, nan.copy(), nan.copy(), (name,) * rows)
    se = diffs.std(axis=1, ddof=1) / math.sqrt(n)
    # Every task moved by the same amount: no spread to build an interval from, and the
    # t-test would claim p = 0. The exact sign test says what such data can say.
    flat = diffs.std(axis=1) <= _DEGENERATE * np.abs(diffs).max(axis=1)
    p, low, high = np.empty(rows), np.full(rows, np.nan), np.full(rows, np.nan)
    if (~flat).any():
        test = _permutation if exact else _t_test
        p[~flat], low[~flat], high[~flat] = test(diffs[~flat], confidence)
    if flat.any():
        p[flat] = _sign_test(diffs[flat])
    return PairedArrays(mean, se, low, high, p, tuple("sign" if f else name for f in flat))


@dataclass(frozen=True)
class PairedDiff:
    """A paired comparison of two variants over the tasks both answered.

    Attributes:
        variant: The variant compared.
        baseline: The reference variant.
        metric: The column compared.
        mean_diff: Mean over the paired tasks of (variant - baseline), repeats averaged
            first; it equals ``variant_mean - baseline_mean``.
        variant_mean: The variant's mean over the paired tasks.
        baseline_mean: The baseline's mean over the same tasks.
        se: Standard error of ``mean_diff`` (sd of the task differences / sqrt(n)).
        ci_low: Lower end of the interval (clipped to the metric's possible differences).
        ci_high: Upper end of the interval.
        p_value: Two-sided p-value for no difference.
        n_tasks: Tasks both variants answered (paired).
        n_dropped: Tasks in the results that one of the two lacks (errors, missing values).
        verdict: See :data:`agentlab.stats.VERDICTS`.
        method: ``permutation`` (exact sign-flip), ``t``, or ``sign`` (every task moved
            by the same amount: the exact sign test, and no interval).
    """

    variant: str
    baseline: str
    metric: str
    mean_diff: float
    variant_mean: float
    baseline_mean: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    n_tasks: int
    n_dropped: int
    verdict: Verdict
    method: str


def _direction(metric: str, direction: Direction | Literal["auto"]) -> Direction:
    return get_metric(metric).direction if direction == "auto" else direction


def paired_difference(
    df: pd.DataFrame, variant: str, baseline: str, metric: str = "quality", *,
    method: Method = "auto", confidence: float = 0.95,
    direction: Direction | Literal["auto"] = "auto",
) -> PairedDiff:
    """Compare two variants on the tasks both answered, pairing by task.

    Repeats are averaged per task and variant first (they are not independent), then the
    per-task differences are tested (see the module docstring for the method).

    Args:
        df: Results.
        variant: The variant compared.
        baseline: The reference variant.
        metric: The column compared.
        method: ``auto``, ``permutation`` or ``t``.
        confidence: Interval coverage; the test's level is ``1 - confidence``.
        direction: ``higher``/``lower`` is better, ``None`` (verdict reads higher/lower),
            or ``auto``: the metric registry's (:func:`agentlab.scoring.get_metric`).

    Returns:
        The comparison.

    Raises:
        ConfigError: A variant or column is missing, or the method cannot apply.
    """
    pairs = paired_tasks(df, metric, variant, baseline)
    res = compare_diffs(pairs.diffs, confidence, method)
    lo, hi = get_metric(metric).diff_bounds()
    low = float(res.ci_low[0]) if lo is None else max(lo, float(res.ci_low[0]))
    high = float(res.ci_high[0]) if hi is None else min(hi, float(res.ci_high[0]))
    if math.isnan(res.ci_low[0]):
        low = high = math.nan  # max(-1, nan) would be -1: NaN stays NaN
    n, p = len(pairs.tasks), float(res.p_value[0])
    words = verdict(float(res.mean[0]), p, n, _direction(metric, direction), 1 - confidence)
    return PairedDiff(
        variant, baseline, metric, float(res.mean[0]),
        float(pairs.variant_means.mean()) if n else math.nan,
        float(pairs.baseline_means.mean()) if n else math.nan,
        float(res.se[0]), low, high, p, n, pairs.n_dropped, words, res.method[0])


def _unpaired(df: pd.DataFrame, variant: str, baseline: str, metric: str) -> PairedDiff:
    """The row of a variant without any usable value: nothing to compare."""
    tasks = df.loc[df["variant"].isin([variant, baseline]), "task_id"].nunique()
    return PairedDiff(variant, baseline, metric, *(math.nan,) * 7, 0, int(tasks),
                      "insufficient data", "none")


def compare_to_baseline(
    df: pd.DataFrame, baseline: str, metric: str = "quality", *, method: Method = "auto",
    confidence: float = 0.95, direction: Direction | Literal["auto"] = "auto",
    adjust: Literal["holm", "none"] = "holm",
) -> pd.DataFrame:
    """:func:`paired_difference` of every other variant against ``baseline``.

    With several variants, some comparison is "significant" by chance far more often than
    one alone (6 null variants: 22% instead of 5%), so by default the p-values are adjusted
    with Holm's method across the variants compared, and the verdicts use the adjusted
    p-value. The raw p-value is kept; intervals are per comparison. Comparisons with too
    few paired tasks to reach a verdict (:func:`agentlab.stats.min_tasks`) are left out of
    the family: their ``p_adjusted`` is NaN.

    Args:
        df: Results.
        baseline: The reference variant.
        metric: The column compared.
        method: Passed to :func:`paired_difference`.
        confidence: Interval coverage; the level is ``1 - confidence``.
        direction: Passed to :func:`paired_difference`.
        adjust: ``holm`` (default) or ``none`` (each comparison on its own).

    Returns:
        One row per other variant (index): the :class:`PairedDiff` fields, plus
        ``p_adjusted`` (equal to ``p_value`` with ``adjust="none"``). A variant without a
        usable value gets a row of NaN reading "insufficient data".

    Raises:
        ConfigError: The baseline or column is missing.
    """
    import numpy as np
    import pandas as pd

    usable = set(usable_rows(df, metric)["variant"].astype(str))
    if baseline not in usable:
        raise ConfigError(f"variant {baseline!r} has no usable {metric!r} values in the results")
    diffs = [paired_difference(df, v, baseline, metric, method=method, confidence=confidence,
                               direction=direction) if v in usable
             else _unpaired(df, v, baseline, metric)
             for v in variant_names(df) if v != baseline]
    columns = [*PairedDiff.__dataclass_fields__, "p_adjusted"]
    if not diffs:
        return pd.DataFrame(columns=columns).set_index("variant")
    out = pd.DataFrame([asdict(d) for d in diffs]).set_index("variant")
    raw = out["p_value"].to_numpy(float)
    # A comparison with too few tasks can never be called better or worse, so it cannot
    # add a false verdict and is left out of the family (as Tarone's method does).
    testable = out["n_tasks"].to_numpy() >= min_tasks(1 - confidence)
    out["p_adjusted"] = holm(np.where(testable, raw, np.nan)) if adjust == "holm" else raw
    dirn = _direction(metric, direction)
    out["verdict"] = [verdict(float(m), float(p), int(n), dirn, 1 - confidence)
                      for m, p, n in zip(out["mean_diff"], out["p_adjusted"], out["n_tasks"],
                                         strict=True)]
    return out
