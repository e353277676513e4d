"""The agentic-trial chart: check pass rate against diff size, one point per variant.

The seed asks for two things at once, "make it work" and "MINIMAL CHANGES ONLY"; this chart
shows both: up is better (the check passes more often), left is better (fewer lines
changed). Each variant is its mean with 95% error bars clustered on task (repeats of a task
are not independent), over its individual trials drawn faint. Like every chart, it returns
a matplotlib ``Figure`` and never shows it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from agentlab.errors import ConfigError
from agentlab.runs._results import error_rows
from agentlab.scoring.metrics import get_metric
from agentlab.views._names import short_names, variant_colors

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["check_vs_diff"]


def _trials(df: pd.DataFrame) -> pd.DataFrame:
    for col in ("variant", "task_id", "check_passed", "diff_lines"):
        if col not in df.columns:
            raise ConfigError(f"charts: column {col!r} is not in the DataFrame; this chart "
                              "needs an agentic trial run (agentlab.trial)")
    ok = ~error_rows(df) & df["check_passed"].notna() & df["diff_lines"].notna()
    data = df.loc[ok]
    if data.empty:
        raise ConfigError("charts: no finished trial with a check result to plot")
    return data.assign(check_passed=data["check_passed"].astype(float),
                       diff_lines=data["diff_lines"].astype(float))


def _error(value: float, low: float, high: float) -> list[list[float]]:
    if not all(math.isfinite(v) for v in (value, low, high)):
        return [[0.0], [0.0]]
    return [[max(0.0, value - low)], [max(0.0, high - value)]]


def _variant(ax: Axes, rows: pd.DataFrame, label: str, color: str, rank: int) -> None:
    """One variant: its trials (faint) and its mean with error bars.

    Later variants get smaller markers drawn on top, so variants that land on the same
    point (on the fake, or when they truly agree) all stay visible.
    """
    from agentlab.stats import variant_stats

    jitter = 0.015 * rank
    ax.scatter(rows["diff_lines"], rows["check_passed"] + jitter, s=14, alpha=0.25,
               color=color, linewidths=0)
    rate = variant_stats(rows, "check_passed").iloc[0]
    size = variant_stats(rows, "diff_lines").iloc[0]
    ax.errorbar(size["mean"], rate["mean"],
                xerr=_error(size["mean"], size["ci_low"], size["ci_high"]),
                yerr=_error(rate["mean"], rate["ci_low"], rate["ci_high"]),
                fmt="o", ms=max(4.0, 13.0 - 4.0 * rank), color=color, capsize=3,
                markeredgecolor="white", zorder=3 + rank, label=f"{label} (n={len(rows)})")


def check_vs_diff(df: pd.DataFrame) -> Figure:
    """Check pass rate against lines changed, by variant (up and left is better).

    Args:
        df: Results of an agentic trial run (``Run.to_dataframe()``), scored or not.

    Returns:
        The figure.

    Raises:
        ConfigError: The table has no trial columns, or no finished trial.
    """
    from matplotlib.figure import Figure

    import agentlab.agentic._record  # noqa: F401  (declares the trial columns' metrics)

    data = _trials(df)
    order = [str(v) for v in dict.fromkeys(data["variant"].tolist())]
    labels, colors = short_names(order, 28), variant_colors(order)
    fig = Figure(figsize=(6.6, 4.6), layout="constrained")
    ax = fig.subplots()
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(alpha=0.3)
    for rank, name in enumerate(order):
        _variant(ax, data[data["variant"] == name], labels[name], colors[name], rank)
    ax.set_ylim(-0.08, 1.08)
    ax.set_xlim(left=0)
    ax.set_xlabel(f"{get_metric('diff_lines').axis_label()}  (fewer is better)")
    ax.set_ylabel(f"{get_metric('check_passed').axis_label()}  (higher is better)")
    fig.suptitle("Does the check pass, and how much did the agent change?", fontweight="bold")
    tasks = data["task_id"].nunique()
    ax.set_title(f"{len(data)} trials on {tasks} tasks; mean ± 95% CI clustered on task",
                 fontsize="small", color="0.35")
    ax.legend(fontsize="small", loc="best", frameon=False)
    return fig
