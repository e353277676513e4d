from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

import agentlab as al
from agentlab.agents._agent import UnknownFieldWarning
from agentlab.errors import AgentFileError, AgentFileErrors, ConfigError

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "data" / "agents" / "python-pro-backend.md"
SHARED_SEED = ROOT.parent / "shared" / "seeds" / "python-pro-backend.md"


def write(tmp_path: Path, text: str | bytes, name: str = "agent.md") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


GOOD = "---\nname: my-agent\ndescription: Use it for tests.\n---\n\nYou are a test agent.\n"


def test_seed_is_the_shared_seed_unchanged() -> None:
    if not SHARED_SEED.exists():
        pytest.skip("shared seed not present beside the checkout")
    assert SEED.read_bytes() == SHARED_SEED.read_bytes()


def test_seed_fails_strict_yaml_and_loads_leniently() -> None:
    text = SEED.read_text(encoding="utf-8")
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(text.split("---")[1])
    agent = al.load_agent(SEED)
    assert agent.parse_mode == "lenient"
    assert any("not strict YAML" in w for w in agent.warnings)
    assert agent.name == "python-pro-backend"
    assert agent.model == "sonnet"
    assert agent.color == "orange"
    assert agent.description.startswith("Use this agent when you need expert-level Python")
    assert agent.body.startswith("You are a Python Pro Backend Developer")
    assert agent.body.endswith("solving the exact problem requested.")


def test_seed_examples_are_parsed() -> None:
    examples = al.load_agent(SEED).examples
    assert [e.user for e in examples] == [
        "I need to add an endpoint to filter orders by status and date range",
        "Our order queries are slow when filtering by multiple criteria",
        "We need to add JWT token validation to our FastAPI endpoints",
    ]
    assert examples[0].context.startswith("User needs to implement a new API endpoint")
    assert examples[1].assistant.startswith("Let me engage the python-pro-backend agent")


def test_examples_tolerate_quoting_styles_and_commentary() -> None:
    description = (
        'Use it. <example>\nContext: A case.\nuser: "Fix the \\"bug\\" please"\n'
        "assistant: \u201cOn it.\u201d\n<commentary>Because it fits.</commentary>\n</example>"
        "<example>user: plain text turn assistant: plain answer</example>"
    )
    agent = al.Agent(name="x", description=description, body="b")
    first, second = agent.examples
    assert first.context == "A case."
    assert first.user == 'Fix the \\"bug\\" please'
    assert first.assistant == "On it."
    assert first.commentary == "Because it fits."
    assert (second.user, second.assistant) == ("plain text turn", "plain answer")


def test_strict_file_and_tools_forms(tmp_path: Path) -> None:
    listed = write(tmp_path, "---\nname: a\ndescription: d\ntools: [Read, Grep]\n---\nbody\n",
                   "a.md")
    comma = write(tmp_path, "---\nname: b\ndescription: d\ntools: Read, Grep\nmaxTurns: 3\n"
                  "disallowedTools: Bash\n---\nbody\n", "b.md")
    a, b = al.load_agent(listed), al.load_agent(comma)
    assert a.parse_mode == b.parse_mode == "strict"
    assert a.tools == b.tools == ("Read", "Grep")
    assert b.fields["maxTurns"] == 3
    assert b.fields["disallowedTools"] == ["Bash"]


def test_unknown_field_is_kept_and_warned(tmp_path: Path) -> None:
    path = write(tmp_path, "---\nname: a\ndescription: d\nflavour: mint\n---\nbody\n")
    with pytest.warns(UnknownFieldWarning, match="flavour"):
        agent = al.load_agent(path)
    assert agent.fields["flavour"] == "mint"
    assert "flavour: mint" in agent.to_markdown()


def test_lenient_reading_with_continuation_lines(tmp_path: Path) -> None:
    text = ("---\nname: cont\ndescription: First line: with a colon\n  Examples: <example>"
            "user: 'hi' assistant: 'yo'</example>\nmodel: opus\n---\nBody.\n")
    agent = al.load_agent(write(tmp_path, text))
    assert agent.parse_mode == "lenient"
    assert agent.description == ("First line: with a colon\nExamples: <example>user: 'hi' "
                                 "assistant: 'yo'</example>")
    assert agent.model == "opus"
    assert agent.examples[0].user == "hi"


@pytest.mark.parametrize(
    ("text", "fragment", "line"),
    [
        ("name: a\ndescription: d\n\nbody\n", "no YAML frontmatter", 1),
        ("---\nname: a\ndescription: d\nbody\n", "unterminated frontmatter", 1),
        ("---\ndescription: d\n---\nbody\n", "field 'name': missing required field", None),
        ("---\nname: a\n---\nbody\n", "field 'description': missing required field", None),
        ("---\nname: My Agent\ndescription: d\n---\nbody\n", "'my-agent'", 2),
        ("---\nname: a\ndescription: d\n---\n\n  \n", "empty body", 5),
        ("---\njust some words\n---\nbody\n", "not a bare value", 2),
        ("---\nSome text: with: colons\n---\nbody\n", "expected 'key: value'", 2),
        ("---\nname: a\nname: b\ndescription: x: y\n---\nbody\n", "appears twice", 3),
        ("---\n---\nbody\n", "frontmatter is empty", 2),
    ],
)
def test_bad_files_give_clear_errors(tmp_path: Path, text: str, fragment: str,
                                     line: int | None) -> None:
    path = write(tmp_path, text)
    with pytest.raises(AgentFileError) as info:
        al.load_agent(path)
    message = str(info.value)
    assert fragment in message
    assert str(path) in message
    assert info.value.line == line
    assert isinstance(info.value, al.AgentlabError)


