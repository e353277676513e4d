"""The values of a Claude Code session: what to run (:class:`SessionSpec`) and what it did.

:class:`SessionResult` holds the outcome and the transcript: every :class:`ToolCall` in
order with its status, the :class:`Step` list (texts and calls), and :class:`Usage`. These
are plain frozen dataclasses, stored as JSON in a trial's record; running a session is
:mod:`agentlab.agentic._harness`'s job (which re-exports every name here).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agentlab.errors import ConfigError

__all__ = ["DEFAULT_BASE_URL", "CallStatus", "Connection", "SessionResult", "SessionSpec",
           "Step", "Subagent", "ToolCall", "Usage", "redact", "shorten", "summarize"]

DEFAULT_BASE_URL = "https://api.anthropic.com"
_INPUT_TEXT = 4000  # longest string kept in a recorded tool input
CallStatus = Literal["ok", "error", "denied", "stopped", "pending"]


@dataclass(frozen=True)
class Connection:
    """Where the CLI sends its Messages API calls, and with which key.

    Attributes:
        api_key: The key; never shown by ``repr`` and never written to disk.
        base_url: API address (``None``: ``ANTHROPIC_BASE_URL`` or the real API).
    """

    api_key: str = field(repr=False)
    base_url: str | None = None

    @classmethod
    def from_env(cls, base_url: str | None = None) -> Connection:
        """The key from ``ANTHROPIC_API_KEY``, the address from ``base_url`` or the env.

        Raises:
            ConfigError: No key is set.
        """
        key = os.environ.get("ANTHROPIC_API_KEY", "")
        if not key:
            raise ConfigError("agentic trials need ANTHROPIC_API_KEY (or pass connection=...; "
                              "for offline runs point it at agentlab.testing.FakeAnthropic)")
        return cls(key, base_url or os.environ.get("ANTHROPIC_BASE_URL") or None)

    @property
    def url(self) -> str:
        """The effective API address."""
        return (self.base_url or DEFAULT_BASE_URL).rstrip("/")

    @property
    def namespace(self) -> str:
        """Identity for cache keys: answers from another server never count as real."""
        return "anthropic" if self.url == DEFAULT_BASE_URL else f"anthropic@{self.url}"


@dataclass(frozen=True)
class Subagent:
    """A subagent installed in the session (``agents=`` of ``ClaudeAgentOptions``)."""

    description: str
    prompt: str
    tools: tuple[str, ...] | None = None
    disallowed_tools: tuple[str, ...] | None = None
    model: str | None = None
    max_turns: int | None = None
    permission_mode: str | None = None
    background: bool | None = False
    """``False`` makes the ``Agent`` tool wait for the subagent (the CLI's default is to
    launch it in the background, and a headless session can end before it finishes)."""


@dataclass(frozen=True)
class ToolCall:
    """One tool call the session made, with its outcome.

    Attributes:
        id: The ``tool_use`` id.
        name: The tool (``Read``, ``Edit``, ``Bash``, ``Agent``...).
        summary: A short human-readable form of the input (a command, a path).
        input: The arguments (long strings shortened).
        status: ``ok``, ``error`` (the tool failed), ``denied`` (permission or hook),
            ``stopped`` (``stop_when`` matched it), or ``pending`` (no result came back).
        output: The head of the tool's result text.
        parent: The ``Agent`` call's id when a subagent made this call.
    """

    id: str
    name: str
    summary: str
    input: Mapping[str, Any]
    status: CallStatus = "pending"
    output: str = ""
    parent: str | None = None


@dataclass(frozen=True)
class Step:
    """One transcript entry: assistant text, or a tool call (index into the calls)."""

    kind: Literal["text", "tool"]
    text: str = ""
    call: int = -1
    parent: str | None = None


@dataclass(frozen=True)
class Usage:
    """Tokens, summed over the session's API calls."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0

    @classmethod
    def from_sdk(cls, usage: Mapping[str, Any] | None) -> Usage:
        """Read the SDK's usage mapping (snake or camel case keys)."""
        u = usage or {}

        def get(*names: str) -> int:
            return int(next((u[n] for n in names if isinstance(u.get(n), int | float)), 0))

        return cls(get("input_tokens", "inputTokens"), get("output_tokens", "outputTokens"),
                   get("cache_creation_input_tokens", "cacheCreationInputTokens"),
                   get("cache_read_input_tokens", "cacheReadInputTokens"))


