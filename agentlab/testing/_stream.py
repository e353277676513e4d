"""Streamed (SSE) answers and scripted turns for the fake Messages API.

Claude Code calls ``POST /v1/messages`` with ``"stream": true`` once per turn and runs the
``tool_use`` blocks it gets back. To drive it through a whole session offline, the fake
serves a *script*: a list of assistant turns, each text or tool calls::

    fake.script(call("Read", file_path="app.py"),
                call("Edit", file_path="app.py", old_string="a", new_string="b"),
                call("Bash", command="python -m unittest -q"),
                say("Fixed."), match="pagination")

or from a JSON file (``python -m agentlab.testing --script FILE``, :func:`scripted_fake`).
A script is chosen by ``match``, a string that must occur in the conversation's system
prompt or first user message, so concurrent sessions on different tasks each get their
own. The turn served is the number of assistant messages already in the request's
``messages``: the answer depends only on the request, never on which session asked first,
and a session that is re-run from the start gets the same turns again. Past its last turn
a script answers ``end_turn`` with :data:`SCRIPT_DONE`.

Pure functions and a small thread-safe registry; :mod:`agentlab.testing._server` owns the
HTTP side.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentlab.testing._replies import Json, Reply

if TYPE_CHECKING:
    from agentlab.testing._server import FakeAnthropic

__all__ = ["SCRIPT_DONE", "MatchRule", "Script", "Scripts", "ToolUse", "Turn", "call",
           "load_script_file", "say", "scripted_fake", "sse_reply", "turn_content"]

SCRIPT_DONE = "[end of script]"
"""The text a script answers with once its turns are used up."""


@dataclass(frozen=True)
class ToolUse:
    """A scripted tool call.

    Attributes:
        name: The tool, as Claude Code names it (``Read``, ``Edit``, ``Bash``, ``Agent``...).
        input: The tool's arguments.
    """

    name: str
    input: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Turn:
    """One scripted assistant turn: text blocks and tool calls, in order.

    Attributes:
        blocks: Each a text (``str``) or a :class:`ToolUse`.
    """

    blocks: tuple[str | ToolUse, ...]

    @property
    def stop_reason(self) -> str:
        """``tool_use`` when the turn calls a tool, else ``end_turn``."""
        return "tool_use" if any(isinstance(b, ToolUse) for b in self.blocks) else "end_turn"


def say(text: str) -> Turn:
    """A turn that answers with text and ends the session's work (``end_turn``)."""
    return Turn((text,))


def call(name: str, text: str | None = None, /, **tool_input: Any) -> Turn:
    """A turn that calls one tool, optionally after a short text.

    Args:
        name: The tool name.
        text: Text before the call (Claude often says what it is about to do).
        **tool_input: The tool's arguments.

    Returns:
        The turn.
    """
    use = ToolUse(name, dict(tool_input))
    return Turn((text, use) if text else (use,))


MatchRule = str | Callable[[Json], bool] | None


@dataclass(frozen=True)
class Script:
    """Turns served to the conversations a rule matches.

    Attributes:
        turns: The assistant turns, in order.
        match: A string that must occur in the system prompt or the first user message, a
            predicate on the request body, or ``None`` for every conversation.
    """

    turns: tuple[Turn, ...]
    match: MatchRule = None

    def matches(self, req: Json) -> bool:
        """Whether this script answers ``req``."""
        if self.match is None:
            return True
        if callable(self.match):
            return bool(self.match(req))
        return self.match in opening_text(req)


def _text_of(block: Any) -> str:
    if isinstance(block, dict):
        text = block.get("text")
        return text if isinstance(text, str) else json.dumps(block)
    return block if isinstance(block, str) else json.dumps(block)


def opening_text(req: Json) -> str:
    """The system prompt and first user message of a request, as text."""
    system = req.get("system")
    parts = [_text_of(b) for b in ([system] if isinstance(system, str) else system or [])]
    messages = req.get("messages") or []
    first = messages[0] if messages and isinstance(messages[0], dict) else {}
    content = first.get("content")
    parts += [_text_of(b) for b in (content if isinstance(content, list) else [content or ""])]
    return "\n".join(parts)


def assistant_turns(req: Json) -> int:
    """How many assistant messages the request's conversation already holds."""
    return sum(1 for m in req.get("messages") or []
               if isinstance(m, dict) and m.get("role") == "assistant")