def test_non_utf8_file(tmp_path: Path) -> None:
    path = write(tmp_path, b"---\nname: a\ndescription: caf\xe9\n---\nbody\n")
    with pytest.raises(AgentFileError, match="not UTF-8") as info:
        al.load_agent(path)
    assert info.value.line == 3


def test_folder_with_duplicate_names_and_collected_errors(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "one.md")
    write(tmp_path, GOOD, "two.md")
    write(tmp_path, "no frontmatter\n", "three.md")
    with pytest.raises(AgentFileError, match="duplicate agent name 'my-agent'"):
        al.load_agents([tmp_path / "one.md", tmp_path / "two.md"])
    with pytest.raises(AgentFileErrors) as info:
        al.load_agents(tmp_path, collect_errors=True)
    errors = info.value.errors
    assert len(errors) == 2
    assert {e.path.name for e in errors if e.path} == {"three.md", "two.md"}


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(AgentFileError, match=r"no \.md agent files"):
        al.load_agents(tmp_path)


def test_data_folder_loads_five_variants() -> None:
    agents = al.load_agents(ROOT / "data" / "agents")
    names = [a.name for a in agents]
    assert "python-pro-backend" in names
    assert len(agents) >= 4
    assert len({a.content_hash for a in agents}) == len(agents)


def test_content_hash_is_stable_and_content_based(tmp_path: Path) -> None:
    a = al.load_agent(SEED)
    copy = shutil.copy(SEED, tmp_path / "copy.md")
    assert al.load_agent(copy).content_hash == a.content_hash == al.load_agent(SEED).content_hash
    assert a.with_body(a.body + " ").content_hash != a.content_hash


@pytest.mark.parametrize("source", [SEED, None])
def test_round_trip_of_saved_variants(tmp_path: Path, source: Path | None) -> None:
    base = al.load_agent(source) if source else al.load_agent(write(tmp_path, GOOD, "g.md"))
    variant = base.with_body("New prompt:\n\n- one\n- two", name=f"{base.name}-v2")
    for agent in (base, variant, base.with_model("haiku"), base.with_fields(tools=["Read"])):
        saved = agent.save(tmp_path / "out")
        loaded = al.load_agent(saved)
        assert loaded == agent
        assert loaded.parse_mode == "strict"
        assert loaded.content_hash == agent.content_hash


def test_derivations() -> None:
    base = al.load_agent(SEED)
    concise = base.with_body("Be brief.", name="python-pro-backend-concise")
    assert (concise.name, concise.body, concise.parent) == ("python-pro-backend-concise",
                                                            "Be brief.", base.name)
    assert base.with_model("haiku").model == "haiku"
    assert base.with_model("haiku").name == "python-pro-backend-haiku"
    assert base.renamed("other").body == base.body
    replaced = base.replace_text("MINIMAL CHANGES ONLY", "SMALL CHANGES")
    assert "SMALL CHANGES" in replaced.body and "MINIMAL CHANGES ONLY" not in replaced.body
    with pytest.raises(ConfigError):
        base.replace_text("not in the prompt", "x")
    assert base.append("Answer in English.").body.endswith("Answer in English.")
    with pytest.raises(AgentFileError, match="invalid variant name"):
        base.renamed("Bad Name")
    with pytest.raises(AgentFileError, match="cannot be empty"):
        base.with_body("   ")


def test_sections_and_ablation_on_seed() -> None:
    base = al.load_agent(SEED)
    titles = [s.title for s in base.sections()]
    assert titles == ["", "Core Expertise", "Development Philosophy", "Technical Approach",
                      "Type Safety Standards (CRITICAL)", "Code Quality Standards",
                      "Collaboration with Next.js", "When given a task, you will"]
    ablations = base.ablations()
    assert len(ablations) == 7
    no_types = base.drop_section("type safety standards (critical)")
    assert no_types.name == "python-pro-backend-no-type-safety-standards-critical"
    assert "ALWAYS use strong typing" not in no_types.body
    assert "MINIMAL CHANGES ONLY" in no_types.body
    for variant, section in zip(ablations, base.sections()[1:], strict=True):
        assert section.text not in variant.body
        others = [s for s in base.sections() if s.title != section.title]
        assert all(s.text in variant.body for s in others)
    new = base.replace_section("Code Quality Standards", "**Code Quality Standards:**\n- Be neat")
    assert "- Be neat" in new.body and "Match the existing code style" not in new.body
    with pytest.raises(ConfigError, match="Core Expertise"):
        base.drop_section("Nope")


def test_markdown_heading_sections() -> None:
    agent = al.Agent(name="m", description="d",
                     body="Intro.\n\n# Role\nYou help.\n\n## Rules\n- a\n\n"
                          "```\n# not a heading\n```")
    assert [(s.title, s.style) for s in agent.sections()] == [
        ("", "preamble"), ("Role", "markdown"), ("Rules", "markdown")]


def test_diff_shows_fields_and_body() -> None:
    base = al.load_agent(SEED)
    other = base.with_model("haiku").replace_text("elite expert", "expert")
    diff = base.diff(other)
    assert "~ model: 'sonnet' -> 'haiku'" in diff
    assert "-You are a Python Pro Backend Developer, an elite expert" in diff
    assert "+You are a Python Pro Backend Developer, an expert" in diff
