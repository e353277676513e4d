"""The mechanics of Message Batches: re-attach, submit, poll and collect, step by step.

:mod:`agentlab.runs._batch` holds the entry points (the runner's batch branch, ``collect``,
listing and canceling); this module does the work they share, on a :class:`Job` that carries
the provider, the store and the run's state. Every step commits what it learns to the
bookkeeping (:mod:`agentlab.runs._batchbook`) before it moves on.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

from agentlab.errors import ConfigError
from agentlab.providers.base import CallError, Provider, Request, Response
from agentlab.runs._batchbook import ACTIVE, COUNT_NAMES, BatchBook, BatchCell, Submission
from agentlab.runs._cells import with_outcome
from agentlab.runs._progress import Progress, ProgressBar
from agentlab.runs._store import CellResult, Store

if TYPE_CHECKING:
    from anthropic.resources.messages.batches import AsyncBatches
    from anthropic.types.message_create_params import MessageCreateParamsNonStreaming
    from anthropic.types.messages import MessageBatch, MessageBatchResult
    from anthropic.types.messages.batch_create_params import Request as BatchRequest

    from agentlab.runs._cells import Cell

log = logging.getLogger("agentlab")

MAX_REQUESTS = 100_000  # the API's limits per batch
MAX_BYTES = 256_000_000
_ENVELOPE = len('{"requests":[]}')
_MAX_POLL_FAILURES = 5  # consecutive failed status checks before a run gives up waiting


@dataclass(frozen=True)
class BatchOptions:
    """How ``run(..., batch=BatchOptions(...))`` submits and polls.

    Attributes:
        first_poll: Seconds before the first status check after submitting.
        max_poll: Longest wait between status checks.
        backoff: Each wait is this many times the previous one, up to ``max_poll``.
        max_requests: Most requests per batch (the API allows 100,000).
        max_bytes: Largest batch body in bytes (the API allows 256 MB).
        list_window: When re-attaching through ``batches.list``, how many seconds before
            the submission was written its batch may claim to have been created (clock skew).
    """

    first_poll: float = 10.0
    max_poll: float = 60.0
    backoff: float = 1.5
    max_requests: int = MAX_REQUESTS
    max_bytes: int = MAX_BYTES
    list_window: float = 600.0

    def __post_init__(self) -> None:
        if not 0 < self.first_poll <= self.max_poll or self.backoff < 1:
            raise ConfigError("BatchOptions: need 0 < first_poll <= max_poll and backoff >= 1")
        if not 0 < self.max_requests <= MAX_REQUESTS or not 0 < self.max_bytes <= MAX_BYTES:
            raise ConfigError(f"BatchOptions: max_requests must be in 1..{MAX_REQUESTS} and "
                              f"max_bytes in 1..{MAX_BYTES}")

    def waits(self) -> Iterator[float]:
        """The waits between status checks: ``first_poll``, growing to ``max_poll``."""
        wait = self.first_poll
        while True:
            yield wait
            wait = min(self.max_poll, wait * self.backoff)


@runtime_checkable
class BatchProvider(Provider, Protocol):
    """A provider with a Message Batches API (the Anthropic provider is one)."""

    max_retries: int

    @property
    def api_url(self) -> str:
        """The API address batches are sent to."""
        ...

    def request_body(self, request: Request) -> dict[str, Any]:
        """The JSON body a direct call for ``request`` sends."""
        ...

    def batches(self, *, retries: bool = True) -> AsyncBatches:
        """The SDK's batches resource on the running loop."""
        ...

    def call_error(self, exc: Exception, what: str) -> CallError:
        """Classify an SDK exception."""
        ...

    def batch_outcome(self, result: MessageBatchResult, latency_s: float,
                      model: str) -> Response | CallError | None:
        """A batch result as a response, an error, or ``None`` (expired, canceled)."""
        ...


def custom_id(cache_key: str) -> str:
    """A cell's ``custom_id``: derived from its request, so the same cell keeps its id."""
    return f"al-{cache_key[:40]}"


