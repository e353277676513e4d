"""Charts of a results DataFrame: one question per function, each returning a Figure.

Figures are built without pyplot, so none pile up in its registry or show as a side effect.
A variant keeps one colour and one short label in every chart (see :mod:`agentlab.views._names`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from agentlab.errors import ConfigError
from agentlab.runs._results import error_rows
from agentlab.scoring.metrics import get_metric
from agentlab.views._names import Names, short_name, short_names, shorten, variant_colors

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.image import AxesImage

__all__ = [
    "all_charts", "check_vs_diff", "cost_latency", "heatmap", "length_by_variant",
    "paired_differences", "quality_by_variant", "quality_vs_length", "save_charts", "short_name",
    "short_names", "variant_colors",
]

_GREY = "0.35"
_DPI = 120


class _Variants(NamedTuple):
    """What every chart needs to know about the variants, computed one way for all."""

    order: list[str]
    names: Names
    colors: dict[str, str]

    @property
    def labels(self) -> list[str]:
        return [self.names.labels[v] for v in self.order]

    @property
    def horizontal(self) -> bool:
        """Many or long names read better down the y axis than squeezed along x."""
        return len(self.order) > 5 or max(map(len, self.labels)) > 14


def _prepare(df: pd.DataFrame, *columns: str, baseline: str | None = None) -> _Variants:
    """Check the DataFrame and work out variant order, labels and colours."""
    if df.empty:
        raise ConfigError("charts: the results DataFrame is empty; run some cells first")
    for col in ("variant", *columns):
        if col not in df.columns:
            hint = ("; score it first with agentlab.scoring.score_dataframe"
                    if col == "quality" else "")
            raise ConfigError(f"charts: column {col!r} is not in the DataFrame{hint}")
    order = [str(v) for v in dict.fromkeys(df["variant"].tolist())]
    if baseline is not None and baseline not in order:
        raise ConfigError(f"charts: no variant {baseline!r} in the DataFrame; pick one of {order}")
    return _Variants(order, _readable(order, 28), variant_colors(order))


def _readable(names: Sequence[str], limit: int) -> Names:
    """Labels for ``names``: shortened (shared parts cut) only when one is too long to read."""
    if max(map(len, names), default=0) <= limit:
        return Names({n: n for n in names}, "", "")
    return shorten(names, min(limit, 24))


def _valid(df: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Rows without an error (an empty string is none, as in stats) and with every value."""
    ok = ~error_rows(df)
    for col in columns:
        ok &= df[col].notna()
    return df.loc[ok]


def _records(table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """A stats table indexed by variant, as plain rows."""
    return {str(k): {str(c): v for c, v in row.items()} for k, row in table.iterrows()}


def _unit(metric: str, scale: bool = True) -> str:
    """How a metric reads on an axis, e.g. "quality (0–1)"; "quality" without the scale.

    The metric registry says it (:func:`agentlab.scoring.get_metric`), not the column name.
    """
    info = get_metric(metric)
    return info.axis_label() if scale else info.label


def _finite(*values: object) -> bool:
    return all(isinstance(v, int | float) and math.isfinite(v) for v in values)


def _new_figure(
    labels: Sequence[str], horizontal: bool, name: str, panels: int = 1
) -> tuple[Figure, list[Axes]]:
    """A figure sized for its category labels, with ``panels`` axes side by side."""
    from matplotlib.figure import Figure

    n = len(labels)
    if horizontal:
        size = (4.2 + 3.6 * panels, max(3.2, 1.7 + 0.42 * n))
    else:
        size = (max(5.0, 1.8 + 1.1 * n) * (0.8 * panels if panels > 1 else 1), 4.6)
    fig = Figure(figsize=size, layout="constrained")
    axes = list(fig.subplots(1, panels, sharey=horizontal and panels > 1, squeeze=False)[0])
    for ax in axes:
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="x" if horizontal else "y", alpha=0.3)
        ax.set_axisbelow(True)
        # Side-by-side panels share the y axis: label it once, on the left.
        _set_categories(ax, labels, horizontal, "" if horizontal and ax is not axes[0] else name)
    return fig, axes


def _titles(fig: Figure, ax: Axes, title: str, subtitle: str) -> None:
    fig.suptitle(title, fontweight="bold")
    ax.set_title(subtitle, fontsize="small", color=_GREY)


