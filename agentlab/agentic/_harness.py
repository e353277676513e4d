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
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from agentlab.agentic._session import (
    CallStatus,
    Connection,
    SessionResult,
    SessionSpec,
    Step,
    Subagent,
    ToolCall,
    Usage,
    redact,
    shorten,
    summarize,
)
from agentlab.errors import ConfigError, MissingDependencyError

if TYPE_CHECKING:
    from claude_agent_sdk import ClaudeAgentOptions, HookMatcher
    from claude_agent_sdk.types import HookContext, HookInput, HookJSONOutput

__all__ = ["WRITE_TOOLS", "Connection", "SessionResult", "SessionSpec", "Step", "Subagent",
           "ToolCall", "Usage", "cli_path", "cli_version", "redact", "run_session",
           "sandbox_problem", "summarize"]

WRITE_TOOLS = frozenset({"Edit", "MultiEdit", "Write", "NotebookEdit"})
_OUTPUT_HEAD = 2000  # characters of a tool's output kept in the transcript
# Inherited variables that would change which account, model or endpoint the CLI uses.
_BLANKED = ("ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_CUSTOM_HEADERS",
            "ANTHROPIC_MODEL", "ANTHROPIC_SMALL_FAST_MODEL", "ANTHROPIC_DEFAULT_OPUS_MODEL",
            "ANTHROPIC_DEFAULT_SONNET_MODEL", "ANTHROPIC_DEFAULT_HAIKU_MODEL",
            "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX", "CLAUDE_CODE_USE_FOUNDRY")


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
    env["ANTHROPIC_BASE_URL"] = connection.url  # explicit: an inherited one never wins
    return env


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
        clean = self.clean(shorten(dict(tool_input)))
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
        if spec.permission_mode == "plan" and name in (*WRITE_TOOLS, "Bash"):
            rec.mark(uid, "denied", "plan mode")
            return _deny("agentlab: permission mode 'plan': describe the change, make none")
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


def _permissions(spec: SessionSpec) -> Any:
    """Answer the permission prompts a headless session would otherwise fail on.

    With ``CLAUDE_CODE_SUBPROCESS_ENV_SCRUB`` set (it keeps the key out of the agent's
    commands) Claude Code forces permission mode ``default``, so the session's own mode is
    applied here and in the hook: Bash runs in the sandbox and writes outside the workspace
    were refused already, so a prompt is allowed, except in ``dontAsk`` (denied, as Claude
    Code's mode does) and ``plan`` (the hook refuses changes).
    """
    from claude_agent_sdk import PermissionResultAllow, PermissionResultDeny

    async def answer(name: str, tool_input: dict[str, Any], _ctx: Any) -> Any:
        if spec.permission_mode == "dontAsk":
            return PermissionResultDeny(message="permission mode 'dontAsk': not pre-approved")
        return PermissionResultAllow(updated_input=tool_input)

    return answer


def _under_tmp(cli: Path) -> list[str]:
    """Read-only mounts that bring back what the private /tmp hides: the CLI and Python.

    A checkout (and so its virtual environment, which holds the bundled CLI) may itself
    live under /tmp; the agent's Bash commands need that Python too.
    """
    tmp = Path("/tmp").resolve()
    roots = {cli.parent, Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    args: list[str] = []
    for root in sorted(roots, key=lambda p: len(p.parts)):
        if root.is_relative_to(tmp) and not any(root.is_relative_to(r) and root != r
                                                 for r in roots):
            args += ["--ro-bind", str(root), str(root)]
    return args


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
            "--tmpfs", "/tmp", *_under_tmp(cli), "--bind", str(session), str(session),
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
        can_use_tool=_permissions(spec), stderr=lambda line: rec.stderr.append(line),
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
