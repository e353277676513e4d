"""Agentic trials end to end: the real bundled Claude Code CLI, scripted by the loopback fake.

Marked ``agent``: each trial starts the ~400 MB CLI under bubblewrap (a few seconds each).
Skipped, with the reason, when claude-agent-sdk's CLI or bubblewrap/socat is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import agentlab as al
from agentlab.agentic._harness import sandbox_problem
from agentlab.agentic._session import Connection
from agentlab.errors import BudgetExceededError, ConfigError
from agentlab.testing import FakeAnthropic, Fault
from agentlab.testing._stream import call, say


def _missing() -> str | None:
    try:
        from agentlab.agentic._harness import cli_path

        cli_path()
    except Exception as exc:  # no SDK or no bundled CLI
        return f"Claude Code CLI unavailable ({exc}); pip install -e '.[agent]'"
    return sandbox_problem()


_REASON = _missing()
pytestmark = [pytest.mark.agent, pytest.mark.skipif(_REASON is not None, reason=_REASON or "")]

ROOT = Path(__file__).parents[2]
KEY = "sk-ant-test-7f3a9c1e5b2d4e6f8a0b"  # distinctive, so a leak is easy to find
TASKS = {t.id: t for t in al.load_tasks(ROOT / "data" / "workspaces" / "tasks.yaml")}
PAGINATION = TASKS["ws-pagination-bug"]
BASE = al.load_agent(ROOT / "data" / "agents" / "python-pro-backend.md")
FIX = [call("Edit", file_path="pagination.py", old_string="c.id >= cursor",
            new_string="c.id > cursor"),
       call("Edit", file_path="pagination.py", old_string="len(rows) == limit - 1",
            new_string="len(rows) == limit")]


@pytest.fixture(scope="module")
def outside() -> Iterator[Path]:
    """A folder the agent can see (outside /tmp, which is private in the sandbox)."""
    # The checkout itself may be under /tmp (CI clones anywhere): then use /var/tmp.
    base = Path("/var/tmp") if ROOT.resolve().is_relative_to("/tmp") else ROOT / "out"
    base.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="agentic-probe-", dir=base))
    yield folder
    shutil.rmtree(folder)


@pytest.fixture(scope="module")
def fake(outside: Path) -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        server.script(  # as_subagent: the subagent's own conversation (its prompt below)
            *FIX, say("Both bugs fixed."), match="SUBAGENT-TASK")
        server.script(  # as_subagent: the main agent delegates
            call("Agent", subagent_type=BASE.name, description="Fix pagination",
                 prompt="SUBAGENT-TASK: fix the two bugs in pagination.py"),
            say("The subagent fixed it."), match="Delegate this task")
        server.script(  # as_main: read, probe the sandbox, edit, run the check, finish
            call("Read", file_path="pagination.py"),
            call("Bash", "Probing.", description="probe",
                 command=f"touch {outside}/from-bash; echo \"key=$ANTHROPIC_API_KEY\" > "
                         "env.txt; echo probed"),
            call("Write", file_path=str(outside / "from-write"), content="x"),
            *FIX,
            call("Bash", command="python -m unittest -q", description="run the tests"),
            say("Fixed both bugs; the tests pass."), match="docstring of pagination.py")
        server.script(  # a second task, for resume: run mypy, fix, finish
            call("Bash", command="python -m mypy", description="mypy"),
            call("Edit", file_path="inventory.py", old_string="stock.get(sku)",
                 new_string="stock.get(sku, 0)"),
            say("Fixed."), match="inventory.py")
        yield server


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("store") / "results.sqlite"


def _trial(fake: FakeAnthropic, db: Path, tasks: list[Any], **kw: Any) -> al.Run:
    return al.trial([BASE], tasks, db=db, connection=Connection(KEY, fake.base_url),
                    progress=False, **kw)


@pytest.fixture(scope="module")
def main_run(fake: FakeAnthropic, db: Path) -> tuple[al.Run, int]:
    before = fake.request_count
    run = _trial(fake, db, [PAGINATION])
    return run, fake.request_count - before


def test_trial_records_diff_tools_and_checks(main_run: tuple[al.Run, int],
                                             outside: Path) -> None:
    run, sent = main_run
    assert run.status == "complete" and run.errors == 0 and sent == 7
    (result,) = run.results
    rec = al.agentic.TrialRecord.from_json(result.trial)
    assert [(c.name, c.status) for c in rec.calls] == [
        ("Read", "ok"), ("Bash", "ok"), ("Write", "denied"), ("Edit", "ok"), ("Edit", "ok"),
        ("Bash", "ok")]
    assert rec.calls[5].summary == "python -m unittest -q" and "OK" in rec.calls[5].output
    assert "-        rows = [c for c in rows if c.id >= cursor]\n" in rec.diff.text
    assert "+    next_cursor = rows[-1].id if len(rows) == limit else None\n" in rec.diff.text
    assert [f.path for f in rec.diff.files] == ["env.txt", "pagination.py"]
    assert ".env" in rec.artifacts  # Claude Code's sandbox placeholders were dropped
    assert rec.check_before is not None and not rec.check_before.passed
    assert "FAILED" in rec.check_before.output
    assert rec.check_after is not None and rec.check_after.passed
    assert rec.outside_scope == ("env.txt",)
    df = run.to_dataframe()
    row = df.iloc[0]
    assert bool(row["check_passed"]) and not bool(row["check_passed_before"])
    assert (row["diff_lines"], row["files_changed"], row["tool_calls"]) == (5, 2, 6)
    assert row["turns"] >= 7 and row["text"] == "Fixed both bugs; the tests pass."
    scored = al.scoring.score_dataframe(df, tasks=[PAGINATION])
    assert scored["score_check_passes"].iloc[0] == 1.0
    assert scored["score_tool_order"].iloc[0] == 1.0
    assert scored["score_files_outside_scope"].iloc[0] == 0.0  # env.txt


def test_the_sandbox_blocks_writes_outside_the_workspace(main_run: tuple[al.Run, int],
                                                         outside: Path) -> None:
    rec = al.agentic.TrialRecord.from_json(main_run[0].results[0].trial)
    assert "Read-only file system" in rec.calls[1].output  # Bash, in Claude Code's sandbox
    assert "outside the workspace" in rec.calls[2].output  # Write, refused by the hook
    assert list(outside.iterdir()) == []


def test_the_key_never_lands_anywhere(main_run: tuple[al.Run, int], db: Path) -> None:
    run = main_run[0]
    rec = al.agentic.TrialRecord.from_json(run.results[0].trial)
    assert "+key=\n" in rec.diff.text  # the agent's commands do not see the key
    assert KEY not in run.results[0].trial and KEY not in run.results[0].text
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA wal_checkpoint(FULL)")
    stored = b"".join(p.read_bytes() for p in db.parent.iterdir() if p.is_file())
    assert KEY.encode() not in stored


def test_a_cached_rerun_sends_no_request(main_run: tuple[al.Run, int], fake: FakeAnthropic,
                                         db: Path) -> None:
    before = fake.request_count
    again = _trial(fake, db, [PAGINATION], run_id="run-again")
    assert fake.request_count == before and again.requests_sent == 0
    assert [r.cached for r in again.results] == [True]
    assert again.results[0].trial == main_run[0].results[0].trial


def test_validation_happens_before_any_request(fake: FakeAnthropic, db: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    before = fake.request_count
    with pytest.raises(BudgetExceededError, match="cost cap"):
        _trial(fake, db, [TASKS["ws-orders-filter"]], budget_usd=0.01)
    with pytest.raises(ConfigError, match="workspace"):
        _trial(fake, db, [al.Task(id="chat", prompt="hi")])
    with pytest.raises(ConfigError, match="as_main"):
        _trial(fake, db, [PAGINATION], mode="sideways")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        al.trial([BASE], [PAGINATION], db=db, progress=False)
    assert fake.request_count == before


def test_as_subagent_installs_the_variant_and_records_its_calls(fake: FakeAnthropic,
                                                                tmp_path: Path) -> None:
    run = _trial(fake, tmp_path / "r.sqlite", [PAGINATION], mode="as_subagent")
    rec = al.agentic.TrialRecord.from_json(run.results[0].trial)
    agent, *work = rec.calls
    assert (agent.name, agent.summary, agent.parent) == ("Agent", BASE.name, None)
    assert [(c.name, c.status, c.parent) for c in work] == [("Edit", "ok", agent.id)] * 2
    assert rec.check_after is not None and rec.check_after.passed
    assert rec.mode == "as_subagent" and rec.diff_lines == 4
    first = next(b for b in fake.bodies() if "SUBAGENT-TASK" in json.dumps(b["messages"][:1]))
    assert BASE.body[:200] in json.dumps(first["system"])  # the variant is the subagent


RESUME = """
import sys
from pathlib import Path
import agentlab as al
from agentlab.agentic._session import Connection
tasks = al.load_tasks(sys.argv[1])
al.trial([al.load_agent(sys.argv[2])], tasks, db=Path(sys.argv[3]), concurrency=1,
         connection=Connection(sys.argv[5], sys.argv[4]), progress=False)