def _set_categories(ax: Axes, labels: Sequence[str], horizontal: bool, name: str) -> None:
    """Put the labels on the category axis, the first at the top (or left)."""
    axis, n = "y" if horizontal else "x", len(labels)
    span = (n - 0.5, -0.5) if horizontal else (-0.5, n - 0.5)
    figure = ax.get_figure(root=True)
    if horizontal and figure is not None and len(name) > 11 * figure.get_figheight():
        name = name.replace(" (", "\n(", 1)  # one line would run off the figure
    ax.set(**{f"{axis}ticks": range(n), f"{axis}ticklabels": labels, f"{axis}lim": span,
              f"{axis}label": name})


def _set_values(ax: Axes, horizontal: bool, label: str, top: float | None = None) -> None:
    """Label the value axis and start it at zero (call after drawing: it stops autoscale)."""
    axis = "x" if horizontal else "y"
    ax.set(**{f"{axis}label": label, f"{axis}lim": (0, top)})


def _no_data(ax: Axes, pos: int, horizontal: bool, text: str) -> None:
    """Say, where a variant's mark would be, that it has nothing to show."""
    style: dict[str, Any] = {"color": _GREY, "fontsize": "small", "fontstyle": "italic"}
    if horizontal:
        ax.text(0.01, pos, text, va="center", transform=ax.get_yaxis_transform(), **style)
    else:
        ax.text(pos, 0.02, text, ha="center", rotation=90, transform=ax.get_xaxis_transform(),
                **style)


def quality_by_variant(
    df: pd.DataFrame, *, baseline: str | None = None, metric: str = "quality"
) -> Figure:
    """Mean quality per variant with 95% confidence intervals clustered on tasks.

    Args:
        df: Scored results DataFrame.
        baseline: Variant to mark: hatched bar, "(baseline)" label, dashed line at its mean.
        metric: Column to average, e.g. "quality" or a "score_<grader>" column.

    Returns:
        One axes, a bar per variant with data (no error bar when scored on one task).

    Raises:
        ConfigError: If the DataFrame is empty, lacks a column, or ``baseline`` is unknown.
    """
    from agentlab import stats

    v = _prepare(df, "task_id", metric, baseline=baseline)
    table = _records(stats.variant_stats(_valid(df, metric), metric))
    mark = {baseline: "" if baseline is None or "baseline" in baseline else " (baseline)"}
    labels = [v.names.labels[x] + mark.get(x, "") for x in v.order]
    fig, (ax,) = _new_figure(labels, v.horizontal, v.names.axis_label())
    for pos, variant in enumerate(v.order):
        row = table.get(variant, {})
        if _finite(row.get("mean")):
            _mean_bar(ax, pos, row, v.colors[variant], variant == baseline, v.horizontal)
        else:
            _no_data(ax, pos, v.horizontal, "no scored rows")
    subtitle = "bars: mean · whiskers: 95% CI clustered on tasks"
    if baseline is not None and _finite(table.get(baseline, {}).get("mean")):
        line = ax.axvline if v.horizontal else ax.axhline
        line(float(table[baseline]["mean"]), color="0.25", linestyle="--", linewidth=1)
        subtitle += " · dashed: baseline mean"
    _set_values(ax, v.horizontal, f"mean {_unit(metric)}",
                1.12 if get_metric(metric).unit_interval else None)
    _titles(fig, ax, f"Mean {_unit(metric, False)} by variant", subtitle)
    return fig


def _mean_bar(
    ax: Axes, pos: int, row: Mapping[str, Any], color: str, is_base: bool, horizontal: bool
) -> None:
    """One bar with its CI whisker and a "mean (n=tasks)" note past the whisker."""
    mean, low, high = float(row["mean"]), float(row["ci_low"]), float(row["ci_high"])
    bar = ax.barh if horizontal else ax.bar
    bar(pos, mean, 0.7, color=color, alpha=0.85, hatch="//" if is_base else None,
        edgecolor="0.2" if is_base else color, linewidth=1.2 if is_base else 0)
    end = high if _finite(low, high) else mean
    if _finite(low, high):
        err = [[mean - low], [high - mean]]
        x, y = (mean, pos) if horizontal else (pos, mean)
        ax.errorbar(x, y, xerr=err if horizontal else None, yerr=None if horizontal else err,
                    fmt="none", ecolor="0.15", capsize=4, linewidth=1.3)
    note = f"{mean:.2f} (n={int(row['n_tasks'])})"
    xy, offset = ((end, pos), (4, 0)) if horizontal else ((pos, end), (0, 3))
    ax.annotate(note, xy, xytext=offset, textcoords="offset points", fontsize="small",
                va="center" if horizontal else "bottom", ha="left" if horizontal else "center",
                annotation_clip=False, bbox={"fc": "white", "ec": "none", "alpha": 0.7, "pad": 1})


