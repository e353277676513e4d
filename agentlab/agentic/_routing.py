"""Routing trials: does a description make Claude Code delegate to the agent, and only then?

Each trial is one fresh, isolated Claude Code session (``agentlab.agentic._harness.run_session``:
private HOME, no user settings) in an empty workspace or a copy of the query's ``files``. The
variant under test is installed as a subagent under the *target* name, next to the roster of
distractor agents; the query is the prompt. The harness's ``stop_when`` denies the main agent's
first ``Agent``/``Task`` call and ends the session there, so the chosen subagent never runs and
costs nothing; other tool calls before it run and are counted, up to ``max_tool_calls``.

Trials are cached and resumable like other cells: a decision is stored the moment it arrives,
keyed by everything that can change it (API address, CLI version, model, the installed agents,
the query and its workspace files, the tool-call limit, the repeat index) and nothing that cannot
(concurrency, timeouts). Running the same experiment again only starts the missing trials.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from agentlab.agentic._evalset import NO_AGENT, EvalSet, RoutingQuery
from agentlab.agentic._routing_record import (
    DecisionRecord,
    cached_decisions,
    is_delegation,
    put_decisions,
    record_from,
    stored_decisions,
)
from agentlab.errors import ConfigError
from agentlab.runs._cachekey import canonical_json
from agentlab.runs._progress import Progress, ProgressBar, gather_or_stop
from agentlab.runs._store import Store

if TYPE_CHECKING:

    from agentlab.agentic._harness import Connection, SessionResult, Subagent
    from agentlab.agents._agent import Agent

log = logging.getLogger("agentlab")
ROUTING_KEY_VERSION = 1


@dataclass(frozen=True)
class RoutingTrial:
    """One routing trial: a variant, a query and a repeat index, with its cache key."""

    variant: Agent
    query: RoutingQuery
    repeat: int
    cache_key: str


def subagent_of(agent: Agent) -> Subagent:
    from agentlab.agentic._harness import Subagent

    return Subagent(description=agent.description, prompt=agent.body, tools=agent.tools,
                    model=agent.model)


def _files_hash(path: Path | None) -> str | None:
    """The workspace's content hash, as the trials define it (``None``: empty workspace)."""
    from agentlab.agentic._workspace import content_hash, snapshot

    if path is None:
        return None
    return content_hash({path.name: path.read_bytes()} if path.is_file() else snapshot(path))


def resolve_target(variants: Sequence[Agent], evalset: EvalSet, target: str | None) -> str:
    from agentlab.stats import pick_baseline

    return target or evalset.agent or pick_baseline([v.name for v in variants])


def check_routing(variants: Sequence[Agent], evalset: EvalSet, roster: Sequence[Agent], target: str,
           repeats: int, max_tool_calls: int) -> None:
    """Everything that can be wrong before a session starts (no money is spent on typos)."""
    if not variants:
        raise ConfigError("routing needs at least one variant")
    if repeats < 1 or max_tool_calls < 0:
        raise ConfigError(f"repeats must be >= 1 and max_tool_calls >= 0 (got {repeats}, "
                          f"{max_tool_calls})")
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ConfigError(f"two variants share a name: {names}; rename one")
    seen: set[str] = set()
    for agent in roster:
        if agent.name in (target, NO_AGENT) or agent.name in seen:
            what = ("the target's name (the variant under test is installed under it)"
                    if agent.name == target else "a reserved or repeated name")
            raise ConfigError(f"roster agent {agent.name!r} ({agent.source or 'in code'}) has "
                              f"{what}; remove or rename it")
        seen.add(agent.name)
    evalset.check_names(target, seen)


def plan_routing(variants: Sequence[Agent], evalset: EvalSet, *, roster: Sequence[Agent],
                 target: str, repeats: int, model: str | None, max_tool_calls: int,
                 namespace: str, cli: str) -> list[RoutingTrial]:
    """Every trial and its cache key, in variant × query × repeat order."""
    distractors = {a.name: subagent_of(a) for a in roster}
    hashes = {q.id: _files_hash(q.files) for q in evalset.queries}
    trials = []
    for variant in variants:
        installed = {target: subagent_of(variant), **distractors}
        agents = {name: [s.description, s.prompt, list(s.tools or []), s.model]
                  for name, s in sorted(installed.items())}
        for q in evalset.queries:
            for rep in range(repeats):
                payload = {"v": ROUTING_KEY_VERSION, "ns": namespace, "cli": cli,
                           "model": model, "agents": agents, "query": q.query,
                           "files": hashes[q.id], "max_tool_calls": max_tool_calls,
                           "repeat": rep}
                key = hashlib.sha256(canonical_json(payload).encode()).hexdigest()
                trials.append(RoutingTrial(variant, q, rep, key))
    return trials


def _workspace(into: Path, files: Path | None) -> Path:
    """A fresh working folder inside ``into``: empty, or a copy of the query's files."""
    from agentlab.agentic._workspace import copy_workspace

    workspace = into / "workspace"
    if files is not None and files.is_dir():
        copy_workspace(files, workspace)
        return workspace
    workspace.mkdir()
    if files is not None:
        shutil.copy2(files, workspace / files.name)
    return workspace


