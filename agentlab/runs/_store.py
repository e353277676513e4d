"""The results store: SQLite (WAL) holding runs, their snapshots, and one row per cell.

Each cell's result is committed the moment it arrives, so a crash or an interrupt
loses nothing that finished. The same table serves as the response cache: a cell
whose request hash (``cache_key``) was answered without error before, in any run,
is served from here.

Schema changes go through :data:`MIGRATIONS`, an append-only ordered list.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from agentlab._files import describe_os_error, folder_problem
from agentlab.errors import StoreError, StoreLockedError

DEFAULT_DB = Path(".agentlab") / "results.sqlite"

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    """Register a schema migration; order of definition is the order applied."""
    MIGRATIONS.append(fn)
    return fn


@migration
def _m001_initial(db: sqlite3.Connection) -> None:
    db.executescript("""
        CREATE TABLE runs (
            id TEXT PRIMARY KEY, name TEXT, created TEXT NOT NULL, updated TEXT NOT NULL,
            status TEXT NOT NULL, config TEXT NOT NULL);
        CREATE TABLE run_variants (
            run_id TEXT NOT NULL REFERENCES runs(id), position INTEGER NOT NULL,
            name TEXT NOT NULL, hash TEXT NOT NULL, snapshot TEXT NOT NULL,
            PRIMARY KEY (run_id, name));
        CREATE TABLE run_tasks (
            run_id TEXT NOT NULL REFERENCES runs(id), position INTEGER NOT NULL,
            id TEXT NOT NULL, snapshot TEXT NOT NULL, PRIMARY KEY (run_id, id));
        CREATE TABLE results (
            run_id TEXT NOT NULL REFERENCES runs(id), variant TEXT NOT NULL,
            variant_hash TEXT NOT NULL, task_id TEXT NOT NULL, repeat INTEGER NOT NULL,
            cache_key TEXT NOT NULL, model TEXT NOT NULL, provider TEXT NOT NULL,
            text TEXT NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
            cache_write_tokens INTEGER NOT NULL, cache_read_tokens INTEGER NOT NULL,
            latency_s REAL NOT NULL, stop_reason TEXT, error TEXT, error_kind TEXT,
            cached INTEGER NOT NULL, tool_calls TEXT NOT NULL, created TEXT NOT NULL,
            PRIMARY KEY (run_id, variant, task_id, repeat));
        CREATE INDEX results_cache ON results(cache_key) WHERE error IS NULL;
    """)


@migration
def _m002_batches(db: sqlite3.Connection) -> None:
    # Message Batches bookkeeping (agentlab.runs._batch): a submission row and its cells are
    # written before create, the API's batch id right after it; results.batch_id marks
    # answers that came from a batch (priced at the batch rate).
    db.executescript("""
        CREATE TABLE batches (
            token TEXT PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id),
            api TEXT NOT NULL, base_url TEXT NOT NULL, batch_id TEXT UNIQUE,
            status TEXT NOT NULL, requests INTEGER NOT NULL, counts TEXT NOT NULL,
            message TEXT, created TEXT NOT NULL, updated TEXT NOT NULL);
        CREATE INDEX batches_run ON batches(run_id, status);
        CREATE TABLE batch_cells (
            token TEXT NOT NULL REFERENCES batches(token), custom_id TEXT NOT NULL,
            variant TEXT NOT NULL, variant_hash TEXT NOT NULL, task_id TEXT NOT NULL,
            repeat INTEGER NOT NULL, cache_key TEXT NOT NULL, model TEXT NOT NULL,
            outcome TEXT, PRIMARY KEY (token, variant, task_id, repeat));
        ALTER TABLE results ADD COLUMN batch_id TEXT;
    """)


@migration
def _m003_routing_decisions(db: sqlite3.Connection) -> None:
    # Routing trials (agentlab.agentic._routing): one row per (run, variant, query, repeat)
    # with the decision, why the trial ended, and the head of the transcript (JSON). The
    # cache index serves a decision whose key was answered without error in any run.
    db.executescript("""
        CREATE TABLE routing_decisions (
            run_id TEXT NOT NULL REFERENCES runs(id), variant TEXT NOT NULL,
            variant_hash TEXT NOT NULL, task_id TEXT NOT NULL, repeat INTEGER NOT NULL,
            cache_key TEXT NOT NULL, decision TEXT NOT NULL, reason TEXT NOT NULL,
            tools_before INTEGER NOT NULL, transcript_head TEXT NOT NULL, model TEXT NOT NULL,
            input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
            cache_write_tokens INTEGER NOT NULL, cache_read_tokens INTEGER NOT NULL,
            cost_usd REAL, latency_s REAL NOT NULL, num_turns INTEGER NOT NULL,
            cli_version TEXT NOT NULL, error TEXT, error_kind TEXT, cached INTEGER NOT NULL,
            created TEXT NOT NULL, PRIMARY KEY (run_id, variant, task_id, repeat));
        CREATE INDEX routing_cache ON routing_decisions(cache_key) WHERE error IS NULL;
    """)


@migration
def _m004_trials(db: sqlite3.Connection) -> None:
    # Agentic trials (agentlab.agentic._trial): the trial's record (tool calls, diff, check
    # before/after, as JSON; agentlab.agentic._record) beside the cell it belongs to, so
    # the cache, resume and reopened runs serve it like any other cell. '' for chat cells.
    db.execute("ALTER TABLE results ADD COLUMN trial TEXT NOT NULL DEFAULT ''")


@dataclass(frozen=True)
class CellResult:
    """One cell's outcome: a response, or an error recorded in its place."""

    variant: str
    variant_hash: str
    task_id: str
    repeat: int
    cache_key: str
    model: str
    provider: str
    text: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    latency_s: float = 0.0
    stop_reason: str | None = None
    error: str | None = None
    error_kind: str | None = None
    cached: bool = False
    tool_calls: str = "[]"
    batch_id: str | None = None  # the Message Batch that answered it (batch-priced)
    trial: str = ""  # an agentic trial's record, JSON (agentlab.agentic._record); '' for chat

    @property
    def ok(self) -> bool:
        """Whether the cell produced a response."""
        return self.error is None


