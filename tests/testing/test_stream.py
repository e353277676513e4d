"""The fake's streamed (SSE) answers and scripted turns, read by the real anthropic SDK."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest

from agentlab.testing import FakeAnthropic
from agentlab.testing._stream import SCRIPT_DONE, ToolUse, Turn, assistant_turns, call, say

MODEL = "claude-sonnet-5-5"


@pytest.fixture
def client(fake_api: FakeAnthropic) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(api_key="test", base_url=fake_api.base_url, max_retries=0) as c:
        yield c


def test_streamed_text_reply_is_read_by_the_sdk(fake_api: FakeAnthropic,
                                                client: anthropic.Anthropic) -> None:
    fake_api.reply = "streamed hello"
    with client.messages.stream(model=MODEL, max_tokens=50,
                                           messages=[{"role": "user", "content": "hi"}]) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == "streamed hello"
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 2
    assert fake_api.bodies()[0]["stream"] is True


def test_scripted_turns_follow_the_conversation(fake_api: FakeAnthropic,
                                               client: anthropic.Anthropic) -> None:
    fake_api.script(call("Read", "Let me look.", file_path="app.py"),
                    Turn((ToolUse("Bash", {"command": "ls"}), ToolUse("Glob", {"pattern": "*"}))),
                    say("All done."), match="TASK-1")
    messages: list[Any] = [{"role": "user", "content": "TASK-1 go"}]
    seen = []
    for _ in range(4):
        with client.messages.stream(model=MODEL, max_tokens=100, messages=messages) as s:
            msg = s.get_final_message()
        seen.append((msg.stop_reason, [b.type for b in msg.content]))
        messages.append({"role": "assistant", "content": msg.content})
        results = [{"type": "tool_result", "tool_use_id": b.id, "content": "ok"}
                   for b in msg.content if b.type == "tool_use"]
        messages.append({"role": "user", "content": results or "next"})
    assert seen == [("tool_use", ["text", "tool_use"]), ("tool_use", ["tool_use", "tool_use"]),
                    ("end_turn", ["text"]), ("end_turn", ["text"])]
    first = fake_api.bodies()[0]
    assert assistant_turns(first) == 0 and assistant_turns(fake_api.bodies()[2]) == 2
    read = client.messages.create(model=MODEL, max_tokens=10, messages=messages[:1])
    assert read.content[1].type == "tool_use" and read.content[1].input == {"file_path": "app.py"}
    last = fake_api.bodies()[-1]
    assert "stream" not in last  # a non-streamed request still gets plain JSON
    assert fake_api.request_count == 5
    with client.messages.stream(model=MODEL, max_tokens=10, messages=messages) as s:
        assert s.get_final_message().content[0].text == SCRIPT_DONE  # type: ignore[union-attr]


def test_scripts_are_chosen_per_conversation_even_when_concurrent(
        fake_api: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake_api.script(say("answer A"), match="conversation A")
    fake_api.script(say("answer B"), match="conversation B")
    answers: dict[str, str] = {}

    def ask(label: str) -> None:
        with client.messages.stream(
                model=MODEL, max_tokens=10,
                messages=[{"role": "user", "content": f"conversation {label}"}]) as s:
            answers[label] = "".join(s.text_stream)

    threads = [threading.Thread(target=ask, args=(x,)) for x in "AB" * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == {"A": "answer A", "B": "answer B"}
    assert fake_api.request_count == 8


def test_unmatched_requests_keep_the_plain_reply(fake_api: FakeAnthropic,
                                                client: anthropic.Anthropic) -> None:
    fake_api.script(say("scripted"), match="nobody says this")
    out = client.messages.create(model=MODEL, max_tokens=20,
                                            messages=[{"role": "user", "content": "hello"}])
    assert out.content[0].text == fake_api.reply  # type: ignore[union-attr]
    assert len(fake_api.scripts) == 1


def test_script_files_load_and_bad_ones_name_the_place(tmp_path: Path) -> None:
    from agentlab.testing import load_script_file

    good = tmp_path / "s.json"
    good.write_text('{"scripts": [{"match": "M", "turns": [{"text": "hi", "tool": "Read", '
                    '"input": {"file_path": "a.py"}}, {"text": "done"}]}]}')
    (script,) = load_script_file(good)
    assert script.match == "M"
    assert script.turns == (Turn(("hi", ToolUse("Read", {"file_path": "a.py"}))), say("done"))
    bad = tmp_path / "b.json"
    bad.write_text('{"scripts": [{"turns": [{"txt": "typo"}]}]}')
    with pytest.raises(ValueError, match=r"scripts\[0\]\.turns\[0\]"):
        load_script_file(bad)
    sample = Path(__file__).parents[2] / "data" / "workspaces" / "fake-script.json"
    assert len(load_script_file(sample)) >= 6
