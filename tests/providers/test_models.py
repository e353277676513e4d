"""Model aliases, prices, cost estimates, and the report writer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pandas as pd
import pytest

import agentlab as al
from agentlab.providers.anthropic import AnthropicProvider
from agentlab.providers.base import Message
from agentlab.providers.models import ModelTable, choose_model
from agentlab.testing._server import FakeAnthropic
from agentlab.views.report import compact_summary, pick_baseline, write_report


def test_resolution_order() -> None:
    table = ModelTable()
    assert choose_model("opus", "haiku", "sonnet", table) == "claude-opus-5-5"
    assert choose_model(None, "haiku", "sonnet", table) == "claude-haiku-5-5"
    assert choose_model(None, "inherit", "sonnet", table) == "claude-sonnet-5-5"
    assert choose_model(None, None, "claude-x-1", table) == "claude-x-1"
    custom = table.with_aliases({"sonnet": "claude-sonnet-4-5"})
    assert choose_model(None, "sonnet", "opus", custom) == "claude-sonnet-4-5"
    assert choose_model("local:/m.gguf", "sonnet", "opus", table) == "local:/m.gguf"
    with pytest.raises(al.ConfigError, match="no model"):
        choose_model(None, "inherit", "", table)


def test_prices_and_cost() -> None:
    table = ModelTable()
    cost = table.cost("claude-sonnet-5-5", 1_000_000, 1_000_000, 1_000_000, 1_000_000)
    assert cost == pytest.approx(3 + 15 + 3.75 + 0.3)
    assert table.cost("local:gemma3-270m", 10**6, 10**6) == 0
    assert table.cost("mystery-model", 10, 10) is None


def test_estimate_offline_and_online(monkeypatch: pytest.MonkeyPatch) -> None:
    agent = al.Agent(name="a", description="d", body="x" * 3500, model="sonnet")
    tasks = [al.Task(id="t", prompt="y" * 350)]
    offline = al.estimate_cost([agent], tasks, repeats=2, output_tokens=100)
    assert offline[0].input_tokens == 2 * (1001 + 101 + 8)
    assert offline[0].cost_usd == pytest.approx((2220 * 3 + 200 * 15) / 1e6)
    assert offline[-1].variant == "TOTAL" and offline[-1].calls == 2
    with FakeAnthropic() as fake:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        online = al.estimate_cost([agent], tasks, repeats=2, online=True)
        assert fake.path_counts.get("/v1/messages/count_tokens") == 1
        counted = asyncio.run(_count(agent.body, tasks[0].user_message()))
    assert online[0].input_tokens == 2 * counted and online[0].method == "count_tokens"
    assert counted != offline[0].input_tokens // 2


async def _count(system: str, user: str) -> int:
    provider = AnthropicProvider()
    try:
        return await provider.count_tokens(system, (Message("user", user),), "claude-sonnet-5-5")
    finally:
        await provider.aclose()


def test_pick_baseline() -> None:
    names = ["python-pro-backend-concise", "python-pro-backend", "python-pro-backend-haiku"]
    assert pick_baseline(names) == "python-pro-backend"
    assert pick_baseline(["b", "a"]) == "b"


def scored_frame() -> pd.DataFrame:
    rows = []
    for v, bonus in (("base", 0.0), ("base-better", 0.3)):
        for t in range(6):
            for r in range(2):
                rows.append({"run_id": "r", "variant": v, "task_id": f"t{t}", "repeat": r,
                             "model": "claude-sonnet-5-5", "provider": "anthropic",
                             "error": None, "quality": min(1.0, 0.4 + 0.05 * t + bonus),
                             "passed": bonus > 0, "words": 100 + 10 * t + r,
                             "output_tokens": 150 + t, "cost_usd": 0.01, "latency_s": 1.0 + r,
                             "text": "x"})
    return pd.DataFrame(rows)


def test_write_report(tmp_path: Path) -> None:
    files = write_report(scored_frame(), tmp_path / "out", run_id="run-1")
    names = {f.name for f in files}
    assert {"results.csv", "summary.csv", "summary.md", "quality_by_variant.png",
            "quality_vs_length.png", "paired_differences.png", "cost_latency.png"} <= names
    md = (tmp_path / "out" / "summary.md").read_text()
    assert "Run `run-1`." in md
    assert "- **base-better** vs baseline: better: +0.3 (0.825 vs 0.525 over the same 6" in md
    compact = compact_summary(pd.read_csv(tmp_path / "out" / "summary.csv", index_col=0))
    assert compact.loc["base-better", "vs baseline"].startswith("better (+0.")
