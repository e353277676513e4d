"""Cells: what one unit of work asks, and how finished rows are found, shared and copied.

:func:`plan` builds every cell's request and cache key; :func:`prefill` finds the rows a
run already has (resume) or the cache holds; :func:`unique_requests` sends identical
requests once and :func:`copy_twins` files the outcome under every cell that asked it;
:func:`cell_result` and :func:`with_outcome` turn a provider's answer or error into a row.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from agentlab.errors import ConfigError
from agentlab.providers.base import (
    CallError,
    GenerationOptions,
    Message,
    Provider,
    Request,
    Response,
)
from agentlab.providers.models import ModelTable, choose_model
from agentlab.runs._cachekey import cache_key
from agentlab.runs._store import CellResult, Store

if TYPE_CHECKING:
    from agentlab.agents._agent import Agent
    from agentlab.tasks import Task

log = logging.getLogger("agentlab")


@dataclass(frozen=True)
class Cell:
    """One unit of work: a variant, a task, a repeat index, and the request they make."""

    variant: Agent
    task: Task
    repeat: int
    request: Request
    cache_key: str


def check_repeats(repeats: object) -> None:
    """Refuse a repeat count that would plan no cells (or a negative cost estimate).

    Raises:
        ConfigError: ``repeats`` is not a whole number of at least 1.
    """
    if not isinstance(repeats, int) or isinstance(repeats, bool) or repeats < 1:
        raise ConfigError(f"repeats must be a whole number of at least 1, not {repeats!r}")


def plan(variants: Sequence[Agent], tasks: Sequence[Task], *, repeats: int,
         model: str | None, default_model: str, options: GenerationOptions,
         namespace: str, table: ModelTable) -> list[Cell]:
    """Build every cell's request, in variant × task × repeat order.

    Raises:
        ConfigError: ``repeats`` is not a whole number of at least 1.
    """
    check_repeats(repeats)
    # Each repeat gets its own seed (seed + repeat), so seeded providers such as the local
    # model give independent samples rather than the same answer again.
    seeded = [replace(options, seed=(options.seed or 0) + rep) for rep in range(repeats)]
    cells: list[Cell] = []
    for variant in variants:
        model_id = choose_model(model, variant.model, default_model, table)
        for task in tasks:
            messages = (Message("user", task.user_message()),)
            for rep in range(repeats):
                request = Request(system=variant.body, messages=messages, model=model_id,
                                  options=seeded[rep])
                cells.append(Cell(variant, task, rep, request, cache_key(request, namespace, rep)))
    return cells


def make_cell(variant: Agent, task: Task, repeat: int, request: Request,
              provider: Provider) -> Cell:
    """Build a cell for an arbitrary request (used by the LLM judge)."""
    return Cell(variant, task, repeat, request,
                cache_key(request, provider.cache_namespace, repeat))


def cell_result(cell: Cell, provider: str, outcome: Response | BaseException,
               latency: float) -> CellResult:
    """The row a call leaves: its answer, or its error in the answer's place."""
    base = CellResult(variant=cell.variant.name, variant_hash=cell.variant.content_hash,
                      task_id=cell.task.id, repeat=cell.repeat, cache_key=cell.cache_key,
                      model=cell.request.model, provider=provider, latency_s=latency)
    return with_outcome(base, outcome)


def with_outcome(base: CellResult, outcome: Response | BaseException) -> CellResult:
    """``base`` (a cell's identity) filled with a response, or with an error in its place.

    The one conversion from a provider's outcome to a stored row, for direct and batch runs.
    """
    if isinstance(outcome, BaseException):
        kind = outcome.kind if isinstance(outcome, CallError) else "other"
        message = " ".join(str(outcome).split()) or type(outcome).__name__
        return replace(base, error=message, error_kind=kind)
    calls = (json.dumps([{"name": c.name, "input": c.input} for c in outcome.tool_calls])
             if outcome.tool_calls else "[]")
    return replace(base, model=outcome.model, text=outcome.text,
                   input_tokens=outcome.input_tokens, output_tokens=outcome.output_tokens,
                   cache_write_tokens=outcome.cache_write_tokens,
                   cache_read_tokens=outcome.cache_read_tokens, latency_s=outcome.latency_s,
                   stop_reason=outcome.stop_reason, tool_calls=calls)


