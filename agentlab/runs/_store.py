"""The results store: SQLite (WAL) holding runs, their snapshots, and one row per cell.

Each cell's result is committed the moment it arrives, so a crash or an interrupt
loses nothing that finished. The same table serves as the response cache: a cell
whose request hash (``cache_key``) was answered without error before, in any run,
is served from here.

Schema changes go through :data:`MIGRATIONS`, an append-only ordered list.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentlab.errors import StoreError

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


class Store:
    """A results database. Safe to use from one thread at a time per instance."""

    def __init__(self, path: Path | str = DEFAULT_DB) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open results database: {exc}") from exc

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(f"{self.path}: database schema v{version} is newer than this "
                             f"agentlab (v{len(MIGRATIONS)}); upgrade agentlab")
        for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
            with self._db:
                step(self._db)
                self._db.execute(f"PRAGMA user_version = {number}")

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs -------------------------------------------------------------------------------
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

    def finish_run(self, run_id: str, status: str) -> None:
        """Record how a run ended (complete, interrupted, stopped: ...)."""
        with self._lock, self._db:
            self._db.execute("UPDATE runs SET status = ?, updated = ? WHERE id = ?",
                             (status, _now(), run_id))

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

    def snapshots(self, run_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The variant and task snapshots stored with a run, in run order."""
        variants = self._db.execute(
            "SELECT snapshot FROM run_variants WHERE run_id = ? ORDER BY position", (run_id,))
        tasks = self._db.execute(
            "SELECT snapshot FROM run_tasks WHERE run_id = ? ORDER BY position", (run_id,))
        return ([json.loads(r[0]) for r in variants], [json.loads(r[0]) for r in tasks])

    # -- results ------------------------------------------------------------------------------
    def put(self, run_id: str, result: CellResult) -> None:
        """Store (or replace) one cell's result and commit at once."""
        self.put_many(run_id, [result])

    def put_many(self, run_id: str, results: Iterable[CellResult]) -> None:
        """Store (or replace) several results in one transaction."""
        now = _now()
        rows = [(run_id, *(getattr(r, c) for c in _RESULT_COLUMNS), now) for r in results]
        with self._lock, self._db:
            self._db.executemany(_INSERT, rows)

    def results(self, run_id: str) -> list[CellResult]:
        """Every stored cell of a run."""
        rows = self._db.execute(
            f"SELECT {', '.join(_RESULT_COLUMNS)} FROM results WHERE run_id = ?", (run_id,))
        return [_row_to_result(r) for r in rows]

    def counts(self) -> dict[str, tuple[int, ...]]:
        """Per run: (cells, failed cells, variants, tasks), without loading any result."""
        def per_run(sql: str) -> dict[str, tuple[int, ...]]:
            return {row[0]: tuple(row[1:]) for row in self._db.execute(sql)}

        results = per_run("SELECT run_id, count(*), count(error) FROM results GROUP BY run_id")
        variants = per_run("SELECT run_id, count(*) FROM run_variants GROUP BY run_id")
        tasks = per_run("SELECT run_id, count(*) FROM run_tasks GROUP BY run_id")
        return {rid: (*results.get(rid, (0, 0)), *variants.get(rid, (0,)), *tasks.get(rid, (0,)))
                for (rid,) in self._db.execute("SELECT id FROM runs")}

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
