"""``agentlab routing``: one-line errors before any session, and a small run on the fake."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentlab.cli import main
from agentlab.testing._server import FakeAnthropic
from agentlab.testing._stream import call, say

ROOT = Path(__file__).resolve().parents[2]
EVALSET = str(ROOT / "data" / "routing" / "python-pro-backend.yaml")
SEED = str(ROOT / "data" / "agents" / "python-pro-backend.md")
ROSTER = str(ROOT / "data" / "agents" / "roster")


def test_missing_roster_is_one_line_before_any_session(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    code = main(["routing", EVALSET, "--variants", SEED, "--db", str(tmp_path / "r.sqlite")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "\n" not in err
    assert err.startswith("agentlab: error: ") and "field 'expect'" in err and "roster" in err


def test_no_key_is_a_config_error(capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    code = main(["routing", EVALSET, "--variants", SEED, "--roster", ROSTER,
                 "--db", str(tmp_path / "r.sqlite")])
    assert code == 1 and "ANTHROPIC_API_KEY" in capsys.readouterr().err


@pytest.mark.agent
def test_small_run_prints_the_summary_and_writes_the_report(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    pytest.importorskip("claude_agent_sdk")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-cli-test-0123456789")
    with FakeAnthropic() as fake:
        fake.script(call("Agent", description="x", prompt="do it",
                         subagent_type="python-pro-backend"), say("done"),
                    match="Add a FastAPI endpoint that lists orders")
        fake.script(say("A tuple is immutable."), match="difference between a list and a tuple")
        code = main(["routing", EVALSET, "--variants", SEED, "--roster", ROSTER,
                     "--query-id", "orders-filter-endpoint", "--query-id", "list-vs-tuple",
                     "--repeats", "1", "--base-url", fake.base_url, "--no-progress", "--rates",
                     "--db", str(tmp_path / "r.sqlite"), "--out", str(tmp_path / "out")])
        assert fake.request_count == 2
    out = capsys.readouterr().out
    assert code == 0, out
    assert "precision" in out and "1.00 [" in out and "2 trials, 0 errors" in out
    assert "orders-filter-endpoint" in out  # --rates
    assert (tmp_path / "out" / "summary.csv").is_file()
    assert (tmp_path / "out" / "routing_precision_recall.png").is_file()
