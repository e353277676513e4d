"""The store and the runner under hostile conditions: locks, damage, twins, unknown models.

Runner tests go through the loopback fake with the real SDK; a write lock is held from a
second SQLite connection, as another process would.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import agentlab as al
from agentlab.providers.anthropic import AnthropicProvider
from agentlab.runs._writer import unsaved_path
from agentlab.testing._server import FakeAnthropic

KEY = "sk-ant-test-store-key-0123456789"


def provider(fake: FakeAnthropic) -> AnthropicProvider:
    return AnthropicProvider(api_key=KEY, base_url=fake.base_url, max_retries=0)


def agents() -> list[al.Agent]:
    return [al.Agent(name="base", description="d", body="You are the base agent.")]


def tasks(n: int) -> list[al.Task]:
    return [al.Task(id=f"t{i}", prompt=f"Task number {i}") for i in range(n)]


def stored(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        count: int = conn.execute("SELECT count(*) FROM results").fetchone()[0]
    return count


class Locker:
    """Holds SQLite's write lock on a database from another connection, on its own thread."""

    def __init__(self, db: Path) -> None:
        self.db, self.taken, self.release = db, threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        conn = sqlite3.connect(self.db, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")  # the write lock, as another writer holds it
        self.taken.set()
        self.release.wait(60)
        conn.execute("COMMIT")
        conn.close()

    def start(self) -> None:
        self.thread.start()
        assert self.taken.wait(10)

    def stop(self) -> None:
        self.release.set()
        if self.thread.ident is not None:  # started
            self.thread.join(10)


@pytest.fixture
def locker(tmp_path: Path) -> Iterator[Callable[[Path], Locker]]:
    made: list[Locker] = []

    def make(db: Path) -> Locker:
        made.append(Locker(db))
        return made[-1]

    yield make
    for lock in made:
        lock.stop()


# -- item 5: a locked database ----------------------------------------------------------------


def test_lock_held_mid_run_loses_nothing(tmp_path: Path,
                                         locker: Callable[[Path], Locker]) -> None:
    db = tmp_path / "r.sqlite"
    lock = locker(db)
    seen = {"done": 0, "released_at": 0, "committed_then": 0}

    def release() -> None:
        seen["released_at"], seen["committed_then"] = seen["done"], stored(db)  # WAL: readable
        lock.stop()

    def progress(done: int, total: int) -> None:
        seen["done"] = done
        if done == 2 and not lock.taken.is_set():
            lock.start()  # from now on every commit waits for the other connection
            threading.Timer(1.5, release).start()

    with FakeAnthropic(latency=0.05) as fake:
        store = al.Store(db, busy_timeout=0.2, write_patience=10.0)
        run = al.run(agents(), tasks(12), provider=provider(fake), concurrency=3, db=store,
                     progress=progress)
        store.close()
        sent = fake.request_count
    assert seen["released_at"] > seen["committed_then"], (
        "answers arrived while the lock was held, and waited in memory")
    assert run.status == "complete" and len(run.results) == 12 and run.errors == 0
    assert sent == 12, "no request was dropped or sent twice"
    assert stored(db) == 12, "answers that arrived while the lock was held were committed later"


def test_store_that_stays_locked_stops_new_calls_and_keeps_answers(
        tmp_path: Path, locker: Callable[[Path], Locker]) -> None:
    db = tmp_path / "r.sqlite"
    lock = locker(db)

    def progress(done: int, total: int) -> None:
        if done == 2 and not lock.taken.is_set():
            lock.start()

    with FakeAnthropic(latency=0.05) as fake:
        store = al.Store(db, busy_timeout=0.1, write_patience=0.6)
        run = al.run(agents(), tasks(40), provider=provider(fake), concurrency=2, db=store,
                     progress=progress)
        store.close()
        sent = fake.request_count
        assert run.status.startswith("stopped: results database cannot be written")
        assert "new results saved" in run.status and "kept in" in run.status
        assert sent < 40, "new calls stopped once the store could not be written"
        assert len(run.results) == sent, "every answer that arrived is in the run"
        side = unsaved_path(store, run.id)
        kept = side.read_text(encoding="utf-8").splitlines()
        lock.stop()
        assert stored(db) + len(kept) == sent, "each answer is in the store or the side file"
        # The next run of the same experiment loads the side file, then sends only the rest.
        again = al.run(agents(), tasks(40), provider=provider(fake), concurrency=2, db=db,
                       progress=False)
        assert again.status == "complete" and len(again.results) == 40
        assert fake.request_count - sent == 40 - sent
    assert not side.exists() and stored(db) == 40


def test_lock_before_the_run_costs_nothing(tmp_path: Path,
                                           locker: Callable[[Path], Locker]) -> None:
    db = tmp_path / "r.sqlite"
    al.Store(db).close()
    locker(db).start()
    with FakeAnthropic() as fake:
        with pytest.raises(al.StoreError, match="locked by another process") as info:
            al.run(agents(), tasks(3), provider=provider(fake), progress=False,
                   db=al.Store(db, busy_timeout=0.2))
        assert fake.request_count == 0
    assert "\n" not in str(info.value)


# -- item 6: a damaged database ---------------------------------------------------------------


def _damaged(tmp_path: Path) -> Path:
    db = tmp_path / "r.sqlite"
    with FakeAnthropic() as fake:
        al.run(agents(), tasks(30), provider=provider(fake), db=db, progress=False)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    assert len(data) > 3 * page
    data[page:] = b"\xa5" * (len(data) - page)  # keep the header and page 1, ruin the rest
    db.write_bytes(bytes(data))
    return db


def test_damaged_database_is_one_line_with_recovery_hint(tmp_path: Path) -> None:
    db = _damaged(tmp_path)
    with pytest.raises(al.StoreError) as info:
        al.list_runs(db)
    message = str(info.value)
    assert "damaged" in message and f"mv {db} {db}.damaged" in message and ".recover" in message
    assert "\n" not in message


def test_damaged_database_through_the_cli(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from agentlab.cli import main

    db = _damaged(tmp_path)
    assert main(["runs", "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "damaged" in err


def test_not_a_database_file(tmp_path: Path) -> None:
    junk = tmp_path / "notes.sqlite"
    junk.write_text("just some text, long enough to have a header " * 20, encoding="utf-8")
    with pytest.raises(al.StoreError, match="damaged or not an SQLite file"):
        al.list_runs(junk)


# -- item 12: read-only callers never create a database -------------------------------------


def test_read_only_calls_do_not_create_anything(tmp_path: Path) -> None:
    target = tmp_path / "new" / "dir" / "x.sqlite"
    with pytest.raises(al.StoreError, match="there is no results database here"):
        al.list_runs(target)
    with pytest.raises(al.StoreError, match="there is no results database here"):
        al.open_run("run-x", target)
    assert not (tmp_path / "new").exists()


def test_store_paths_that_cannot_work(tmp_path: Path) -> None:
    afile = tmp_path / "file.txt"
    afile.write_text("x", encoding="utf-8")
    with pytest.raises(al.StoreError, match=r"is a file, not a folder"):
        al.Store(afile / "sub" / "r.sqlite")
    with pytest.raises(al.StoreError, match="is a folder, not a results database"):
        al.Store(tmp_path)


# -- item 4: every planned cell gets a row ----------------------------------------------------


def test_twin_of_a_failed_request_gets_its_own_error_row(tmp_path: Path) -> None:
    base = agents()[0]
    haiku = base.with_model("haiku", name="base-haiku")  # same request once model= is set
    db = tmp_path / "r.sqlite"
    with FakeAnthropic() as fake:
        fake.add_rule("malformed")
        run = al.run([base, haiku], tasks(2), model="sonnet", provider=provider(fake), db=db,
                     progress=False)
        assert fake.request_count == 2, "identical requests are still sent once"
    assert len(run.results) == 4 and run.errors == 4
    assert {r.variant for r in run.results} == {"base", "base-haiku"}
    assert {r.error_kind for r in run.results} == {"malformed"}
    assert not any(r.cached for r in run.results), "an error copy is not a cache hit"
    assert stored(db) == 4
    assert al.list_runs(db).loc[0, "cells"] == 4


# -- item 9: an unknown model is reported once and not sent again ------------------------------


def test_unknown_model_stops_after_the_first_not_found(tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    with FakeAnthropic(strict_models=True) as fake, caplog.at_level(logging.WARNING, "agentlab"):
        run = al.run(agents(), tasks(10), repeats=2, model="gpt-4-typo",
                     provider=provider(fake), concurrency=1, db=tmp_path / "r.sqlite",
                     progress=False)
        sent = fake.request_count
    assert sent == 1
    assert len(run.results) == 20 and run.errors == 20
    assert {r.error_kind for r in run.results} == {"not_found"}
    assert sum("not sent" in (r.error or "") for r in run.results) == 19
    notes = [r.getMessage() for r in caplog.records if "was not found" in r.getMessage()]
    assert len(notes) == 1 and "gpt-4-typo" in notes[0] and "404" in notes[0]


def test_other_models_keep_running_after_one_is_not_found(tmp_path: Path) -> None:
    good = agents()[0]
    bad = good.with_model("claude-typo-1", name="typo").with_body("Other prompt.", name="typo")
    with FakeAnthropic(strict_models=True) as fake:
        run = al.run([good, bad], tasks(5), provider=provider(fake), concurrency=1,
                     db=tmp_path / "r.sqlite", progress=False)
    by_variant = {v: [r for r in run.results if r.variant == v] for v in ("base", "typo")}
    assert all(r.ok for r in by_variant["base"]) and len(by_variant["base"]) == 5
    assert not any(r.ok for r in by_variant["typo"]) and len(by_variant["typo"]) == 5


# -- item 7: counts that would plan nothing ----------------------------------------------------


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"repeats": 0}, "repeats must be a whole number of at least 1"),
    ({"repeats": -1}, "repeats must be"),
    ({"concurrency": 0}, "concurrency must be"),
    ({"budget_usd": -1.0}, "budget_usd must be"),
])
def test_run_refuses_counts_that_plan_nothing(tmp_path: Path, kwargs: dict[str, object],
                                              fragment: str) -> None:
    db = tmp_path / "r.sqlite"
    with FakeAnthropic() as fake:
        with pytest.raises(al.ConfigError, match=fragment):
            al.run(agents(), tasks(2), provider=provider(fake), db=db, progress=False,
                   **kwargs)  # type: ignore[arg-type]
        assert fake.request_count == 0
    assert not db.exists(), "no empty run is stored"


def test_estimate_refuses_bad_repeats_and_unknown_models() -> None:
    with pytest.raises(al.ConfigError, match="repeats must be"):
        al.estimate_cost(agents(), tasks(2), repeats=-3)
    with pytest.raises(al.ConfigError, match="unknown model 'gpt-4-typo'"):
        al.estimate_cost(agents(), tasks(2), model="gpt-4-typo")
    rows = al.estimate_cost(agents(), tasks(2), repeats=3, model="haiku")
    assert rows[-1].calls == 6 and (rows[-1].cost_usd or 0) > 0


def test_timing_of_a_short_lock_is_bounded(tmp_path: Path,
                                           locker: Callable[[Path], Locker]) -> None:
    # A write that meets a lock waits at most busy_timeout per attempt, off the event loop.
    db = tmp_path / "r.sqlite"
    store = al.Store(db, busy_timeout=0.3)
    lock = locker(db)
    lock.start()
    started = time.monotonic()
    with pytest.raises(al.StoreError, match=r"waited 0\.3 s"):
        store.finish_run("run-x", "complete")
    assert 0.25 <= time.monotonic() - started < 3
    store.close()