def quality_vs_length(
    df: pd.DataFrame, *, length: str = "words", metric: str = "quality"
) -> Figure:
    """Quality against answer length: one small panel per variant, on shared axes.

    Variants often overlap (scores take few values, lengths are alike), so each variant
    gets its own panel instead of being drawn over the others; every other variant's
    answers stay in light grey behind it for reference. Points are half transparent and
    jittered up or down by at most 1.5% of the scale, so equal scores stay visible.

    Args:
        df: Scored results DataFrame (error rows are left out).
        length: Length column for the x axis, e.g. "words" or "output_tokens".
        metric: Quality column for the y axis.

    Returns:
        One axes per variant with data (in variant order): the other variants in grey,
        this variant's answers, and its outlined mean diamond; the panel title gives its
        Spearman correlation.

    Raises:
        ConfigError: If the DataFrame is empty or lacks a column.
    """
    import numpy as np

    v = _prepare(df, length, metric)
    data = _valid(df, metric, length)
    present = set(data["variant"])
    shown = [x for x in v.order if x in present] or v.order[:1]
    fig, axes = _panels(len(shown))
    scaled = get_metric(metric).unit_interval
    rng = np.random.default_rng(0)  # fixed seed: the same data always draws the same chart
    nudge = 0.015 * (1.0 if scaled else float(np.ptp(data[metric])) if len(data) else 1.0)
    for ax, variant in zip(axes, shown, strict=False):
        mine = data["variant"] == variant
        rest, group = data[~mine], data[mine]
        ax.scatter(rest[length], rest[metric], s=9, color="0.82", linewidths=0, zorder=1)
        x, y = group[length].to_numpy(dtype=float), group[metric].to_numpy(dtype=float)
        ax.scatter(x, y + rng.uniform(-nudge, nudge, y.size), s=22, color=v.colors[variant],
                   alpha=0.6, edgecolors="white", linewidths=0.4, zorder=2)
        if y.size:
            ax.scatter([x.mean()], [y.mean()], s=110, marker="D", color=v.colors[variant],
                       edgecolors="0.1", linewidths=1.3, zorder=4)
        ax.set_title(f"{v.names.labels[variant]}\n{_rho(group, length, metric)}",
                     fontsize="small", color=v.colors[variant])
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(alpha=0.3)
    for ax in axes[len(shown):]:
        ax.set_visible(False)
    axes[0].set(xlim=(0, None), ylim=(-0.04, 1.06) if scaled else (None, None))
    fig.supxlabel(f"answer length ({_unit(length)})", fontsize="medium")
    fig.supylabel(_unit(metric), fontsize="medium")
    fig.suptitle(f"{_unit(metric, False).capitalize()} vs length, one panel per variant "
                 "(others in grey)", fontweight="bold")
    return fig


def _panels(count: int) -> tuple[Figure, list[Axes]]:
    """A grid of ``count`` small panels sharing both axes, at most four to a row."""
    from matplotlib.figure import Figure

    cols = min(count, 4)
    rows = math.ceil(count / cols)
    fig = Figure(figsize=(1.2 + 3.3 * cols, 1.3 + 2.9 * rows), layout="constrained")
    grid = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)
    return fig, list(grid.flat)


def _rho(data: pd.DataFrame, length: str, metric: str) -> str:
    """The panel's rank correlation, e.g. "ρ = +0.32 over 24 answers"."""
    if len(data) < 3:
        return f"{len(data)} answers: too few for a correlation"
    flat = [what for what, col in (("length", length), ("score", metric))
            if data[col].nunique() < 2]
    if flat:
        return f"{len(data)} answers, all of one {' and one '.join(flat)}: no correlation"
    rho = float(data[length].corr(data[metric], method="spearman"))
    return f"Spearman ρ = {rho:+.2f} over {len(data)} answers"


