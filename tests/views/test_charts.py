"""Chart tests: what each figure draws, how it reads, and that nothing leaks into pyplot."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.colors import to_rgb
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.text import Text

from agentlab import stats
from agentlab.errors import ConfigError
from agentlab.views import charts

MIDDLES = ["no-type-safety", "strict-typing", "minimal", "verbose-docs", "tdd-first", "security",
           "perf", "refactor", "pairing", "terse", "chatty", "reviewer"]
LONG = [f"python-pro-backend-{m}-standards-critical" for m in MIDDLES]


def results(
    variants: list[str], *, tasks: int = 5, repeats: int = 2, provider: str = "anthropic"
) -> pd.DataFrame:
    """Results as Run.to_dataframe() + score_dataframe give them, with one error row per variant."""
    rng = np.random.default_rng(7)
    rows = []
    for vi, variant in enumerate(variants):
        for t in range(tasks):
            for r in range(repeats):
                words = int(rng.integers(50, 400))
                rows.append({"variant": variant, "task_id": f"task-{t:02d}", "repeat": r,
                             "provider": provider, "words": words, "output_tokens": words * 4 // 3,
                             "latency_s": float(rng.uniform(0.5, 9)), "error": None,
                             "cost_usd": 0.0 if provider == "local" else words * 2e-5,
                             "quality": float(np.clip(rng.normal(0.4 + 0.03 * vi, 0.2), 0, 1))})
        # An error row: no text, no score, and an absurd length that must never be drawn.
        rows.append({**rows[-1], "repeat": repeats, "error": "429 rate limited", "words": 99999,
                     "output_tokens": 0, "quality": math.nan, "latency_s": 999.0})
    return pd.DataFrame(rows)


@pytest.fixture(params=[2, 12], ids=["2-variants", "12-variants"])
def df(request: pytest.FixtureRequest) -> pd.DataFrame:
    return results(["baseline", "concise"] if request.param == 2 else LONG)


@pytest.fixture(autouse=True)
def no_pyplot_figures() -> Iterator[None]:
    """Charts build Figure objects directly: pyplot's registry must stay empty."""
    yield
    assert plt.get_fignums() == []


def valid(frame: pd.DataFrame, col: str = "quality") -> pd.DataFrame:
    return frame[frame["error"].isna() & frame[col].notna()]


def scatters(ax: matplotlib.axes.Axes) -> list[PathCollection]:
    return [c for c in ax.collections if isinstance(c, PathCollection)]


def rgb(color: object) -> tuple[float, float, float]:
    return to_rgb(tuple(np.asarray(color, dtype=float).ravel()[:3]))


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def tick_labels(axis: matplotlib.axis.Axis) -> list[Text]:
    """The tick labels inside the view (an axis also formats ticks just beyond it)."""
    low, high = sorted(axis.get_view_interval())
    locs, labels = axis.get_majorticklocs(), axis.get_majorticklabels()
    if len(labels) != len(locs):  # labels switched off, as on a shared y axis
        return []
    pairs = zip(locs, labels, strict=True)
    return [label for loc, label in pairs if low - 1e-9 <= loc <= high + 1e-9]


def assert_readable(fig: Figure) -> None:
    """Every text lies inside the figure, and category tick labels do not overlap."""
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    page = fig.bbox
    # Axes keep spare tick objects outside the view; only the labels shown count.
    spare = {id(t) for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)
             for tick in axis.get_major_ticks() + axis.get_minor_ticks()
             for t in (tick.label1, tick.label2)}
    shown = [t for ax in fig.axes for axis in (ax.xaxis, ax.yaxis) for t in tick_labels(axis)]
    for text in [t for t in fig.findobj(Text) if id(t) not in spare] + shown:
        if text.get_visible() and text.get_text():
            box = text.get_window_extent(renderer)
            assert box.x0 >= page.x0 - 1 and box.x1 <= page.x1 + 1, text.get_text()
            assert box.y0 >= page.y0 - 1 and box.y1 <= page.y1 + 1, text.get_text()
    # Figure-level text (title, outside legend) must not sit on a plot or its subtitle.
    over = [*fig.texts, *fig.legends]  # the suptitle is one of fig.texts
    for ax in fig.axes:
        for art in over:
            box = art.get_window_extent(renderer)
            assert not box.overlaps(ax.bbox) and not box.overlaps(ax.title.get_window_extent())
        for labels in (tick_labels(ax.xaxis), tick_labels(ax.yaxis)):
            boxes = [t.get_window_extent(renderer) for t in labels if t.get_text()]
            for a, b in itertools.pairwise(boxes):
                assert not a.overlaps(b), [t.get_text() for t in labels]


