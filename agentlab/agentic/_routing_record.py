"""What a routing trial decided, and how that is stored.

:func:`classify` reads a finished (or stopped) Claude Code session: the decision is the main
agent's first ``Agent``/``Task`` call and its ``subagent_type`` (``general-purpose`` when it
names none, as Claude Code defaults), or ``none`` when the session ended, or hit its tool-call
limit, without one. Tool calls before the decision (``Read``, ``Glob``...) are counted, not
taken as "not triggered".

Decisions live in the ``routing_decisions`` table of the results store (migration
``_m003_routing_decisions``), one row per (run, variant, query, repeat), with the head of the
transcript; a row without an error is also the cache entry for its key.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from agentlab.agentic._evalset import NO_AGENT

if TYPE_CHECKING:
    from agentlab.agentic._harness import SessionResult, ToolCall
    from agentlab.runs._store import Store

AGENT_TOOLS = frozenset({"Agent", "Task"})
"""The tools that start a subagent (``Task`` in older Claude Code versions)."""
DEFAULT_SUBAGENT = "general-purpose"
"""What Claude Code starts when an ``Agent`` call names no ``subagent_type``."""
HEAD_CHARS = 4000
"""Longest transcript head stored per decision (JSON characters)."""

Reason = Literal["delegated", "answered", "tool_limit"]


@dataclass(frozen=True)
class Decision:
    """A trial's routing decision.

    Attributes:
        decision: The subagent chosen, or ``none``.
        reason: ``delegated`` (an Agent call), ``answered`` (the first assistant turn ended
            without one) or ``tool_limit`` (the tool-call limit came first).
        tools_before: The main agent's tool calls before the decision.
    """

    decision: str
    reason: Reason
    tools_before: int


def is_delegation(call: ToolCall) -> bool:
    """Whether a tool call is the main agent starting a subagent (the trial stops there)."""
    return call.name in AGENT_TOOLS and call.parent is None


def classify(result: SessionResult) -> Decision:
    """The routing decision a session made (see the module docstring)."""
    main = [c for c in result.calls if c.parent is None]
    for n, call in enumerate(main):
        if call.name in AGENT_TOOLS:
            kind = call.input.get("subagent_type")
            label = kind.strip() if isinstance(kind, str) and kind.strip() else DEFAULT_SUBAGENT
            return Decision(label, "delegated", n)
    ran = sum(1 for c in main if c.status != "stopped")  # the call the limit stopped never ran
    if result.stop_reason == "stopped":
        return Decision(NO_AGENT, "tool_limit", ran)
    return Decision(NO_AGENT, "answered", ran)


def transcript_head(result: SessionResult, limit: int = HEAD_CHARS) -> str:
    """The main agent's steps up to the decision, as JSON of at most ``limit`` characters."""
    items: list[dict[str, Any]] = []
    size = 2
    for step in result.steps:
        if step.parent is not None:
            continue
        if step.kind == "text":
            item: dict[str, Any] = {"text": step.text[:500]}
        else:
            call = result.calls[step.call]
            item = {"tool": call.name, "input": call.summary, "status": call.status}
            if call.output and call.status != "stopped":  # not the harness's own deny text
                item["output"] = call.output[:300]
        size += len(json.dumps(item, ensure_ascii=False)) + 1
        if size > limit:
            items.append({"truncated": True})
            break
        items.append(item)
        if step.kind == "tool" and is_delegation(result.calls[step.call]):
            break
    return json.dumps(items, ensure_ascii=False)


@dataclass(frozen=True)
class DecisionRecord:
    """One stored routing trial (a row of ``routing_decisions``)."""

    variant: str
    variant_hash: str
    task_id: str
    repeat: int
    cache_key: str
    decision: str = NO_AGENT
    reason: str = "answered"
    tools_before: int = 0
    transcript_head: str = "[]"
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    cost_usd: float | None = None
    latency_s: float = 0.0
    num_turns: int = 0
    cli_version: str = ""
    error: str | None = None
    error_kind: str | None = None
    cached: bool = False

    @property
    def ok(self) -> bool:
        """Whether the trial reached a decision."""
        return self.error is None


_COLUMNS = [f.name for f in fields(DecisionRecord)]
_INSERT = (f"INSERT OR REPLACE INTO routing_decisions (run_id, {', '.join(_COLUMNS)}, created) "
           f"VALUES (?, {', '.join('?' for _ in _COLUMNS)}, ?)")


def record_from(base: DecisionRecord, result: SessionResult) -> DecisionRecord:
    """Fill ``base`` (identity fields) from a session's outcome.

    A session that delegated keeps its decision even if the CLI reported an error after the
    stop; one that did not and failed (API error, crash, timeout) is an error row, which the
    statistics leave out and a resumed run tries again.
    """
    decision = classify(result)
    error, kind = result.error, result.error_kind
    if decision.reason == "delegated":
        error = kind = None
    elif result.stop_reason == "timeout" and error is None:
        error, kind = "the session timed out before a decision", "timeout"
    u = result.usage
    return DecisionRecord(
        **{f: getattr(base, f) for f in ("variant", "variant_hash", "task_id", "repeat",
                                          "cache_key")},
        decision=decision.decision, reason=decision.reason, tools_before=decision.tools_before,
        transcript_head=transcript_head(result), model=result.model,
        input_tokens=u.input_tokens, output_tokens=u.output_tokens,
        cache_write_tokens=u.cache_write_tokens, cache_read_tokens=u.cache_read_tokens,
        cost_usd=result.cost_usd, latency_s=result.duration_s, num_turns=result.num_turns,
        cli_version=result.cli_version, error=error, error_kind=kind)


def _row(row: Sequence[Any]) -> DecisionRecord:
    values: dict[str, Any] = dict(zip(_COLUMNS, row, strict=True))
    values["cached"] = bool(values["cached"])
    return DecisionRecord(**values)


def put_decisions(store: Store, run_id: str, records: Iterable[DecisionRecord]) -> None:
    """Store (or replace) decisions in one transaction, committed at once."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    rows = [(run_id, *(getattr(r, c) for c in _COLUMNS), now) for r in records]
    with store.transaction() as db:
        db.executemany(_INSERT, rows)


def stored_decisions(store: Store, run_id: str) -> list[DecisionRecord]:
    """Every stored decision of a run."""
    return [_row(r) for r in store.query(
        f"SELECT {', '.join(_COLUMNS)} FROM routing_decisions WHERE run_id = ?", (run_id,))]


def cached_decisions(store: Store, keys: Iterable[str]) -> Mapping[str, DecisionRecord]:
    """Decisions without error for any of ``keys``, from any run (the newest wins)."""
    found: dict[str, DecisionRecord] = {}
    key_list = list(dict.fromkeys(keys))
    for start in range(0, len(key_list), 500):
        chunk = key_list[start : start + 500]
        rows = store.query(
            f"SELECT {', '.join(_COLUMNS)} FROM routing_decisions WHERE error IS NULL AND "
            f"cache_key IN ({', '.join('?' for _ in chunk)}) ORDER BY created", chunk)
        for row in rows:
            record = _row(row)
            found[record.cache_key] = record
    return found