def length_by_variant(df: pd.DataFrame, *, metric: str = "words") -> Figure:
    """Distribution of answer length per variant: a box plot over the jittered answers.

    Args:
        df: Results DataFrame (error rows are left out).
        metric: Length column, e.g. "words", "output_tokens", "chars" or "lines".

    Returns:
        One axes with, per variant with data, a box and a strip of points.

    Raises:
        ConfigError: If the DataFrame is empty or lacks a column.
    """
    v = _prepare(df, metric)
    fig, (ax,) = _new_figure(v.labels, v.horizontal, v.names.axis_label())
    _distribution(ax, _valid(df, metric), metric, v)
    _set_values(ax, v.horizontal, _unit(metric))
    _titles(fig, ax, f"Answer length by variant ({_unit(metric)})",
            "box: median and quartiles · dots: one answer each")
    return fig


def _distribution(ax: Axes, data: pd.DataFrame, metric: str, v: _Variants) -> None:
    """Per variant, a box and its points jittered across the box so they do not stack."""
    import numpy as np

    rng = np.random.default_rng(0)  # fixed seed: the same data always draws the same chart
    groups = {str(k): g[metric].to_numpy(dtype=float) for k, g in data.groupby("variant")}
    for pos, variant in enumerate(v.order):
        values = groups.get(variant, np.empty(0))
        if values.size == 0:
            _no_data(ax, pos, v.horizontal, "no data")
            continue
        box = ax.boxplot([values], positions=[pos], widths=0.6, patch_artist=True,
                         showfliers=False, manage_ticks=False,
                         orientation="horizontal" if v.horizontal else "vertical",
                         medianprops={"color": "0.1", "linewidth": 1.5})
        box["boxes"][0].set(facecolor=v.colors[variant], alpha=0.35)
        jitter = pos + rng.uniform(-0.22, 0.22, values.size)
        x, y = (values, jitter) if v.horizontal else (jitter, values)
        ax.scatter(x, y, s=14, color=v.colors[variant], alpha=0.75, linewidths=0, zorder=3)


def heatmap(df: pd.DataFrame, *, metric: str = "quality") -> Figure:
    """Mean of ``metric`` for every variant × task cell.

    Args:
        df: Scored results DataFrame (error rows are left out; empty cells are grey).
        metric: Column to average per cell.

    Returns:
        The heatmap axes (values written in cells when at most 240) and a colour bar.

    Raises:
        ConfigError: If the DataFrame is empty or lacks a column.
    """
    from matplotlib.figure import Figure

    v = _prepare(df, "task_id", metric)
    tasks = [str(t) for t in dict.fromkeys(df["task_id"].tolist())]
    # Task ids are shortened (shared parts cut, middles ellipsized) only when one is too
    # long to read as a tick label; short ids such as "task-03" stay whole.
    task_names = _readable(tasks, 20)
    grid = (_valid(df, metric)
            .pivot_table(index="variant", columns="task_id", values=metric, aggfunc="mean")
            .reindex(index=v.order, columns=tasks))
    width, height = 3.4 + 0.6 * len(tasks), 2.2 + 0.42 * len(v.order)
    fig = Figure(figsize=(min(18, max(6, width)), min(14, max(3.6, height))), layout="constrained")
    ax = fig.add_subplot()
    image = _draw_grid(ax, grid.to_numpy(dtype=float), metric)
    _set_categories(ax, v.labels, True, v.names.axis_label())
    ticks = [task_names.labels[t] for t in tasks]
    slanted = max(map(len, ticks)) > 4  # short ids such as "01" read fine upright
    ax.set_xticks(range(len(tasks)), ticks, rotation=40 if slanted else 0,
                  ha="right" if slanted else "center", rotation_mode="anchor")
    ax.set_xlabel(task_names.axis_label("task"))
    fig.colorbar(image, ax=ax, shrink=0.9, pad=0.02).set_label(f"mean {_unit(metric)}")
    _titles(fig, ax, f"Mean {_unit(metric, False)} per variant and task", "grey: no scored answer")
    return fig