# names and colours


def test_short_name_cuts_the_middle_and_keeps_the_ends() -> None:
    name = "python-pro-backend-no-type-safety-standards-critical"
    short = charts.short_name(name, 24)
    assert len(short) == 24 and "…" in short
    head, tail = short.split("…")
    assert name.startswith(head) and name.endswith(tail) and len(tail) > len(head)
    assert charts.short_name("concise", 24) == "concise"


def test_short_names_drop_shared_parts_and_stay_unique() -> None:
    labels = charts.short_names(LONG)
    assert labels[LONG[0]] == "no-type-safety" and labels[LONG[4]] == "tdd-first"
    assert len(set(labels.values())) == len(LONG)
    # Names alike at both ends: plain middle-ellipsizing would merge them.
    alike = [f"agent-{'x' * 30}-{i}-{'y' * 30}-end{i % 2}" for i in range(4)]
    short = charts.short_names(alike, 12)
    assert len(set(short.values())) == 4
    assert charts.short_names(["a-b", "a-b", "a-c"]) == {"a-b": "b", "a-c": "c"}


def test_short_names_never_strip_a_whole_name() -> None:
    assert charts.short_names(["base", "base-v2"]) == {"base": "base", "base-v2": "v2"}
    assert charts.short_names(["python-pro-backend", "python-pro-backend-concise"]) == {
        "python-pro-backend": "python-pro-backend", "python-pro-backend-concise": "concise"}
    assert charts.short_names(["x-core", "y-core", "core"])["core"] == "core"


def test_variant_colors_are_distinct_and_stable() -> None:
    colors = charts.variant_colors(LONG)
    assert len(set(colors.values())) == 12
    assert charts.variant_colors(LONG[:3]) == {v: colors[v] for v in LONG[:3]}
    assert list(charts.variant_colors(["b", "a", "b"])) == ["b", "a"]


# each chart


def test_quality_by_variant_draws_a_bar_and_ci_per_variant(df: pd.DataFrame) -> None:
    variants = list(dict.fromkeys(df["variant"]))
    fig = charts.quality_by_variant(df, baseline=variants[0])
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert fig.get_suptitle() == "Mean quality by variant"
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(bars) == len(variants)
    value_label = ax.get_xlabel() if len(variants) > 5 else ax.get_ylabel()
    assert value_label == "mean quality (0–1)"
    table = stats.variant_stats(valid(df), "quality")
    heights = [(b.patches[0].get_width() if len(variants) > 5 else b.patches[0].get_height())
               for b in bars]
    assert heights == pytest.approx(list(table.loc[variants, "mean"]))
    # Baseline: hatched, labelled, and a dashed reference line at its mean.
    assert bars[0].patches[0].get_hatch() == "//" and bars[1].patches[0].get_hatch() is None
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 1
    ref = dashed[0].get_xdata() if len(variants) > 5 else dashed[0].get_ydata()
    assert float(np.asarray(ref)[0]) == pytest.approx(table.loc[variants[0], "mean"])
    assert_readable(fig)


def test_many_variants_lie_down_the_y_axis_with_short_unique_labels() -> None:
    frame = results(LONG)
    fig = charts.quality_by_variant(frame, baseline=LONG[0])
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "no-type-safety (baseline)" and labels[1:] == MIDDLES[1:]
    assert ax.get_ylabel() == ('variant (shared "python-pro-backend-" and '
                               '"-standards-critical" left out)')  # plain words
    small = charts.quality_by_variant(results(["baseline", "concise"]))
    assert fig.get_figheight() > small.get_figheight()
    assert [t.get_text() for t in small.axes[0].get_xticklabels()] == ["baseline", "concise"]


def test_quality_vs_length_plots_every_valid_answer_and_a_mean_per_variant(
    df: pd.DataFrame,
) -> None:
    fig = charts.quality_vs_length(df)
    variants = df["variant"].nunique()
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == variants  # small multiples: no variant can hide another
    total = len(valid(df))
    for ax, variant in zip(panels, dict.fromkeys(df["variant"]), strict=True):
        others, answers, mean = scatters(ax)
        mine = valid(df)[valid(df)["variant"] == variant]
        points = np.asarray(answers.get_offsets(), dtype=float)
        assert len(points) == len(mine)  # its own answers, in colour
        assert len(np.asarray(others.get_offsets())) == total - len(mine)  # the rest, grey
        assert rgb(others.get_facecolor()) == pytest.approx(to_rgb("0.82"))
        assert len(np.asarray(mean.get_offsets())) == 1
        assert mean.get_sizes()[0] > answers.get_sizes()[0]
        assert float(np.max(points[:, 0])) < 99999  # error rows left out
        nudged = points[:, 1] - mine["quality"].to_numpy()
        assert float(np.max(np.abs(nudged))) <= 0.015 + 1e-9  # jittered, by a little
        assert "Spearman" in ax.get_title() or "no correlation" in ax.get_title()
    assert fig.get_supxlabel() == "answer length (words)"
    assert fig.get_supylabel() == "quality (0–1)"
    assert panels[0].get_shared_x_axes().joined(panels[0], panels[-1])
    assert_readable(fig)


