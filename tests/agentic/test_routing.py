"""Routing trials through the real Claude Code CLI against the loopback fake.

The fake scripts the main agent's decision per query; the test checks each outcome is
classified correctly, that the chosen subagent never runs (requests are counted), that the
measures match hand counts, and that decisions are cached and resumable.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from agentlab.agentic._evalset import EvalSet, load_evalset
from agentlab.agentic._harness import Connection
from agentlab.agentic._routing_run import open_routing, routing
from agentlab.agents import load_agent, load_agents
from agentlab.errors import ConfigError, EvalSetError, StoreError
from agentlab.runs import open_run
from agentlab.testing._server import FakeAnthropic
from agentlab.testing._stream import call, opening_text, say

pytest.importorskip("claude_agent_sdk")
pytestmark = pytest.mark.agent

ROOT = Path(__file__).resolve().parents[2]
SEED = load_agent(ROOT / "data" / "agents" / "python-pro-backend.md")
ROSTER = load_agents(ROOT / "data" / "agents" / "roster")
KEY = "sk-ant-test-routing-0123456789"


def _delegate(to: str) -> object:
    return call("Agent", description="hand off", prompt="Please do the task.", subagent_type=to)


def _evalset(tmp_path: Path) -> EvalSet:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "main.py").write_text("print('orders')\n")
    file = tmp_path / "set.yaml"
    file.write_text(
        "agent: python-pro-backend\nqueries:\n"
        "- {id: delegate, query: 'Add a FastAPI orders endpoint', expect: python-pro-backend}\n"
        "- {id: direct, query: 'What is a Python tuple?', expect: none}\n"
        "- {id: read-first, query: 'Fix the bug in main.py', expect: python-pro-backend,"
        " files: ws}\n"
        "- {id: other, query: 'Build a React table', expect: frontend-developer}\n"
        "- {id: wanders, query: 'Tidy up this repository', should_trigger: true}\n")
    return load_evalset(file)


def _script(fake: FakeAnthropic) -> None:
    fake.script(_delegate("python-pro-backend"), say("done"), match="Add a FastAPI orders")
    fake.script(say("A tuple is an immutable sequence."), match="What is a Python tuple?")
    fake.script(call("Read", file_path="main.py"), _delegate("python-pro-backend"),
                say("done"), match="Fix the bug in main.py")
    fake.script(_delegate("frontend-developer"), say("done"), match="Build a React table")
    fake.script(*[call("Read", file_path=f"notes-{n}.txt") for n in range(4)],
                match="Tidy up this repository")


def _requests_per_query(fake: FakeAnthropic, evalset: EvalSet) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for body in fake.bodies():
        text = opening_text(body)
        for q in evalset.queries:
            if q.query in text:
                counts[q.id] += 1
    return dict(counts)


def test_each_outcome_is_classified_and_no_subagent_runs(tmp_path: Path) -> None:
    evalset = _evalset(tmp_path)
    with FakeAnthropic() as fake:
        _script(fake)
        run = routing([SEED], evalset, roster=ROSTER, repeats=1, max_tool_calls=2,
                      connection=Connection(KEY, fake.base_url), db=tmp_path / "r.sqlite",
                      progress=False, concurrency=3)
        bodies = fake.bodies()
        requests = _requests_per_query(fake, evalset)
    df = run.df.set_index("task_id")
    assert dict(df["decision"]) == {"delegate": "python-pro-backend", "direct": "none",
                                    "read-first": "python-pro-backend",
                                    "other": "frontend-developer", "wanders": "none"}
    assert dict(df["reason"]) == {"delegate": "delegated", "direct": "answered",
                                  "read-first": "delegated", "other": "delegated",
                                  "wanders": "tool_limit"}
    assert dict(df["tools_before"]) == {"delegate": 0, "direct": 0, "read-first": 1,
                                        "other": 0, "wanders": 2}
    # One request per assistant turn, none after the decision: the subagent never ran.
    assert requests == {"delegate": 1, "direct": 1, "read-first": 2, "other": 1, "wanders": 3}
    assert len(bodies) == sum(requests.values())
    assert not any(SEED.body[:200] in json.dumps(b.get("system")) for b in bodies)
    # The roster and the variant were installed: their descriptions reach the main agent.
    first = json.dumps(bodies[0])
    assert all(a.description[:60] in first for a in ROSTER)
    assert "python-pro-backend" in first
    # The Read ran inside the copied workspace and is in the transcript head.
    head = json.loads(df.loc["read-first", "transcript_head"])
    assert head[0]["tool"] == "Read" and "orders" in head[0]["output"]
    assert head[-1] == {"tool": "Agent", "input": "python-pro-backend", "status": "stopped"}
    assert KEY not in json.dumps(run.df.to_dict()) and KEY not in (tmp_path / "r.sqlite"
                                                                   ).read_bytes().decode("latin1")
    # Hand counts: positives are delegate, read-first, wanders (2 triggered, 1 missed);
    # no false trigger; 4 of 5 decisions right (wanders is wrong).
    m = run.summary.loc["python-pro-backend"]
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (2, 0, 1, 2)
    assert (m["precision"], m["recall"], m["accuracy"]) == pytest.approx((1.0, 2 / 3, 4 / 5))
    assert m["f1"] == pytest.approx(2 * 2 / (2 * 2 + 0 + 1))
    confusion = run.confusion()
    assert confusion.loc["frontend-developer", "frontend-developer"] == 1
    assert confusion.loc["python-pro-backend", "none"] == 1  # "wanders" (should_trigger form)


def test_decisions_are_cached_resumed_and_reopened(tmp_path: Path) -> None:
    evalset = _evalset(tmp_path).select(ids=["delegate", "direct"])
    db = tmp_path / "r.sqlite"
    flat = SEED.with_description("Python backend work.", name="python-pro-backend-flat")
    twin = SEED.renamed("python-pro-backend-copy")  # same installed agent: sent once
    with FakeAnthropic() as fake:
        _script(fake)
        conn = Connection(KEY, fake.base_url)
        first = routing([SEED, flat, twin], evalset, roster=ROSTER[:1], repeats=1,
                        connection=conn, db=db, progress=False)
        sent = fake.request_count
        again = routing([SEED, flat, twin], evalset, roster=ROSTER[:1], repeats=1,
                        connection=conn, db=db, progress=False)
        assert fake.request_count == sent  # nothing new was sent
    assert first.sessions == 4 and again.sessions == 0  # 3 variants x 2 queries, twin copied
    assert len(first.records) == len(again.records) == 6
    assert sum(r.cached for r in first.records) == 2  # the twin's trials were copied
    assert first.id == again.id and again.status == "complete"
    assert [r.decision for r in again.records] == [r.decision for r in first.records]
    with pytest.raises(StoreError, match="is a routing run"):
        open_run(first.id, db)
    reopened = open_routing(first.id, db)
    assert reopened.df[["variant", "task_id", "repeat", "decision"]].equals(
        first.df[["variant", "task_id", "repeat", "decision"]])
    comparison = first.compare("python-pro-backend-flat")
    assert comparison.verdict == "insufficient data"  # two queries cannot show a difference


def test_bad_input_fails_before_any_session(tmp_path: Path) -> None:
    evalset = _evalset(tmp_path)
    with FakeAnthropic() as fake:
        conn = Connection(KEY, fake.base_url)
        with pytest.raises(EvalSetError, match="query 'other', field 'expect'"):
            routing([SEED], evalset, roster=[], connection=conn, db=tmp_path / "r.sqlite")
        with pytest.raises(ConfigError, match="target's name"):
            routing([SEED], evalset, roster=[*ROSTER, SEED.renamed("python-pro-backend")],
                    connection=conn, db=tmp_path / "r.sqlite")
        with pytest.raises(ConfigError, match="repeats"):
            routing([SEED], evalset, roster=ROSTER, repeats=0, connection=conn,
                    db=tmp_path / "r.sqlite")
        assert fake.request_count == 0


# One query of each kind in the shipped set: a Claude Code session takes about 1.5 s of CPU,
# so the suite runs these 10 (about 15 s); AGENTLAB_ROUTING_FULL=1 runs all 27.
SAMPLE_SUBSET = ("orders-filter-endpoint", "missing-status-500", "session-leak",
                 "react-orders-table", "express-prisma-route", "notebook-sales-trend",
                 "fastapi-dockerfile", "review-last-commit", "unhashable-list-error",
                 "list-vs-tuple")


def test_the_sample_eval_set_runs_on_the_fake(tmp_path: Path) -> None:
    """The shipped eval set and roster on the fake, playing a router that is right except on
    two queries (a DevOps near-miss taken, a backend query missed): the measures are known."""
    evalset = load_evalset(ROOT / "data" / "routing" / "python-pro-backend.yaml")
    if not os.environ.get("AGENTLAB_ROUTING_FULL"):
        evalset = evalset.select(ids=SAMPLE_SUBSET)
    wrong = {"fastapi-dockerfile": "python-pro-backend", "session-leak": "none"}
    with FakeAnthropic() as fake:
        for q in evalset.queries:
            pick = wrong.get(q.id, q.expect)
            fake.script(say("Answering directly.") if pick == "none" else _delegate(str(pick)),
                        say("done"), match=q.query)
        run = routing([SEED], evalset, roster=ROSTER, repeats=1, concurrency=4,
                      connection=Connection(KEY, fake.base_url), db=tmp_path / "r.sqlite",
                      progress=False)
        assert fake.request_count == len(evalset)  # one turn each: no subagent ran
    m = run.summary.loc["python-pro-backend"]
    positives = sum(q.expect == "python-pro-backend" for q in evalset.queries)
    assert (m["tp"], m["fp"], m["fn"]) == (positives - 1, 1, 1)
    assert m["precision"] == pytest.approx((positives - 1) / positives)
    assert m["recall"] == pytest.approx((positives - 1) / positives)
    assert m["accuracy"] == pytest.approx((len(evalset) - 2) / len(evalset))
    assert run.errors == 0 and run.status == "complete"
    decided = run.df.set_index("task_id")["decision"]
    assert decided["fastapi-dockerfile"] == "python-pro-backend"
    assert decided["react-orders-table"] == "frontend-developer"
