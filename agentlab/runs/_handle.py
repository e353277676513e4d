"""Background runs: a run on its own thread and event loop, with progress and a real Stop.

::

    handle = al.start(variants, tasks, repeats=3)   # returns at once
    handle.progress                                 # RunProgress(done=4, total=18, ...)
    handle.stop()                                   # cancel in-flight calls, keep the rest
    run = handle.result()                           # or: run = await handle

The run executes on a worker thread with its own event loop (the same one :func:`run_sync`
uses), so the caller's thread, a Jupyter kernel included, stays free while it goes: other
cells run, widgets stay live. :meth:`RunHandle.stop` cancels the calls in flight (the SDK
closes their connections) and keeps every finished cell; the run's status then reads
``stopped: N of M cells saved``. Cells are committed to the store as they finish, so
:attr:`RunHandle.saved` streams them to a UI.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Callable, Coroutine, Generator, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from agentlab.runs._store import DEFAULT_DB, CellResult, Store

if TYPE_CHECKING:
    from agentlab.agents._agent import Agent
    from agentlab.providers.base import GenerationOptions, Provider
    from agentlab.providers.models import ModelTable
    from agentlab.runs._progress import Progress
    from agentlab.runs._runner import Run
    from agentlab.tasks import Task

T = TypeVar("T")

Report = Callable[[int, int], None]
Launch = Callable[[Store, Report], Coroutine[Any, Any, "Run"]]
"""Makes the run's coroutine, given the store to write to and the progress callback."""


