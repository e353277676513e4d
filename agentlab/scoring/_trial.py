"""Graders of agentic trials: the outcome (the check, the diff) and the behaviour (tools).

They are registered with ``reads="trial"``: :func:`~agentlab.scoring.score_dataframe` gives
them a row's trial record (the ``trial`` column, JSON; see :mod:`agentlab.agentic._record`)
instead of the response text, and leaves them out (NaN) for chat rows. Everything they read
was measured while the trial's workspace existed, in the sandbox; grading runs nothing.

========================  ==========================================================
``check_passes``          the task's ``check:`` command exits 0 after the agent
``diff_lines``            ``max_lines`` or fewer lines changed (the seed's "minimal changes")
``files_outside_scope``   at most ``max_files`` changed files outside the task's scope
``tool_used``             a ``tool`` call ran whose input matches ``pattern`` (``Bash``, ``mypy``)
``tool_order``            ``tools`` ran in this order (``["Read", "Edit", "Bash:unittest"]``)
``mypy_clean``            mypy passed on the changed ``.py`` files (the workspace's config)
``no_new_any``            the changed files use ``Any`` no more than before
========================  ==========================================================
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from agentlab.scoring._registry import (
    Grade,
    GradeContext,
    Grader,
    grade,
    register_grader,
    spec_error,
)

if TYPE_CHECKING:
    from agentlab.agentic._harness import ToolCall
    from agentlab.agentic._record import TrialRecord

__all__ = ["check_passes", "diff_lines", "files_outside_scope", "mypy_clean", "no_new_any",
           "tool_order", "tool_used"]

_RAN = ("ok", "error")  # a call that was denied or stopped never ran


def _record(response: str) -> TrialRecord:
    from agentlab.agentic._record import TrialRecord

    return TrialRecord.from_json(response)


def _pattern(kind: str, pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise spec_error(kind, "pattern", f"invalid regular expression ({exc})") from None


def _matches(call: ToolCall, tool: str, pattern: re.Pattern[str] | None) -> bool:
    if call.name != tool or call.status not in _RAN:
        return False
    return pattern is None or bool(pattern.search(f"{call.summary}\n{call.input}"))


@register_grader("check_passes", label="check passes", reads="trial")
def check_passes() -> Grader:
    """1 when the task's check command exited 0 after the agent (within its time limit)."""

    def run(response: str, task: GradeContext) -> Grade:
        rec = _record(response)
        after, before = rec.check_after, rec.check_before
        if after is None:
            return grade(0.0, "the task has no check command; add check: to it")
        was = "" if before is None else f" (before the agent: exit {before.exit_code})"
        how = "timed out" if after.timed_out else f"exit {after.exit_code}"
        return grade(1.0 if after.passed else 0.0, f"check {how}{was}")

    return run


@register_grader("diff_lines", label="small diff", reads="trial")
def diff_lines(max_lines: int = 20) -> Grader:
    """1 when at most ``max_lines`` lines changed; ``max_lines / changed`` above that."""
    if max_lines < 1:
        raise spec_error("diff_lines", "max_lines", "must be at least 1")

    def run(response: str, task: GradeContext) -> Grade:
        rec = _record(response)
        n = rec.diff_lines
        score = 1.0 if n <= max_lines else max_lines / n
        return grade(score, f"{n} lines changed (+{rec.diff.lines_added} "
                            f"-{rec.diff.lines_removed}) in {len(rec.diff.files)} files, "
                            f"limit {max_lines}")

    return run


@register_grader("files_outside_scope", label="stays in scope", reads="trial")
def files_outside_scope(max_files: int = 0) -> Grader:
    """1 when at most ``max_files`` changed files lie outside the task's scope."""

    def run(response: str, task: GradeContext) -> Grade:
        outside = _record(response).outside_scope
        shown = ", ".join(outside[:5]) + (" ..." if len(outside) > 5 else "")
        reason = f"{len(outside)} files outside scope" + (f": {shown}" if outside else "")
        return grade(1.0 if len(outside) <= max_files else 0.0, reason)

    return run


@register_grader("tool_used", label="tool used", reads="trial")
def tool_used(tool: str, pattern: str | None = None) -> Grader:
    """1 when a ``tool`` call ran whose input (command, path...) matches ``pattern``."""
    regex = _pattern("tool_used", pattern)

    def run(response: str, task: GradeContext) -> Grade:
        calls = _record(response).calls
        hits = [c for c in calls if _matches(c, tool, regex)]
        what = tool + (f" matching {pattern!r}" if pattern else "")
        if hits:
            return grade(1.0, f"{what}: {len(hits)} calls, first: {hits[0].summary[:80]}")
        return grade(0.0, f"no {what} among {len(calls)} tool calls")

    return run


def _steps(tools: Sequence[str]) -> list[tuple[str, re.Pattern[str] | None]]:
    if not tools:
        raise spec_error("tool_order", "tools", "give at least one tool, e.g. [Read, Edit]")
    out = []
    for item in tools:
        name, _, pattern = item.partition(":")
        out.append((name.strip(), _pattern("tool_order", pattern) if pattern else None))
    return out


@register_grader("tool_order", label="tool order", reads="trial")
def tool_order(tools: list[str]) -> Grader:
    """The share of ``tools`` ("Name" or "Name:regex") that ran in this order."""
    wanted = _steps(tools)

    def run(response: str, task: GradeContext) -> Grade:
        calls = iter(_record(response).calls)
        done = 0
        for name, regex in wanted:
            if not any(_matches(c, name, regex) for c in calls):
                break
            done += 1
        missing = "" if done == len(wanted) else f"; missing from {tools[done]!r} on"
        return grade(done / len(wanted), f"{done} of {len(wanted)} in order{missing}")

    return run


@register_grader("mypy_clean", label="mypy clean", reads="trial")
def mypy_clean() -> Grader:
    """1 when mypy passed on the changed ``.py`` files (run in the sandbox during the trial)."""

    def run(response: str, task: GradeContext) -> Grade:
        run_ = _record(response).mypy
        if run_ is None:
            return grade(0.0, "mypy was not run for this trial")
        if not run_.files:
            return grade(1.0, "no Python file changed")
        if run_.result is None:
            return grade(0.0, "mypy is not installed where the trial ran")
        last = (run_.result.output.strip().splitlines() or [""])[-1][:160]
        return grade(1.0 if run_.result.passed else 0.0,
                     f"mypy on {len(run_.files)} files: {last}")

    return run


@register_grader("no_new_any", label="no new Any", reads="trial")
def no_new_any() -> Grader:
    """1 when the changed files use ``Any`` no more than before the agent."""

    def run(response: str, task: GradeContext) -> Grade:
        added = _record(response).any_added
        return grade(1.0 if added == 0 else 0.0, f"{added} new uses of Any")

    return run
