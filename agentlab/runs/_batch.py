"""Message Batches: send a run's cells through Anthropic's batch API, at half the price, durably.

``run(..., batch=True)`` hands the cells that are neither stored nor cached to
:func:`execute_batches`, which

1. re-attaches: a submission left ``submitting`` by a process that died between writing it and
   recording its batch id is looked up with ``batches.list`` (a batch created after the
   submission was written, not recorded by this store, with the same number of requests, and,
   once it has ended, whose first result carries one of the submission's custom ids);
   cells that an active submission carries are never submitted again;
2. submits the rest with ``batches.create``, split at the API's limits (100,000 requests,
   256 MB), each request's ``params`` being exactly the body a direct call sends
   (:meth:`~agentlab.providers.anthropic.AnthropicProvider.request_body`); the submission and
   its cells are committed before ``create``, the batch id right after it;
3. polls with ``batches.retrieve`` (10 s, then 1.5 times longer each time, up to 60 s), showing
   ``request_counts`` on the progress bar, and streams each ended batch's ``results`` into the
   store, one commit per result.

Expired and canceled requests leave their cells without a result, so the next run submits them
again (only them); errored ones are stored as errors with their kind, as a direct run does.
The steps live in :mod:`agentlab.runs._batchflow`, the bookkeeping in
:mod:`agentlab.runs._batchbook`; this module holds the entry points.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentlab.errors import AuthenticationError, ConfigError
from agentlab.providers.base import CallError, Provider
from agentlab.runs._batchbook import ACTIVE, COUNT_NAMES, BatchBook, Submission
from agentlab.runs._batchflow import (
    Bar,
    BatchOptions,
    BatchProvider,
    Job,
    cell_key,
    counts,
    fill_twins,
    follow,
    resolve_unrecorded,
    submit,
)
from agentlab.runs._store import DEFAULT_DB, CellResult, Store

if TYPE_CHECKING:
    import pandas as pd

    from agentlab.runs._cells import Cell
    from agentlab.runs._progress import Progress

__all__ = ["BatchOptions", "BatchProvider", "batch_provider", "cancel_batch", "collect_async",
           "execute_batches", "list_batches", "warn_in_flight"]

log = logging.getLogger("agentlab")


def batch_provider(provider: Provider) -> BatchProvider:
    """The provider, checked to have a Message Batches API.

    Raises:
        ConfigError: It has none (the local model, say).
    """
    if isinstance(provider, BatchProvider):
        return provider
    raise ConfigError(f"batch=True needs a provider with a Message Batches API (anthropic); "
                      f"{provider.name!r} has none: run without batch=True")


def warn_in_flight(store: Store, run_id: str) -> None:
    """Warn that a direct run is about to send cells a Message Batch of the run carries."""
    covered = BatchBook(store).covered(run_id)
    if covered:
        log.warning("agentlab: %d cells of run %s are in flight in Message Batches; a direct "
                    "run sends them again and pays twice: run with batch=True to collect them",
                    len(covered), run_id)


async def execute_batches(cells: Sequence[Cell], todo: Sequence[int],
                          twins: dict[int, list[int]], found: dict[int, CellResult], *,
                          run_id: str, provider: Provider, store: Store, budget: Any,
                          progress: Progress, wait: bool, options: BatchOptions
                          ) -> tuple[str, int]:
    """Send a run's missing cells as Message Batches (the batch branch of the runner).

    Args:
        cells: Every cell of the run.
        todo: Indexes of the cells to send (one per distinct request).
        twins: For a cell in ``todo``, the later cells with the identical request.
        found: Results by cell index; filled in as results arrive.
        run_id: The run.
        provider: A provider with a Message Batches API.
        store: The results database (the run was begun in it).
        budget: The runner's budget; ``reserve(cell)`` is ``None`` when a cell would not fit.
        progress: A tqdm bar (``True``), none (``False``), or a ``(done, total)`` callback.
        wait: Poll until every batch has ended and been collected; ``False`` returns after
            submitting (and collecting what has already ended).
        options: Polling and splitting settings.

    Returns:
        The run's status and the number of requests submitted.

    Raises:
        ConfigError: The provider has no batch API (nothing was sent).
        AuthenticationError: The API refused the key (the run's state is saved).
    """
    job = Job(batch_provider(provider), store, BatchBook(store), run_id, options, wait,
               Bar(progress, len(found), len(cells), run_id))
    job.index = {(c.variant.name, c.task.id, c.repeat): i for i, c in enumerate(cells)}
    job.found = found
    try:
        await resolve_unrecorded(job)
        covered = job.book.covered(run_id)
        fresh = [i for i in todo if covered.get(cell_key(cells[i])) != cells[i].cache_key]
        if fresh and job.stop_reason is None:
            await submit(job, cells, fresh, twins, budget)
        await follow(job)
    except asyncio.CancelledError:
        job.interrupted = True
    finally:
        fill_twins(cells, found, store, run_id)
        job.bar.close()
    return _finish(job, len(cells)), job.sent


async def collect_async(run_id: str, *, db: Path | str = DEFAULT_DB,
                        provider: Provider | None = None, wait: bool = True,
                        options: BatchOptions | None = None, progress: Progress = True) -> str:
    """Poll and collect a stored run's batches (``al.open_run(id).collect()``).

    Args:
        run_id: The run (a unique prefix or its name is enough).
        db: The results database.
        provider: The provider to reach the API with; default: an Anthropic provider for the
            address the batches were sent to (the key comes from ``ANTHROPIC_API_KEY``).
        wait: Poll until every batch has ended; ``False`` checks once.
        options: Polling settings.
        progress: A tqdm bar (``True``), none (``False``), or a ``(done, total)`` callback.

    Returns:
        The run's status afterwards (unchanged when it has no batch in flight).

    Raises:
        StoreError: No such run.
        ConfigError: ``provider`` talks to another API than the batches were sent to.
        AuthenticationError: The API refused the key.
    """
    with Store(db) as store:
        record = store.run(run_id)
        book = BatchBook(store)
        active = book.submissions(record.id, ACTIVE)
        chosen = _provider_for(active, provider)
        if chosen is None:
            return record.status
        total = len(book.covered(record.id))
        job = Job(chosen, store, book, record.id, options or BatchOptions(), wait,
                   Bar(progress, 0, total, record.id))
        try:
            await resolve_unrecorded(job)
            await follow(job)
        except asyncio.CancelledError:
            job.interrupted = True
        finally:
            job.bar.close()
            await chosen.aclose()
        return _finish(job, None)


def _finish(job: Job, total: int | None) -> str:
    """Record the run's status (and raise for a refused key)."""
    status = _status(job, total)
    job.store.finish_run(job.run_id, status)
    if job.interrupted:
        log.warning("agentlab: run %s interrupted; its batches continue on Anthropic's side: "
                    "run it again, or al.open_run(%r).collect(), to gather them",
                    job.run_id, job.run_id)
    if job.auth_error:
        raise AuthenticationError(f"{job.auth_error} (run {job.run_id} stopped; submitted "
                                  "batches are recorded and re-attached by the next run)")
    return status


def _status(job: Job, total: int | None) -> str:
    if job.interrupted:
        return "interrupted"
    if job.stop_reason:
        return f"stopped: {job.stop_reason}"
    open_subs = job.book.submissions(job.run_id, ACTIVE)
    if open_subs:
        return (f"pending: {len(job.book.covered(job.run_id))} cells in {len(open_subs)} "
                "batches; collect with al.open_run(id).collect() or run again")
    if job.failed_batches:
        return "stopped: " + "; ".join(job.failed_batches)
    missing = job.unanswered if total is None else total - len(job.found)
    if missing > 0:
        return (f"stopped: {missing} cells expired or were canceled; run again to submit "
                "only them")
    return "complete"


def _provider_for(active: Sequence[Submission],
                  provider: Provider | None) -> BatchProvider | None:
    """The provider for a run's batches: the one given, or one for their recorded address."""
    places = {(s.api, s.base_url) for s in active}
    if not places:
        return None
    if len(places) > 1:
        raise ConfigError(f"run {active[0].run_id} has batches on several APIs: "
                          f"{', '.join(sorted(p[0] for p in places))}")
    api, url = places.pop()
    if provider is None:
        from agentlab.providers.anthropic import AnthropicProvider

        provider = AnthropicProvider(base_url=url)
    chosen = batch_provider(provider)
    if chosen.cache_namespace != api:
        raise ConfigError(f"the batches of run {active[0].run_id} were sent to {api}, but the "
                          f"provider talks to {chosen.cache_namespace}")
    return chosen


# -- listing and canceling ----------------------------------------------------------------------

def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def list_batches(db: Path | str = DEFAULT_DB) -> pd.DataFrame:
    """The batches a results database recorded, newest first, as of their last check.

    Args:
        db: The results database.

    Returns:
        One row per batch: id, run, status, requests, the ``request_counts``, age, message.
    """
    import pandas as pd

    with Store(db) as store:
        subs = BatchBook(store).submissions()
    now = datetime.now(UTC)
    rows = [{"batch_id": s.batch_id or "-", "run_id": s.run_id, "status": s.status,
             "requests": s.requests, **{k: s.counts.get(k, 0) for k in COUNT_NAMES},
             "age": _age((now - datetime.fromisoformat(s.created)).total_seconds()),
             "message": s.message or ""} for s in reversed(subs)]
    return pd.DataFrame(rows, columns=["batch_id", "run_id", "status", "requests",
                                       *COUNT_NAMES, "age", "message"])


def cancel_batch(batch_id: str, db: Path | str = DEFAULT_DB,
                 provider: Provider | None = None) -> str:
    """Ask the API to cancel one of a store's batches.

    Its canceled requests leave their cells unanswered, so the next run of the experiment
    submits them again.

    Args:
        batch_id: The batch (a unique prefix is enough).
        db: The results database that recorded it.
        provider: The provider to reach the API with (default: as :func:`collect_async`).

    Returns:
        The batch's processing status afterwards (``canceling``, or ``ended``).

    Raises:
        StoreError: The store has no such batch.
        ConfigError: The batch has already ended or was never created.
        CallError: The API refused.
    """
    from agentlab.runs._runner import run_sync

    return run_sync(lambda: _cancel(batch_id, db, provider))


async def _cancel(batch_id: str, db: Path | str, provider: Provider | None) -> str:
    with Store(db) as store:
        book = BatchBook(store)
        sub = book.find(batch_id)
        if sub.batch_id is None or sub.status not in ("in_progress", "canceling"):
            raise ConfigError(f"batch {sub.batch_id or sub.token} is {sub.status}: "
                              "nothing to cancel")
        chosen = _provider_for([sub], provider)
        assert chosen is not None
        error: CallError | None = None
        try:
            batch = await chosen.batches().cancel(sub.batch_id)
        except Exception as exc:
            error = chosen.call_error(exc, f"batch {sub.batch_id}")
        finally:
            await chosen.aclose()
        if error is not None:
            raise error
        book.update(sub.token, batch.processing_status, counts(batch))
        return batch.processing_status
