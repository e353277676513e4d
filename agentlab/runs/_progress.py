"""Progress of a run, and the await that turns an interrupt into a stopped run.

Every executor (chat cells, Message Batches, agentic trials, routing trials) reports progress
the same way: ``progress=True`` draws a tqdm bar (a widget in Jupyter), a callable receives
``(done, total)`` as items finish (the playground's bar), and ``False`` shows nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

Progress = bool | Callable[[int, int], None]
"""``True`` for a tqdm bar, ``False`` for none, or a ``(done, total)`` callback."""


class ProgressBar:
    """Counts finished items and shows them as ``progress`` asks.

    Attributes:
        done: Items finished (including those found finished before the run started).
        total: Items planned.
    """

    def __init__(self, progress: Progress, done: int, total: int, *, unit: str = "cell",
                 desc: str = "") -> None:
        self.done, self.total = done, total
        self.report = progress if callable(progress) else None
        self.tqdm: Any = None
        if self.report is not None:
            self.report(done, total)
        elif progress:
            from tqdm.auto import tqdm

            self.tqdm = tqdm(total=total, initial=done, unit=unit, desc=desc)

    def update(self, n: int = 1) -> None:
        """Count ``n`` more finished items."""
        self.done += n
        if self.report is not None:
            self.report(self.done, self.total)
        elif self.tqdm is not None:
            self.tqdm.update(n)

    def note(self, text: str) -> None:
        """Show ``text`` after the bar (a tqdm bar only)."""
        if self.tqdm is not None:
            self.tqdm.set_postfix_str(text)

    def close(self) -> None:
        """Close the tqdm bar, if there is one."""
        if self.tqdm is not None:
            self.tqdm.close()


async def gather_or_stop(jobs: Sequence[asyncio.Future[Any]]) -> bool:
    """Await every job; if the wait is cancelled, cancel them all and wait for them to end.

    A cancelled run keeps what its jobs committed, so the cancellation is reported, not
    raised: the caller marks the run stopped and returns what finished.

    Returns:
        ``True`` if the wait was cancelled (an interrupt or a Stop), else ``False``.
    """
    try:
        await asyncio.gather(*jobs)
    except asyncio.CancelledError:
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        return True
    return False
