from __future__ import annotations

import pandas as pd
import pytest

from agentlab.errors import ConfigError
from agentlab.stats import pick_baseline, summary


def test_the_variant_others_extend_is_the_baseline_whatever_the_order() -> None:
    assert pick_baseline(["base-concise", "base", "base-haiku"]) == "base"
    assert pick_baseline(["x", "y"]) == "x"
    with pytest.raises(ConfigError):
        pick_baseline([])


def test_summary_uses_the_same_rule_when_no_baseline_is_named() -> None:
    df = pd.DataFrame({"variant": ["base-b", "base-b", "base", "base"],
                       "task_id": ["t1", "t2", "t1", "t2"], "repeat": 0,
                       "quality": [0.4, 0.6, 0.5, 0.5]})
    table = summary(df, metric="quality")
    assert table.index[0] == "base"
    assert table.loc["base", "verdict"] == "baseline"
