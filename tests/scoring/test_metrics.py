"""The metric registry: one meaning per column, read by stats, charts and reports."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from agentlab import stats
from agentlab.errors import ConfigError
from agentlab.scoring import Grade, GradeContext, Grader, register_grader
from agentlab.scoring import metrics as m


@pytest.fixture
def restore_registry() -> Iterator[None]:
    saved = dict(m._METRICS)
    yield
    m._METRICS.clear()
    m._METRICS.update(saved)


def test_builtin_columns_declare_direction_bounds_and_unit() -> None:
    assert m.get_metric("quality") == m.Metric("quality", "quality", "higher", (0.0, 1.0), "0–1")
    assert m.get_metric("judge_quality").direction == "higher"
    assert m.get_metric("judge_score").bounds == (1.0, 5.0)
    assert m.get_metric("cost_usd").direction == "lower"
    assert m.get_metric("latency_s").direction == "lower"
    assert m.get_metric("words").direction is None and m.get_metric("words").low == 0.0
    assert m.get_metric("latency_s").axis_label() == "latency (seconds)"
    assert m.get_metric("output_tokens").axis_label() == "output tokens"
    assert m.get_metric("quality").axis_label() == "quality (0–1)"
    assert {"quality", "passed", "words", "chars", "output_tokens", "cost_usd", "latency_s",
            "judge_quality"} <= set(m.metric_names())


def test_graders_declare_their_score_where_they_are_registered() -> None:
    assert m.get_metric("score_mypy_strict").label == "mypy --strict clean"
    assert m.get_metric("score_ruff_clean") == m.Metric(
        "score_ruff_clean", "ruff clean", "higher", (0.0, 1.0), "0–1")
    # A spec's own name is still a grader score (Grade.score is in [0, 1], 1 best).
    custom = m.get_metric("score_async_handler")
    assert (custom.direction, custom.bounds, custom.label) == (
        "higher", (0.0, 1.0), "async handler score")


def test_unknown_columns_have_no_direction_and_no_bounds() -> None:
    unknown = m.get_metric("mystery_count")
    assert unknown.direction is None and unknown.bounds == (None, None)
    assert unknown.label == "mystery count" and unknown.span is None


def test_user_registered_grader_declares_its_metric(restore_registry: None) -> None:
    @register_grader("test_comment_share", label="comment share", direction=None)
    def factory() -> Grader:
        def check(response: str, task: GradeContext) -> Grade:
            return Grade(0.5, "half", True)

        return check

    assert m.get_metric("score_test_comment_share").direction is None
    rng = np.random.default_rng(0)
    rows = [(v, f"t{i}", r, (0.7 if v == "a" else 0.3) + rng.normal(0, 0.05))
            for v in ("a", "b") for i in range(20) for r in range(2)]
    df = pd.DataFrame(rows, columns=["variant", "task_id", "repeat", "score_test_comment_share"])
    assert stats.paired_difference(df, "a", "b", "score_test_comment_share").verdict == "higher"


def test_register_metric_changes_verdicts_and_bounds(restore_registry: None) -> None:
    rng = np.random.default_rng(1)
    rows = [(v, f"t{i}", 0, (120 if v == "a" else 100) + rng.normal(0, 5))
            for v in ("a", "b") for i in range(20)]
    df = pd.DataFrame(rows, columns=["variant", "task_id", "repeat", "ms_to_first_byte"])
    assert stats.paired_difference(df, "a", "b", "ms_to_first_byte").verdict == "higher"
    m.register_metric(m.Metric("ms_to_first_byte", "time to first byte", "lower", (0.0, None),
                               "ms"))
    assert stats.paired_difference(df, "a", "b", "ms_to_first_byte").verdict == "worse"
    assert stats.summary(df, "b", metric="ms_to_first_byte").loc["a", "verdict"] == "worse"


def test_charts_take_axis_labels_and_scales_from_the_registry(restore_registry: None) -> None:
    from agentlab.views import charts

    m.register_metric(m.Metric("ttfb", "time to first byte", "lower", (0.0, None), "ms"))
    rows = [(v, f"t{i}", 0, 100.0 + i + (5 if v == "a" else 0), None)
            for v in ("a", "b") for i in range(6)]
    df = pd.DataFrame(rows, columns=["variant", "task_id", "repeat", "ttfb", "error"])
    fig = charts.quality_by_variant(df, metric="ttfb")
    ax = fig.axes[0]
    assert fig.get_suptitle() == "Mean time to first byte by variant"
    assert "mean time to first byte (ms)" in (ax.get_xlabel() + ax.get_ylabel())
    assert ax.get_ylim()[1] > 100  # not the 0–1 scale of a score
    judge = df.rename(columns={"ttfb": "judge_quality"}).assign(judge_quality=0.5)
    ax = charts.quality_by_variant(judge, metric="judge_quality").axes[0]
    assert ax.get_ylim()[1] == pytest.approx(1.12)


def test_invalid_declarations_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="direction"):
        m.Metric("x", "x", "up")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="bounds"):
        m.Metric("x", "x", None, (1.0, 0.0))
    with pytest.raises(ConfigError, match="direction"):
        register_grader("test_bad_direction", direction="sideways")  # type: ignore[arg-type]