def _draw_grid(ax: Axes, grid: np.ndarray, metric: str) -> AxesImage:
    """Draw the cells and, when legible, their values in black or white by background."""
    import numpy as np
    from matplotlib import colormaps

    finite, scaled = grid[np.isfinite(grid)], get_metric(metric).unit_interval
    low, high = (0.0, 1.0) if scaled or finite.size == 0 else (finite.min(), finite.max())
    cmap = colormaps["viridis"].with_extremes(bad="0.85")
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=low, vmax=high, aspect="auto")
    if grid.size <= 240:
        for (r, c), value in np.ndenumerate(grid):
            if math.isfinite(value):
                dark = (value - low) / ((high - low) or 1.0) <= 0.55
                ax.text(c, r, f"{value:.2f}" if scaled else f"{value:.3g}",
                        ha="center", va="center", fontsize=8, color="white" if dark else "black")
    return image


def paired_differences(df: pd.DataFrame, *, baseline: str, metric: str = "quality") -> Figure:
    """Forest plot: each variant's mean paired difference from the baseline, with 95% CI.

    Args:
        df: Scored results DataFrame with at least two variants.
        baseline: The variant every other variant is compared with.
        metric: Column compared, e.g. "quality".

    Returns:
        One axes: a point and CI per other variant, a zero line, and stats' verdicts.

    Raises:
        ConfigError: If the DataFrame is empty, lacks a column, or has no other variant.
    """
    from agentlab import stats

    v = _prepare(df, "task_id", metric, baseline=baseline)
    others, data = [x for x in v.order if x != baseline], _valid(df, metric)
    if not others or baseline not in set(data["variant"]):
        raise ConfigError(f"charts: comparing needs scored rows of {baseline!r} and of another")
    table = _records(stats.compare_to_baseline(data, baseline, metric))
    fig, (ax,) = _new_figure([v.names.labels[x] for x in others], True, v.names.axis_label())
    ax.axvline(0, color="0.3", linestyle="--", linewidth=1)
    for pos, variant in enumerate(others):
        if _finite(table.get(variant, {}).get("mean_diff")):
            _difference(ax, pos, table[variant], v.colors[variant])
        else:
            _no_data(ax, pos, True, "no tasks shared with the baseline")
    ax.set_xlabel(f"difference in mean {_unit(metric)} vs baseline")
    edge = max(*map(abs, ax.get_xlim()), 0.05)
    ax.set_xlim(-edge, edge)  # symmetric, so left of zero always reads as "worse"
    _titles(fig, ax, f"Difference from baseline '{v.names.labels[baseline]}'",
            "point: mean paired difference over tasks · whiskers: 95% CI")
    return fig


def _difference(ax: Axes, pos: int, row: Mapping[str, Any], color: str) -> None:
    diff, low, high = float(row["mean_diff"]), float(row["ci_low"]), float(row["ci_high"])
    if _finite(low, high):
        ax.errorbar(diff, pos, xerr=[[diff - low], [high - diff]], fmt="none", ecolor=color,
                    capsize=4, linewidth=1.6)
    ax.scatter([diff], [pos], s=70, color=color, edgecolors="0.1", zorder=3)
    p_value = float(row["p_value"])
    p_text = f", p={p_value:.2g}" if p_value >= 0.001 else ", p<0.001" if p_value >= 0 else ""
    adjusted = float(row.get("p_adjusted", p_value))
    if _finite(adjusted) and adjusted != p_value:  # the verdict uses Holm's p across variants
        p_text += f", Holm {adjusted:.2g}"
    # Colour follows the verdict, which knows the metric's direction (lower cost is better).
    tone = {"better": "#2a7d2e", "worse": "#b22222", "higher": "0.1", "lower": "0.1"}.get(
        str(row["verdict"]), _GREY)
    ax.annotate(f"{row['verdict']}  (Δ {diff:+.3f}{p_text})", (1, pos), xytext=(8, 0),
                xycoords=ax.get_yaxis_transform(), textcoords="offset points", va="center",
                fontsize="small", color=tone)


def cost_latency(df: pd.DataFrame) -> Figure:
    """Two panels: total cost per variant (USD) and latency per call (seconds).

    Args:
        df: Results DataFrame; cost counts every row, latency leaves out error rows.

    Returns:
        Two axes: cost bars (or "local model: no cost"), then latency boxes and points.

    Raises:
        ConfigError: If the DataFrame is empty or lacks a column.
    """
    v = _prepare(df, "cost_usd", "latency_s")
    fig, (cost_ax, time_ax) = _new_figure(v.labels, v.horizontal, v.names.axis_label(), 2)
    _cost_panel(cost_ax, df, v)
    _distribution(time_ax, _valid(df, "latency_s"), "latency_s", v)
    _set_values(time_ax, v.horizontal, "latency per call (seconds)")
    cost_ax.set_title("Total cost", fontsize="medium")
    time_ax.set_title("Latency (box: median and quartiles)", fontsize="medium")
    fig.suptitle("Cost and latency by variant", fontweight="bold")
    return fig


