"""Run variants × tasks × repeats through a provider: concurrent, cached, resumable.

One async core (:func:`run_async`) and a thin sync wrapper (:func:`run`) that also
works inside Jupyter's running event loop. Every finished cell is committed to the
store at once; a failing cell is recorded, never raised; an interrupt keeps every
finished result; running the same experiment again completes only missing cells.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from agentlab.errors import AuthenticationError, BudgetExceededError, ConfigError, StoreError
from agentlab.providers._registry import select_provider
from agentlab.providers.base import (
    CallError,
    GenerationOptions,
    Provider,
    Response,
)
from agentlab.providers.models import ModelTable
from agentlab.runs._cachekey import experiment_id
from agentlab.runs._cells import (
    Cell,
    cell_result,
    copy_twins,
    plan,
    prefill,
    provider_order,
    unique_requests,
)
from agentlab.runs._progress import Progress, ProgressBar, gather_or_stop
from agentlab.runs._store import DEFAULT_DB, CellResult, Store
from agentlab.runs._writer import ResultWriter, recover_unsaved

if TYPE_CHECKING:
    import pandas as pd

    from agentlab.agents._agent import Agent
    from agentlab.runs._batch import BatchOptions
    from agentlab.tasks import Task

log = logging.getLogger("agentlab")
T = TypeVar("T")


@dataclass(frozen=True)
class Run:
    """A finished (or stopped) run and its results, in variant × task × repeat order.

    Attributes:
        id: Run id (stable for the same experiment, which is what makes resume work).
        variants: The variants run.
        tasks: The tasks run.
        results: One result per finished cell.
        status: ``complete``, ``interrupted``, ``stopped: <why>``, or for a batch run
            ``pending: <cells in flight>`` until :meth:`collect` gathers them.
        store_path: The results database.
        provider: Provider name.
        table: Aliases and prices used.
    """

    id: str
    variants: tuple[Agent, ...]
    tasks: tuple[Task, ...]
    results: tuple[CellResult, ...]
    status: str
    store_path: Path
    provider: str
    table: ModelTable = field(default_factory=ModelTable)
    requests_sent: int = 0

    @property
    def errors(self) -> int:
        """Number of failed cells."""
        return sum(1 for r in self.results if not r.ok)

    def to_dataframe(self) -> pd.DataFrame:
        """One row per cell with tokens, latency, cost and length metrics."""
        from agentlab.runs._results import results_dataframe

        return results_dataframe(self.id, self.results, self.table)

    def summary(self) -> pd.DataFrame:
        """Per-variant totals (cells, errors, mean words, mean output tokens, cost)."""
        from agentlab.runs._results import run_summary

        return run_summary(self.to_dataframe())

    def collect(self, *, wait: bool = True, provider: Provider | None = None,
                batch: BatchOptions | None = None, progress: Progress = True) -> Run:
        """Poll this run's Message Batches and store their results (``open_run(id).collect()``).

        Args:
            wait: Poll until every batch has ended; ``False`` checks once.
            provider: Provider to reach the API with (default: the address the batches
                were sent to, with ``ANTHROPIC_API_KEY``).
            batch: Polling settings.
            progress: A tqdm bar (``True``), none (``False``), or a ``(done, total)`` callback.

        Returns:
            The run reopened from the store, with what has arrived.
        """
        from agentlab.runs._batch import collect_async
        from agentlab.runs._history import open_run

        run_sync(lambda: collect_async(self.id, db=self.store_path, provider=provider,
                                       wait=wait, options=batch, progress=progress))
        return open_run(self.id, self.store_path)


class _Budget:
    """Reserves a worst-case cost before each call and settles the real one after."""

    def __init__(self, limit: float | None, table: ModelTable, batch: bool = False) -> None:
        self.limit, self.table, self.spent, self.reserved = limit, table, 0.0, 0.0
        self.batch = batch  # priced at the Message Batches rate

    def worst_case(self, cell: Cell) -> float:
        req = cell.request
        chars = len(req.system) + sum(len(m.content) for m in req.messages)
        cost = self.table.cost(req.model, chars // 3 + 16, req.options.max_tokens,
                               batch=self.batch)
        return cost or 0.0

    def reserve(self, cell: Cell) -> float | None:
        need = self.worst_case(cell)
        if self.limit is not None and self.spent + self.reserved + need > self.limit:
            return None
        self.reserved += need
        return need

    def settle(self, reserved: float, result: CellResult) -> None:
        self.reserved -= reserved
        self.spent += self.table.cost(result.model, result.input_tokens, result.output_tokens,
                                      result.cache_write_tokens, result.cache_read_tokens) or 0.0


class _Execution:
    """State of one run while it executes (semaphore, stop flag, budget, progress)."""

    def __init__(self, run_id: str, provider: Provider, store: Store, concurrency: int,
                 budget: _Budget, progress: Any) -> None:
        self.run_id, self.provider, self.store = run_id, provider, store
        self.semaphore = asyncio.Semaphore(max(1, concurrency))
        self.budget, self.progress = budget, progress
        self.stop_reason: str | None = None
        self.auth_error: str | None = None
        self.sent = 0
        self.writer = ResultWriter(store, run_id)
        self.missing_models: dict[str, str] = {}  # model id -> the API's not_found message

    def _model_missing(self, model: str, message: str) -> None:
        if model not in self.missing_models:
            self.missing_models[model] = message
            log.warning("agentlab: model %r was not found (%s); its other cells are not sent",
                        model, message)

    async def _record(self, index: int, result: CellResult, found: dict[int, CellResult]) -> None:
        found[index] = result  # kept in memory first: a locked store loses nothing
        self.progress.update(1)
        await self.writer.add([result])

    async def cell(self, cell: Cell, index: int, found: dict[int, CellResult]) -> None:
        """Run one cell and record its result in the store and in ``found[index]``."""
        async with self.semaphore:
            if self.stop_reason is not None or self.writer.failed is not None:
                return
            missing = self.missing_models.get(cell.request.model)
            if missing is not None:  # the first call for this model got a 404: do not send
                error = CallError("not_found", f"not sent: {missing}")
                await self._record(index, cell_result(cell, self.provider.name, error, 0.0),
                                   found)
                return
            reserved = self.budget.reserve(cell)
            if reserved is None:
                self.stop_reason = f"budget of ${self.budget.limit:.2f} reached"
                return
            self.sent += 1
            start = time.monotonic()
            outcome: Response | BaseException
            try:
                outcome = await self.provider.complete(cell.request)
            except CallError as exc:
                outcome = exc
                if exc.kind == "auth":
                    self.stop_reason, self.auth_error = "authentication failed", str(exc)
                elif exc.kind == "not_found":
                    self._model_missing(cell.request.model, str(exc))
            except Exception as exc:  # a provider bug must not abort the other cells
                outcome = exc
            result = cell_result(cell, self.provider.name, outcome, time.monotonic() - start)
            self.budget.settle(reserved, result)
            await self._record(index, result, found)


async def run_async(
    variants: Sequence[Agent], tasks: Sequence[Task], *, repeats: int = 1,
    model: str | None = None, default_model: str = "sonnet",
    provider: Provider | str | None = None, options: GenerationOptions | None = None,
    concurrency: int = 8, db: Path | str | Store = DEFAULT_DB, refresh: bool = False,
    budget_usd: float | None = None, progress: Progress = True, table: ModelTable | None = None,
    name: str | None = None, run_id: str | None = None, online_aliases: bool = False,
    batch: bool | BatchOptions = False, wait: bool = True,
) -> Run:
    """Run every variant on every task ``repeats`` times (async core).

    Args:
        variants: Agent variants; each body is sent as the system prompt.
        tasks: Sample tasks; each becomes the user turn.
        repeats: Samples per (variant, task).
        model: Explicit model for every cell (wins over the variants' ``model``).
        default_model: Used when a variant names no model (or ``inherit``).
        provider: A provider instance, ``"anthropic"``, ``"local"``, or ``None`` to choose:
            the Anthropic API when ``ANTHROPIC_API_KEY`` is set, else the local model.
        options: Generation options (max tokens, temperature, seed, ...); default: the
            provider's default ``max_tokens`` (2048 for Claude, 768 for the local model).
        concurrency: Most calls in flight at once.
        db: Results database path (or an open :class:`Store`).
        refresh: Ignore the cache and call the provider for every cell.
        budget_usd: Stop before the run could spend more than this.
        progress: ``True`` shows a tqdm progress bar (a widget in Jupyter); a callable
            ``(done, total)`` is called instead as cells finish (for widgets).
        table: Model aliases and prices.
        name: Optional human name stored with the run.
        run_id: Force a run id (default: derived from the experiment, enabling resume).
        online_aliases: Resolve aliases (``sonnet``...) to the newest model of each family
            through the Models API (one request, cached per process) instead of the table.
        batch: Send the cells that are not cached through Anthropic's Message Batches API
            (half the price, results within 24 hours); a :class:`BatchOptions` sets polling
            and splitting. Running the same experiment again re-attaches to its batches.
        wait: With ``batch``, poll until every batch is collected; ``False`` returns once
            they are submitted (``status`` ``pending: ...``; gather with ``run.collect()``).

    Returns:
        The run; ``status`` says whether it completed.

    Raises:
        AuthenticationError: The provider refused the key (finished cells are kept).
        BudgetExceededError: ``budget_usd`` does not cover even the first cell.
        ConfigError: Unknown provider or model setting.
    """
    table = table or ModelTable()
    chosen = select_provider(provider, model)
    options = options or GenerationOptions(max_tokens=chosen.default_max_tokens)
    model = chosen.run_model(model)
    if online_aliases:
        table = table.with_aliases(await chosen.latest_model_ids())
    namespace = chosen.cache_namespace
    cells = plan(variants, tasks, repeats=repeats, model=model, default_model=default_model,
                 options=options, namespace=namespace, table=table)
    config = {"repeats": repeats, "model": model, "default_model": default_model,
              "provider": namespace, "options": options.__dict__, "concurrency": concurrency}
    return await execute_async(cells, provider=chosen, db=db, run_id=run_id, name=name,
                               concurrency=concurrency, refresh=refresh, budget_usd=budget_usd,
                               progress=progress, table=table, config=config, batch=batch,
                               wait=wait)


async def execute_async(
    cells: Sequence[Cell], *, provider: Provider, db: Path | str | Store = DEFAULT_DB,
    run_id: str | None = None, name: str | None = None, concurrency: int = 8,
    refresh: bool = False, budget_usd: float | None = None, progress: Progress = True,
    table: ModelTable | None = None, config: dict[str, Any] | None = None,
    batch: bool | BatchOptions = False, wait: bool = True,
) -> Run:
    """Execute planned cells with caching, resume and storage (the core of :func:`run_async`).

    Args:
        cells: Cells from :func:`plan` or :func:`make_cell`.
        provider: The provider the cells' cache keys were made for.
        db: Results database path (or an open :class:`Store`).
        run_id: Force a run id (default: derived from the cells).
        name: Optional human name stored with the run.
        concurrency: Most calls in flight at once.
        refresh: Ignore the cache.
        budget_usd: Stop before the run could spend more than this.
        progress: A tqdm bar (``True``), none (``False``), or a ``(done, total)`` callback.
        table: Model aliases and prices.
        config: Settings stored with the run.
        batch: Send the cells through Message Batches (see :func:`run_async`).
        wait: With ``batch``, wait until every batch is collected.

    Returns:
        The run.
    """
    _check_limits(concurrency, budget_usd)
    table = table or ModelTable()
    cell_list = list(cells)
    variants = list({c.variant.name: c.variant for c in cell_list}.values())
    tasks = list({c.task.id: c.task for c in cell_list}.values())
    rid = run_id or experiment_id([c.cache_key for c in cell_list])
    store = db if isinstance(db, Store) else Store(db)
    try:
        return await _execute(cell_list, variants, tasks, rid, name, provider, store, table,
                              concurrency=concurrency, refresh=refresh, budget=budget_usd,
                              progress=progress,
                              config={"provider": provider.cache_namespace, **(config or {}),
                                      "provider_name": provider.name}, batch=batch, wait=wait)
    finally:
        await provider.aclose()  # the SDK's connections belong to this event loop
        if not isinstance(db, Store):
            store.close()


def _check_limits(concurrency: object, budget_usd: object) -> None:
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
        raise ConfigError(f"concurrency must be a whole number of at least 1, not "
                          f"{concurrency!r}")
    if budget_usd is not None and (not isinstance(budget_usd, int | float)
                                   or not budget_usd >= 0):
        raise ConfigError(f"budget_usd must be a number of dollars (0 or more), not "
                          f"{budget_usd!r}")


def _final_status(status: str, state: _Execution, unsaved: Path | None, planned: int,
                  have: int) -> str:
    """``complete`` only when every planned cell has a row and every row was committed."""
    if state.stop_reason:
        status = f"stopped: {state.stop_reason}"
    writer = state.writer
    if unsaved is not None:
        return (f"stopped: results database cannot be written ({writer.last_error}); "
                f"{writer.saved} new results saved, {len(writer.pending)} kept in {unsaved} "
                "(the next run of this experiment loads them)")
    if writer.failed is not None:
        return (f"stopped: results database was not writable for a while; all "
                f"{writer.saved} new results saved, run again to complete the rest")
    if status == "complete" and have < planned:
        return f"incomplete: {planned - have} of {planned} planned cells have no result"
    return status


async def _execute(cells: list[Cell], variants: Sequence[Agent], tasks: Sequence[Task],
                   rid: str, name: str | None, provider: Provider, store: Store,
                   table: ModelTable, *, concurrency: int, refresh: bool,
                   budget: float | None, progress: Progress, config: dict[str, Any],
                   batch: bool | BatchOptions = False, wait: bool = True) -> Run:
    store.begin_run(rid, name, config,
                    [(v.name, v.content_hash, {"frontmatter": v.frontmatter(), "body": v.body})
                     for v in variants],
                    [(t.id, t.snapshot()) for t in tasks])
    recover_unsaved(store, rid)
    found = prefill(cells, store, rid, refresh)
    todo, twins = unique_requests([i for i in range(len(cells)) if i not in found], cells)
    todo = provider_order(todo, cells, provider)
    budget_state = _Budget(budget, table, batch=bool(batch))
    if todo and budget is not None and budget_state.worst_case(cells[todo[0]]) > budget:
        raise BudgetExceededError(f"budget ${budget:.2f} is below one call's worst case "
                                  f"(${budget_state.worst_case(cells[todo[0]]):.4f})")
    if batch:  # Message Batches: agentlab.runs._batch submits, re-attaches and collects
        from agentlab.runs._batch import BatchOptions, execute_batches

        status, sent = await execute_batches(
            cells, todo, twins, found, run_id=rid, provider=provider, store=store,
            budget=budget_state, progress=progress, wait=wait,
            options=batch if isinstance(batch, BatchOptions) else BatchOptions())
        return Run(rid, tuple(variants), tuple(tasks), tuple(found[i] for i in sorted(found)),
                   status, store.path, provider.name, table, sent)
    if todo:
        from agentlab.runs._batch import warn_in_flight

        warn_in_flight(store, rid)
    bar = ProgressBar(progress, len(found), len(cells), desc=f"run {rid[:8]}")
    state = _Execution(rid, provider, store, concurrency, budget_state, bar)
    status = "complete"
    try:
        jobs = [asyncio.ensure_future(state.cell(cells[i], i, found)) for i in todo]
        if await gather_or_stop(jobs):
            status = "interrupted"
            log.warning("agentlab: run %s interrupted; finished cells are saved, run it again "
                        "to complete the rest", rid)
    finally:
        copies = copy_twins(twins, cells, found)
        if copies:
            bar.update(len(copies))
        bar.close()
        state.writer.pending.extend(copies)
        unsaved = await state.writer.close()
    status = _final_status(status, state, unsaved, len(cells), len(found))
    try:
        store.finish_run(rid, status)
    except StoreError as exc:  # the results are committed (or kept); only the status is not
        log.warning("agentlab: run %s: %s; its status (%s) is not recorded", rid, exc, status)
    if state.auth_error:
        raise AuthenticationError(f"{state.auth_error} (run {rid} stopped early; finished "
                                  "cells are saved)")
    results = tuple(found[i] for i in sorted(found))
    return Run(rid, tuple(variants), tuple(tasks), results, status, store.path, provider.name,
               table, state.sent)


def run(
    variants: Sequence[Agent], tasks: Sequence[Task], *, repeats: int = 1,
    model: str | None = None, default_model: str = "sonnet",
    provider: Provider | str | None = None, options: GenerationOptions | None = None,
    concurrency: int = 8, db: Path | str | Store = DEFAULT_DB, refresh: bool = False,
    budget_usd: float | None = None, progress: Progress = True, table: ModelTable | None = None,
    name: str | None = None, run_id: str | None = None, online_aliases: bool = False,
    batch: bool | BatchOptions = False, wait: bool = True,
) -> Run:
    """Run an experiment synchronously; works in scripts and inside Jupyter.

    Takes the same arguments as :func:`run_async` (see there). In a running event loop (a
    notebook cell) the run executes on a worker thread with its own loop. Ctrl-C / a kernel
    interrupt stops the run and returns what finished (``status == "interrupted"``).
    """
    return run_sync(lambda: run_async(
        variants, tasks, repeats=repeats, model=model, default_model=default_model,
        provider=provider, options=options, concurrency=concurrency, db=db, refresh=refresh,
        budget_usd=budget_usd, progress=progress, table=table, name=name, run_id=run_id,
        online_aliases=online_aliases, batch=batch, wait=wait))


def run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, even inside a running event loop.

    Args:
        factory: Makes the coroutine (called on the thread that will run it).

    Returns:
        The coroutine's result. Ctrl-C (a kernel interrupt) cancels the coroutine and
        still returns what it returns: for a run, the partial :class:`Run` with
        ``status == "interrupted"``.
    """
    from agentlab.runs._handle import run_in_thread

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    return run_in_thread(factory)