"""
RESUME_TASKS = """
- id: resume-a
  prompt: Fix the bug described in the docstring of pagination.py.
  workspace: repo
  check: python -m unittest -q
- id: resume-b
  prompt: RESUME-B say hello.
  workspace: repo
  check: python -m unittest -q
"""


def _stored(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db, timeout=10) as con:
        return int(con.execute("SELECT count(*) FROM results").fetchone()[0])


def test_sigkill_mid_trial_resumes_without_rerunning_finished_trials(
        fake: FakeAnthropic, tmp_path: Path) -> None:
    db, folder = tmp_path / "r.sqlite", tmp_path / "tasks"
    assert PAGINATION.workspace is not None
    shutil.copytree(PAGINATION.workspace, folder / "repo")
    (folder / "tasks.yaml").write_text(RESUME_TASKS)
    fake.script(say("Hello."), match="RESUME-B")
    fake.add_rule("slow", marker="RESUME-B")  # the second trial hangs on its first turn
    args = [str(folder / "tasks.yaml"), str(ROOT / "data/agents/python-pro-backend.md"),
            str(db), fake.base_url, KEY]
    log = tmp_path / "child.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", RESUME, *args], start_new_session=True,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while _stored(db) < 1 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _stored(db) == 1, log.read_text()
        while fake.in_flight == 0:  # the second trial is under way: its first request is held
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    fake.clear_faults()
    with sqlite3.connect(db) as con:
        first = con.execute("SELECT trial FROM results").fetchone()[0]
    seen = len(fake.bodies())
    run = _trial(fake, db, al.load_tasks(folder / "tasks.yaml"), concurrency=1)
    new = fake.bodies()[seen:]
    assert run.status == "complete" and len(run.results) == 2 and run.requests_sent == 1
    assert new and all("RESUME-B" in json.dumps(b["messages"][:1]) for b in new)
    assert run.results[0].trial == first  # the finished trial was kept, not re-run
    assert [r.text for r in run.results] == ["Fixed both bugs; the tests pass.", "Hello."]


def test_a_plan_mode_variant_changes_nothing(fake: FakeAnthropic, tmp_path: Path) -> None:
    planner = BASE.with_fields(permissionMode="plan").renamed("python-pro-backend-planner")
    run = al.trial([planner], [PAGINATION], db=tmp_path / "r.sqlite",
                   connection=Connection(KEY, fake.base_url), progress=False)
    rec = al.agentic.TrialRecord.from_json(run.results[0].trial)
    assert [c.status for c in rec.calls if c.name in ("Edit", "Write", "Bash")] == [
        "denied"] * 5
    assert rec.diff.files == () and rec.check_after is not None and not rec.check_after.passed


def test_the_harness_stops_at_a_matching_call(fake: FakeAnthropic, tmp_path: Path) -> None:
    import asyncio

    from agentlab.agentic._harness import run_session
    from agentlab.agentic._session import SessionSpec, Subagent

    spec = SessionSpec(prompt="Delegate this task to the fixer. docstring of pagination.py",
                       cwd=tmp_path, agents={"fixer": Subagent("Fixes bugs", "You fix bugs.")},
                       stop_when=lambda c: c.name in ("Agent", "Task"))
    before = fake.request_count
    result = asyncio.run(run_session(spec, Connection(KEY, fake.base_url)))
    assert fake.request_count - before == 1  # the subagent never started
    assert [(c.name, c.status) for c in result.calls] == [("Agent", "stopped")]
    assert result.stop_reason == "stopped" and result.error is None


def test_a_timeout_is_an_outcome_with_its_diff_and_check(tmp_path: Path) -> None:
    assert PAGINATION.workspace is not None
    shutil.copytree(PAGINATION.workspace, tmp_path / "repo")
    (tmp_path / "tasks.yaml").write_text(
        "- id: slow\n  prompt: SLOW-TASK fix pagination.py\n  workspace: repo\n"
        "  check: python -m unittest -q\n  timeout_s: 4\n")
    with FakeAnthropic() as slow:
        slow.script(FIX[0], say("done"), match="SLOW-TASK")
        slow.add_rule(Fault("slow", delay=60), marker="c.id > cursor")  # hangs after the edit
        run = al.trial([BASE], al.load_tasks(tmp_path / "tasks.yaml"), db=tmp_path / "r.sqlite",
                       connection=Connection(KEY, slow.base_url), progress=False)
    (result,) = run.results
    assert result.stop_reason == "timeout" and result.error is None and result.latency_s < 30
    rec = al.agentic.TrialRecord.from_json(result.trial)
    assert [(c.name, c.status) for c in rec.calls] == [("Edit", "ok")]
    assert rec.diff_lines == 2 and rec.check_after is not None and not rec.check_after.passed
