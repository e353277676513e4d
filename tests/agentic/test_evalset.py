"""Routing eval sets: both forms, skill-creator files as they are, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentlab.agentic._evalset import NO_AGENT, load_evalset
from agentlab.errors import ConfigError, EvalSetError

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "routing" / "python-pro-backend.yaml"


def test_sample_eval_set_is_balanced_and_names_real_agents() -> None:
    evalset = load_evalset(SAMPLE)
    assert evalset.agent == "python-pro-backend"
    assert len(evalset) >= 24
    positives = [q for q in evalset.queries if q.positive("python-pro-backend")]
    assert 0.4 <= len(positives) / len(evalset) <= 0.6
    roster = [p.stem for p in (ROOT / "data" / "agents" / "roster").glob("*.md")]
    evalset.check_names("python-pro-backend", roster)  # raises on a typo
    near = {t for q in evalset.queries for t in q.tags if q not in positives}
    assert {"frontend", "node", "data-science", "devops", "python-error"} <= near
    with_files = [q for q in evalset.queries if q.files is not None]
    assert with_files and all((q.files / "app" / "main.py").is_file() for q in with_files)


def test_skill_creator_trigger_eval_json_loads_as_is(tmp_path: Path) -> None:
    file = tmp_path / "trigger-eval.json"
    file.write_text(json.dumps([
        {"query": "make my pdf form fillable", "should_trigger": True},
        {"query": "what is the capital of France", "should_trigger": False},
    ]))
    evalset = load_evalset(file)
    first, second = evalset.queries
    assert (first.form, first.should_trigger, second.should_trigger) == (
        "should_trigger", True, False)
    assert first.positive("pdf") and not second.positive("pdf")
    assert first.expected_label("pdf") == "pdf" and second.expected_label("pdf") == "not pdf"
    # should_trigger false is right for any decision but the agent under test
    assert second.correct("other-agent", "pdf") and second.correct(NO_AGENT, "pdf")
    assert not second.correct("pdf", "pdf")
    assert first.id != second.id and first.id.startswith("make-my-pdf-form-fillable-")


def test_jsonl_with_expect_none_tags_and_ids(tmp_path: Path) -> None:
    file = tmp_path / "set.jsonl"
    file.write_text('{"id": "a", "query": "build a table", "expect": "frontend", "tags": ["ui"]}\n'
                    '\n{"id": "b", "query": "what is a tuple", "expect": "none"}\n'
                    '{"id": "c", "query": "say hi", "expect": null}\n')
    a, b, c = load_evalset(file).queries
    assert (a.expect, a.tags, b.expect, c.expect) == ("frontend", ("ui",), NO_AGENT, NO_AGENT)
    assert a.correct("frontend", "backend") and not a.correct(NO_AGENT, "backend")
    assert b.correct(NO_AGENT, "backend") and not b.positive("backend")
    assert load_evalset(file).select(tags=["ui"]).queries == (a,)
    with pytest.raises(ConfigError, match="'nope'"):
        load_evalset(file).select(ids=["nope"])


@pytest.mark.parametrize(("item", "field", "message"), [
    ({"id": "q1", "query": "x", "should_trigger": True, "expect": "a"}, None, "exactly one of"),
    ({"id": "q1", "query": "x"}, None, "exactly one of"),
    ({"id": "q1", "query": "x", "shold_trigger": True}, "shold_trigger", "Extra inputs"),
    ({"id": "q1", "query": "", "expect": "none"}, "query", "at least 1"),
    ({"id": "q1", "query": "x", "expect": "none", "tags": "ui"}, "tags", "valid list"),
])
def test_bad_items_name_file_query_and_field(tmp_path: Path, item: dict[str, object],
                                             field: str | None, message: str) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text(json.dumps([{"query": "fine", "expect": "none"}, item]))
    with pytest.raises(EvalSetError, match=message) as info:
        load_evalset(file)
    text = str(info.value)
    assert text.startswith(f"{file}: query 'q1'") and "\n" not in text
    if field:
        assert f"field {field!r}" in text


def test_workspace_must_stay_inside_the_eval_folder(tmp_path: Path) -> None:
    (tmp_path / "sets").mkdir()
    (tmp_path / "outside").mkdir()
    file = tmp_path / "sets" / "set.yaml"
    file.write_text("- {id: q, query: fix it, expect: none, files: ../outside}\n")
    with pytest.raises(EvalSetError, match="outside the eval file's folder") as info:
        load_evalset(file)
    assert "field 'files'" in str(info.value)
    (tmp_path / "sets" / "link").symlink_to(tmp_path / "outside")
    file.write_text("- {id: q, query: fix it, expect: none, files: link}\n")
    with pytest.raises(EvalSetError, match="outside"):
        load_evalset(file)
    file.write_text("- {id: q, query: fix it, expect: none, files: missing}\n")
    with pytest.raises(EvalSetError, match="does not exist"):
        load_evalset(file)


def test_duplicates_structure_and_unknown_agents(tmp_path: Path) -> None:
    file = tmp_path / "set.yaml"
    file.write_text("- {id: a, query: one, expect: none}\n- {id: a, query: two, expect: none}\n")
    with pytest.raises(EvalSetError, match="query 'a', field 'id': duplicate id"):
        load_evalset(file)
    file.write_text("- {query: one, expect: none}\n- {query: one, should_trigger: true}\n")
    with pytest.raises(EvalSetError, match="same query"):
        load_evalset(file)
    file.write_text("agent: x\nqueris: []\n")
    with pytest.raises(EvalSetError, match="queris"):
        load_evalset(file)
    file.write_text("queries:\n- {id: a, query: one, expect: fronted}\n")
    with pytest.raises(EvalSetError, match="query 'a', field 'expect': expects agent 'fronted'"):
        load_evalset(file).check_names("backend", ["frontend"])
    file.write_text("[]\n")
    with pytest.raises(EvalSetError, match="no queries"):
        load_evalset(file)
    file.write_text("- query: [unclosed\n")
    with pytest.raises(EvalSetError, match="invalid YAML"):
        load_evalset(file)


def test_hostile_eval_files_are_refused_in_one_line(tmp_path: Path) -> None:
    import os

    bomb = tmp_path / "bomb.yaml"
    bomb.write_text('a: &a ["x", "x"]\nb: &b [*a, *a]\nqueries: [{query: *b, '
                    'should_trigger: true}]\n')
    dup = tmp_path / "dup.yaml"
    dup.write_text("- query: one\n  query: two\n  should_trigger: true\n")
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    for path, words in ((bomb, "anchor"), (dup, "appears twice"), (fifo, "not a regular file")):
        with pytest.raises(EvalSetError) as info:
            load_evalset(path)
        message = str(info.value)
        assert str(path) in message and words in message and "\n" not in message
