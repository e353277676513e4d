"""Durable bookkeeping of Message Batches in the results database.

One row per *submission* (table ``batches``) and one per cell it carries (``batch_cells``),
in the tables migration ``_m002_batches`` of :mod:`agentlab.runs._store` creates. The order of
writes is what makes batches survive a crash:

1. :meth:`BatchBook.begin` commits the submission (status ``submitting``) and its cells with
   their ``custom_id`` *before* ``batches.create`` is called;
2. :meth:`BatchBook.record_id` commits the API's batch id right after ``create`` returns;
3. results are committed one by one into ``results`` as they stream in (not here);
4. :meth:`BatchBook.finish` marks the submission ``collected`` and records which cells
   expired or were canceled, which frees them for the next run to resubmit.

A cell is *covered* while its submission is ``submitting``, ``in_progress``, ``canceling``
or ``ended`` (ended but not yet collected): a new run never submits a covered cell again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from agentlab.errors import StoreError
from agentlab.runs._store import Store

SubmissionStatus = Literal["submitting", "in_progress", "canceling", "ended", "collected",
                           "lost", "failed"]
ACTIVE: tuple[SubmissionStatus, ...] = ("submitting", "in_progress", "canceling", "ended")
COUNT_NAMES = ("processing", "succeeded", "errored", "canceled", "expired")

_SUBMISSION = ("token, run_id, api, base_url, batch_id, status, requests, counts, message, "
               "created, updated")
_CELL = "custom_id, variant, variant_hash, task_id, repeat, cache_key, model"


def now_iso() -> str:
    """The current UTC time, ISO 8601 to the microsecond (batch times are compared)."""
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class BatchCell:
    """One cell a submission carries; cells with the same request share a ``custom_id``."""

    custom_id: str
    variant: str
    variant_hash: str
    task_id: str
    repeat: int
    cache_key: str
    model: str

    @property
    def key(self) -> tuple[str, str, int]:
        """The cell's place in its run: (variant, task id, repeat)."""
        return (self.variant, self.task_id, self.repeat)


@dataclass(frozen=True)
class Submission:
    """One batch this store sent (or was about to send) to the API.

    Attributes:
        token: Local id, written before ``create``.
        run_id: The run the batch belongs to.
        api: The provider's cache namespace (which API holds the batch).
        base_url: The API address the batch was sent to.
        batch_id: The API's id; ``None`` until ``create`` returned (or the batch was found).
        status: See :data:`SubmissionStatus`.
        requests: Number of requests in the batch.
        counts: The last ``request_counts`` seen.
        message: Why it failed or was lost, or what went wrong when it ended.
        created: When the submission was written (ISO 8601, UTC).
        updated: When it last changed.
    """

    token: str
    run_id: str
    api: str
    base_url: str
    batch_id: str | None
    status: SubmissionStatus
    requests: int
    counts: dict[str, int]
    message: str | None
    created: str
    updated: str


def _submission(row: Sequence[Any]) -> Submission:
    values = list(row)
    values[7] = json.loads(values[7])
    return Submission(*values)


