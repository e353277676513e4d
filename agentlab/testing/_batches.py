"""The fake's Message Batches endpoints: create, retrieve, results (JSONL), cancel, list.

Each request of a batch is answered at create time by the fake's own ``/v1/messages``
logic, so a batch's answers equal a direct call's. The batch then "processes" for
:attr:`FakeBatches.delay` seconds: request *i* of *n* is done at ``created + delay·(i+1)/n``
(which decides what a cancel catches), and the batch ends when the last one is. Until it
ends, ``request_counts`` shows every request as ``processing``, as the real API does.

Per-request outcomes come from :attr:`FakeBatches.fate` (expired, canceled or an error of a
:data:`~agentlab.testing.Fault` kind); :meth:`FakeBatches.fail_next` makes whole batches end
with every request errored. :attr:`FakeBatches.submissions` counts how many times each
``custom_id`` was submitted, which is what "never pay twice" tests check.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from agentlab.testing._replies import (
    Fault,
    FaultKind,
    Json,
    Reply,
    error_reply,
    fault_reply,
    json_reply,
)

BatchFate = FaultKind | Literal["expired", "canceled"]
"""What :attr:`FakeBatches.fate` may decide for one request (``None`` answers it normally)."""

MAX_REQUESTS = 100_000
_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_PREFIX = "/v1/messages/batches"


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class _Item:
    custom_id: str
    result: Json  # {"type": "succeeded", "message": {...}} and the other result shapes
    ready: float  # monotonic time at which its processing is done


@dataclass
class _Batch:
    id: str
    created: datetime
    start: float
    items: list[_Item]
    delay: float
    cancel_at: float | None = None
    cancel_initiated: datetime | None = None
    ended: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)


class FakeBatches:
    """Message Batches state and settings of one :class:`~agentlab.testing.FakeAnthropic`.

    Settings are plain attributes and may be changed while the fake runs.

    Attributes:
        delay: Seconds from create until a batch ends (its processing time).
        fate: Callable from ``(custom_id, params)`` to a request's outcome: ``"expired"``,
            ``"canceled"``, a fault kind (the request ends ``errored`` with that API error),
            or ``None`` to answer it normally.
    """

    def __init__(self, answer: Callable[[Json], Reply], base_url: Callable[[], str],
                 delay: float = 0.0) -> None:
        self.delay = delay
        self.fate: Callable[[str, Json], BatchFate | None] | None = None
        self._answer = answer
        self._base_url = base_url
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        """Forget every batch, the submission counts and pending :meth:`fail_next` calls."""
        with self._lock:
            self._batches: dict[str, _Batch] = {}
            self._submissions: Counter[str] = Counter()
            self._failing: list[FaultKind] = []
            self._serial = 0

    def fail_next(self, kind: FaultKind = "overloaded", batches: int = 1) -> None:
        """Make the next ``batches`` batches end with every request errored with ``kind``."""
        with self._lock:
            self._failing.extend([kind] * batches)

    @property
    def submissions(self) -> dict[str, int]:
        """How many times each ``custom_id`` was submitted, over all batches."""
        with self._lock:
            return dict(self._submissions)

    @property
    def ids(self) -> list[str]:
        """Ids of the batches created so far, oldest first."""
        with self._lock:
            return list(self._batches)

    # -- serving ---------------------------------------------------------------------------

    def route(self, method: str, path: str, query: dict[str, list[str]],
              body: Json | None) -> Reply:
        """Answer one request under ``/v1/messages/batches``."""
        parts = path.removeprefix(_PREFIX).strip("/").split("/")
        if parts == [""]:
            if method == "POST":
                return self._create(body or {})
            if method == "GET":
                return self._list(query)
        with self._lock:
            batch = self._batches.get(parts[0])
            if batch is not None:
                self._advance(batch, time.monotonic())
        if batch is None:
            return error_reply(404, "not_found_error", f"message batch {parts[0]!r} not found")
        if method == "GET" and len(parts) == 1:
            return json_reply(200, self._describe(batch))
        if method == "GET" and parts[1:] == ["results"]:
            return self._results(batch)
        if method == "POST" and parts[1:] == ["cancel"]:
            return self._cancel(batch)
        return error_reply(404, "not_found_error", f"Not found: {method} {path}")

    def _create(self, body: Json) -> Reply:
        requests = body.get("requests")
        problem = _invalid(requests)
        if problem:
            return error_reply(400, "invalid_request_error", problem)
        assert isinstance(requests, list)
        with self._lock:
            failing = self._failing.pop(0) if self._failing else None
            self._serial += 1
            batch_id = f"msgbatch_fake{self._serial:012d}"
            self._submissions.update(r["custom_id"] for r in requests)
            delay = self.delay
        start, n = time.monotonic(), len(requests)
        items = [_Item(r["custom_id"], self._outcome(r["custom_id"], r["params"], failing),
                       start + delay * (i + 1) / n) for i, r in enumerate(requests)]
        batch = _Batch(batch_id, datetime.now(UTC), start, items, delay)
        with self._lock:
            self._batches[batch_id] = batch
            self._advance(batch, time.monotonic())
            return json_reply(200, self._describe(batch))

    def _outcome(self, custom_id: str, params: Json, failing: FaultKind | None) -> Json:
        fate = failing or (self.fate(custom_id, params) if self.fate else None)
        if fate == "expired" or fate == "canceled":
            return {"type": fate}
        if fate is not None:
            # Faults that are not an API error (reset, slow, malformed) become api_error.
            kind: FaultKind = "server" if fate in ("reset", "slow", "malformed") else fate
            error = json.loads(fault_reply(Fault(kind), params).body)
            return {"type": "errored", "error": error}
        reply = self._answer(params)
        answer = json.loads(reply.body)
        if reply.status == 200:
            return {"type": "succeeded", "message": answer}
        return {"type": "errored", "error": answer}

    def _advance(self, batch: _Batch, now: float) -> None:
        """End the batch if its time has come (or it was canceled); caller holds the lock."""
        if batch.ended is not None:
            return
        last = batch.items[-1].ready
        if batch.cancel_at is None and now < last:
            return
        cut = batch.cancel_at if batch.cancel_at is not None else last
        for item in batch.items:
            if item.ready > cut and item.result["type"] not in ("expired", "canceled"):
                item.result = {"type": "canceled"}
        batch.ended = datetime.now(UTC)
        batch.counts = dict(Counter(item.result["type"] for item in batch.items))

    def _describe(self, batch: _Batch) -> Json:
        ended = batch.ended is not None
        counts = {k: batch.counts.get(k, 0) for k in
                  ("succeeded", "errored", "canceled", "expired")}
        status = "ended" if ended else ("canceling" if batch.cancel_at else "in_progress")
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": {"processing": 0 if ended else len(batch.items), **counts},
            "created_at": _iso(batch.created),
            "expires_at": _iso(batch.created + timedelta(hours=24)),
            "ended_at": _iso(batch.ended) if batch.ended else None,
            "archived_at": None,
            "cancel_initiated_at": (_iso(batch.cancel_initiated)
                                    if batch.cancel_initiated else None),
            "results_url": (f"{self._base_url()}{_PREFIX}/{batch.id}/results"
                            if ended else None),
        }

    def _results(self, batch: _Batch) -> Reply:
        if batch.ended is None:
            return error_reply(400, "invalid_request_error",
                               f"message batch {batch.id} is still processing")
        lines = [json.dumps({"custom_id": i.custom_id, "result": i.result}) for i in batch.items]
        body = ("\n".join(lines) + "\n").encode()
        return Reply(200, body, (("content-type", "application/binary"),))

    def _cancel(self, batch: _Batch) -> Reply:
        with self._lock:
            if batch.ended is None and batch.cancel_at is None:
                batch.cancel_at, batch.cancel_initiated = time.monotonic(), datetime.now(UTC)
            return json_reply(200, self._describe(batch))

    def _list(self, query: dict[str, list[str]]) -> Reply:
        with self._lock:
            now = time.monotonic()
            for batch in self._batches.values():
                self._advance(batch, now)
            newest = [self._describe(b) for b in reversed(self._batches.values())]
        ids = [b["id"] for b in newest]
        limit = max(1, min(1000, int(query.get("limit", ["20"])[0])))
        after, before = query.get("after_id", [None])[0], query.get("before_id", [None])[0]
        if before in ids:
            end = ids.index(before)
            page, more = newest[max(0, end - limit):end], end - limit > 0
        else:
            start = ids.index(after) + 1 if after in ids else 0
            page, more = newest[start:start + limit], start + limit < len(newest)
        return json_reply(200, {"data": page, "has_more": more,
                                "first_id": page[0]["id"] if page else None,
                                "last_id": page[-1]["id"] if page else None})


def _invalid(requests: object) -> str | None:
    """A 400 message for a malformed ``requests`` list, or ``None``."""
    if not isinstance(requests, list) or not requests:
        return "requests: at least one request is required"
    if len(requests) > MAX_REQUESTS:
        return f"requests: at most {MAX_REQUESTS} requests per batch"
    seen: set[str] = set()
    for n, r in enumerate(requests):
        if not isinstance(r, dict) or not isinstance(r.get("params"), dict):
            return f"requests.{n}: needs custom_id and params"
        cid = r.get("custom_id")
        if not isinstance(cid, str) or not _CUSTOM_ID.match(cid):
            return f"requests.{n}.custom_id: must match ^[a-zA-Z0-9_-]{{1,64}}$"
        if cid in seen:
            return f"requests.{n}.custom_id: {cid!r} is not unique in the batch"
        seen.add(cid)
    return None