class Bar(ProgressBar):
    """Progress in cells, with the batches' ``request_counts`` after the tqdm bar."""

    def __init__(self, progress: Progress, done: int, total: int, run_id: str) -> None:
        super().__init__(progress, done, total, desc=f"batch {run_id[:12]}")

    def advance(self, n: int) -> None:
        self.update(n)

    def show(self, subs: Sequence[Submission]) -> None:
        if subs:
            sums = {k: sum(s.counts.get(k, 0) for s in subs) for k in COUNT_NAMES}
            self.note(f"{len(subs)} batches · " + " · ".join(f"{k} {v}"
                                                           for k, v in sums.items()))


@dataclass
class Job:
    """The state of one batch run or collection while it executes."""

    provider: BatchProvider
    store: Store
    book: BatchBook
    run_id: str
    options: BatchOptions
    wait: bool
    bar: Bar
    index: dict[tuple[str, str, int], int] = field(default_factory=dict)
    found: dict[int, CellResult] = field(default_factory=dict)
    stop_reason: str | None = None
    auth_error: str | None = None
    failed_batches: list[str] = field(default_factory=list)
    interrupted: bool = False
    sent: int = 0
    unanswered: int = 0
    failures: int = 0

    def fail(self, error: CallError) -> None:
        if error.kind == "auth":
            self.auth_error = str(error)
            self.stop_reason = "authentication failed"
        else:
            self.stop_reason = self.stop_reason or str(error)


def counts(batch: MessageBatch) -> dict[str, int]:
    return {k: int(getattr(batch.request_counts, k)) for k in COUNT_NAMES}


def cell_key(cell: Cell) -> tuple[str, str, int]:
    return (cell.variant.name, cell.task.id, cell.repeat)


# -- re-attaching -------------------------------------------------------------------------------

async def resolve_unrecorded(job: Job) -> None:
    """Give each submission left ``submitting`` its batch id, or free its cells."""
    for sub in job.book.submissions(job.run_id, ("submitting",)):
        try:
            batch = await _find_created(job, sub)
        except Exception as exc:  # cannot tell: keep its cells covered, never pay twice
            job.fail(job.provider.call_error(exc, "messages.batches.list"))
            return
        if batch is None:
            job.book.update(sub.token, "lost", message="the process stopped before create "
                            "returned and no batch with its requests exists; its cells are "
                            "submitted again")
            continue
        job.book.record_id(sub.token, batch.id, batch.processing_status, counts(batch))
        log.info("agentlab: re-attached batch %s (found through batches.list)", batch.id)


async def _find_created(job: Job, sub: Submission) -> MessageBatch | None:
    """The batch ``create`` made for ``sub`` though its answer never arrived, if any."""
    since = datetime.fromisoformat(sub.created) - timedelta(seconds=job.options.list_window)
    known = job.book.known_ids()
    mine = {c.custom_id for c in job.book.cells(sub.token)}
    batches = job.provider.batches()
    async for batch in batches.list(limit=100):  # newest first
        if batch.created_at < since:
            break
        if batch.id in known or sum(counts(batch).values()) != sub.requests:
            continue
        if batch.processing_status == "ended" and not await _holds(batches, batch.id, mine):
            continue
        return batch
    return None


async def _holds(batches: AsyncBatches, batch_id: str, mine: set[str]) -> bool:
    """Whether an ended batch's first result is one of ``mine``."""
    decoder = await batches.results(batch_id)
    try:
        async for item in decoder:
            return item.custom_id in mine
        return False
    finally:
        await decoder.close()


# -- submitting ---------------------------------------------------------------------------------

def _batch_cell(cid: str, cell: Cell) -> BatchCell:
    return BatchCell(cid, cell.variant.name, cell.variant.content_hash, cell.task.id,
                     cell.repeat, cell.cache_key, cell.request.model)


