"""Decision classification and the transcript head, on hand-built session results."""

from __future__ import annotations

import json

from agentlab.agentic._harness import SessionResult, Step, ToolCall
from agentlab.agentic._routing_record import (
    DecisionRecord,
    classify,
    record_from,
    transcript_head,
)
from agentlab.testing._router import content_words, keyword_pick


def _result(calls: list[ToolCall], stop: str = "end_turn", **kw: object) -> SessionResult:
    steps = [Step("text", text="Let me look.")] + [Step("tool", call=i, parent=c.parent)
                                                   for i, c in enumerate(calls)]
    return SessionResult(calls=tuple(calls), steps=tuple(steps), stop_reason=stop, **kw)  # type: ignore[arg-type]


def _call(name: str, parent: str | None = None, status: str = "ok", **inp: object) -> ToolCall:
    return ToolCall(f"id-{name}-{len(inp)}", name, name, dict(inp), status, "out", parent)  # type: ignore[arg-type]


def test_first_agent_call_of_the_main_agent_decides() -> None:
    calls = [_call("Read", file_path="a.py"), _call("Grep", pattern="x"),
             _call("Agent", status="stopped", subagent_type="python-pro-backend"),
             _call("Agent", subagent_type="frontend")]
    d = classify(_result(calls, "stopped"))
    assert (d.decision, d.reason, d.tools_before) == ("python-pro-backend", "delegated", 2)
    # "Task" (older CLIs) counts too; no subagent_type means Claude Code's default agent
    d = classify(_result([_call("Task", status="stopped")], "stopped"))
    assert (d.decision, d.reason) == ("general-purpose", "delegated")


def test_subagent_calls_and_limits() -> None:
    inner = [_call("Agent", parent="toolu_1", subagent_type="x")]  # made by a subagent
    assert classify(_result(inner)).decision == "none"
    limited = [_call("Read"), _call("Read", n=1), _call("Read", status="stopped", n=2)]
    d = classify(_result(limited, "stopped"))
    assert (d.decision, d.reason, d.tools_before) == ("none", "tool_limit", 2)
    assert classify(_result([])).reason == "answered"


def test_records_keep_a_decision_and_mark_failures() -> None:
    base = DecisionRecord("v", "h", "q", 0, "key")
    delegated = _result([_call("Agent", status="stopped", subagent_type="a")], "stopped",
                        error="CLI exited 1", error_kind="cli")
    assert record_from(base, delegated).error is None  # the decision was known first
    timed_out = record_from(base, _result([], "timeout"))
    assert (timed_out.error_kind, timed_out.ok) == ("timeout", False)
    failed = record_from(base, _result([], error="API error 529: overloaded",
                                       error_kind="overloaded"))
    assert failed.error_kind == "overloaded" and not failed.ok


def test_transcript_head_stops_at_the_decision_and_is_bounded() -> None:
    calls = [_call("Read", file_path="a.py"),
             _call("Agent", status="stopped", subagent_type="a"), _call("Bash", command="ls")]
    head = json.loads(transcript_head(_result(calls, "stopped")))
    assert [h.get("tool") for h in head] == [None, "Read", "Agent"]
    assert "output" not in head[-1]  # the harness's own deny message is not kept
    many = [_call("Read", n=i, file_path="x" * 300) for i in range(40)]
    text = transcript_head(_result(many), limit=1000)
    assert len(text) <= 1000 and json.loads(text)[-1] == {"truncated": True}


def test_keyword_router_picks_by_shared_words() -> None:
    agents = {"backend": "FastAPI endpoints, PostgreSQL queries and Redis caching",
              "frontend": "React components, CSS layout and accessibility"}
    assert keyword_pick("Add a FastAPI endpoint with a PostgreSQL query", agents) == "backend"
    assert keyword_pick("Fix the CSS layout of this React page", agents) == "frontend"
    assert keyword_pick("What is a tuple?", agents) == "none"
    assert "the" not in content_words("the FastAPI app") and "fastapi" in content_words("FastAPI")
