"""Routing charts: figures from a routing table, errors on empty input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure

from agentlab.agentic._routing_stats import routing_metrics
from agentlab.errors import ConfigError
from agentlab.views._routing_charts import (
    precision_recall,
    routing_charts,
    save_routing_charts,
    trigger_rate_strip,
)


def _table() -> pd.DataFrame:
    rows = []
    for variant, picks in {"base": ["t", "none", "t", "t"], "base-flat": ["t", "t", "none",
                                                                           "none"]}.items():
        for qid, want, pick in zip(["q1", "q$2", "q3", "q4"], ["t", "t", "none", "x"], picks,
                                   strict=True):
            for rep in range(2):
                rows.append({"variant": variant, "task_id": qid, "repeat": rep,
                             "decision": pick, "expected": want, "positive": want == "t",
                             "triggered": pick == "t", "correct": pick == want,
                             "error": None})
    return pd.DataFrame(rows)


def test_both_charts_draw_and_save(tmp_path: Path) -> None:
    df = _table()
    strip = trigger_rate_strip(df, target="t")
    assert isinstance(strip, Figure)
    left, right = strip.axes[:2]
    assert [t.get_text() for t in left.get_yticklabels()] == ["q1", "q\\$2"]
    assert len(right.get_yticklabels()) == 2
    offsets = left.collections[0].get_offsets()  # the base variant's dots: rates 1.0 and 0.0
    assert sorted(float(x) for x, _ in offsets) == [0.0, 1.0]
    pr = precision_recall(routing_metrics(df))
    assert len(pr.axes[0].containers) == 2  # one error-bar point per variant
    paths = save_routing_charts(routing_charts(df, routing_metrics(df)), tmp_path)
    assert [p.name for p in paths] == ["routing_trigger_rates.png",
                                       "routing_precision_recall.png"]
    assert all(p.stat().st_size > 5000 for p in paths)


def test_empty_inputs_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="empty"):
        trigger_rate_strip(pd.DataFrame())
    with pytest.raises(ConfigError, match=r"RoutingRun\.summary"):
        precision_recall(pd.DataFrame({"x": [1]}))