class Scripts:
    """The scripts a fake serves; the first that matches a request answers it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripts: list[Script] = []

    def add(self, script: Script) -> None:
        """Serve ``script`` to the conversations it matches (after earlier scripts)."""
        with self._lock:
            self._scripts.append(script)

    def clear(self) -> None:
        """Drop every script."""
        with self._lock:
            self._scripts.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._scripts)

    def turn_for(self, req: Json) -> Turn | None:
        """The scripted turn answering ``req``, or ``None`` when no script matches."""
        with self._lock:
            script = next((s for s in self._scripts if s.matches(req)), None)
        if script is None:
            return None
        index = assistant_turns(req)
        return script.turns[index] if index < len(script.turns) else say(SCRIPT_DONE)


def turn_content(turn: Turn, serial: int) -> list[Json]:
    """The turn as Messages API content blocks (tool ids unique per answer)."""
    blocks: list[Json] = []
    for i, block in enumerate(turn.blocks):
        if isinstance(block, ToolUse):
            blocks.append({"type": "tool_use", "id": f"toolu_fake{serial:012d}{i:02d}",
                           "name": block.name, "input": dict(block.input)})
        else:
            blocks.append({"type": "text", "text": block})
    return blocks


def _event(kind: str, data: Json) -> str:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"


def _block_events(index: int, block: Json) -> Iterator[str]:
    if block["type"] == "tool_use":
        start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
    else:
        start, delta = {"type": "text", "text": ""}, {"type": "text_delta", "text": block["text"]}
    yield _event("content_block_start", {"index": index, "content_block": start})
    yield _event("content_block_delta", {"index": index, "delta": delta})
    yield _event("content_block_stop", {"index": index})


def sse_reply(payload: Json, *, delay: float = 0.0) -> Reply:
    """A complete message, sent as the event stream a ``"stream": true`` request expects.

    Args:
        payload: The message as a non-streamed answer would carry it.
        delay: Seconds to wait before answering.

    Returns:
        A 200 reply with ``text/event-stream`` content: ``message_start``, each block's
        start, delta and stop, ``message_delta`` (stop reason, output tokens) and
        ``message_stop``.
    """
    usage = dict(payload["usage"])
    output_tokens = usage.get("output_tokens", 0)
    head = {**payload, "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {**usage, "output_tokens": min(1, output_tokens)}}
    events = [_event("message_start", {"message": head})]
    for index, block in enumerate(payload["content"]):
        events.extend(_block_events(index, block))
    events.append(_event("message_delta", {
        "delta": {"stop_reason": payload["stop_reason"],
                  "stop_sequence": payload.get("stop_sequence")},
        "usage": {"output_tokens": output_tokens}}))
    events.append(_event("message_stop", {}))
    headers = (("content-type", "text/event-stream"), ("cache-control", "no-cache"))
    return Reply(200, "".join(events).encode(), headers, delay=delay)


def _turn(raw: Mapping[str, Any], where: str) -> Turn:
    text, tool = raw.get("text"), raw.get("tool")
    unknown = set(raw) - {"text", "tool", "input"}
    if unknown or (text is None and tool is None):
        raise ValueError(f"{where}: a turn has 'text' and/or 'tool' (with 'input'); "
                         f"got keys {sorted(raw)}")
    blocks: list[str | ToolUse] = [str(text)] if text is not None else []
    if tool is not None:
        blocks.append(ToolUse(str(tool), dict(raw.get("input") or {})))
    return Turn(tuple(blocks))


def load_script_file(path: str | Path) -> list[Script]:
    """Read scripts from JSON: ``{"scripts": [{"match": str, "turns": [turn, ...]}]}``.

    A turn is ``{"text": ...}``, ``{"tool": name, "input": {...}}``, or both (text first).

    Raises:
        ValueError: The file is not such a document; the message names the script.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    items = data.get("scripts") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ValueError(f"{path}: expected an object with a 'scripts' list")
    scripts = []
    for n, item in enumerate(items):
        where = f"{path}: scripts[{n}]"
        if not isinstance(item, dict) or not isinstance(item.get("turns"), list):
            raise ValueError(f"{where}: needs 'turns', a list")
        match = item.get("match")
        if match is not None and not isinstance(match, str):
            raise ValueError(f"{where}: 'match' must be a string")
        scripts.append(Script(tuple(_turn(t, f"{where}.turns[{i}]")
                                    for i, t in enumerate(item["turns"])), match))
    return scripts


def scripted_fake(path: str | Path, **settings: Any) -> FakeAnthropic:
    """Start a :class:`~agentlab.testing.FakeAnthropic` that serves the scripts in ``path``.

    Args:
        path: A script file (see :func:`load_script_file`).
        **settings: Other ``FakeAnthropic`` arguments (``port``, ``latency``...).

    Returns:
        The running fake; ``stop()`` it (or use it as a context manager) when done.
    """
    from agentlab.testing._server import FakeAnthropic

    fake = FakeAnthropic(**settings)
    for script in load_script_file(path):
        fake.scripts.add(script)
    return fake.start()