async def submit(job: Job, cells: Sequence[Cell], leaders: Sequence[int],
                  twins: dict[int, list[int]], budget: Any) -> None:
    """Create batches for ``leaders`` (and their twins), within the budget and the limits."""
    items: list[tuple[list[BatchCell], BatchRequest, int]] = []
    for i in leaders:
        if budget.reserve(cells[i]) is None:
            job.stop_reason = f"budget of ${budget.limit:.2f} reached"
            break
        cid = custom_id(cells[i].cache_key)
        body = job.provider.request_body(cells[i].request)
        request: BatchRequest = {"custom_id": cid,
                                 "params": cast("MessageCreateParamsNonStreaming", body)}
        size = len(json.dumps(request, ensure_ascii=False, separators=(",", ":")).encode()) + 1
        items.append(([_batch_cell(cid, cells[j]) for j in (i, *twins.get(i, ()))], request,
                      size))
    for chunk in chunks(items, job.options):
        rows = [row for group, _, _ in chunk for row in group]
        sub = job.book.begin(job.run_id, job.provider.cache_namespace, job.provider.api_url,
                             rows)
        batch = await _create(job, sub, [request for _, request, _ in chunk])
        if batch is None:
            return
        job.book.record_id(sub.token, batch.id, batch.processing_status, counts(batch))
        job.sent += len(chunk)


def chunks(items: list[Any], options: BatchOptions) -> Iterator[list[Any]]:
    """Split ``(cells, request, size)`` items at ``max_requests`` and ``max_bytes``."""
    chunk: list[Any] = []
    size = _ENVELOPE
    for item in items:
        if chunk and (len(chunk) >= options.max_requests or size + item[2] > options.max_bytes):
            yield chunk
            chunk, size = [], _ENVELOPE
        chunk.append(item)
        size += item[2]
    if chunk:
        yield chunk


async def _create(job: Job, sub: Submission,
                  requests: list[BatchRequest]) -> MessageBatch | None:
    """``batches.create``, retried only once ``batches.list`` shows it made no batch.

    The SDK sends no idempotency key, so its own retry of a create whose answer was lost
    would make a second batch (and bill it); this retries after checking instead.
    """
    provider, error = job.provider, None
    for attempt in range(provider.max_retries + 1):
        try:
            return await provider.batches(retries=False).create(requests=requests)
        except Exception as exc:
            error = provider.call_error(exc, "messages.batches.create")
        if not error.retryable:
            break
        try:
            made = await _find_created(job, sub)
        except Exception:  # cannot tell: stop, leaving the submission to the next run
            job.fail(error)
            return None
        if made is not None:
            return made
        if attempt < provider.max_retries:
            await asyncio.sleep(min(30.0, 0.5 * 2**attempt))
    if error is not None:
        job.book.update(sub.token, "failed", message=str(error))
        job.fail(error)
    return None


# -- polling and collecting ---------------------------------------------------------------------

async def follow(job: Job) -> None:
    """Check the run's batches, collect those that ended, and wait while any is open."""
    waits = job.options.waits()
    while job.stop_reason is None:
        active = [s for s in job.book.submissions(job.run_id, ("in_progress", "canceling",
                                                               "ended")) if s.batch_id]
        still_open = [sub for sub in active if await _check(job, sub)]
        job.bar.show(job.book.submissions(job.run_id, ACTIVE))
        if not still_open or not job.wait:
            return
        await asyncio.sleep(next(waits))


async def _check(job: Job, sub: Submission) -> bool:
    """Retrieve one batch, collect it if it ended; returns whether it is still open."""
    assert sub.batch_id is not None
    try:
        batch = await job.provider.batches().retrieve(sub.batch_id)
    except Exception as exc:
        return _check_failed(job, sub, job.provider.call_error(exc, f"batch {sub.batch_id}"))
    job.failures = 0
    job.book.update(sub.token, batch.processing_status, counts(batch))
    if batch.processing_status != "ended":
        return True
    return not await _collect(job, sub, batch)


def _check_failed(job: Job, sub: Submission, error: CallError) -> bool:
    """Decide what a failed status check means; returns whether to keep polling it."""
    if error.kind == "not_found":
        job.book.update(sub.token, "lost", message=f"{error}: the batch is gone (deleted, or "
                        "the key is another workspace's); its cells are submitted again")
        log.warning("agentlab: batch %s not found; its cells will be submitted again",
                    sub.batch_id)
        return False
    job.failures += 1
    if error.kind == "auth" or job.failures >= _MAX_POLL_FAILURES:
        job.fail(error)
        return False
    log.warning("agentlab: checking batch %s failed (%s); trying again", sub.batch_id, error)
    return True


