"""One agentic trial: its cell, its cache key, its Claude Code session and its measurements.

:func:`plan_trials` makes one :class:`TrialCell` per (variant, task, repeat);
:func:`run_trial` copies the task's workspace, runs the variant in Claude Code on the copy
(:func:`session_spec` says how, per mode), then measures what it did
(:class:`~agentlab.agentic._record.TrialRecord`: diff, scope, check after, mypy, ``Any``)
and returns the cell's :class:`~agentlab.runs.CellResult`. :mod:`agentlab.agentic._trial`
runs many of them.

The cache key (:func:`trial_key`) is a versioned hash of everything that changes what a
trial does: the API's identity, the CLI version, the mode, the variant's content and model,
the prompt, the workspace's content hash, the check, the limits, the sandbox setting and the
repeat index; not concurrency, budgets or names.
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
import importlib.util
import logging
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from agentlab.agentic._check import CheckLimits, CheckResult, run_check
from agentlab.agentic._harness import (
    Connection,
    SessionResult,
    SessionSpec,
    Subagent,
    cli_version,
    redact,
    run_session,
    sandbox_problem,
)
from agentlab.agentic._record import MypyRun, TrialRecord
from agentlab.agentic._workspace import (
    Snapshot,
    content_hash,
    copy_workspace,
    diff_snapshots,
    drop_sandbox_artifacts,
    outside_scope,
    snapshot,
)
from agentlab.errors import ConfigError
from agentlab.providers.models import ModelTable, choose_model
from agentlab.runs._cachekey import canonical_json
from agentlab.runs._store import CellResult

if TYPE_CHECKING:
    from agentlab.agents._agent import Agent
    from agentlab.tasks import Task

__all__ = ["DEFAULT_TIMEOUT_S", "DEFAULT_TRIAL_BUDGET_USD", "HARNESS_VERSION", "PROVIDER",
           "Mode", "TrialCell", "TrialSettings", "check_before", "plan_trials",
           "require_sandbox", "run_trial", "session_spec", "trial_key"]

log = logging.getLogger("agentlab")

Mode = Literal["as_main", "as_subagent"]
HARNESS_VERSION = 1
"""Bumped when the harness changes what a trial does (it is part of every cache key)."""
DEFAULT_TIMEOUT_S = 600.0
DEFAULT_TRIAL_BUDGET_USD = 2.0
"""Claude Code's own cost cap for one trial when the task sets no ``max_budget_usd``."""
PROVIDER = "claude-code"


@dataclass(frozen=True)
class TrialSettings:
    """What every trial of a run shares.

    Attributes:
        mode: ``as_main`` (the variant is the session's system prompt) or ``as_subagent``
            (installed through ``agents=``; Claude Code's own prompt delegates to it).
        sandbox: Claude Code's bash sandbox, the CLI's bubblewrap and the check's.
        connection: API address and key.
        table: Model aliases and prices.
        check_limits: Limits of the check command (its time limit comes from the task).
    """

    mode: Mode
    sandbox: bool
    connection: Connection
    table: ModelTable
    check_limits: CheckLimits = field(default_factory=CheckLimits)


@dataclass(frozen=True)
class TrialCell:
    """One trial to run: a variant, a task with a workspace, a repeat, and its key."""

    variant: Agent
    task: Task
    repeat: int
    model: str
    workspace_hash: str
    cache_key: str

    @property
    def budget_usd(self) -> float:
        """Claude Code's cost cap for this trial."""
        return self.task.max_budget_usd or DEFAULT_TRIAL_BUDGET_USD


def _wants_mypy(task: Task) -> bool:
    return any(c.get("type") == "mypy_clean" for c in task.checks)


