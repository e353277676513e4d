"""The per-variant summary table: sizes, means with intervals, and the verdict versus a baseline.

Its numbers follow the package's rules, so they never contradict each other: tasks weigh the
same; the means printed next to a difference are over the same paired tasks (``mean_paired``
and ``base_mean_paired``, whose difference is ``diff``); dropped tasks are counted and said;
and across several variants the verdicts use Holm-adjusted p-values. Re-exported by
:mod:`agentlab.stats`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from agentlab.errors import ConfigError
from agentlab.runs._results import error_rows
from agentlab.stats._baseline import pick_baseline
from agentlab.stats._data import variant_names
from agentlab.stats._errorbars import variant_stats
from agentlab.stats._paired import Method, compare_to_baseline
from agentlab.stats._verdict import min_tasks

if TYPE_CHECKING:
    import pandas as pd

    from agentlab.scoring.metrics import Direction

__all__ = ["DIFF_COLUMNS", "summary"]

DIFF_COLUMNS = ("n_paired", "n_dropped", "mean_paired", "base_mean_paired", "diff",
                "diff_ci_low", "diff_ci_high", "p_value", "p_adjusted", "method", "verdict",
                "verdict_text")
"""The columns :func:`summary` adds when it compares variants with the baseline."""

_FROM_TABLE = {"n_paired": "n_tasks", "mean_paired": "variant_mean",
               "base_mean_paired": "baseline_mean", "diff": "mean_diff", "diff_ci_low": "ci_low",
               "diff_ci_high": "ci_high"}
_METHOD_NAMES = {"permutation": "exact sign-flip permutation test", "t": "paired t-test",
                 "sign": "exact sign test (every task moved by the same amount)"}


def _with_ci(df: pd.DataFrame, col: str, out: pd.DataFrame, confidence: float) -> None:
    stats_ = variant_stats(df, col, confidence=confidence)  # clipped to the metric's bounds
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
    length: str = "words", confidence: float = 0.95, method: Method = "auto",
    direction: Direction | Literal["auto"] = "auto", adjust: Literal["holm", "none"] = "holm",
) -> pd.DataFrame:
    """One row per variant: size, errors, metric and lengths with CIs, cost, and the verdict.

    Args:
        df: Results, scored or not (without ``metric`` only lengths and cost).
        baseline: Reference variant for the paired difference; default
            :func:`agentlab.stats.pick_baseline` (the variant the others extend, else the
            first).
        metric: The column compared (its direction comes from the metric registry).
        length: The length column.
        confidence: Interval coverage; the tests' level is ``1 - confidence``.
        method: How differences are tested (see :func:`agentlab.stats.paired_difference`).
        direction: Override the metric's direction (``higher``, ``lower``, ``None``).
        adjust: ``holm`` (default): verdicts use p-values adjusted across the variants
            compared with the baseline; ``none``: each comparison on its own.

    Returns:
        Indexed by variant, the baseline first: ``n``, ``errors``, ``<metric>`` and its
        ``_ci_low`` / ``_ci_high``, ``pass_rate`` (if ``passed`` exists), ``<length>`` and
        ``output_tokens`` with CIs, ``cost_usd`` (total), ``provider``, and versus the
        baseline the :data:`DIFF_COLUMNS`. Means are over tasks (repeats averaged first).

    Raises:
        ConfigError: Unknown baseline or no ``variant``/``task_id`` column.
    """
    import pandas as pd

    variants = variant_names(df) if "variant" in df.columns else []
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
            _with_ci(df, col, out, confidence)
    if "passed" in df.columns:
        out["pass_rate"] = variant_stats(df, "passed")["mean"]
    if "cost_usd" in df.columns:
        out["cost_usd"] = df.groupby("variant", sort=False)["cost_usd"].sum()
    out["provider"] = _provider_hint(df, variants)
    if metric in df.columns and len(variants) > 1:
        _add_diffs(df, base, metric, out, confidence=confidence, method=method,
                   direction=direction, adjust=adjust)
    return out


def _add_diffs(df: pd.DataFrame, base: str, metric: str, out: pd.DataFrame, *,
               confidence: float, method: Method, direction: Direction | Literal["auto"],
               adjust: Literal["holm", "none"]) -> None:
    import pandas as pd

    try:
        table = compare_to_baseline(df, base, metric, method=method, confidence=confidence,
                                    direction=direction, adjust=adjust)
    except ConfigError:  # the baseline has no usable value: nothing can be compared
        table = None
    if table is None:
        table = pd.DataFrame(columns=[*_FROM_TABLE.values(), *DIFF_COLUMNS])
    joined = table.rename(columns={v: k for k, v in _FROM_TABLE.items()}).reindex(out.index)
    for col in DIFF_COLUMNS[:-1]:
        out[col] = joined[col].astype("Int64" if col in ("n_paired", "n_dropped") else object
                                      if col in ("method", "verdict") else float)
    out["verdict"] = ["baseline" if v == base else "insufficient data" if pd.isna(verdict)
                      else verdict for v, verdict in out["verdict"].items()]
    family = int(out["p_adjusted"].notna().sum())
    out["verdict_text"] = ["" if v == base else _verdict_text(out.loc[v], family, adjust,
                                                               confidence) for v in out.index]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _verdict_text(row: pd.Series, family: int, adjust: str, confidence: float) -> str:
    """One sentence: the verdict, the difference and the means behind it, and what was dropped."""
    import pandas as pd

    n = 0 if row["n_paired"] is pd.NA else int(row["n_paired"])
    alpha = 1 - confidence
    if row["verdict"] == "insufficient data":
        need = max(2, min_tasks(alpha))
        text = (f"insufficient data: {_plural(n, 'task')} paired; at least {need} are needed "
                f"to detect a difference at the {alpha:g} level")
    else:
        interval = (f"{confidence:.0%} CI {row['diff_ci_low']:+.3g} to "
                    f"{row['diff_ci_high']:+.3g}" if pd.notna(row["diff_ci_low"]) else
                    "no interval (no spread to estimate one from)")
        text = (f"{row['verdict']}: {row['diff']:+.3g} ({row['mean_paired']:.3g} vs "
                f"{row['base_mean_paired']:.3g} over the same {n} tasks), {interval}, "
                f"p = {row['p_value']:.2g}")
        if adjust == "holm" and family > 1:
            text += f", Holm-adjusted over {family} variants: {row['p_adjusted']:.2g}"
        text += f"; {_METHOD_NAMES.get(str(row['method']), str(row['method']))}"
    dropped = 0 if row["n_dropped"] is pd.NA else int(row["n_dropped"])
    if dropped:
        text += (f"; {_plural(dropped, 'task')} dropped (no usable answer from one of the two "
                 "variants)")
    return text
