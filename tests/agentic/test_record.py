"""Trial records: JSON round trip, trial columns, and the trial graders on known records."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from agentlab.agentic._check import CheckResult
from agentlab.agentic._record import MypyRun, TrialRecord, with_trial_columns
from agentlab.agentic._session import Step, ToolCall, Usage
from agentlab.agentic._workspace import FileChange, WorkspaceDiff
from agentlab.errors import ConfigError
from agentlab.runs._results import results_dataframe
from agentlab.runs._store import CellResult, Store
from agentlab.scoring import make_grader, score_dataframe
from agentlab.scoring._registry import GradeContext
from agentlab.scoring.metrics import get_metric


def _record(**over: object) -> TrialRecord:
    calls = (ToolCall("t1", "Read", "app.py", {"file_path": "app.py"}, "ok", "1\tx = 1"),
             ToolCall("t2", "Edit", "app.py", {"file_path": "app.py"}, "ok"),
             ToolCall("t3", "Bash", "python -m mypy app.py", {"command": "python -m mypy app.py"},
                      "error", "app.py:1: error"),
             ToolCall("t4", "Bash", "python -m unittest -q", {"command": "python -m unittest -q"},
                      "ok", "OK"),
             ToolCall("t5", "Write", "/etc/x", {"file_path": "/etc/x"}, "denied"))
    base = TrialRecord(
        mode="as_main", sandbox=True, cli_version="2.1.332", workspace_hash="abc",
        check="python -m unittest -q",
        check_before=CheckResult(1, "FAILED", 0.2), check_after=CheckResult(0, "OK", 0.3),
        diff=WorkspaceDiff("--- a/app.py\n+++ b/app.py\n", (
            FileChange("app.py", "modified", 3, 2), FileChange("tests/t.py", "modified", 1, 0))),
        outside_scope=("tests/t.py",), calls=calls,
        steps=(Step("text", text="Looking"), Step("tool", call=0)), subtype="success",
        num_turns=5, duration_s=4.5, cli_cost_usd=0.07,
        model_usage={"claude-sonnet-5-5": Usage(10, 200, 3000, 9000)},
        mypy=MypyRun(("app.py",), CheckResult(0, "Success", 1.0)), any_added=1)
    return TrialRecord(**{**base.__dict__, **over})


def _grade(spec: dict[str, object], rec: TrialRecord) -> tuple[float, str]:
    g = make_grader(spec)
    assert g.reads == "trial"
    result = g(rec.to_json(), GradeContext())
    return result.score, result.reason


def test_json_round_trip_keeps_everything() -> None:
    rec = _record()
    again = TrialRecord.from_json(rec.to_json())
    assert again == rec
    assert again.diff_lines == 6
    assert json.loads(rec.to_json())["v"] == 1


def test_graders_read_the_record() -> None:
    rec = _record()
    assert _grade({"type": "check_passes"}, rec) == (1.0, "check exit 0 (before the agent: "
                                                          "exit 1)")
    assert _grade({"type": "diff_lines", "max_lines": 3}, rec)[0] == pytest.approx(0.5)
    assert _grade({"type": "diff_lines", "max_lines": 6}, rec)[0] == 1.0
    assert _grade({"type": "files_outside_scope"}, rec)[0] == 0.0
    assert _grade({"type": "files_outside_scope", "max_files": 1}, rec)[0] == 1.0
    assert _grade({"type": "tool_used", "tool": "Bash", "pattern": "unittest"}, rec)[0] == 1.0
    assert _grade({"type": "tool_used", "tool": "Write"}, rec)[0] == 0.0  # denied: never ran
    assert _grade({"type": "tool_used", "tool": "Bash", "pattern": "pytest"}, rec)[0] == 0.0
    assert _grade({"type": "tool_order", "tools": ["Read", "Edit", "Bash:mypy"]}, rec)[0] == 1.0
    score, why = _grade({"type": "tool_order", "tools": ["Edit", "Read", "Bash"]}, rec)
    assert score == pytest.approx(1 / 3) and "missing from 'Read'" in why
    assert _grade({"type": "mypy_clean"}, rec)[0] == 1.0
    assert _grade({"type": "mypy_clean"}, _record(mypy=None))[0] == 0.0
    assert _grade({"type": "no_new_any"}, rec) == (0.0, "1 new uses of Any")
    failed = _record(check_after=CheckResult(-9, "", 120.0, timed_out=True))
    assert _grade({"type": "check_passes"}, failed) == (0.0, "check timed out (before the "
                                                             "agent: exit 1)")


def test_bad_trial_grader_specs_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="pattern"):
        make_grader({"type": "tool_used", "tool": "Bash", "pattern": "("})
    with pytest.raises(ConfigError, match="tools"):
        make_grader({"type": "tool_order", "tools": []})
    with pytest.raises(ConfigError, match="'tool'"):
        make_grader({"type": "tool_used"})


def _cells(rec: TrialRecord) -> list[CellResult]:
    trial = CellResult("v", "h", "t1", 0, "k1", "claude-sonnet-5-5", "claude-code",
                       text="Done.", input_tokens=10, output_tokens=200,
                       cache_write_tokens=3000, cache_read_tokens=9000, trial=rec.to_json())
    chat = CellResult("v", "h", "t2", 0, "k2", "claude-sonnet-5-5", "anthropic", text="Hi")
    return [trial, chat]


def test_trial_columns_in_the_results_table_and_graders_skip_chat_rows() -> None:
    df = results_dataframe("run-1", _cells(_record()))
    row = df.iloc[0]
    assert bool(row["check_passed"]) and not bool(row["check_passed_before"])
    assert (row["diff_lines"], row["files_changed"], row["files_outside_scope"],
            row["turns"], row["tool_calls"]) == (6, 2, 1, 5, 5)
    assert df["check_passed"].isna().tolist() == [False, True]  # the chat row has no trial
    assert get_metric("diff_lines").direction == "lower"
    assert get_metric("check_passed").direction == "higher"
    scored = score_dataframe(df, tasks={"t1": [{"type": "check_passes"}],
                                        "t2": [{"type": "check_passes"}]})
    assert scored["score_check_passes"].iloc[0] == 1.0
    assert math.isnan(scored["score_check_passes"].iloc[1])
    assert scored["passed"].isna().tolist() == [False, True]


def test_cost_is_priced_per_model_from_the_record() -> None:
    rec = _record(model_usage={"claude-sonnet-5-5": Usage(0, 1_000_000, 0, 0),
                               "claude-haiku-5-5": Usage(0, 1_000_000, 0, 0)})
    assert results_dataframe("r", _cells(rec)[:1])["cost_usd"].iloc[0] == pytest.approx(
        15.0 + 5.0)  # sonnet's and haiku's output, each at its own price
    plain = results_dataframe("r", _cells(rec)[1:])
    assert "diff_lines" not in plain.columns  # chat-only tables keep their columns
    assert with_trial_columns(plain, [""])["diff_lines"].isna().all()


def test_the_store_keeps_the_record_on_the_cell(tmp_path: Path) -> None:
    rec = _record()
    with Store(tmp_path / "r.sqlite") as store:
        store.begin_run("run-1", None, {}, [], [])
        store.put("run-1", _cells(rec)[0])
        back = store.results("run-1")[0]
        assert TrialRecord.from_json(back.trial) == rec
        assert store.cached(["k1"])["k1"].trial == back.trial
