"""Charts of routing trials: which queries trigger the agent, and how precise each variant is.

Two questions, one function each, both returning a matplotlib Figure built without pyplot:

- :func:`trigger_rate_strip`: per query, the share of repeats in which the agent under test
  was chosen, one dot per variant; queries that should trigger it on the left, near-misses
  that should not on the right. A good description puts left dots at 1 and right dots at 0.
- :func:`precision_recall`: one point per variant at (recall, precision) with its 95%
  intervals (clustered on query) as error bars.

Variants keep the colours and short labels of every other chart (:mod:`agentlab.views._names`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from agentlab.errors import ConfigError
from agentlab.views._names import shorten, variant_colors

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["precision_recall", "routing_charts", "save_routing_charts", "trigger_rate_strip"]

_GREY = "0.35"
_DPI = 120


def _plain(text: str) -> str:
    """Text for a label: a ``$`` would start matplotlib's math mode."""
    return text.replace("$", r"\$")


def _variants(df: pd.DataFrame) -> list[str]:
    if df.empty or "variant" not in df.columns:
        raise ConfigError("routing charts: the table is empty; run some routing trials first")
    return [str(v) for v in dict.fromkeys(df["variant"].tolist())]


def trigger_rate_strip(df: pd.DataFrame, *, target: str | None = None) -> Figure:
    """Trigger rate per query, should-trigger queries beside should-not ones.

    Args:
        df: The routing table (``RoutingRun.df``).
        target: The agent under test, for the title.

    Returns:
        The figure.

    Raises:
        ConfigError: The table is empty.
    """
    from matplotlib.figure import Figure

    from agentlab.agentic._routing_stats import trigger_rates

    order = _variants(df)
    rates = trigger_rates(df)
    names, colors = shorten(order), variant_colors(order)
    groups = [("should delegate", rates[rates["positive"]]),
              ("should not", rates[~rates["positive"]])]
    rows = max(1, max(g["task_id"].nunique() for _, g in groups))
    fig = Figure(figsize=(11.0, max(3.4, 1.6 + 0.3 * rows)), layout="constrained")
    axes = fig.subplots(1, 2, squeeze=False)[0]
    step = 0.6 / max(1, len(order))
    for ax, (title, part) in zip(axes, groups, strict=True):
        queries = list(dict.fromkeys(part["task_id"].tolist()))
        for i, variant in enumerate(order):
            mine = part[part["variant"] == variant].set_index("task_id")
            ys = [queries.index(q) + (i - (len(order) - 1) / 2) * step for q in mine.index]
            ax.scatter(mine["rate"], ys, s=36, color=colors[variant], zorder=3,
                       label=names.labels[variant] if ax is axes[0] else None)
        ax.set_yticks(range(len(queries)), [_plain(q[:34]) for q in queries], fontsize="small")
        ax.set_ylim(len(queries) - 0.5, -0.5)
        ax.set_xlim(-0.05, 1.05)
        ax.axvline(0.5, color=_GREY, lw=0.8, ls=":")
        ax.set_xlabel("trigger rate (share of repeats that delegated to it)")
        ax.set_title(f"{title} ({len(queries)} queries)", fontsize="medium")
        ax.grid(axis="x", alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
        if not queries:
            ax.text(0.5, 0.5, "no queries", ha="center", va="center", color=_GREY,
                    transform=ax.transAxes)
    fig.suptitle(f"Does the description route to {target or 'the agent'}?", fontweight="bold")
    if len(order) > 1:
        fig.legend(loc="outside lower center", ncols=min(4, len(order)), frameon=False,
                   title=names.axis_label())
    return fig


def precision_recall(summary: pd.DataFrame) -> Figure:
    """Precision against recall per variant, with 95% intervals clustered on query.

    Args:
        summary: ``RoutingRun.summary`` (:func:`agentlab.agentic.routing_metrics`).

    Returns:
        The figure.

    Raises:
        ConfigError: The summary is empty or lacks the interval columns.
    """
    from matplotlib.figure import Figure

    needed = ["precision", "precision_low", "precision_high", "recall", "recall_low",
              "recall_high", "f1"]
    if summary.empty or any(c not in summary.columns for c in needed):
        raise ConfigError("routing charts: pass RoutingRun.summary (precision and recall with "
                          "their intervals)")
    order = [str(v) for v in summary.index]
    names, colors = shorten(order), variant_colors(order)
    fig = Figure(figsize=(6.4, 5.4), layout="constrained")
    ax = fig.subplots()
    for variant, row in summary.iterrows():
        p, r = float(row["precision"]), float(row["recall"])
        if math.isnan(p) or math.isnan(r):
            continue  # precision is undefined for a variant that never triggered
        ax.errorbar(r, p, xerr=[[r - row["recall_low"]], [row["recall_high"] - r]],
                    yerr=[[p - row["precision_low"]], [row["precision_high"] - p]],
                    fmt="o", ms=8, capsize=4, color=colors[str(variant)],
                    label=f"{names.labels[str(variant)]} (F1 {row['f1']:.2f})")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("recall: share of should-trigger trials that delegated to it")
    ax.set_ylabel("precision: share of its delegations that were right")
    ax.grid(alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="lower left", fontsize="small", frameon=False)
    fig.suptitle("Routing precision and recall", fontweight="bold")
    ax.set_title("bars: 95% intervals, clustered on query", fontsize="small", color=_GREY)
    return fig


def routing_charts(df: pd.DataFrame, summary: pd.DataFrame, *,
                   target: str | None = None) -> dict[str, Figure]:
    """Both routing charts, keyed by file name."""
    return {"routing_trigger_rates": trigger_rate_strip(df, target=target),
            "routing_precision_recall": precision_recall(summary)}


def save_routing_charts(figs: Mapping[str, Figure], folder: str | Path) -> list[Path]:
    """Write figures as PNG files named after their keys; returns the paths."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    paths = [Path(folder) / f"{name}.png" for name in figs]
    for path, fig in zip(paths, figs.values(), strict=True):
        fig.savefig(path, dpi=_DPI, facecolor="white")
    return paths