@dataclass(frozen=True)
class SessionSpec:
    """What one session runs.

    Attributes:
        prompt: The user's request.
        cwd: The working folder (the only place the session may write).
        system_prompt: The session's whole system prompt; ``None`` keeps Claude Code's own.
        agents: Subagents to install, by name.
        model: Model id for the main session (``None``: the CLI's default).
        tools: The built-in tools available (``None``: Claude Code's default set).
        disallowed_tools: Tools removed from the session.
        permission_mode: Claude Code's permission mode.
        max_turns: Turn limit (``None``: none).
        max_budget_usd: The CLI stops once its own cost estimate passes this.
        timeout_s: Wall-clock limit; the session is interrupted after it.
        sandbox: Run Bash commands in Claude Code's bubblewrap sandbox.
        stop_when: Called with each tool call before it runs; ``True`` records it as
            ``stopped``, denies it and ends the session.
        max_tool_calls: End the session after this many tool calls.
    """

    prompt: str
    cwd: Path
    system_prompt: str | None = None
    agents: Mapping[str, Subagent] = field(default_factory=dict)
    model: str | None = None
    tools: tuple[str, ...] | None = None
    disallowed_tools: tuple[str, ...] = ()
    permission_mode: str = "acceptEdits"
    max_turns: int | None = None
    max_budget_usd: float | None = None
    timeout_s: float = 600.0
    sandbox: bool = True
    stop_when: Callable[[ToolCall], bool] | None = field(default=None, compare=False)
    max_tool_calls: int | None = None


@dataclass(frozen=True)
class SessionResult:
    """What a session did.

    Attributes:
        text: The final answer (the result message's text, else the last assistant text).
        subtype: The result's subtype (``success``, ``error_max_turns``,
            ``error_max_budget_usd``, ``error_during_execution``...), or ``none`` when no
            result came back.
        stop_reason: The last API stop reason, ``timeout``, ``stopped`` (``stop_when`` or
            ``max_tool_calls``), or ``None``.
        is_error: Whether the CLI reported an error result.
        error: A harness or API failure in one line (``None`` when the session ran).
        error_kind: ``auth``, ``rate_limit``, ``server``, ``cli`` ... when ``error`` is set.
        num_turns: Turns as the CLI counts them.
        duration_s: Wall-clock seconds for the whole session.
        usage: Tokens summed over the session.
        model_usage: Tokens per model (subagents may use another model).
        cost_usd: The CLI's own cost estimate.
        calls: Every tool call, in order.
        steps: The transcript: texts and tool calls, in order.
        model: The main session's model.
        cli_version: The Claude Code version that ran.
        stderr_tail: The last lines the CLI wrote to stderr.
    """

    text: str = ""
    subtype: str = "none"
    stop_reason: str | None = None
    is_error: bool = False
    error: str | None = None
    error_kind: str | None = None
    num_turns: int = 0
    duration_s: float = 0.0
    usage: Usage = field(default_factory=Usage)
    model_usage: Mapping[str, Usage] = field(default_factory=dict)
    cost_usd: float | None = None
    calls: tuple[ToolCall, ...] = ()
    steps: tuple[Step, ...] = ()
    model: str = ""
    cli_version: str = ""
    stderr_tail: str = ""


def redact(text: str, secrets: Sequence[str]) -> str:
    """Replace every secret (of 8+ characters) in ``text`` with ``[redacted]``."""
    for secret in secrets:
        if len(secret) >= 8:
            text = text.replace(secret, "[redacted]")
    return text


def shorten(value: Any) -> Any:
    """A JSON value with its long strings cut (tool inputs can hold whole files)."""
    if isinstance(value, str) and len(value) > _INPUT_TEXT:
        return value[:_INPUT_TEXT] + f"… [{len(value) - _INPUT_TEXT} more characters]"
    if isinstance(value, dict):
        return {str(k): shorten(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shorten(v) for v in value]
    return value


def summarize(name: str, tool_input: Mapping[str, Any]) -> str:
    """A one-line form of a tool call's input: the command, path, pattern or agent."""
    for key in ("command", "file_path", "notebook_path", "pattern", "path", "url", "query",
                "subagent_type", "description", "prompt"):
        value = tool_input.get(key)
        if isinstance(value, str) and value:
            line = " ".join(value.split())
            return line if len(line) <= 200 else line[:199] + "…"
    text = json.dumps(tool_input, sort_keys=True, default=str)
    return text if len(text) <= 200 else text[:199] + "…"