class BatchBook:
    """Reads and writes the batch tables of one :class:`~agentlab.runs.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def begin(self, run_id: str, api: str, base_url: str,
              cells: Sequence[BatchCell]) -> Submission:
        """Commit a new submission and its cells, before the batch is created."""
        token = f"sub-{uuid.uuid4().hex[:16]}"
        now = now_iso()
        requests = len({c.custom_id for c in cells})
        with self.store.transaction() as db:
            db.execute(f"INSERT INTO batches ({_SUBMISSION}) VALUES (?, ?, ?, ?, NULL, "
                       "'submitting', ?, '{}', NULL, ?, ?)",
                       (token, run_id, api, base_url, requests, now, now))
            db.executemany(f"INSERT INTO batch_cells (token, {_CELL}) VALUES "
                           "(?, ?, ?, ?, ?, ?, ?, ?)",
                           [(token, c.custom_id, c.variant, c.variant_hash, c.task_id,
                             c.repeat, c.cache_key, c.model) for c in cells])
        return self.get(token)

    def record_id(self, token: str, batch_id: str, status: SubmissionStatus,
                  counts: dict[str, int]) -> None:
        """Commit the API's batch id (right after ``create`` returns, or once found)."""
        with self.store.transaction() as db:
            db.execute("UPDATE batches SET batch_id = ?, status = ?, counts = ?, updated = ? "
                       "WHERE token = ?", (batch_id, status, json.dumps(counts), now_iso(),
                                           token))

    def update(self, token: str, status: SubmissionStatus, counts: dict[str, int] | None = None,
               message: str | None = None) -> None:
        """Commit a submission's new status (and its counts or message, when given)."""
        with self.store.transaction() as db:
            db.execute("UPDATE batches SET status = ?, counts = coalesce(?, counts), "
                       "message = coalesce(?, message), updated = ? WHERE token = ?",
                       (status, json.dumps(counts) if counts is not None else None, message,
                        now_iso(), token))

    def finish(self, token: str, outcomes: dict[str, str], message: str | None) -> None:
        """Mark a submission collected, with each ``custom_id``'s outcome, in one commit."""
        with self.store.transaction() as db:
            db.executemany("UPDATE batch_cells SET outcome = ? WHERE token = ? AND custom_id = ?",
                           [(kind, token, cid) for cid, kind in outcomes.items()])
            db.execute("UPDATE batches SET status = 'collected', message = ?, updated = ? "
                       "WHERE token = ?", (message, now_iso(), token))

    def get(self, token: str) -> Submission:
        """One submission by its local token."""
        rows = self.store.query(f"SELECT {_SUBMISSION} FROM batches WHERE token = ?", (token,))
        return _submission(rows[0])

    def find(self, batch_id: str) -> Submission:
        """The submission of a batch id (a unique prefix is enough).

        Raises:
            StoreError: No batch, or several, match.
        """
        rows = self.store.query(f"SELECT {_SUBMISSION} FROM batches WHERE batch_id = ? "
                                "OR batch_id LIKE ? ORDER BY created",
                                (batch_id, batch_id.replace("%", "") + "%"))
        exact = [r for r in rows if r[4] == batch_id]
        rows = exact or rows
        if len(rows) != 1:
            what = "no batch" if not rows else "several batches"
            raise StoreError(f"{self.store.path}: {what} match {batch_id!r}; "
                             "`agentlab batches` lists them")
        return _submission(rows[0])

    def submissions(self, run_id: str | None = None,
                    statuses: Iterable[SubmissionStatus] | None = None) -> list[Submission]:
        """Submissions, oldest first, of one run (or all) and with these statuses (or any)."""
        sql, params = f"SELECT {_SUBMISSION} FROM batches WHERE 1", []
        if run_id is not None:
            sql, params = sql + " AND run_id = ?", [run_id]
        wanted = list(statuses) if statuses is not None else None
        if wanted is not None:
            sql += f" AND status IN ({', '.join('?' for _ in wanted)})"
            params += wanted
        return [_submission(r) for r in self.store.query(sql + " ORDER BY created", params)]

    def cells(self, token: str) -> list[BatchCell]:
        """The cells of one submission, in the order they were written (leaders first)."""
        rows = self.store.query(f"SELECT {_CELL} FROM batch_cells WHERE token = ? "
                                "ORDER BY rowid", (token,))
        return [BatchCell(*r) for r in rows]

    def covered(self, run_id: str) -> dict[tuple[str, str, int], str]:
        """Cells of a run that an active submission carries: (variant, task, repeat) → key."""
        rows = self.store.query(
            "SELECT c.variant, c.task_id, c.repeat, c.cache_key FROM batch_cells c JOIN batches "
            f"b ON b.token = c.token WHERE b.run_id = ? AND b.status IN "
            f"({', '.join('?' for _ in ACTIVE)})", (run_id, *ACTIVE))
        return {(r[0], r[1], r[2]): r[3] for r in rows}

    def known_ids(self) -> set[str]:
        """Every batch id this store has recorded."""
        return {r[0] for r in self.store.query(
            "SELECT batch_id FROM batches WHERE batch_id IS NOT NULL")}