class Keyed(Protocol):
    """What resume and the cache need of a unit of work (a chat cell or an agentic trial)."""

    @property
    def variant(self) -> Agent:
        """The variant."""
        ...

    @property
    def task(self) -> Task:
        """The task."""
        ...

    @property
    def repeat(self) -> int:
        """The repeat index."""
        ...

    @property
    def cache_key(self) -> str:
        """The key of its outcome."""
        ...


def copy_for(answer: CellResult, cell: Keyed) -> CellResult:
    """An answer to the same request, filed under another cell (a cache hit)."""
    return replace(answer, variant=cell.variant.name, variant_hash=cell.variant.content_hash,
                   task_id=cell.task.id, repeat=cell.repeat, cached=True)


def prefill(cells: Sequence[Keyed], store: Store, rid: str, refresh: bool, *,
            usable: Callable[[CellResult], bool] = lambda hit: True) -> dict[int, CellResult]:
    """Results already in this run (resume) or in the cache, by cell index.

    Cache hits are copied into this run (and stored) as cache hits; ``usable`` can refuse
    a hit (an agentic trial needs one that has its trial record).
    """
    if refresh:
        return {}
    done = {(r.variant, r.task_id, r.repeat): r for r in store.results(rid) if r.ok}
    found: dict[int, CellResult] = {}
    for i, c in enumerate(cells):
        previous = done.get((c.variant.name, c.task.id, c.repeat))
        if previous is not None and previous.cache_key == c.cache_key:
            found[i] = previous
    missing = [i for i in range(len(cells)) if i not in found]
    cached = store.cached(cells[i].cache_key for i in missing)
    copies: list[CellResult] = []
    for i in missing:
        c = cells[i]
        if c.cache_key in cached and usable(cached[c.cache_key]):
            found[i] = copy_for(cached[c.cache_key], c)
            copies.append(found[i])
    store.put_many(rid, copies)
    return found


def unique_requests(todo: list[int], cells: list[Cell]) -> tuple[list[int], dict[int, list[int]]]:
    """Cells to send, and for each the later cells whose request is identical.

    Two variants can make the same request (the same prompt on a provider that ignores
    their ``model:``, say): it is sent once and the answer copied, as a cache hit.
    """
    first: dict[str, int] = {}
    twins: dict[int, list[int]] = {}
    for i in todo:
        leader = first.setdefault(cells[i].cache_key, i)
        if leader != i:
            twins.setdefault(leader, []).append(i)
    return [i for i in todo if first[cells[i].cache_key] == i], twins


def provider_order(todo: list[int], cells: list[Cell], provider: Provider) -> list[int]:
    """``todo`` in the order the provider prefers (the local model groups system prompts)."""
    order = provider.order_requests([cells[i].request for i in todo])
    if sorted(order) != list(range(len(todo))):
        log.warning("agentlab: %s.order_requests did not return a permutation; ignored",
                    type(provider).__name__)
        return todo
    return [todo[j] for j in order]


def copy_twins(twins: dict[int, list[int]], cells: list[Cell],
                found: dict[int, CellResult]) -> list[CellResult]:
    """Give twins their leader's outcome: its answer (a cache hit) or its error.

    Every cell whose leader has a row gets a row of its own; returns those rows.
    """
    copies: list[CellResult] = []
    for leader, group in twins.items():
        outcome = found.get(leader)
        if outcome is None:
            continue  # the leader was never sent (the run stopped first)
        for i in group:
            found[i] = (copy_for(outcome, cells[i]) if outcome.ok
                        else replace(copy_for(outcome, cells[i]), cached=False))
            copies.append(found[i])
    return copies