def trial_key(variant: Agent, task: Task, repeat: int, model: str, workspace_hash: str,
              settings: TrialSettings, version: str) -> str:
    """The cache key of one trial (see the module docstring for what it includes)."""
    payload = {
        "v": HARNESS_VERSION, "kind": "trial", "ns": settings.connection.namespace,
        "cli": version, "mode": settings.mode, "sandbox": settings.sandbox, "model": model,
        "agent": {"frontmatter": variant.frontmatter(), "body": variant.body},
        "prompt": task.user_message(), "workspace": workspace_hash, "check": task.check,
        "max_turns": task.max_turns, "timeout_s": task.timeout_s or DEFAULT_TIMEOUT_S,
        "max_budget_usd": task.max_budget_usd, "scope": list(task.scope),
        "mypy": _wants_mypy(task), "check_limits": settings.check_limits.__dict__,
        "repeat": repeat,
    }
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def plan_trials(variants: Sequence[Agent], tasks: Sequence[Task], *, repeats: int,
                model: str | None, default_model: str, settings: TrialSettings,
                ) -> tuple[list[TrialCell], dict[str, dict[str, bytes]]]:
    """Every trial's cell, in variant × task × repeat order, and each workspace's files.

    Raises:
        ConfigError: A task has no ``workspace:``, or a workspace is too large.
    """
    if repeats < 1:
        raise ConfigError(f"repeats must be at least 1, got {repeats}")
    bare = [t.id for t in tasks if t.workspace is None]
    if bare:
        raise ConfigError(f"agentic trials need tasks with a 'workspace:' folder; "
                          f"{', '.join(map(repr, bare))} have none")
    files = {t.id: snapshot(t.workspace) for t in tasks if t.workspace is not None}
    hashes = {tid: content_hash(snap) for tid, snap in files.items()}
    version = cli_version()
    cells = []
    for variant in variants:
        model_id = choose_model(model, variant.model, default_model, settings.table)
        for task in tasks:
            for rep in range(repeats):
                key = trial_key(variant, task, rep, model_id, hashes[task.id], settings,
                                version)
                cells.append(TrialCell(variant, task, rep, model_id, hashes[task.id], key))
    return cells, files


def _subagent(variant: Agent, table: ModelTable) -> Subagent:
    fields = variant.fields
    model = variant.model
    resolved = table.resolve(model) if model and model != "inherit" else None
    disallowed = fields.get("disallowedTools")
    turns = fields.get("maxTurns")
    mode = fields.get("permissionMode")
    return Subagent(description=variant.description, prompt=variant.body, tools=variant.tools,
                    disallowed_tools=tuple(map(str, disallowed))
                    if isinstance(disallowed, list) else None,
                    model=resolved, max_turns=turns if isinstance(turns, int) else None,
                    permission_mode=mode if isinstance(mode, str) else None)


def session_spec(cell: TrialCell, workspace: Path, settings: TrialSettings) -> SessionSpec:
    """The Claude Code session of one trial, in the run's mode.

    ``as_main``: the variant's body is the whole system prompt and its ``tools``,
    ``disallowedTools``, ``permissionMode`` and ``maxTurns`` apply to the session.
    ``as_subagent``: Claude Code's own system prompt, the variant installed as a subagent
    with those fields, and a prompt that tells the main agent to delegate to it.
    """
    task, variant = cell.task, cell.variant
    sub = _subagent(variant, settings.table)
    timeout = task.timeout_s or DEFAULT_TIMEOUT_S
    if settings.mode == "as_subagent":
        prompt = (f"Delegate this task to the {variant.name} subagent (the Agent tool, "
                  f"subagent_type {variant.name!r}) and wait for its result.\n\n"
                  f"{task.user_message()}")
        return SessionSpec(prompt=prompt, cwd=workspace, model=cell.model,
                           agents={variant.name: sub}, max_turns=task.max_turns,
                           max_budget_usd=cell.budget_usd, timeout_s=timeout,
                           sandbox=settings.sandbox)
    turns = [t for t in (task.max_turns, sub.max_turns) if t is not None]
    return SessionSpec(prompt=task.user_message(), cwd=workspace, system_prompt=variant.body,
                       model=cell.model, tools=sub.tools,
                       disallowed_tools=sub.disallowed_tools or (),
                       permission_mode=sub.permission_mode or "acceptEdits",
                       max_turns=min(turns) if turns else None, max_budget_usd=cell.budget_usd,
                       timeout_s=timeout, sandbox=settings.sandbox)


_ANY = re.compile(r"\bAny\b")


def _any_uses(source: bytes | None) -> int:
    """Uses of ``Any`` in Python source (names and ``typing.Any``; not the import)."""
    if not source:
        return 0
    text = source.decode("utf-8", errors="replace")
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return len(_ANY.findall(text))
    return sum(1 for node in ast.walk(tree)
               if (isinstance(node, ast.Name) and node.id == "Any")
               or (isinstance(node, ast.Attribute) and node.attr == "Any"))


def _changed_python(before: Snapshot, after: Snapshot) -> list[str]:
    return sorted(p for p in set(before) | set(after)
                  if p.endswith(".py") and before.get(p) != after.get(p) and p in after)


def _mypy(files: list[str], workspace: Path, settings: TrialSettings) -> MypyRun:
    if not files:
        return MypyRun((), None)
    if importlib.util.find_spec("mypy") is None:
        return MypyRun(tuple(files), None)
    command = "python -m mypy --no-error-summary " + " ".join(f"'{f}'" for f in files)
    return MypyRun(tuple(files), run_check(command, workspace, settings.check_limits,
                                           sandboxed=settings.sandbox))


