"""One isolated Claude Code session, run through ``claude-agent-sdk`` and its bundled CLI.

:func:`run_session` starts the real Claude Code CLI headless on a working folder and
returns what happened: the final text, every tool call in order (with its outcome), the
turns, tokens, cost and duration from the SDK's result message. Each session is isolated:

- a private ``HOME`` and ``CLAUDE_CONFIG_DIR`` (deleted afterwards) and
  ``setting_sources=[]``, so no user ``CLAUDE.md``, settings, agents or memory leak in;
- ``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1``: no update checks or telemetry;
- Claude Code's own bash sandbox (bubblewrap) on for every ``Bash`` command, with no way
  out (``allowUnsandboxedCommands: false``); the Edit/Write tools, which the CLI runs
  itself, are refused by a ``PreToolUse`` hook for any path outside the working folder;
- the API key goes only into the CLI process's environment, and
  ``CLAUDE_CODE_SUBPROCESS_ENV_SCRUB=1`` keeps it out of the commands the model runs;
  everything returned is scrubbed of it again (:func:`redact`).

Routing (which subagent does Claude Code pick?) builds on this: pass the roster as
``agents=`` and a ``stop_when`` predicate; the first tool call it accepts is recorded,
denied and ends the session, so the chosen subagent never runs and costs nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from agentlab.errors import ConfigError, MissingDependencyError

if TYPE_CHECKING:
    from claude_agent_sdk import ClaudeAgentOptions, HookMatcher
    from claude_agent_sdk.types import HookContext, HookInput, HookJSONOutput

__all__ = ["Connection", "SessionResult", "SessionSpec", "Step", "Subagent", "ToolCall",
           "Usage", "cli_path", "cli_version", "redact", "run_session", "sandbox_problem"]

DEFAULT_BASE_URL = "https://api.anthropic.com"
WRITE_TOOLS = frozenset({"Edit", "MultiEdit", "Write", "NotebookEdit"})
_OUTPUT_HEAD = 2000  # characters of a tool's output kept in the transcript
_INPUT_TEXT = 4000  # longest string kept in a recorded tool input
# Inherited variables that would change which account, model or endpoint the CLI uses.
_BLANKED = ("ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_CUSTOM_HEADERS",
            "ANTHROPIC_MODEL", "ANTHROPIC_SMALL_FAST_MODEL", "ANTHROPIC_DEFAULT_OPUS_MODEL",
            "ANTHROPIC_DEFAULT_SONNET_MODEL", "ANTHROPIC_DEFAULT_HAIKU_MODEL",
            "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX", "CLAUDE_CODE_USE_FOUNDRY")
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


def cli_path() -> Path:
    """The Claude Code CLI bundled in ``claude-agent-sdk`` (or ``claude`` on ``PATH``).

    Raises:
        MissingDependencyError: ``claude-agent-sdk`` is not installed.
        ConfigError: It is installed but has no bundled CLI and none is on ``PATH``.
    """
    try:
        import claude_agent_sdk
    except ImportError as exc:
        raise MissingDependencyError("claude-agent-sdk", "agent") from exc
    bundled = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
    if bundled.is_file():
        return bundled
    found = shutil.which("claude")
    if found is None:
        raise ConfigError("claude-agent-sdk has no bundled Claude Code CLI for this platform "
                          "and no 'claude' is on PATH; install a platform wheel")
    return Path(found)


@lru_cache(maxsize=4)
def _version_of(path: Path) -> str:
    done = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=60,
                          check=False)
    return done.stdout.strip().split(" ")[0] or "unknown"


def cli_version() -> str:
    """The Claude Code CLI's version (``2.1.332``), read once per process."""
    return _version_of(cli_path())


def sandbox_problem() -> str | None:
    """Why Claude Code's bash sandbox cannot run here, or ``None`` when it can."""
    missing = [tool for tool in ("bwrap", "socat") if shutil.which(tool) is None]
    if missing:
        return (f"{' and '.join(missing)} not found: Claude Code's bash sandbox needs the "
                "Debian packages bubblewrap and socat (apt-get install -y bubblewrap socat, "
                "or .ci/install-sandbox.sh); pass sandbox='off' to run without it")
    return None


