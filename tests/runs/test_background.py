"""Background runs (``al.start``) and interrupts, through the loopback fake of the Messages API."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

import agentlab as al
from agentlab.providers.anthropic import AnthropicProvider
from agentlab.runs._store import Store
from agentlab.testing._server import FakeAnthropic

BASE = al.Agent(name="base", description="A test agent.", body="You are the base agent.")
T = TypeVar("T")
TASKS = [al.Task(id=f"t{i}", prompt=f"Solve task {i}") for i in range(6)]


def provider(fake: FakeAnthropic) -> AnthropicProvider:
    return AnthropicProvider(api_key="test", base_url=fake.base_url)


def stored_status(db: Path, run_id: str) -> str:
    with Store(db) as store:
        return store.run(run_id).status


def in_kernel_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` as a notebook cell runs: on a loop without asyncio's SIGINT handler,
    so Ctrl-C raises KeyboardInterrupt in the code that is running (as in ipykernel)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def wait_for(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_interrupt_inside_a_running_loop_returns_the_partial_run(
        fake_api: FakeAnthropic, tmp_path: Path) -> None:
    """Ctrl-C / a kernel interrupt during ``al.run`` in a notebook cell (a running loop).

    Before the fix this ended in ``KeyError: 'result'``: on Python 3.11 an interrupted
    ``Thread.join`` can mark the worker finished while it still runs.
    """
    fake_api.latency = 0.25
    sent = threading.Event()

    def progress(done: int, total: int) -> None:
        if done >= 2 and not sent.is_set():
            sent.set()
            os.kill(os.getpid(), signal.SIGINT)  # what a kernel interrupt does

    async def notebook_cell() -> al.Run:
        return al.run([BASE], TASKS, provider=provider(fake_api), db=tmp_path / "r.sqlite",
                      concurrency=2, progress=progress)

    run = in_kernel_loop(notebook_cell())
    assert run.status == "interrupted"
    assert 2 <= len(run.results) < len(TASKS)
    assert all(r.ok for r in run.results)
    assert stored_status(tmp_path / "r.sqlite", run.id) == "interrupted"
    again = al.run([BASE], TASKS, provider=provider(fake_api), db=tmp_path / "r.sqlite",
                   progress=False)  # resume: only the missing cells are sent
    assert again.status == "complete" and again.requests_sent == len(TASKS) - len(run.results)


def test_start_returns_at_once_and_the_callers_loop_stays_free(
        fake_api: FakeAnthropic, tmp_path: Path) -> None:
    fake_api.latency = 0.2
    ticks = 0

    async def notebook() -> al.Run:
        nonlocal ticks
        began = time.monotonic()
        handle = al.start([BASE], TASKS, provider=provider(fake_api), db=tmp_path / "r.sqlite",
                          concurrency=2)
        assert time.monotonic() - began < 0.2 and not handle.done
        while not handle.done:  # other work keeps running on this loop meanwhile
            ticks += 1
            await asyncio.sleep(0.01)
        return await handle

    run = asyncio.run(notebook())
    assert run.status == "complete" and len(run.results) == len(TASKS)
    assert ticks >= 20  # 3 rounds of 0.2 s: the loop turned over all along


def test_progress_reports_done_total_rate_and_eta(fake_api: FakeAnthropic,
                                                  tmp_path: Path) -> None:
    fake_api.latency = 0.1
    seen: list[tuple[int, int]] = []
    handle = al.start([BASE], TASKS, provider=provider(fake_api), db=tmp_path / "r.sqlite",
                      concurrency=1, progress=lambda done, total: seen.append((done, total)))
    wait_for(lambda: handle.progress.done >= 2)
    middle = handle.progress
    assert middle.total == len(TASKS) and middle.rate is not None and middle.rate > 0
    assert middle.eta_s is not None and middle.eta_s > 0
    assert "cells/s" in str(middle) and "left" in str(middle)
    assert 1 <= len(handle.saved) < len(TASKS) or handle.done  # cells stream as committed
    run = handle.result()
    assert seen[0] == (0, len(TASKS)) and seen[-1] == (len(TASKS), len(TASKS))
    assert handle.progress.done == len(TASKS) and len(handle.saved) == len(TASKS)
    assert run.id == handle.run_id and handle.done


def test_stop_cancels_calls_in_flight_and_keeps_what_finished(
        fake_api: FakeAnthropic, tmp_path: Path) -> None:
    fake_api.latency = 0.3
    db = tmp_path / "r.sqlite"
    handle = al.start([BASE], TASKS, provider=provider(fake_api), db=db, concurrency=2)
    wait_for(lambda: handle.progress.done >= 2)
    fake_api.latency = 5.0  # the calls now in flight would take seconds to answer
    wait_for(lambda: fake_api.request_count >= 4)
    stopped_at = time.monotonic()
    handle.stop()
    run = handle.result(timeout=10)
    assert time.monotonic() - stopped_at < 2.0  # in-flight calls were cancelled, not awaited
    saved = len(run.results)
    assert 2 <= saved < len(TASKS)
    assert run.status == f"stopped: {saved} of {len(TASKS)} cells saved"
    assert stored_status(db, run.id) == run.status
    assert {r.task_id for r in run.results} == {r.task_id for r in al.open_run(run.id, db).results}
    handle.stop()  # again: nothing happens
    assert handle.result().status == run.status

    fake_api.latency = 0.0
    again = al.run([BASE], TASKS, provider=provider(fake_api), db=db, progress=False)
    assert again.status == "complete" and again.requests_sent == len(TASKS) - saved


def test_stop_right_after_start_sends_nothing_it_does_not_keep(
        fake_api: FakeAnthropic, tmp_path: Path) -> None:
    fake_api.latency = 0.5
    handle = al.start([BASE], TASKS, provider=provider(fake_api), db=tmp_path / "r.sqlite")
    handle.stop()
    run = handle.result(timeout=10)
    assert run.status == f"stopped: {len(run.results)} of {len(TASKS)} cells saved"
    assert run.results == ()


def test_stop_after_the_end_changes_nothing(fake_api: FakeAnthropic, tmp_path: Path) -> None:
    handle = al.start([BASE], TASKS[:2], provider=provider(fake_api), db=tmp_path / "r.sqlite")
    run = handle.result(timeout=10)
    handle.stop()
    assert run.status == "complete" and handle.result().status == "complete"
    assert "done" in repr(handle)


def test_errors_reach_the_caller_of_result(tmp_path: Path) -> None:
    handle = al.start([BASE], TASKS, provider="no-such-provider", db=tmp_path / "r.sqlite")
    with pytest.raises(al.ConfigError, match="unknown provider"):
        handle.result(timeout=10)
    assert handle.done


def test_done_callback_runs_once_the_run_ends(fake_api: FakeAnthropic, tmp_path: Path) -> None:
    ended = threading.Event()
    handle = al.start([BASE], TASKS[:2], provider=provider(fake_api), db=tmp_path / "r.sqlite")
    handle.add_done_callback(lambda h: ended.set() if h.done else None)
    assert ended.wait(10)
    assert handle.result().status == "complete"
