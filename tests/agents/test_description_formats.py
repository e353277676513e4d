"""Both description styles, description variants, and dotted agent names."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentlab.agents import AgentNameWarning, load_agent, load_agents
from agentlab.agents._scenarios import body_scenarios
from agentlab.errors import AgentFileError
from agentlab.tasks import tasks_from_examples

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "data" / "agents" / "python-pro-backend.md"
ROSTER = ROOT / "data" / "agents" / "roster"

NEW_STYLE = """---
name: release-helper
description: Prepares releases. Use it for changelogs, version bumps and tags.
---

You prepare releases.

## When to invoke

- "Write the changelog for 2.4 from the merged pull requests since 2.3."
- The user asks to bump the version: user: 'bump us to 3.0.0 and tag it'
- Cut a release branch
  for the spring release.

## Rules

- Never push tags without asking.
"""


def test_new_style_scenarios_come_from_the_body(tmp_path: Path) -> None:
    file = tmp_path / "release-helper.md"
    file.write_text(NEW_STYLE)
    agent = load_agent(file)
    assert agent.examples == ()
    users = [s.user for s in agent.scenarios]
    assert users == ["Write the changelog for 2.4 from the merged pull requests since 2.3.",
                     "bump us to 3.0.0 and tag it",
                     "Cut a release branch for the spring release."]
    assert agent.scenarios[1].context == "The user asks to bump the version"
    tasks = tasks_from_examples(agent)
    assert [t.id for t in tasks] == [f"release-helper-example-{n}" for n in (1, 2, 3)]
    assert tasks[0].prompt == users[0]


def test_old_style_examples_win_over_the_body() -> None:
    seed = load_agent(SEED)
    assert len(seed.scenarios) == len(seed.examples) == 3
    assert tasks_from_examples(seed)[0].prompt.startswith("I need to add an endpoint")


def test_roster_has_both_styles_and_every_agent_has_scenarios() -> None:
    roster = load_agents(ROSTER)
    assert {a.name for a in roster} == {"code-reviewer", "data-scientist", "devops-engineer",
                                        "frontend-developer"}
    styles = {a.name: bool(a.examples) for a in roster}
    assert sorted(styles.values()) == [False, False, True, True]
    assert all(len(a.scenarios) >= 2 and a.tools for a in roster)
    assert all(len(a.body.split()) > 150 for a in roster)


def test_section_with_example_blocks_and_paragraphs() -> None:
    body = ("Intro.\n\n**Examples:**\n\n<example>Context: x. user: 'add a column' "
            "assistant: 'I will'</example>\n\n# Other\n\ntext")
    (only,) = body_scenarios(body)
    assert (only.user, only.assistant) == ("add a column", "I will")
    paragraphs = "## Examples\n\nThe user asks for a migration plan.\n\nA second scenario.\n"
    assert [s.user for s in body_scenarios(paragraphs)] == [
        "The user asks for a migration plan.", "A second scenario."]
    assert body_scenarios("No sections at all.") == ()


def test_with_description_changes_only_the_description() -> None:
    seed = load_agent(SEED)
    flat = seed.with_description("Python backend work: FastAPI, PostgreSQL, Redis.",
                                 name="python-pro-backend-flat")
    assert flat.description == "Python backend work: FastAPI, PostgreSQL, Redis."
    assert (flat.body, flat.model, dict(flat.fields)) == (seed.body, seed.model,
                                                          dict(seed.fields))
    assert flat.parent == seed.name and flat.examples == () and flat.scenarios == ()
    assert flat.content_hash != seed.content_hash
    assert seed.with_description("x").name == "python-pro-backend-description"
    with pytest.raises(AgentFileError, match="description cannot be empty"):
        seed.with_description("  ")


def test_dotted_names_load_with_a_warning(tmp_path: Path) -> None:
    file = tmp_path / "dotnet.md"
    file.write_text("---\nname: dotnet-framework-4.8-expert\ndescription: .NET 4.8 work\n---\n"
                    "You maintain .NET Framework 4.8 applications.\n")
    with pytest.warns(AgentNameWarning, match="has dots"):
        agent = load_agent(file)
    assert agent.name == "dotnet-framework-4.8-expert"
    assert any("dots" in remark for remark in agent.warnings)
    assert agent.with_description("x").name == "dotnet-framework-4.8-expert-description"
    file.write_text("---\nname: Bad_Name\ndescription: x\n---\nbody\n")
    with pytest.raises(AgentFileError, match="not a valid agent name"):
        load_agent(file)
    file.write_text("---\nname: trailing.\ndescription: x\n---\nbody\n")
    with pytest.raises(AgentFileError, match="not a valid agent name"):
        load_agent(file)