@dataclass(frozen=True)
class RoutingSettings:
    """What every session of one routing run shares."""

    roster: Mapping[str, Subagent]
    target: str
    model: str | None
    max_tool_calls: int
    sandbox: bool
    timeout_s: float


async def _one(trial: RoutingTrial, settings: RoutingSettings, connection: Connection,
               ) -> SessionResult:
    from agentlab.agentic._harness import SessionSpec, run_session

    with tempfile.TemporaryDirectory(prefix="agentlab-route-") as folder:
        workspace = _workspace(Path(folder), trial.query.files)
        spec = SessionSpec(
            prompt=trial.query.query, cwd=workspace, model=settings.model,
            agents={settings.target: subagent_of(trial.variant), **settings.roster},
            stop_when=is_delegation, max_tool_calls=settings.max_tool_calls,
            sandbox=settings.sandbox, timeout_s=settings.timeout_s)
        return await run_session(spec, connection)


def _prefill(trials: Sequence[RoutingTrial], store: Store, rid: str, refresh: bool,
             ) -> dict[int, DecisionRecord]:
    """Decisions already in this run (resume) or in the cache (any run), by trial index."""
    if refresh:
        return {}
    done = {(r.variant, r.task_id, r.repeat): r for r in stored_decisions(store, rid) if r.ok}
    found: dict[int, DecisionRecord] = {}
    for i, t in enumerate(trials):
        previous = done.get((t.variant.name, t.query.id, t.repeat))
        if previous is not None and previous.cache_key == t.cache_key:
            found[i] = previous
    missing = [i for i in range(len(trials)) if i not in found]
    hits = cached_decisions(store, (trials[i].cache_key for i in missing))
    copies = []
    for i in missing:
        hit = hits.get(trials[i].cache_key)
        if hit is not None:
            found[i] = _filed_under(hit, trials[i])
            copies.append(found[i])
    put_decisions(store, rid, copies)
    return found


def _filed_under(record: DecisionRecord, trial: RoutingTrial) -> DecisionRecord:
    """A decision for the same key, filed under another trial (a cache hit)."""
    return replace(record, variant=trial.variant.name, variant_hash=trial.variant.content_hash,
                   task_id=trial.query.id, repeat=trial.repeat, cached=True)


class _Execution:
    """One routing run while it executes: semaphore, stop flag, store, progress."""

    def __init__(self, rid: str, store: Store, settings: RoutingSettings, connection: Connection,
                 concurrency: int, bar: ProgressBar) -> None:
        self.rid, self.store, self.settings, self.connection = rid, store, settings, connection
        self.semaphore = asyncio.Semaphore(max(1, concurrency))
        self.bar = bar
        self.auth_error: str | None = None
        self.sessions = 0

    async def trial(self, trial: RoutingTrial, index: int,
                    found: dict[int, DecisionRecord]) -> None:
        async with self.semaphore:
            if self.auth_error is not None:
                return
            self.sessions += 1
            base = DecisionRecord(trial.variant.name, trial.variant.content_hash,
                                  trial.query.id, trial.repeat, trial.cache_key)
            started = time.monotonic()
            result = await _one(trial, self.settings, self.connection)
            record = replace(record_from(base, result), latency_s=time.monotonic() - started)
            put_decisions(self.store, self.rid, [record])
            found[index] = record
            if record.error_kind == "auth":
                self.auth_error = record.error
            self.bar.update()


def _leaders(todo: list[int], trials: Sequence[RoutingTrial],
             ) -> tuple[list[int], dict[int, list[int]]]:
    """Trials to start, and for each the later trials with the same key (sent once)."""
    first: dict[str, int] = {}
    twins: dict[int, list[int]] = {}
    for i in todo:
        leader = first.setdefault(trials[i].cache_key, i)
        if leader != i:
            twins.setdefault(leader, []).append(i)
    return [i for i in todo if first[trials[i].cache_key] == i], twins


async def execute_routing(
    trials: Sequence[RoutingTrial], rid: str, store: Store, settings: RoutingSettings,
    connection: Connection, *, concurrency: int, refresh: bool, progress: Progress,
) -> tuple[dict[int, DecisionRecord], str, int]:
    """Run the missing trials (cache and resume first); returns decisions, status, sessions."""
    found = _prefill(trials, store, rid, refresh)
    todo, twins = _leaders([i for i in range(len(trials)) if i not in found], trials)
    bar = ProgressBar(progress, len(found), len(trials), unit="trial",
                      desc=f"routing {rid[8:16]}")
    state = _Execution(rid, store, settings, connection, concurrency, bar)
    status = "complete"
    jobs = [asyncio.ensure_future(state.trial(trials[i], i, found)) for i in todo]
    try:
        if await gather_or_stop(jobs):
            status = "interrupted"
            log.warning("agentlab: routing run %s interrupted; finished trials are saved, run it "
                        "again to complete the rest", rid)
    finally:
        copies = []
        for lead, group in twins.items():
            answer = found.get(lead)
            if answer is None or not answer.ok:
                continue
            for i in group:
                found[i] = _filed_under(answer, trials[i])
                copies.append(found[i])
        put_decisions(store, rid, copies)
        bar.update(len(copies))
        bar.close()
    if state.auth_error is not None:
        status = "stopped: authentication failed"
    return found, status, state.sessions
