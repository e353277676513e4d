"""What a trial records, how it is stored (JSON on its cell), and the columns it adds.

A :class:`TrialRecord` is everything a trial measured besides what every cell has (final
text, tokens, duration, stop reason): the check's result before and after the agent, the
workspace diff, files outside the task's scope, every tool call and the transcript, the
``mypy`` run on changed files, and ``Any`` counts before and after. It is stored as JSON in
the cell's ``trial`` field (:class:`agentlab.runs.CellResult`), so the cache, resume and
reopened runs carry it like any other cell.

:func:`with_trial_columns` expands it into the results table; :data:`TRIAL_METRICS` says
what those columns mean (direction, bounds, unit), once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from agentlab.agentic._check import CheckResult
from agentlab.agentic._harness import Step, ToolCall, Usage
from agentlab.agentic._workspace import FileChange, WorkspaceDiff
from agentlab.providers.models import ModelTable
from agentlab.scoring.metrics import Metric, register_metric

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RECORD_VERSION", "TRIAL_COLUMNS", "TRIAL_METRICS", "MypyRun", "TrialRecord",
           "trial_cost", "trial_summary", "with_trial_columns"]

RECORD_VERSION = 1

_COUNT = (0.0, None)
TRIAL_METRICS: tuple[Metric, ...] = (
    Metric("check_passed", "check pass rate", "higher", (0.0, 1.0), "0–1"),
    Metric("check_passed_before", "check pass rate before", None, (0.0, 1.0), "0–1"),
    Metric("diff_lines", "lines changed", "lower", _COUNT, "lines"),
    Metric("lines_added", "lines added", None, _COUNT, "lines"),
    Metric("lines_removed", "lines removed", None, _COUNT, "lines"),
    Metric("files_changed", "files changed", None, _COUNT, "files"),
    Metric("files_outside_scope", "files outside scope", "lower", _COUNT, "files"),
    Metric("turns", "turns", None, _COUNT, "turns"),
    Metric("tool_calls", "tool calls", None, _COUNT, "calls"),
    Metric("cli_cost_usd", "cost (Claude Code's estimate)", "lower", _COUNT, "USD"),
)
"""The trial columns of a results table, with their meaning."""
for _metric in TRIAL_METRICS:
    register_metric(_metric)

TRIAL_COLUMNS = [m.name for m in TRIAL_METRICS] + ["trial"]
"""Columns :func:`with_trial_columns` adds (``trial`` is the record's JSON, for graders)."""


@dataclass(frozen=True)
class MypyRun:
    """``mypy`` on the files a trial changed, in the check sandbox.

    Attributes:
        files: The changed ``.py`` files checked (the workspace's own mypy config applies).
        result: The run's outcome; ``None`` when mypy is not installed.
    """

    files: tuple[str, ...]
    result: CheckResult | None


@dataclass(frozen=True)
class TrialRecord:
    """What one trial measured (see the module docstring).

    Attributes:
        mode: ``as_main`` or ``as_subagent``.
        sandbox: Whether the sandboxes were on.
        cli_version: The Claude Code version that ran.
        workspace_hash: Content hash of the task's workspace before the trial.
        check: The check command (``None`` when the task has none).
        check_before: Its result on the untouched workspace.
        check_after: Its result after the agent stopped.
        diff: The workspace diff against the original.
        outside_scope: Changed files the task did not mention.
        artifacts: Sandbox placeholders removed before diffing.
        calls: Every tool call, in order.
        steps: The transcript.
        subtype: The SDK result's subtype (``success``, ``error_max_turns``...).
        num_turns: Turns as Claude Code counts them.
        duration_s: Seconds the session took.
        cli_cost_usd: Claude Code's own cost estimate.
        model_usage: Tokens per model.
        mypy: ``mypy`` on the changed files, when the task asked for it (``mypy_clean``).
        any_added: New uses of ``Any`` in the changed files (after minus before, per file).
    """

    mode: str
    sandbox: bool
    cli_version: str
    workspace_hash: str
    check: str | None = None
    check_before: CheckResult | None = None
    check_after: CheckResult | None = None
    diff: WorkspaceDiff = field(default_factory=lambda: WorkspaceDiff("", ()))
    outside_scope: tuple[str, ...] = ()
    artifacts: tuple[str, ...] = ()
    calls: tuple[ToolCall, ...] = ()
    steps: tuple[Step, ...] = ()
    subtype: str = ""
    num_turns: int = 0
    duration_s: float = 0.0
    cli_cost_usd: float | None = None
    model_usage: Mapping[str, Usage] = field(default_factory=dict)
    mypy: MypyRun | None = None
    any_added: int = 0

    @property
    def diff_lines(self) -> int:
        """Lines added plus lines removed."""
        return self.diff.lines_added + self.diff.lines_removed

    def to_json(self) -> str:
        """The record as JSON (what the store keeps)."""
        return json.dumps({"v": RECORD_VERSION, **asdict(self)}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> TrialRecord:
        """Read a record written by :meth:`to_json`."""
        data: dict[str, Any] = json.loads(text)
        data.pop("v", None)

        def check(value: Any) -> CheckResult | None:
            return CheckResult(**value) if value else None

        diff = data.get("diff") or {"text": "", "files": []}
        mypy = data.get("mypy")
        return cls(
            **{k: data[k] for k in ("mode", "sandbox", "cli_version", "workspace_hash",
                                    "check", "subtype", "num_turns", "duration_s",
                                    "cli_cost_usd", "any_added") if k in data},
            check_before=check(data.get("check_before")),
            check_after=check(data.get("check_after")),
            diff=WorkspaceDiff(diff["text"], tuple(FileChange(**f) for f in diff["files"])),
            outside_scope=tuple(data.get("outside_scope", ())),
            artifacts=tuple(data.get("artifacts", ())),
            calls=tuple(ToolCall(**c) for c in data.get("calls", ())),
            steps=tuple(Step(**s) for s in data.get("steps", ())),
            model_usage={m: Usage(**u) for m, u in (data.get("model_usage") or {}).items()},
            mypy=MypyRun(tuple(mypy["files"]), check(mypy["result"])) if mypy else None,
        )


def _row(text: str) -> dict[str, Any]:
    if not text:
        return {m.name: None for m in TRIAL_METRICS}
    rec = TrialRecord.from_json(text)
    after, before = rec.check_after, rec.check_before
    return {
        "check_passed": None if after is None else after.passed,
        "check_passed_before": None if before is None else before.passed,
        "diff_lines": rec.diff_lines, "lines_added": rec.diff.lines_added,
        "lines_removed": rec.diff.lines_removed, "files_changed": len(rec.diff.files),
        "files_outside_scope": len(rec.outside_scope), "turns": rec.num_turns,
        "tool_calls": len(rec.calls), "cli_cost_usd": rec.cli_cost_usd,
    }


def trial_cost(record: TrialRecord, table: ModelTable) -> float | None:
    """A trial's cost by the price table, per model (a subagent may use another model).

    Returns ``None`` when a model's price is unknown.
    """
    costs = [table.cost(m, u.input_tokens, u.output_tokens, u.cache_write_tokens,
                        u.cache_read_tokens) for m, u in record.model_usage.items()]
    if not costs or any(c is None for c in costs):
        return None
    return sum(c for c in costs if c is not None)


def with_trial_columns(df: pd.DataFrame, records: Sequence[str],
                       table: ModelTable | None = None) -> pd.DataFrame:
    """Add the trial columns (:data:`TRIAL_COLUMNS`) to a results table.

    A trial row's ``cost_usd`` is recomputed per model from its record (the cell's own
    tokens are priced as the main model's, but a subagent may run on another).

    Args:
        df: One row per cell, in the order of ``records``.
        records: Each cell's trial record JSON (``""`` for a chat cell: its trial columns
            are empty).
        table: Prices for ``cost_usd``.

    Returns:
        A copy of ``df`` with the columns added.
    """
    import pandas as pd

    table = table or ModelTable()
    extra = pd.DataFrame([_row(r) for r in records], index=df.index)
    extra["check_passed"] = extra["check_passed"].astype("boolean")
    extra["check_passed_before"] = extra["check_passed_before"].astype("boolean")
    out = pd.concat([df.drop(columns=[c for c in TRIAL_COLUMNS if c in df.columns]), extra],
                    axis=1)
    out["trial"] = list(records)
    if "cost_usd" in out.columns:
        costs = [trial_cost(TrialRecord.from_json(r), table) if r else None for r in records]
        out["cost_usd"] = [old if new is None else new
                           for old, new in zip(out["cost_usd"], costs, strict=True)]
    return out


def trial_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per variant: trials, errors, check pass rates, mean diff size, turns and cost.

    The means (diff lines, files outside scope, turns, tool calls) are over the trials that
    ran; ``cost_usd`` is the total.

    Args:
        df: Results of an agentic trial run (``Run.to_dataframe()``, scored or not).

    Returns:
        One row per variant, in order of appearance.
    """
    import pandas as pd

    from agentlab.runs._results import error_rows

    failed = error_rows(df)
    ok = df[~failed]
    by = ok.groupby("variant", sort=False)
    out = pd.DataFrame({
        "trials": df.groupby("variant", sort=False).size(),
        "errors": failed.groupby(df["variant"], sort=False).sum(),
        "check_pass_rate": by["check_passed"].apply(lambda s: s.dropna().astype(float).mean()),
        "pass_rate_before": by["check_passed_before"].apply(
            lambda s: s.dropna().astype(float).mean()),
        "diff_lines": by["diff_lines"].mean(),
        "outside_scope": by["files_outside_scope"].mean(),
        "turns": by["turns"].mean(),
        "tool_calls": by["tool_calls"].mean(),
        "cost_usd": df.groupby("variant", sort=False)["cost_usd"].sum(min_count=1),
    })
    return out.reindex(df["variant"].drop_duplicates())