def test_heatmap_shortens_task_ids_only_when_they_are_long() -> None:
    frame = results(["a", "b"], tasks=3)
    long_ids = {f"task-{t:02d}": f"orders-service-{n}-regression-check"
                for t, n in enumerate(["filter", "pagination", "auth"])}
    fig = charts.heatmap(frame.assign(task_id=frame["task_id"].map(long_ids)))
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["filter", "pagination", "auth"]  # the shared parts said once instead
    assert ax.get_xlabel() == ('task (shared "orders-service-" and "-regression-check" '
                               "left out)")
    assert_readable(fig)


def test_names_are_shortened_only_when_long_and_said_in_plain_words() -> None:
    names = ["python-pro-backend", "python-pro-backend-edited"]
    fig = charts.length_by_variant(results(names))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == names  # short enough: whole
    assert ax.get_ylabel() == "variant"
    long = ["python-pro-backend-no-type-safety", "python-pro-backend-no-type-safety-edited"]
    fig = charts.quality_by_variant(results(long), baseline=long[0])
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[1] == "edited" and labels[0].endswith("no-type-safety (baseline)")
    assert ax.get_ylabel().replace("\n", " ").startswith('variant (others extend "python-')
    assert_readable(fig)


def test_length_by_variant_draws_a_box_and_the_points(df: pd.DataFrame) -> None:
    fig = charts.length_by_variant(df, metric="output_tokens")
    ax = fig.axes[0]
    variants = df["variant"].nunique()
    assert len(ax.patches) == variants  # one box each
    assert sum(len(c.get_offsets()) for c in scatters(ax)) == len(valid(df))
    assert "output tokens" in fig.get_suptitle()
    assert "output tokens" in (ax.get_xlabel() + ax.get_ylabel())
    assert_readable(fig)


def test_heatmap_has_a_cell_per_variant_and_task(df: pd.DataFrame) -> None:
    frame = df[~((df["variant"] == df["variant"].iloc[0]) & (df["task_id"] == "task-03"))]
    fig = charts.heatmap(frame)
    assert len(fig.axes) == 2  # the map and its colour bar
    ax = fig.axes[0]
    image = next(a for a in ax.get_children() if isinstance(a, AxesImage))
    grid = np.ma.masked_invalid(image.get_array())
    assert grid.shape == (frame["variant"].nunique(), 5)
    task_03 = [t.get_text() for t in ax.get_xticklabels()].index("task-03")
    assert bool(grid.mask[0, task_03])  # the missing cell stays empty (grey)
    cells = [t for t in ax.texts if t.get_text().replace(".", "").isdigit()]
    assert len(cells) == grid.count()
    assert fig.axes[1].get_ylabel() == "mean quality (0–1)"
    assert ax.get_xlabel() == "task"  # short ids are not shortened: that would not help
    assert_readable(fig)


def test_paired_differences_shows_each_variant_against_the_baseline(df: pd.DataFrame) -> None:
    variants = list(dict.fromkeys(df["variant"]))
    fig = charts.paired_differences(df, baseline=variants[0])
    ax = fig.axes[0]
    points = scatters(ax)
    assert len(points) == len(variants) - 1
    table = stats.compare_to_baseline(valid(df), variants[0])
    xs = [float(p.get_offsets()[0, 0]) for p in points]
    assert xs == pytest.approx(list(table.loc[variants[1:], "mean_diff"]))
    verdicts = [t.get_text() for t in ax.texts]
    for variant, text in zip(variants[1:], verdicts, strict=True):
        assert text.startswith(str(table.loc[variant, "verdict"]))
    zero = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(zero) == 1 and list(zero[0].get_xdata()) == [0, 0]
    low, high = ax.get_xlim()
    assert low == pytest.approx(-high)
    assert "vs baseline" in ax.get_xlabel()
    assert_readable(fig)


