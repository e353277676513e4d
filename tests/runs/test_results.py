from __future__ import annotations

import dataclasses

import pandas as pd

from agentlab.runs import COLUMNS, CellResult, error_rows, results_dataframe
from agentlab.runs._results import LengthMetrics, length_metrics, run_summary
from agentlab.stats import summary


def _cell(variant: str, task: str, error: str | None = None, text: str = "ok") -> CellResult:
    return CellResult(variant=variant, variant_hash="h", task_id=task, repeat=0,
                      cache_key=f"{variant}{task}", model="m", provider="p", text=text,
                      error=error)


def test_columns_come_from_the_dataclasses() -> None:
    cell_fields = [f.name for f in dataclasses.fields(CellResult)]
    for name in cell_fields:
        if name not in ("cache_key", "tool_calls"):
            assert name in COLUMNS
    for f in dataclasses.fields(LengthMetrics):
        assert f.name in COLUMNS
    df = results_dataframe("r", [_cell("a", "t")])
    assert list(df.columns) == COLUMNS
    assert df.loc[0, "variant"] == "a" and df.loc[0, "words"] == 1


def test_error_rows_is_one_rule_none_nan_and_empty_are_not_errors() -> None:
    df = pd.DataFrame({"error": [None, float("nan"), "", "boom"], "variant": list("abcd")})
    assert error_rows(df).tolist() == [False, False, False, True]
    assert error_rows(pd.DataFrame({"variant": ["a"]})).tolist() == [False]


def test_run_summary_and_stats_summary_agree_on_errors() -> None:
    rows = [_cell("a", "t1"), _cell("a", "t2", error=""), _cell("b", "t1"),
            _cell("b", "t2", error="boom")]
    df = results_dataframe("r", rows)
    df["quality"] = [1.0, 0.5, 1.0, 0.0]
    assert run_summary(df)["errors"].to_dict() == {"a": 0, "b": 1}
    assert summary(df, metric="quality")["errors"].to_dict() == {"a": 0, "b": 1}


def test_length_metrics_use_the_one_fence_parser() -> None:
    text = "Intro\n```python\nx = 1\n\ny = 2\n```\n  ~~~\n  z\n  ~~~\n```\nunclosed\n"
    m = length_metrics(text)
    assert (m.code_blocks, m.code_lines) == (2, 3)
