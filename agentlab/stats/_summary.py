"""The per-variant summary table, and the length-bias check.

Re-exported by :mod:`agentlab.stats`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from agentlab.errors import ConfigError
from agentlab.runs._results import error_rows
from agentlab.stats._baseline import pick_baseline
from agentlab.stats._errorbars import _usable, _variants, paired_difference, variant_stats

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    FloatArray = npt.NDArray[np.float64]

__all__ = ["length_bias", "summary"]


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
    low, high = stats_["ci_low"], stats_["ci_high"]
    if col == "quality" or col.startswith(("score_", "judge_quality")):
        # t intervals of a 0-1 score can overshoot with few tasks; the score cannot.
        low, high = low.clip(lower=0.0), high.clip(upper=1.0)
    elif col in ("words", "output_tokens"):
        low = low.clip(lower=0.0)
    out[col] = stats_["mean"]
    out[f"{col}_ci_low"] = low
    out[f"{col}_ci_high"] = high


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
    base = baseline if baseline is not None else pick_baseline(variants)
    if base not in variants:
        raise ConfigError(f"baseline {base!r} is not a variant; choose from {variants}")
    variants = [base, *(v for v in variants if v != base)]  # the baseline row first
    out = pd.DataFrame(index=pd.Index(variants, name="variant"))
    out["n"] = df.groupby("variant", sort=False).size()
    out["errors"] = error_rows(df).groupby(df["variant"]).sum()
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