_RESULT_COLUMNS = [f for f in CellResult.__dataclass_fields__]
_INSERT = (f"INSERT OR REPLACE INTO results (run_id, {', '.join(_RESULT_COLUMNS)}, created) "
           f"VALUES (?, {', '.join('?' for _ in _RESULT_COLUMNS)}, ?)")


@dataclass(frozen=True)
class RunRecord:
    """A stored run's header."""

    id: str
    name: str | None
    created: str
    updated: str
    status: str
    config: dict[str, Any]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def store_error(path: Path, exc: sqlite3.Error, busy_timeout: float) -> StoreError:
    """A one-line :class:`StoreError` for an SQLite failure, saying how to recover."""
    code = getattr(exc, "sqlite_errorname", "") or ""
    text = " ".join(str(exc).split())
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return StoreLockedError(f"{path}: the results database is locked by another process "
                                f"(waited {busy_timeout:g} s); let it finish or close it, then "
                                "run again")
    if code.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or (
            type(exc) is sqlite3.DatabaseError):
        return StoreError(f"{path}: the results database is damaged or not an SQLite file "
                          f"({text}); move it aside (mv {path} {path}.damaged) and run again; "
                          "the sqlite3 shell's .recover command can salvage rows from the copy")
    if code.startswith("SQLITE_READONLY"):
        return StoreError(f"{path}: the results database is read-only ({text}); make it "
                          "writable or pass another --db")
    return StoreError(f"{path}: results database error: {text}")


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _guarded(method: Callable[Concatenate[Store, _P], _R]) -> Callable[Concatenate[Store, _P], _R]:
    """Turn SQLite errors raised by a store method into one-line :class:`StoreError`."""
    def wrapper(self: Store, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise store_error(self.path, exc, self.busy_timeout) from exc

    functools.update_wrapper(wrapper, method)
    return wrapper


class Store:
    """A results database. Safe to use from one thread at a time per instance.

    Args:
        path: The SQLite file.
        create: Create the file (and its folders) if missing. Read-only callers (listing
            and reopening runs) pass ``False``: a missing database is an error, not a new one.
        busy_timeout: Seconds one write waits for another process's write lock.
        write_patience: Seconds a run keeps retrying writes (holding answers in memory) before
            it stops sending new calls; see :mod:`agentlab.runs._writer`.

    Raises:
        StoreError: The path is a folder or under a file, the database is missing (with
            ``create=False``), locked, damaged, or from a newer agentlab.
    """

    def __init__(self, path: Path | str = DEFAULT_DB, *, create: bool = True,
                 busy_timeout: float = 5.0, write_patience: float = 60.0) -> None:
        self.path = Path(path)
        self.busy_timeout, self.write_patience = busy_timeout, write_patience
        self._lock = threading.Lock()
        if self.path.is_dir():
            raise StoreError(f"{self.path}: is a folder, not a results database; name a file "
                             f"such as {self.path / 'results.sqlite'}")
        if not create and not self.path.exists():
            raise StoreError(f"{self.path}: there is no results database here; check the path "
                             "(nothing has been run with this database yet)")
        problem = folder_problem(self.path.parent) if create else None
        if problem is not None:
            raise StoreError(f"{self.path}: its folder {self.path.parent} {problem}")
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot create the results database's folder: "
                             f"{describe_os_error(exc)}") from None
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False,
                                       timeout=busy_timeout)
        except sqlite3.Error as exc:
            raise store_error(self.path, exc, busy_timeout) from exc
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            self._migrate()
        except sqlite3.Error as exc:
            self._db.close()
            raise store_error(self.path, exc, busy_timeout) from exc
        except StoreError:
            self._db.close()
            raise

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(f"{self.path}: database schema v{version} is newer than this "
                             f"agentlab (v{len(MIGRATIONS)}); upgrade agentlab")
        for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
            with self._db:
                step(self._db)
                self._db.execute(f"PRAGMA user_version = {number}")

    @contextlib.contextmanager
    def busy_wait(self, seconds: float) -> Iterator[None]:
        """Within this block, a write waits at most ``seconds`` for another process's lock.

        ``busy_wait(0)`` makes a commit fail at once (:class:`StoreLockedError`) instead of
        waiting, so a caller on an event loop can try inline and wait elsewhere if need be.
        """
        with self._lock:
            self._db.execute(f"PRAGMA busy_timeout={int(seconds * 1000)}")
        try:
            yield
        finally:
            with self._lock:
                self._db.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs -------------------------------------------------------------------------------
    @_guarded
    def begin_run(self, run_id: str, name: str | None, config: dict[str, Any],
                  variants: Sequence[tuple[str, str, dict[str, Any]]],
                  tasks: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Create the run (or mark an existing one as running again, for resume)."""
        now = _now()
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, 'running', ?) ON CONFLICT(id) DO UPDATE "
                "SET updated = excluded.updated, status = 'running'",
                (run_id, name, now, now, json.dumps(config, sort_keys=True)))
            self._db.executemany(
                "INSERT OR IGNORE INTO run_variants VALUES (?, ?, ?, ?, ?)",
                [(run_id, i, n, h, json.dumps(s)) for i, (n, h, s) in enumerate(variants)])
            self._db.executemany(
                "INSERT OR IGNORE INTO run_tasks VALUES (?, ?, ?, ?)",
                [(run_id, i, t, json.dumps(s)) for i, (t, s) in enumerate(tasks)])

    @_guarded
    def finish_run(self, run_id: str, status: str) -> None:
        """Record how a run ended (complete, interrupted, stopped: ...)."""
        with self._lock, self._db:
            self._db.execute("UPDATE runs SET status = ?, updated = ? WHERE id = ?",
                             (status, _now(), run_id))

    @_guarded
    def runs(self) -> list[RunRecord]:
        """Every stored run, newest first."""
        rows = self._db.execute(
            "SELECT id, name, created, updated, status, config FROM runs "
            "ORDER BY updated DESC, created DESC").fetchall()
        return [RunRecord(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]

    def run(self, run_id: str) -> RunRecord:
        """One run's header; a unique prefix of its id is enough.

        Raises:
            StoreError: No run, or several, match.
        """
        runs = self.runs()
        matches = [r for r in runs if r.id == run_id or r.name == run_id]
        if not matches:
            matches = [r for r in runs if r.id.startswith(run_id)]
        if len(matches) != 1:
            known = ", ".join(r.id for r in runs[:5]) or "none"
            what = "no run" if not matches else "several runs"
            raise StoreError(f"{self.path}: {what} match {run_id!r} (recent: {known})")
        return matches[0]

    @_guarded
    def snapshots(self, run_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The variant and task snapshots stored with a run, in run order."""
        variants = self._db.execute(
            "SELECT snapshot FROM run_variants WHERE run_id = ? ORDER BY position", (run_id,))
        tasks = self._db.execute(
            "SELECT snapshot FROM run_tasks WHERE run_id = ? ORDER BY position", (run_id,))
        return ([json.loads(r[0]) for r in variants], [json.loads(r[0]) for r in tasks])

    # -- other modules' tables ---------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection inside one transaction, committed on exit (rolled back on error).

        For modules that keep their own tables in this database (batch bookkeeping).
        """
        with self._lock, self._db:
            yield self._db

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one read-only query."""
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # -- results ------------------------------------------------------------------------------
    def put(self, run_id: str, result: CellResult) -> None:
        """Store (or replace) one cell's result and commit at once."""
        self.put_many(run_id, [result])

    @_guarded
    def put_many(self, run_id: str, results: Iterable[CellResult]) -> None:
        """Store (or replace) several results in one transaction."""
        now = _now()
        rows = [(run_id, *(getattr(r, c) for c in _RESULT_COLUMNS), now) for r in results]
        with self._lock, self._db:
            self._db.executemany(_INSERT, rows)

    @_guarded
    def results(self, run_id: str) -> list[CellResult]:
        """Every stored cell of a run."""
        rows = self._db.execute(
            f"SELECT {', '.join(_RESULT_COLUMNS)} FROM results WHERE run_id = ?", (run_id,))
        return [_row_to_result(r) for r in rows]

    @_guarded
    def counts(self) -> dict[str, tuple[int, ...]]:
        """Per run: (cells, failed cells, variants, tasks), without loading any result."""
        def per_run(sql: str) -> dict[str, tuple[int, ...]]:
            return {row[0]: tuple(row[1:]) for row in self._db.execute(sql)}

        results = per_run("SELECT run_id, count(*), count(error) FROM results GROUP BY run_id")
        variants = per_run("SELECT run_id, count(*) FROM run_variants GROUP BY run_id")
        tasks = per_run("SELECT run_id, count(*) FROM run_tasks GROUP BY run_id")
        return {rid: (*results.get(rid, (0, 0)), *variants.get(rid, (0,)), *tasks.get(rid, (0,)))
                for (rid,) in self._db.execute("SELECT id FROM runs")}

    @_guarded
    def variant_names(self) -> dict[str, list[str]]:
        """Per run, the names of its variants in run order (one query for every run)."""
        names: dict[str, list[str]] = {}
        for run_id, name in self._db.execute(
                "SELECT run_id, name FROM run_variants ORDER BY run_id, position"):
            names.setdefault(run_id, []).append(name)
        return names

    @_guarded
    def cached(self, keys: Iterable[str]) -> dict[str, CellResult]:
        """Successful results for any of ``keys``, from any run (newest wins)."""
        found: dict[str, CellResult] = {}
        key_list = list(dict.fromkeys(keys))
        for start in range(0, len(key_list), 500):
            chunk = key_list[start : start + 500]
            rows = self._db.execute(
                f"SELECT {', '.join(_RESULT_COLUMNS)} FROM results WHERE error IS NULL AND "
                f"cache_key IN ({', '.join('?' for _ in chunk)}) ORDER BY created", chunk)
            for row in rows:
                result = _row_to_result(row)
                found[result.cache_key] = result
        return found


def _row_to_result(row: Sequence[Any]) -> CellResult:
    values = dict(zip(_RESULT_COLUMNS, row, strict=True))
    values["cached"] = bool(values["cached"])
    return CellResult(**values)