async def _collect(job: Job, sub: Submission, batch: MessageBatch) -> bool:
    """Stream an ended batch's results into the store; returns whether it is collected."""
    by_id: dict[str, list[BatchCell]] = {}
    for row in job.book.cells(sub.token):
        by_id.setdefault(row.custom_id, []).append(row)
    latency = ((batch.ended_at or batch.created_at) - batch.created_at).total_seconds()
    outcomes: dict[str, str] = {}
    errors: list[CallError] = []
    try:
        decoder = await job.provider.batches().results(batch.id)
        try:
            async for item in decoder:
                group = by_id.get(item.custom_id)
                if group is None:  # matched through batches.list by mistake: not ours
                    job.book.update(sub.token, "lost", message=f"batch {batch.id} holds "
                                    f"{item.custom_id!r}, not a request of this run")
                    return True
                outcomes[item.custom_id] = item.result.type
                outcome = job.provider.batch_outcome(item.result, latency, group[0].model)
                if outcome is not None:
                    _record(job, group, outcome, batch.id)
                if isinstance(outcome, CallError):
                    errors.append(outcome)
        finally:
            await decoder.close()
    except Exception as exc:  # the batch stays "ended": collected again on the next check
        return not _check_failed(job, sub, job.provider.call_error(exc, f"batch {batch.id}"))
    outcomes.update({cid: "missing" for cid in by_id.keys() - outcomes.keys()})
    message = None
    if errors and len(errors) == len(by_id):
        message = (f"batch {batch.id} failed: all {len(errors)} requests errored "
                   f"({errors[0].kind}), the first with: {errors[0]}; run again to retry them")
        job.failed_batches.append(message)
        log.warning("agentlab: %s", message)
    job.book.finish(sub.token, outcomes, message)
    job.unanswered += sum(len(by_id[cid]) for cid, kind in outcomes.items()
                          if kind in ("expired", "canceled", "missing"))
    return True


def _record(job: Job, group: list[BatchCell], outcome: Response | CallError,
            batch_id: str) -> None:
    """Commit one request's result for each cell that asked it (at once: nothing is lost)."""
    answered = not isinstance(outcome, CallError)  # an error copied to a twin is no cache hit
    results = [_result(cell, job.provider.name, outcome, batch_id, cached=answered and n > 0)
               for n, cell in enumerate(group)]
    job.store.put_many(job.run_id, results)
    for result in results:
        index = job.index.get((result.variant, result.task_id, result.repeat))
        if index is not None:
            job.found[index] = result
    job.bar.advance(len(results))


def _result(cell: BatchCell, provider: str, outcome: Response | CallError, batch_id: str,
            cached: bool) -> CellResult:
    base = CellResult(variant=cell.variant, variant_hash=cell.variant_hash, task_id=cell.task_id,
                      repeat=cell.repeat, cache_key=cell.cache_key, model=cell.model,
                      provider=provider, cached=cached, batch_id=batch_id)
    return with_outcome(base, outcome)


def fill_twins(cells: Sequence[Cell], found: dict[int, CellResult], store: Store,
                run_id: str) -> None:
    """Give cells still unanswered the outcome another cell got to the identical request.

    An answer is copied as a cache hit; an error is copied as an error, so every planned
    cell gets a row even when the one request sent for a group of twins failed.
    """
    outcomes: dict[str, CellResult] = {}
    for r in found.values():
        if r.ok or r.cache_key not in outcomes:
            outcomes[r.cache_key] = r
    copies = {i: replace(outcomes[c.cache_key], variant=c.variant.name,
                         variant_hash=c.variant.content_hash, task_id=c.task.id,
                         repeat=c.repeat, cached=outcomes[c.cache_key].ok)
              for i, c in enumerate(cells) if i not in found and c.cache_key in outcomes}
    store.put_many(run_id, copies.values())
    found.update(copies)