def _cost_panel(ax: Axes, df: pd.DataFrame, v: _Variants) -> None:
    totals = df.groupby("variant")["cost_usd"].sum()
    values = [float(totals.get(x, 0.0)) for x in v.order]
    axis = ax.xaxis if v.horizontal else ax.yaxis
    if any(value > 0 for value in values):
        bar = ax.barh if v.horizontal else ax.bar
        bars = bar(range(len(values)), values, 0.7, color=list(v.colors.values()), alpha=0.85)
        ax.bar_label(bars, labels=[_usd(value) for value in values], padding=3, fontsize="small")
        axis.set_major_formatter(lambda value, _pos: _usd(value))
        ax.margins(x=0.15) if v.horizontal else ax.margins(y=0.15)
    else:
        local = "provider" in df.columns and bool((df["provider"] == "local").all())
        ax.text(0.5, 0.5, "local model: no cost" if local else "no cost recorded",
                transform=ax.transAxes, ha="center", va="center", color=_GREY)
        axis.set_ticks([])  # a 0–1 dollar scale with nothing on it would mislead
    _set_values(ax, v.horizontal, "total cost (USD)")


def _usd(value: float) -> str:
    """Dollars with enough digits to tell small test runs apart."""
    return "$0" if value == 0 else f"${value:,.2f}" if value >= 1 else f"${value:.3g}"


def check_vs_diff(df: pd.DataFrame) -> Figure:
    """Agentic trials: check pass rate against lines changed, by variant.

    See :func:`agentlab.views._trial_charts.check_vs_diff` (up and left is better).
    """
    from agentlab.views._trial_charts import check_vs_diff as draw

    return draw(df)


def all_charts(df: pd.DataFrame, *, baseline: str | None = None) -> dict[str, Figure]:
    """Every chart the DataFrame supports, keyed by a file-friendly name.

    Quality charts are skipped without a ``quality`` column; "paired_differences" needs
    ``baseline`` (with scored rows) and a second variant.

    Args:
        df: Results DataFrame, scored or not.
        baseline: Variant to mark and compare the others with.

    Returns:
        Figures keyed like the functions that drew them, in reading order.

    Raises:
        ConfigError: If the DataFrame is empty or ``baseline`` is unknown.
    """
    _prepare(df, baseline=baseline)
    figs: dict[str, Figure] = {}
    scored = "quality" in df.columns
    if scored:
        figs["quality_by_variant"] = quality_by_variant(df, baseline=baseline)
        usable = set(_valid(df, "quality")["variant"])
        if baseline is not None and baseline in usable and len(usable) > 1:
            figs["paired_differences"] = paired_differences(df, baseline=baseline)
        figs["heatmap"] = heatmap(df)
    length = "words" if "words" in df.columns else "output_tokens"
    if length in df.columns:
        figs["length_by_variant"] = length_by_variant(df, metric=length)
        if scored:
            figs["quality_vs_length"] = quality_vs_length(df, length=length)
    if {"cost_usd", "latency_s"} <= set(df.columns):
        figs["cost_latency"] = cost_latency(df)
    if {"check_passed", "diff_lines"} <= set(df.columns) and df["check_passed"].notna().any():
        figs["check_vs_diff"] = check_vs_diff(df)  # agentic trials
    return figs


def save_charts(figs: Mapping[str, Figure], folder: str | Path) -> list[Path]:
    """Write figures as PNG files named after their keys.

    Args:
        figs: Figures keyed by name, e.g. from ``all_charts``.
        folder: Folder to write into; created when missing.

    Returns:
        The paths written, in the order of ``figs``.
    """
    paths = {name: Path(folder) / f"{name}.png" for name in figs}
    Path(folder).mkdir(parents=True, exist_ok=True)
    for name, fig in figs.items():
        fig.savefig(paths[name], dpi=_DPI, facecolor="white")
    return list(paths.values())