def _limits(task: Task, settings: TrialSettings) -> CheckLimits:
    base = settings.check_limits
    timeout = base.timeout_s if task.timeout_s is None else min(base.timeout_s, task.timeout_s)
    return CheckLimits(timeout, base.cpu_s, base.memory_mb, base.processes, base.file_mb)


def check_before(task: Task, files: Snapshot, settings: TrialSettings) -> CheckResult | None:
    """The task's check on a fresh copy of the untouched workspace (``None``: no check)."""
    if task.check is None or task.workspace is None:
        return None
    with tempfile.TemporaryDirectory(prefix="agentlab-check-") as tmp:
        copy = Path(tmp) / "workspace"
        copy_workspace(task.workspace, copy)
        return run_check(task.check, copy, _limits(task, settings), sandboxed=settings.sandbox)


def _outcome(cell: TrialCell, workspace: Path, original: Snapshot, session: SessionResult,
             before: CheckResult | None, settings: TrialSettings) -> TrialRecord:
    """Measure the workspace after the session: diff, scope, check, mypy, Any."""
    removed = drop_sandbox_artifacts(workspace, original)
    after = snapshot(workspace)
    diff = diff_snapshots(original, after)
    secret = [settings.connection.api_key]
    diff = type(diff)(redact(diff.text, secret), diff.files)
    task = cell.task
    check = (run_check(task.check, workspace, _limits(task, settings),
                       sandboxed=settings.sandbox) if task.check else None)
    changed_py = _changed_python(original, after)
    return TrialRecord(
        mode=settings.mode, sandbox=settings.sandbox, cli_version=session.cli_version,
        workspace_hash=cell.workspace_hash, check=task.check, check_before=before,
        check_after=check, diff=diff,
        outside_scope=outside_scope([f.path for f in diff.files], task.prompt, task.scope),
        artifacts=tuple(removed), calls=session.calls, steps=session.steps,
        subtype=session.subtype, num_turns=session.num_turns, duration_s=session.duration_s,
        cli_cost_usd=session.cost_usd, model_usage=session.model_usage,
        mypy=_mypy(changed_py, workspace, settings) if _wants_mypy(task) else None,
        any_added=sum(max(0, _any_uses(after.get(p)) - _any_uses(original.get(p)))
                      for p in changed_py))


def _cell_result(cell: TrialCell, session: SessionResult, record: TrialRecord) -> CellResult:
    import json

    calls = json.dumps([{"name": c.name, "input": c.input} for c in session.calls])
    u = session.usage
    return CellResult(
        variant=cell.variant.name, variant_hash=cell.variant.content_hash, task_id=cell.task.id,
        repeat=cell.repeat, cache_key=cell.cache_key, model=cell.model, provider=PROVIDER,
        text=session.text, input_tokens=u.input_tokens, output_tokens=u.output_tokens,
        cache_write_tokens=u.cache_write_tokens, cache_read_tokens=u.cache_read_tokens,
        latency_s=session.duration_s, stop_reason=session.stop_reason, error=session.error,
        error_kind=session.error_kind, tool_calls=calls, trial=record.to_json())


async def run_trial(cell: TrialCell, original: Snapshot, before: CheckResult | None,
                    settings: TrialSettings) -> CellResult:
    """Run one trial end to end: copy, session, measure; the copy is deleted afterwards.

    Args:
        cell: The trial.
        original: The task's workspace files (from :func:`plan_trials`).
        before: The check's result on the untouched workspace.
        settings: The run's settings.

    Returns:
        The cell, with the trial's record in ``trial``.
    """
    if cell.task.workspace is None:
        raise ConfigError(f"task {cell.task.id!r} has no workspace")
    with tempfile.TemporaryDirectory(prefix="agentlab-trial-") as tmp:
        workspace = Path(tmp) / "workspace"
        copy_workspace(cell.task.workspace, workspace)
        session = await run_session(session_spec(cell, workspace, settings),
                                    settings.connection)
        record = await asyncio.to_thread(_outcome, cell, workspace, original, session, before,
                                         settings)
    return _cell_result(cell, session, record)


def require_sandbox(sandbox: Literal["on", "off"]) -> bool:
    """Check that the sandbox can run (``on``), or warn that it will not (``off``).

    Raises:
        ConfigError: ``sandbox`` is not ``on``/``off``, or is on and bubblewrap is missing.
    """
    if sandbox not in ("on", "off"):
        raise ConfigError(f"sandbox must be 'on' or 'off', got {sandbox!r}")
    if sandbox == "off":
        log.warning("agentlab: trials run WITHOUT a sandbox (sandbox='off'): the agent's "
                    "commands and the check can write anywhere this user can")
        return False
    problem = sandbox_problem()
    if problem:
        raise ConfigError(problem)
    return True