def test_cost_latency_has_two_panels_with_units(df: pd.DataFrame) -> None:
    fig = charts.cost_latency(df)
    cost, latency = fig.axes
    variants = df["variant"].nunique()
    bars = [c for c in cost.containers if isinstance(c, BarContainer)]
    assert len(bars) == 1 and len(bars[0].patches) == variants
    assert "USD" in (cost.get_xlabel() + cost.get_ylabel())
    assert "seconds" in (latency.get_xlabel() + latency.get_ylabel())
    assert sum(len(c.get_offsets()) for c in scatters(latency)) == len(valid(df, "latency_s"))
    assert_readable(fig)


def test_cost_panel_says_when_a_local_model_cost_nothing() -> None:
    fig = charts.cost_latency(results(["a", "b"], provider="local"))
    assert "local model: no cost" in texts(fig)
    assert not [c for c in fig.axes[0].containers if isinstance(c, BarContainer)]


# across charts


def test_a_variant_keeps_its_colour_in_every_chart() -> None:
    frame = results(LONG)
    colors = charts.variant_colors(LONG)
    figs = charts.all_charts(frame, baseline=LONG[0])
    quality_bars = [c.patches[0] for c in figs["quality_by_variant"].axes[0].containers
                    if isinstance(c, BarContainer)]
    scatter = [scatters(ax)[1] for ax in figs["quality_vs_length"].axes if ax.get_visible()]
    boxes = figs["length_by_variant"].axes[0].patches
    cost_bars = figs["cost_latency"].axes[0].patches
    forest = scatters(figs["paired_differences"].axes[0])
    for i, variant in enumerate(LONG):
        want = to_rgb(colors[variant])
        assert rgb(quality_bars[i].get_facecolor()) == pytest.approx(want)
        assert rgb(scatter[i].get_facecolor()) == pytest.approx(want)
        assert rgb(boxes[i].get_facecolor()) == pytest.approx(want)
        assert rgb(cost_bars[i].get_facecolor()) == pytest.approx(want)
        if i:
            assert rgb(forest[i - 1].get_facecolor()) == pytest.approx(want)
    for fig in figs.values():
        assert fig.get_suptitle()


def test_empty_single_task_and_all_error_variants_do_not_crash() -> None:
    frame = results(["base", "nan", "one", "broken"])
    frame.loc[frame["variant"] == "nan", "quality"] = math.nan
    frame = frame[(frame["variant"] != "one") | (frame["task_id"] == "task-00")]
    frame.loc[frame["variant"] == "broken", "error"] = "boom"
    figs = charts.all_charts(frame, baseline="base")
    assert set(figs) == {"quality_by_variant", "paired_differences", "heatmap",
                         "length_by_variant", "quality_vs_length", "cost_latency"}
    ax = figs["quality_by_variant"].axes[0]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(bars) == 2  # "base" and "one"
    # Only "base" has an error bar: "one" was scored on a single task.
    assert sum(type(c).__name__ == "ErrorbarContainer" for c in ax.containers) == 1
    assert texts(figs["quality_by_variant"]).count("no scored rows") == 2
    for fig in figs.values():
        assert_readable(fig)


def test_all_charts_without_scores_skips_quality_charts() -> None:
    frame = results(["a", "b"]).drop(columns=["quality"])
    assert list(charts.all_charts(frame, baseline="a")) == ["length_by_variant", "cost_latency"]


def test_save_charts_writes_png_files(tmp_path: Path) -> None:
    figs = charts.all_charts(results(["a", "b"]), baseline="a")
    paths = charts.save_charts(figs, tmp_path / "out")
    assert [p.stem for p in paths] == list(figs)
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths)


def test_bad_input_raises_a_config_error_that_says_how_to_fix_it() -> None:
    frame = results(["a", "b"])
    with pytest.raises(ConfigError, match="empty"):
        charts.quality_by_variant(frame.iloc[0:0])
    with pytest.raises(ConfigError, match="score_dataframe"):
        charts.heatmap(frame.drop(columns=["quality"]))
    with pytest.raises(ConfigError, match="pick one of"):
        charts.quality_by_variant(frame, baseline="nope")
    with pytest.raises(ConfigError, match="another"):
        charts.paired_differences(frame[frame["variant"] == "a"], baseline="a")


def test_quality_whiskers_stay_within_the_scale_and_every_bar_is_labelled() -> None:
    frame = results([f"agent-{i}" for i in range(8)], tasks=3, repeats=1)
    fig = charts.quality_by_variant(frame)
    ax = fig.axes[0]
    whiskers = [c.lines[2][0] for c in ax.containers if type(c).__name__ == "ErrorbarContainer"]
    assert whiskers
    ends = np.concatenate([np.asarray(w.get_segments())[:, :, 0].ravel() for w in whiskers])
    assert ends.min() >= 0 and ends.max() <= 1
    assert sum("(n=3)" in t.get_text() for t in ax.texts) == 8
    assert_readable(fig)