def _isolated_env(home: Path, connection: Connection) -> dict[str, str]:
    env = {name: "" for name in _BLANKED if name in os.environ}
    env.update({
        "HOME": str(home), "CLAUDE_CONFIG_DIR": str(home / ".claude"),
        "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "ANTHROPIC_API_KEY": connection.api_key,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "CLAUDE_CODE_SUBPROCESS_ENV_SCRUB": "1",
        "DISABLE_AUTOUPDATER": "1",
        # The sandbox lets commands write to $TMPDIR: make it private, not /tmp.
        "TMPDIR": str(home / "tmp"),
    })
    env["ANTHROPIC_BASE_URL"] = connection.base_url or ""
    if not connection.base_url:
        del env["ANTHROPIC_BASE_URL"]
        if "ANTHROPIC_BASE_URL" in os.environ:
            env["ANTHROPIC_BASE_URL"] = DEFAULT_BASE_URL
    return env


def _shorten(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _INPUT_TEXT:
        return value[:_INPUT_TEXT] + f"… [{len(value) - _INPUT_TEXT} more characters]"
    if isinstance(value, dict):
        return {str(k): _shorten(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shorten(v) for v in value]
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


def _inside(path: str, root: Path) -> bool:
    target = Path(path) if os.path.isabs(path) else root / path
    resolved, base = target.resolve(), root.resolve()
    return resolved == base or base in resolved.parents


class _Recorder:
    """Collects the transcript from the message stream and the hooks."""

    def __init__(self, spec: SessionSpec, secrets: Sequence[str]) -> None:
        self.spec, self.secrets = spec, secrets
        self.calls: list[ToolCall] = []
        self.index: dict[str, int] = {}
        self.steps: list[Step] = []
        self.stopped: str | None = None
        self.model = ""
        self.version = ""
        self.stderr: list[str] = []

    def clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return redact(value, self.secrets)
        if isinstance(value, dict):
            return {k: self.clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.clean(v) for v in value]
        return value

    def tool_use(self, use_id: str, name: str, tool_input: Mapping[str, Any],
                 parent: str | None, from_stream: bool = True) -> None:
        if use_id in self.index:  # seen by the hook first: the stream knows the parent
            i = self.index[use_id]
            if parent is not None and from_stream:
                self.calls[i] = replace(self.calls[i], parent=parent)
                self.steps = [replace(s, parent=parent) if s.call == i else s
                              for s in self.steps]
            return
        clean = self.clean(_shorten(dict(tool_input)))
        self.index[use_id] = len(self.calls)
        self.calls.append(ToolCall(use_id, name, summarize(name, clean), clean, parent=parent))
        self.steps.append(Step("tool", call=len(self.calls) - 1, parent=parent))

    def tool_result(self, use_id: str, content: Any, is_error: bool | None) -> None:
        i = self.index.get(use_id)
        if i is None:
            return
        if isinstance(content, list):
            content = "\n".join(str(b.get("text", "")) if isinstance(b, dict) else str(b)
                                for b in content)
        text = self.clean(str(content or ""))[:_OUTPUT_HEAD]
        old = self.calls[i]
        status: CallStatus = old.status if old.status in ("denied", "stopped") else (
            "error" if is_error else "ok")
        self.calls[i] = replace(old, status=status, output=text)

    def mark(self, use_id: str, status: CallStatus, output: str = "") -> None:
        i = self.index.get(use_id)
        if i is not None:
            self.calls[i] = replace(self.calls[i], status=status,
                                    output=output or self.calls[i].output)

    def text(self, text: str, parent: str | None) -> None:
        if text.strip():
            self.steps.append(Step("text", text=self.clean(text), parent=parent))


def _deny(reason: str, stop: bool = False) -> HookJSONOutput:
    out: dict[str, Any] = {"hookSpecificOutput": {
        "hookEventName": "PreToolUse", "permissionDecision": "deny",
        "permissionDecisionReason": reason}}
    if stop:
        out.update({"continue_": False, "stopReason": reason})
    return out  # type: ignore[return-value]  # a SyncHookJSONOutput, built as a dict


def _hooks(spec: SessionSpec, rec: _Recorder) -> dict[str, list[HookMatcher]]:
    from claude_agent_sdk import HookMatcher

    async def pre_tool_use(data: HookInput, use_id: str | None,
                           _ctx: HookContext) -> HookJSONOutput:
        raw = cast("Mapping[str, Any]", data)  # a union of TypedDicts; read it as JSON
        name = str(raw.get("tool_name", ""))
        tool_input: Mapping[str, Any] = raw.get("tool_input") or {}
        uid = use_id or str(raw.get("tool_use_id", ""))
        agent = raw.get("agent_id")
        rec.tool_use(uid, name, tool_input, agent if isinstance(agent, str) else None, False)
        call = rec.calls[rec.index[uid]]
        if spec.stop_when is not None and spec.stop_when(call):
            rec.stopped = rec.stopped or f"stop_when matched {name}"
            rec.mark(uid, "stopped")
            return _deny("agentlab: the trial stops at this tool call", stop=True)
        if name in WRITE_TOOLS:
            path = str(tool_input.get("file_path") or tool_input.get("notebook_path") or "")
            if path and not _inside(path, spec.cwd):
                rec.mark(uid, "denied", "outside the workspace")
                return _deny(f"agentlab: {path} is outside the workspace; write only inside "
                             f"{spec.cwd}")
        if spec.max_tool_calls is not None and len(rec.calls) > spec.max_tool_calls:
            rec.stopped = rec.stopped or f"max_tool_calls ({spec.max_tool_calls})"
            rec.mark(uid, "stopped")
            return _deny("agentlab: tool-call limit reached", stop=True)
        return {}

    return {"PreToolUse": [HookMatcher(matcher=None, hooks=[pre_tool_use])]}


async def _can_use_tool(name: str, tool_input: dict[str, Any], _ctx: Any) -> Any:
    """Answer the permission prompts a headless session would otherwise fail on.

    Bash runs in the sandbox, and writes outside the workspace were refused by the hook
    already, so whatever still asks is allowed.
    """
    from claude_agent_sdk import PermissionResultAllow

    return PermissionResultAllow(updated_input=tool_input)


def _launcher(session: Path, cwd: Path) -> Path:
    """A script that starts the CLI inside bubblewrap, able to write only two folders.

    Claude Code's own sandbox confines the commands it runs, but here (as root) it leaves
    /tmp, /var and /root writable, and it does not cover the CLI process itself, which runs
    the Edit and Write tools. So the whole CLI runs under bubblewrap: the filesystem is
    read-only except the workspace and this session's private folder, /tmp is private, and
    bubblewrap dies with its parent. Claude Code's sandbox still runs inside it.
    """
    cli = cli_path().resolve()
    args = ["bwrap", "--die-with-parent", "--ro-bind", "/", "/", "--dev-bind", "/dev", "/dev",
            "--tmpfs", "/dev/shm", "--bind", "/proc", "/proc",  # Claude Code's bwrap: uid map
            "--tmpfs", "/tmp", "--bind", str(session), str(session),
            "--bind", str(cwd.resolve()), str(cwd.resolve()), "--chdir", str(cwd.resolve()),
            "--", str(cli)]
    script = session / "claude"
    script.write_text("#!/bin/sh\nexec " + " ".join(shlex.quote(a) for a in args) + ' "$@"\n')
    script.chmod(0o700)
    return script


def _options(spec: SessionSpec, connection: Connection, home: Path, rec: _Recorder,
             ) -> ClaudeAgentOptions:
    from claude_agent_sdk import AgentDefinition, ClaudeAgentOptions

    agents = {name: AgentDefinition(
        description=a.description, prompt=a.prompt,
        tools=list(a.tools) if a.tools is not None else None,
        disallowedTools=list(a.disallowed_tools) if a.disallowed_tools is not None else None,
        model=a.model, maxTurns=a.max_turns, background=a.background,
        permissionMode=a.permission_mode)  # type: ignore[arg-type]  # validated upstream
        for name, a in spec.agents.items()}
    system: Any = (spec.system_prompt if spec.system_prompt is not None
                   else {"type": "preset", "preset": "claude_code"})
    return ClaudeAgentOptions(
        system_prompt=system, cwd=str(spec.cwd), setting_sources=[], agents=agents or None,
        model=spec.model, tools=list(spec.tools) if spec.tools is not None else None,
        disallowed_tools=list(spec.disallowed_tools),
        permission_mode=spec.permission_mode,  # type: ignore[arg-type]  # validated upstream
        max_turns=spec.max_turns, max_budget_usd=spec.max_budget_usd,
        sandbox={"enabled": spec.sandbox, "allowUnsandboxedCommands": False,
                 "autoAllowBashIfSandboxed": True},
        env=_isolated_env(home, connection),
        cli_path=str(_launcher(home.parent, spec.cwd) if spec.sandbox else cli_path()),
        hooks=_hooks(spec, rec),  # type: ignore[arg-type]  # event names are literals
        can_use_tool=_can_use_tool, stderr=lambda line: rec.stderr.append(line),
    )


def _api_error_kind(status: int | None) -> str:
    if status in (401, 403):
        return "auth"
    return {429: "rate_limit", 529: "overloaded", 400: "invalid_request",
            404: "not_found"}.get(status or 0, "server" if status else "cli")


def _read(message: Any, rec: _Recorder, box: dict[str, Any]) -> None:
    from claude_agent_sdk import (
        AssistantMessage,
        ResultMessage,
        SystemMessage,
        TaskNotificationMessage,
        TaskStartedMessage,
        TextBlock,
        ToolResultBlock,
        ToolUseBlock,
        UserMessage,
    )

    pending: set[str] = box.setdefault("pending", set())
    if isinstance(message, TaskStartedMessage):
        pending.add(message.task_id)
    elif isinstance(message, TaskNotificationMessage):
        pending.discard(message.task_id)
    elif isinstance(message, SystemMessage) and message.subtype == "init":
        rec.model = rec.model or str(message.data.get("model", ""))
        rec.version = str(message.data.get("claude_code_version", ""))
    elif isinstance(message, AssistantMessage):
        for block in message.content:
            if isinstance(block, TextBlock):
                rec.text(block.text, message.parent_tool_use_id)
                if message.parent_tool_use_id is None:
                    box["last_text"] = block.text
            elif isinstance(block, ToolUseBlock):
                rec.tool_use(block.id, block.name, block.input, message.parent_tool_use_id)
        if message.parent_tool_use_id is None:
            box["stop"] = message.stop_reason or box.get("stop")
    elif isinstance(message, UserMessage) and isinstance(message.content, list):
        for block in message.content:
            if isinstance(block, ToolResultBlock):
                rec.tool_result(block.tool_use_id, block.content, block.is_error)
    elif isinstance(message, ResultMessage):
        box.setdefault("results", []).append(message)


async def _converse(spec: SessionSpec, options: ClaudeAgentOptions, rec: _Recorder,
                    box: dict[str, Any]) -> None:
    from claude_agent_sdk import ClaudeSDKClient, ResultMessage

    async with ClaudeSDKClient(options=options) as client:
        await client.query(spec.prompt)
        async for message in client.receive_messages():
            _read(message, rec, box)
            # A subagent launched in the background finishes after the main turn's
            # result; the CLI then continues the session and sends another result.
            if isinstance(message, ResultMessage) and not box.get("pending"):
                return


def _totals(results: list[Any]) -> tuple[Usage, dict[str, Usage]]:
    """Session tokens, from the result messages.

    The last result's per-model usage is cumulative and counts subagents; each result's
    ``usage`` covers only its own main-agent turns (the fallback).
    """
    per_model = {str(m): Usage.from_sdk(u) for m, u in
                 (getattr(results[-1], "model_usage", None) or {}).items()} if results else {}
    parts = list(per_model.values()) or [Usage.from_sdk(r.usage) for r in results]
    total = Usage(*(sum(getattr(u, f) for u in parts) for f in
                    ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens")))
    return total, per_model


def _api_failure(result: Any) -> tuple[str, str] | None:
    if result is None or not result.is_error or result.subtype != "success":
        return None  # error_max_turns and the like are outcomes, not failures
    status = result.api_error_status
    text = " ".join(str(result.result or "API error").split())[:500]
    return (f"API error {status}: {text}" if status else text), _api_error_kind(status)


def _finish(spec: SessionSpec, rec: _Recorder, box: dict[str, Any], started: float,
            failure: tuple[str, str] | None) -> SessionResult:
    results: list[Any] = box.get("results", [])
    result = results[-1] if results else None
    usage, per_model = _totals(results)
    for res in results:
        for denial in res.permission_denials or []:
            uid = denial.get("tool_use_id") if isinstance(denial, dict) else None
            if uid in rec.index and rec.calls[rec.index[uid]].status != "stopped":
                rec.mark(str(uid), "denied")
    if failure is None and not rec.stopped:
        failure = _api_failure(result)
    error, kind = failure if failure else (None, None)
    stop = "stopped" if rec.stopped else (
        getattr(result, "stop_reason", None) or box.get("stop"))
    text = str(getattr(result, "result", None) or box.get("last_text") or "")
    return SessionResult(
        text=rec.clean(text), subtype=str(getattr(result, "subtype", "none")), stop_reason=stop,
        is_error=bool(getattr(result, "is_error", False)),
        error=rec.clean(error) if error else None, error_kind=kind,
        num_turns=sum(int(r.num_turns) for r in results),
        duration_s=time.monotonic() - started, usage=usage, model_usage=per_model,
        cost_usd=getattr(result, "total_cost_usd", None), calls=tuple(rec.calls),
        steps=tuple(rec.steps), model=rec.model or spec.model or next(iter(per_model), ""),
        cli_version=rec.version or cli_version(),
        stderr_tail=rec.clean("\n".join(rec.stderr[-20:]))[-4000:])


async def run_session(spec: SessionSpec, connection: Connection) -> SessionResult:
    """Run one isolated Claude Code session and record what it did.

    Never raises for what the session does (API errors, limits, timeouts, a crashed CLI):
    those are recorded in the result's ``error`` / ``stop_reason``.

    Args:
        spec: The prompt, working folder, system prompt, subagents and limits.
        connection: The API address and key (the key reaches only the CLI process).

    Returns:
        The session's outcome and transcript, with the key scrubbed from every text.

    Raises:
        MissingDependencyError: ``claude-agent-sdk`` is not installed.
        ConfigError: ``sandbox`` is on but bubblewrap or socat is missing.
    """
    if spec.sandbox and (problem := sandbox_problem()):
        raise ConfigError(problem)
    rec = _Recorder(spec, [connection.api_key])
    box: dict[str, Any] = {}
    started = time.monotonic()
    failure: tuple[str, str] | None = None
    timed_out = False
    with tempfile.TemporaryDirectory(prefix="agentlab-session-") as session_dir:
        home = Path(session_dir) / "home"
        (home / "tmp").mkdir(parents=True)
        options = _options(spec, connection, home, rec)
        try:
            await asyncio.wait_for(_converse(spec, options, rec, box), spec.timeout_s)
        except TimeoutError:
            timed_out = True  # an outcome (the agent took too long), not a failure
        except Exception as exc:  # the CLI crashed or could not start: record, never raise
            if not rec.stopped:  # ending the session at stop_when is not a failure
                failure = (" ".join(f"{type(exc).__name__}: {exc}".split())[:500], "cli")
    out = _finish(spec, rec, box, started, failure)
    return replace(out, stop_reason="timeout") if timed_out else out