class _Worker(Generic[T]):
    """A coroutine run to completion on a new event loop in a daemon thread."""

    def __init__(self, factory: Callable[[], Coroutine[Any, Any, T]], name: str) -> None:
        self.future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self.future.set_running_or_notify_cancel()  # only the worker settles it
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[T] | None = None
        started = threading.Event()
        self._thread = threading.Thread(target=self._main, args=(factory, started), name=name,
                                        daemon=True)
        self._thread.start()
        started.wait()

    def _main(self, factory: Callable[[], Coroutine[Any, Any, T]],
              started: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        try:
            try:
                self._task = loop.create_task(factory())
                self._loop = loop
            finally:
                started.set()
            result = loop.run_until_complete(self._task)
        except BaseException as exc:  # handed to whoever waits on the future
            self.future.set_exception(exc)
        else:
            self.future.set_result(result)
        finally:  # after the result is out: a caller never waits for this clean-up
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def cancel(self) -> None:
        """Cancel the coroutine (from any thread); a no-op once it has finished."""
        loop, task = self._loop, self._task
        if loop is None or task is None or task.done():
            return
        if threading.current_thread() is self._thread:
            task.cancel()
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: it is done
            loop.call_soon_threadsafe(task.cancel)

    def join(self, on_interrupt: Callable[[], None]) -> T:
        """Wait for the result; the first Ctrl-C calls ``on_interrupt`` and keeps waiting.

        Waiting on the future rather than ``Thread.join``: on Python 3.11 a
        KeyboardInterrupt inside ``join()`` can leave the thread marked as finished while
        it still runs, so a second ``join()`` returns before the result exists.
        """
        interrupted = False
        while True:
            try:
                return self.future.result(timeout=0.2)
            except TimeoutError:
                continue
            except KeyboardInterrupt:
                if interrupted:
                    raise  # a second Ctrl-C: the caller insists; finished cells are stored
                interrupted = True
                on_interrupt()
            except asyncio.CancelledError:
                if interrupted:  # cancelled before the run could record anything
                    raise KeyboardInterrupt from None
                raise


def run_in_thread(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on a worker thread's own loop and wait; Ctrl-C cancels it.

    Args:
        factory: Makes the coroutine (called on the worker thread).

    Returns:
        What the coroutine returned (a cancelled run returns its partial :class:`Run`).
    """
    worker: _Worker[T] = _Worker(factory, "agentlab-run")
    return worker.join(worker.cancel)


@dataclass(frozen=True)
class RunProgress:
    """How far a background run has got.

    Attributes:
        done: Cells finished (from the cache or sent), out of ``total``.
        total: Cells in the run; 0 until the run has been planned.
        elapsed_s: Seconds since :func:`agentlab.start` was called.
        rate: Cells per second sent and answered so far (cache hits excluded), or ``None``
            before the first answer.
        eta_s: Seconds left at that rate, or ``None`` when unknown.
    """

    done: int = 0
    total: int = 0
    elapsed_s: float = 0.0
    rate: float | None = None
    eta_s: float | None = None

    def __str__(self) -> str:
        """E.g. ``"5/12 cells · 2.1 cells/s · about 3 s left"``."""
        parts = [f"{self.done}/{self.total} cells" if self.total else "planning…"]
        if self.rate is not None:
            parts.append(f"{self.rate:.1f} cells/s")
        if self.eta_s is not None and self.done < self.total:
            parts.append(f"about {_seconds(self.eta_s)} left")
        return " · ".join(parts)


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value < 90 else f"{value / 60:.0f} min"


def progress_report(progress: bool | Report, total: int) -> Report | None:
    """The progress callback for a background run: the caller's own, a tqdm bar, or none.

    The bar is made here, on the caller's thread, so that in Jupyter it shows under the
    cell that started the run; the worker thread only moves it.
    """
    if callable(progress):
        return progress
    if not progress:
        return None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, unit="cell", desc="run")

    def report(done: int, planned: int) -> None:
        bar.total, bar.n = planned, done
        bar.refresh()
        if done >= planned:
            bar.close()

    return report


class _ObservedStore(Store):
    """The run's store, telling its handle the run id and each cell as it is committed."""

    def __init__(self, path: Path, handle: RunHandle) -> None:
        super().__init__(path)
        self._handle = handle

    def begin_run(self, run_id: str, name: str | None, config: dict[str, Any],
                  variants: Sequence[tuple[str, str, dict[str, Any]]],
                  tasks: Sequence[tuple[str, dict[str, Any]]]) -> None:
        super().begin_run(run_id, name, config, variants, tasks)
        self._handle._begun(run_id)

    def put_many(self, run_id: str, results: Iterable[CellResult]) -> None:
        batch = list(results)
        super().put_many(run_id, batch)
        self._handle._committed(batch)


class RunHandle:
    """A run going on in the background. Made by :func:`agentlab.start`.

    Await it (``run = await handle``) or call :meth:`result`; :meth:`stop` ends it early,
    keeping every finished cell.

    Args:
        launch: Makes the run's coroutine from the store and the progress callback.
        db: The results database (a path, or a store whose path is reused: the worker
            thread opens its own connection).
        total: Cells planned, shown until the runner reports its own count.
        progress: Called with ``(done, total)`` on the worker thread as cells finish.
    """

    def __init__(self, launch: Launch, db: Path | str | Store, *, total: int = 0,
                 progress: Report | None = None) -> None:
        self._launch, self._report = launch, progress
        self._path = db.path if isinstance(db, Store) else Path(db)
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._first: tuple[float, int] | None = None  # (time, done) at the first report
        self._done_total = (0, total)
        self._armed = False  # the runner is past planning: a cancel now keeps its results
        self._stop_requested = False
        self._run_id: str | None = None
        self._cells: list[CellResult] = []
        self._worker: _Worker[Run] = _Worker(self._main, "agentlab-background-run")

    # -- worker side ---------------------------------------------------------------------
    async def _main(self) -> Run:
        store = _ObservedStore(self._path, self)
        try:
            try:
                run = await self._launch(store, self._progress)
            except asyncio.CancelledError:
                if self._run_id is None:
                    raise
                run = self._reopen()  # the cancel arrived just after the cells finished
            if self._stop_requested and run.status == "interrupted":
                run = replace(run, status=self._stopped_status(len(run.results)))
                store.finish_run(run.id, run.status)
            return run
        finally:
            store.close()

    def _reopen(self) -> Run:
        from agentlab.runs._history import open_run

        assert self._run_id is not None
        return open_run(self._run_id, db=self._path)

    def _begun(self, run_id: str) -> None:
        # The runner calls begin_run right before it starts the cells, with no await in
        # between: from here on a cancel lands where the runner keeps what finished.
        with self._lock:
            self._run_id = run_id
        self._arm()

    def _arm(self) -> None:
        with self._lock:
            cancel_now = not self._armed and self._stop_requested
            self._armed = True
        if cancel_now:  # stop() came while the run was being planned
            self._worker.cancel()

    def _committed(self, batch: list[CellResult]) -> None:
        with self._lock:
            self._cells.extend(batch)

    def _progress(self, done: int, total: int) -> None:
        """The runner's progress callback (on the worker thread, inside the run)."""
        now = time.monotonic()
        with self._lock:
            self._done_total = (done, total)
            if self._first is None:
                self._first = (now, done)
        self._arm()
        if self._report is not None:
            self._report(done, total)

    def _stopped_status(self, saved: int) -> str:
        total = self._done_total[1]
        return f"stopped: {saved} of {total} cells saved"

    # -- caller side ---------------------------------------------------------------------
    @property
    def run_id(self) -> str | None:
        """The run's id once it has been planned (``None`` before)."""
        return self._run_id

    @property
    def done(self) -> bool:
        """Whether the run has ended (completed, stopped or failed)."""
        return self._worker.future.done()

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stop_requested

    @property
    def progress(self) -> RunProgress:
        """Cells done and total, elapsed time, rate and estimated time left."""
        now = time.monotonic()
        with self._lock:
            (done, total), first = self._done_total, self._first
        rate = eta = None
        if first is not None and done > first[1] and now > first[0]:
            rate = (done - first[1]) / (now - first[0])
            eta = (total - done) / rate
        return RunProgress(done, total, now - self._started, rate, eta)

    @property
    def saved(self) -> tuple[CellResult, ...]:
        """Cells committed to the store so far, in the order they finished."""
        with self._lock:
            return tuple(self._cells)

    def stop(self) -> None:
        """Stop the run: cancel calls in flight, start no new ones, keep what finished.

        Returns at once; :meth:`result` (or ``await``) then gives the partial run, with
        ``status == "stopped: N of M cells saved"``. Calling it again, or after the run
        ended, does nothing.
        """
        with self._lock:
            if self._stop_requested:
                return
            self._stop_requested = True
            armed = self._armed
        if armed:
            self._worker.cancel()

    def result(self, timeout: float | None = None) -> Run:
        """Wait for the run and return it; Ctrl-C while waiting stops it (like :meth:`stop`).

        Args:
            timeout: Seconds to wait at most; ``None`` waits until it ends.

        Returns:
            The run (partial when stopped).

        Raises:
            TimeoutError: ``timeout`` passed first; the run goes on.
            AgentlabError: The run failed (bad configuration, key refused, budget); cells
                that finished before are stored.
        """
        if timeout is not None:
            return self._worker.future.result(timeout)
        return self._worker.join(self.stop)

    def add_done_callback(self, fn: Callable[[RunHandle], None]) -> None:
        """Call ``fn(handle)`` when the run ends (on the worker thread; at once if ended)."""
        self._worker.future.add_done_callback(lambda _future: fn(self))

    def __await__(self) -> Generator[Any, None, Run]:
        return asyncio.wrap_future(self._worker.future).__await__()

    def __repr__(self) -> str:
        state = "done" if self.done else "stopping" if self._stop_requested else "running"
        return f"<RunHandle {self._run_id or '(planning)'} {state}: {self.progress}>"


def start(
    variants: Sequence[Agent], tasks: Sequence[Task], *, repeats: int = 1,
    model: str | None = None, default_model: str = "sonnet",
    provider: Provider | str | None = None, options: GenerationOptions | None = None,
    concurrency: int = 8, db: Path | str | Store = DEFAULT_DB, refresh: bool = False,
    budget_usd: float | None = None, progress: Progress = False,
    table: ModelTable | None = None, name: str | None = None, run_id: str | None = None,
    online_aliases: bool = False,
) -> RunHandle:
    """Start a run in the background and return at once (scripts and Jupyter alike).

    Takes the same arguments as :func:`agentlab.run_async` (see there), except that ``progress``
    defaults to ``False`` (``True`` draws a tqdm bar where ``start`` was called; the
    numbers are always in ``handle.progress``). The run executes on a worker thread
    with its own event loop, so the caller (a notebook kernel) stays free.

    Returns:
        A :class:`RunHandle`: ``handle.progress``, ``handle.stop()``,
        ``handle.done``, ``run = await handle`` or ``run = handle.result()``.
    """
    from agentlab.runs._runner import run_async

    def launch(store: Store, report: Callable[[int, int], None]) -> Coroutine[Any, Any, Run]:
        return run_async(
            variants, tasks, repeats=repeats, model=model, default_model=default_model,
            provider=provider, options=options, concurrency=concurrency, db=store,
            refresh=refresh, budget_usd=budget_usd, progress=report, table=table, name=name,
            run_id=run_id, online_aliases=online_aliases)

    total = len(variants) * len(tasks) * repeats
    return RunHandle(launch, db, total=total, progress=progress_report(progress, total))
