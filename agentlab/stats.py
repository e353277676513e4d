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
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Literal

from .errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    FloatArray = npt.NDArray[np.float64]

__all__ = [
    "McNemarResult", "PairedDiff", "PlanRow", "SampleSizePlan", "SignTest",
    "compare_to_baseline", "length_bias", "mcnemar", "paired_difference", "pass_at_k",
    "pass_hat_k", "sample_size", "sign_test", "summary", "variant_stats",
]

Verdict = Literal["better", "worse", "higher", "lower", "no detectable difference",
                  "insufficient data"]
Direction = bool | None | Literal["auto"]


# -- shared helpers ----------------------------------------------------------------


def _usable(df: pd.DataFrame, col: str) -> pd.DataFrame:
    """Rows without an error and with a value in ``col`` (as floats)."""
    for needed in ("variant", "task_id", col):
        if needed not in df.columns:
            raise ConfigError(f"results have no {needed!r} column; score or load them first")
    ok = df[col].notna()
    if "error" in df.columns:
        ok &= df["error"].isna() | (df["error"].astype(str) == "")
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


# -- power analysis ------------------------------------------------------------------


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


# -- length bias and summary ---------------------------------------------------------


def _correlate(x: FloatArray, y: FloatArray,
               method: Literal["spearman", "pearson"]) -> tuple[float, float, float]:
    from scipy import stats

    if len(x) < 3 or float(x.std()) == 0 or float(y.std()) == 0:
        return math.nan, math.nan, math.nan  # scipy warns on constant input
    res = stats.spearmanr(x, y) if method == "spearman" else stats.pearsonr(x, y)
    slope = float((x * y).sum() / (x * x).sum())  # both are demeaned
    return float(res.statistic), float(res.pvalue), slope


def length_bias(
    df: pd.DataFrame, score_col: str = "quality", length_col: str = "words", *,
    method: Literal["spearman", "pearson"] = "spearman",
) -> pd.DataFrame:
    """Do longer answers score higher on the same task?

    Score and length are demeaned within each task (per variant for the variant
    rows; across variants for ``all``), so task difficulty and task length do not
    masquerade as a length effect. p-values ignore the degrees of freedom used by
    demeaning and are approximate.

    Args:
        df: Scored results.
        score_col: The score column.
        length_col: The length column.
        method: ``spearman`` (rank) or ``pearson`` correlation.

    Returns:
        Indexed by variant plus ``all``: ``n``, ``r``, ``p_value`` and
        ``slope_per_100`` (score change per 100 more length units).

    Raises:
        ConfigError: A column is missing.
    """
    import pandas as pd

    data = _usable(df, score_col)
    if length_col not in data.columns:
        data = data.join(df[[length_col]].astype(float))
    data = data[data[length_col].notna()]
    rows = []
    for name in [*_variants(df), "all"]:
        part = data if name == "all" else data[data["variant"] == name]
        centred = part[[score_col, length_col]] - part.groupby("task_id")[
            [score_col, length_col]].transform("mean")
        r, p, slope = _correlate(centred[length_col].to_numpy(float),
                                 centred[score_col].to_numpy(float), method)
        rows.append({"variant": name, "n": len(part), "r": r, "p_value": p,
                     "slope_per_100": slope * 100})
    return pd.DataFrame(rows).set_index("variant")


def _with_ci(df: pd.DataFrame, col: str, out: pd.DataFrame) -> None:
    stats_ = variant_stats(df, col)
    out[col] = stats_["mean"]
    out[f"{col}_ci_low"] = stats_["ci_low"]
    out[f"{col}_ci_high"] = stats_["ci_high"]


def _provider_hint(df: pd.DataFrame, variants: list[str]) -> list[str]:
    if "provider" not in df.columns:
        return [""] * len(variants)
    names = df.groupby("variant", sort=False)["provider"].agg(
        lambda s: ",".join(sorted({str(p) for p in s.dropna()})))
    return [str(names.get(v, "")) for v in variants]


def summary(
    df: pd.DataFrame, baseline: str | None = None, *, metric: str = "quality",
    length: str = "words", confidence: float = 0.95,
) -> pd.DataFrame:
    """One row per variant: size, errors, quality and lengths with CIs, cost, diff.

    Args:
        df: Results, scored or not (without ``metric`` only lengths and cost).
        baseline: Reference variant for the paired difference; defaults to the
            first variant in ``df``.
        metric: The quality column.
        length: The length column.
        confidence: Interval coverage.

    Returns:
        Indexed by variant: ``n``, ``errors``, ``<metric>`` and its ``_ci_low`` /
        ``_ci_high``, ``pass_rate`` (if ``passed`` exists), ``<length>`` and
        ``output_tokens`` with CIs, ``cost_usd`` (total), ``provider``, and versus
        the baseline ``diff``, ``diff_ci_low``, ``diff_ci_high``, ``p_value``,
        ``verdict``.

    Raises:
        ConfigError: Unknown baseline or no ``variant``/``task_id`` column.
    """
    import pandas as pd

    variants = _variants(df) if "variant" in df.columns else []
    if not variants:
        raise ConfigError("results are empty or have no 'variant' column")
    base = baseline if baseline is not None else variants[0]
    if base not in variants:
        raise ConfigError(f"baseline {base!r} is not a variant; choose from {variants}")
    out = pd.DataFrame(index=pd.Index(variants, name="variant"))
    out["n"] = df.groupby("variant", sort=False).size()
    errors = (df["error"].notna() & (df["error"].astype(str) != "")) if "error" in df else None
    out["errors"] = errors.groupby(df["variant"]).sum() if errors is not None else 0
    for col in (metric, length, "output_tokens"):
        if col in df.columns and f"{col}_ci_low" not in out.columns:
            _with_ci(df, col, out)
    if "passed" in df.columns:
        out["pass_rate"] = variant_stats(df, "passed")["mean"]
    if "cost_usd" in df.columns:
        out["cost_usd"] = df.groupby("variant", sort=False)["cost_usd"].sum()
    out["provider"] = _provider_hint(df, variants)
    if metric in df.columns and len(variants) > 1:
        _add_diffs(df, base, metric, confidence, out)
    return out


def _add_diffs(df: pd.DataFrame, base: str, metric: str, confidence: float,
               out: pd.DataFrame) -> None:
    diffs = {}
    for v in out.index:
        if v == base:
            continue
        try:
            diffs[v] = paired_difference(df, v, base, metric, confidence=confidence)
        except ConfigError:  # a variant with only error rows: leave its diff empty
            continue
    out["diff"] = [diffs[v].mean_diff if v in diffs else math.nan for v in out.index]
    out["diff_ci_low"] = [diffs[v].ci_low if v in diffs else math.nan for v in out.index]
    out["diff_ci_high"] = [diffs[v].ci_high if v in diffs else math.nan for v in out.index]
    out["p_value"] = [diffs[v].p_value if v in diffs else math.nan for v in out.index]
    out["verdict"] = ["baseline" if v == base else diffs[v].verdict if v in diffs else
                      "insufficient data" for v in out.index]
