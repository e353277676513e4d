"""``al.trial``: run variants as Claude Code agents on task workspaces, cached and resumable.

:func:`trial_async` (and the sync :func:`trial`, which also works inside Jupyter) plans one
trial per (variant, task, repeat), validates everything before the first dollar is spent
(the sandbox, the CLI, the key, every workspace, the budget), then runs up to
``concurrency`` trials at once. Each finished trial is committed to the results store at
once, like every other cell, so an interrupt or a crash loses nothing that finished and
running the same experiment again runs only what is missing; a trial answered before (same
cache key, any run) is served from the store and sends no request. Trials that failed
(an API error, a crashed CLI) are recorded and never cached.

A per-run ``budget_usd`` reserves each trial's cost cap (the task's ``max_budget_usd``, or
:data:`~agentlab.agentic._trialcell.DEFAULT_TRIAL_BUDGET_USD`, which Claude Code enforces)
before starting it, and stops starting trials once the next could exceed the budget.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from agentlab.agentic._check import CheckLimits, CheckResult
from agentlab.agentic._harness import Connection
from agentlab.agentic._trialcell import (
    PROVIDER,
    Mode,
    TrialCell,
    TrialSettings,
    check_before,
    plan_trials,
    require_sandbox,
    run_trial,
)
from agentlab.errors import AuthenticationError, BudgetExceededError, ConfigError
from agentlab.providers.models import ModelTable
from agentlab.runs._cachekey import experiment_id
from agentlab.runs._cells import prefill
from agentlab.runs._progress import Progress, ProgressBar, gather_or_stop
from agentlab.runs._runner import Run, run_sync
from agentlab.runs._store import DEFAULT_DB, CellResult, Store

if TYPE_CHECKING:
    from agentlab.agents._agent import Agent
    from agentlab.tasks import Task

__all__ = ["trial", "trial_async"]

log = logging.getLogger("agentlab")


def _cost(result: CellResult, table: ModelTable) -> float:
    """What a finished trial cost, by the price table (Claude Code's estimate as fallback)."""
    from agentlab.agentic._record import TrialRecord, trial_cost

    if result.trial:
        rec = TrialRecord.from_json(result.trial)
        cost = trial_cost(rec, table)
        if cost is not None or rec.cli_cost_usd is not None:
            return cost if cost is not None else float(rec.cli_cost_usd or 0.0)
    return table.cost(result.model, result.input_tokens, result.output_tokens,
                      result.cache_write_tokens, result.cache_read_tokens) or 0.0


class _Execution:
    """One run's trials while they execute: semaphore, budget, checks before, stop flag."""

    def __init__(self, rid: str, store: Store, settings: TrialSettings,
                 files: dict[str, dict[str, bytes]], concurrency: int, budget: float | None,
                 bar: ProgressBar) -> None:
        self.rid, self.store, self.settings, self.files = rid, store, settings, files
        self.semaphore = asyncio.Semaphore(max(1, concurrency))
        self.budget, self.spent, self.reserved = budget, 0.0, 0.0
        self.bar = bar
        self.before: dict[str, CheckResult | None] = {}
        self.locks: dict[str, asyncio.Lock] = {}
        self.stop: str | None = None
        self.auth: str | None = None
        self.sent = 0

    async def check_before(self, task: Task) -> CheckResult | None:
        async with self.locks.setdefault(task.id, asyncio.Lock()):
            if task.id not in self.before:
                self.before[task.id] = await asyncio.to_thread(
                    check_before, task, self.files[task.id], self.settings)
            return self.before[task.id]

    def reserve(self, cell: TrialCell) -> bool:
        if self.budget is not None and self.spent + self.reserved + cell.budget_usd \
                > self.budget + 1e-9:
            self.stop = self.stop or f"budget of ${self.budget:.2f} reached"
            return False
        self.reserved += cell.budget_usd
        return True

    async def run(self, cell: TrialCell, index: int, found: dict[int, CellResult]) -> None:
        async with self.semaphore:
            if self.stop is not None or not self.reserve(cell):
                return
            try:
                before = await self.check_before(cell.task)
                self.sent += 1
                result = await run_trial(cell, self.files[cell.task.id], before,
                                         self.settings)
            except Exception as exc:  # a harness bug must not abort the other trials
                result = _failed(cell, exc)
            finally:
                self.reserved -= cell.budget_usd
            self.spent += _cost(result, self.settings.table)
            if result.error_kind == "auth":
                self.stop, self.auth = "authentication failed", result.error
            self.store.put(self.rid, result)
            found[index] = result
            self.bar.update()


def _failed(cell: TrialCell, exc: BaseException) -> CellResult:
    message = " ".join(f"{type(exc).__name__}: {exc}".split())[:500]
    return CellResult(variant=cell.variant.name, variant_hash=cell.variant.content_hash,
                      task_id=cell.task.id, repeat=cell.repeat, cache_key=cell.cache_key,
                      model=cell.model, provider=PROVIDER, error=message, error_kind="harness")


def _config(settings: TrialSettings, cells: Sequence[TrialCell], repeats: int,
            model: str | None, concurrency: int) -> dict[str, Any]:
    from agentlab.agentic._harness import cli_version

    return {"kind": "trial", "mode": settings.mode, "provider": settings.connection.namespace,
            "provider_name": PROVIDER, "cli_version": cli_version(), "repeats": repeats,
            "model": model, "sandbox": settings.sandbox, "concurrency": concurrency,
            "trials": len(cells)}


async def _execute(cells: list[TrialCell], variants: Sequence[Agent], tasks: Sequence[Task],
                   rid: str, store: Store, settings: TrialSettings,
                   files: dict[str, dict[str, bytes]], *, name: str | None,
                   concurrency: int, refresh: bool, budget: float | None,
                   progress: Progress, config: dict[str, Any]) -> Run:
    store.begin_run(rid, name, config,
                    [(v.name, v.content_hash, {"frontmatter": v.frontmatter(), "body": v.body})
                     for v in variants], [(t.id, t.snapshot()) for t in tasks])
    found = prefill(cells, store, rid, refresh, usable=lambda hit: bool(hit.trial))
    todo = [i for i in range(len(cells)) if i not in found]
    if todo and budget is not None and cells[todo[0]].budget_usd > budget:
        raise BudgetExceededError(f"budget ${budget:.2f} is below one trial's cost cap "
                                  f"(${cells[todo[0]].budget_usd:.2f}, the task's "
                                  "max_budget_usd); raise budget_usd or lower the cap")
    bar = ProgressBar(progress, len(found), len(cells), unit="trial",
                      desc=f"trials {rid[:8]}")
    state = _Execution(rid, store, settings, files, concurrency, budget, bar)
    status = "complete"
    jobs = [asyncio.ensure_future(state.run(cells[i], i, found)) for i in todo]
    try:
        if await gather_or_stop(jobs):
            status = "interrupted"
            log.warning("agentlab: trial run %s interrupted; finished trials are saved, run it "
                        "again to complete the rest", rid)
    finally:
        bar.close()
    if state.stop:
        status = f"stopped: {state.stop}"
    store.finish_run(rid, status)
    if state.auth:
        raise AuthenticationError(f"{state.auth} (run {rid} stopped early; finished trials "
                                  "are saved)")
    results = tuple(found[i] for i in sorted(found))
    return Run(rid, tuple(variants), tuple(tasks), results, status, store.path, PROVIDER,
               settings.table, state.sent)


async def trial_async(
    variants: Sequence[Agent], tasks: Sequence[Task], *, repeats: int = 1,
    mode: Mode = "as_main", concurrency: int = 2, budget_usd: float | None = None,
    model: str | None = None, default_model: str = "sonnet",
    db: Path | str | Store = DEFAULT_DB, refresh: bool = False, progress: Progress = True,
    table: ModelTable | None = None, name: str | None = None, run_id: str | None = None,
    connection: Connection | None = None, base_url: str | None = None,
    sandbox: Literal["on", "off"] = "on", check_limits: CheckLimits | None = None,
) -> Run:
    """Run every variant on every task's workspace in Claude Code (async core).

    Args:
        variants: Agent variants.
        tasks: Tasks with a ``workspace:`` (and usually a ``check:``).
        repeats: Trials per (variant, task).
        mode: ``as_main``: the variant is the session's system prompt; ``as_subagent``: it
            is installed as a subagent and Claude Code's main agent is told to use it.
        concurrency: Most trials at once (each is a Claude Code process; 2 suits 2 cores).
        budget_usd: Stop starting trials once the next could take the run past this.
        model: Model for every trial (wins over the variants' ``model``).
        default_model: Used when a variant names no model (or ``inherit``).
        db: Results database path (or an open :class:`~agentlab.runs.Store`).
        refresh: Ignore the cache (and this run's finished trials).
        progress: ``True`` for a tqdm bar, a ``(done, total)`` callable, or ``False``.
        table: Model aliases and prices.
        name: Optional human name stored with the run.
        run_id: Force a run id (default: derived from the trials, which makes resume work).
        connection: API address and key (default: ``ANTHROPIC_API_KEY`` and
            ``ANTHROPIC_BASE_URL`` or ``base_url``).
        base_url: API address when ``connection`` is not given (e.g. the fake's).
        sandbox: ``on`` (bubblewrap required) or ``off`` (no sandbox at all; warns).
        check_limits: CPU, memory, process and time limits of the check command.

    Returns:
        The run; ``to_dataframe()`` has the trial columns (``check_passed``, ``diff_lines``,
        ``files_changed``, ``turns``, ``tool_calls``...).

    Raises:
        ConfigError: Bad mode, no key, sandbox missing, a task without a workspace.
        MissingDependencyError: ``claude-agent-sdk`` is not installed (the ``agent`` extra).
        BudgetExceededError: ``budget_usd`` is below one trial's cost cap.
        AuthenticationError: The API refused the key (finished trials are kept).
    """
    if mode not in ("as_main", "as_subagent"):
        raise ConfigError(f"mode must be 'as_main' or 'as_subagent', got {mode!r}")
    sandboxed = require_sandbox(sandbox)
    settings = TrialSettings(mode, sandboxed, connection or Connection.from_env(base_url),
                             table or ModelTable(), check_limits or CheckLimits())
    cells, files = plan_trials(variants, tasks, repeats=repeats, model=model,
                               default_model=default_model, settings=settings)
    rid = run_id or experiment_id([c.cache_key for c in cells])
    store = db if isinstance(db, Store) else Store(db)
    try:
        return await _execute(cells, variants, tasks, rid, store, settings, files, name=name,
                              concurrency=concurrency, refresh=refresh, budget=budget_usd,
                              progress=progress,
                              config=_config(settings, cells, repeats, model, concurrency))
    finally:
        if not isinstance(db, Store):
            store.close()


def trial(
    variants: Sequence[Agent], tasks: Sequence[Task], *, repeats: int = 1,
    mode: Mode = "as_main", concurrency: int = 2, budget_usd: float | None = None,
    model: str | None = None, default_model: str = "sonnet",
    db: Path | str | Store = DEFAULT_DB, refresh: bool = False, progress: Progress = True,
    table: ModelTable | None = None, name: str | None = None, run_id: str | None = None,
    connection: Connection | None = None, base_url: str | None = None,
    sandbox: Literal["on", "off"] = "on", check_limits: CheckLimits | None = None,
) -> Run:
    """Run agentic trials synchronously; works in scripts and inside Jupyter.

    Takes the same arguments as :func:`trial_async` (see there). In a running event loop (a
    notebook cell) the trials run on a worker thread; Ctrl-C or a kernel interrupt stops them
    and returns what finished (``status == "interrupted"``).
    """
    return run_sync(lambda: trial_async(
        variants, tasks, repeats=repeats, mode=mode, concurrency=concurrency,
        budget_usd=budget_usd, model=model, default_model=default_model, db=db,
        refresh=refresh, progress=progress, table=table, name=name, run_id=run_id,
        connection=connection, base_url=base_url, sandbox=sandbox, check_limits=check_limits))
