"""A real call to the Anthropic API: only with a real key (skipped otherwise, and in CI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import agentlab as al

pytestmark = pytest.mark.live


@pytest.mark.skipif(not os.environ.get("ANTHROPIC_API_KEY") or bool(
    os.environ.get("ANTHROPIC_BASE_URL")), reason="needs a real ANTHROPIC_API_KEY")
def test_one_real_cell(tmp_path: Path) -> None:
    agent = al.Agent(name="a", description="d", body="Answer with one word.")
    run = al.run([agent], [al.Task(id="t", prompt="Say hello.")], model="haiku",
                 provider="anthropic", options=al.GenerationOptions(max_tokens=16),
                 db=tmp_path / "r.sqlite", progress=False)
    assert run.errors == 0 and run.results[0].text and run.results[0].output_tokens > 0
