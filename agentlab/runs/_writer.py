"""Committing a run's results while the database may be locked: nothing that arrived is lost.

Another process (a notebook reading the same database, a second run) can hold SQLite's write
lock for a while. The :class:`ResultWriter` commits each answer as it arrives, off the event
loop, with the store's bounded busy timeout. When a commit fails the answers stay in memory
and the next commit retries them, so requests in flight are never dropped. If the store stays
unwritable for the store's ``write_patience`` seconds, :attr:`ResultWriter.failed` says why:
the runner then sends no new calls, lets the calls in flight finish, and at the end writes
what could not be committed to a JSON Lines file beside the database
(``<db>.unsaved-<run>.jsonl``), which the next run of the same experiment loads back first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from agentlab.errors import StoreError, StoreLockedError
from agentlab.runs._store import CellResult, Store

log = logging.getLogger("agentlab")

_FIELDS = {f.name for f in dataclasses.fields(CellResult)}


def unsaved_path(store: Store, run_id: str) -> Path:
    """Where answers that could not be committed to ``store`` are kept for ``run_id``."""
    return store.path.with_name(f"{store.path.name}.unsaved-{run_id}.jsonl")


class ResultWriter:
    """Commits results to a store, keeping them in memory while it cannot be written.

    Args:
        store: The results database.
        run_id: The run the results belong to.
    """

    def __init__(self, store: Store, run_id: str) -> None:
        self.store, self.run_id = store, run_id
        self.pending: list[CellResult] = []
        self.saved = 0
        self.failed: str | None = None
        self.last_error: str | None = None
        self._since: float | None = None
        self._lock = asyncio.Lock()

    async def add(self, results: Sequence[CellResult]) -> None:
        """Queue results and try to commit everything queued (only queue, once failed)."""
        self.pending.extend(results)
        if self.failed is None:
            await self.flush()

    async def flush(self) -> bool:
        """Try once to commit what is queued; returns whether nothing is left."""
        async with self._lock:
            batch = list(self.pending)
            if not batch:
                return True
            try:
                await self._commit(batch)
            except StoreError as exc:
                self.last_error = str(exc)
                now = time.monotonic()
                self._since = self._since if self._since is not None else now
                if self.failed is None and now - self._since >= self.store.write_patience:
                    self.failed = str(exc)
                    log.warning("agentlab: %s; sending no new calls (%d answers kept in "
                                "memory)", exc, len(self.pending))
                return False
            del self.pending[: len(batch)]  # results queued meanwhile stay queued
            self.saved += len(batch)
            self._since = None
            return True

    async def _commit(self, batch: list[CellResult]) -> None:
        # Inline first, without waiting: an uncontended commit takes well under a
        # millisecond. Only when another process holds the lock, wait for it off the loop.
        try:
            with self.store.busy_wait(0):
                self.store.put_many(self.run_id, batch)
        except StoreLockedError:
            await asyncio.to_thread(self.store.put_many, self.run_id, batch)

    async def close(self) -> Path | None:
        """Commit what is queued, retrying for the store's ``write_patience``.

        Returns:
            The JSON Lines file holding the results that still could not be committed, or
            ``None`` when everything was committed.
        """
        deadline = time.monotonic() + (0.0 if self.failed else self.store.write_patience)
        while not await self.flush() and time.monotonic() < deadline:
            await asyncio.sleep(min(0.5, self.store.busy_timeout))
        if not self.pending:
            return None
        target = unsaved_path(self.store, self.run_id)
        with target.open("a", encoding="utf-8") as out:
            for result in self.pending:
                out.write(json.dumps(dataclasses.asdict(result), ensure_ascii=False) + "\n")
        return target


def recover_unsaved(store: Store, run_id: str) -> int:
    """Commit answers an earlier run had to leave in its ``.unsaved`` file; returns how many.

    The file is removed once its rows are in the store. Rows of fields this version does
    not know are dropped field by field, not row by row.

    Raises:
        StoreError: The store cannot be written (the file is kept).
    """
    source = unsaved_path(store, run_id)
    if not source.is_file():
        return 0
    rows: list[CellResult] = []
    for line in source.read_text(encoding="utf-8").splitlines():
        try:
            data = json.loads(line)
            rows.append(CellResult(**{k: v for k, v in data.items() if k in _FIELDS}))
        except (ValueError, TypeError):
            continue  # a line cut short by a crash while it was written
    store.put_many(run_id, rows)
    source.unlink()
    log.info("agentlab: loaded %d answers kept in %s into the results database", len(rows),
             source)
    return len(rows)
