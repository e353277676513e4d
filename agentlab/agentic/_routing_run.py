"""``agentlab.routing()``: run routing trials and get the decisions table and its summary.

One async core (:func:`routing_async`) and a sync wrapper (:func:`routing`) that also works
inside Jupyter's running loop. The result, :class:`RoutingRun`, holds the decisions; its
``df`` is one row per trial and its ``summary`` the per-variant precision, recall, F1 and
accuracy (:mod:`agentlab.agentic._routing_stats`). Stored runs reopen with
:func:`open_routing`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentlab.agentic._evalset import EvalSet, RoutingQuery, load_evalset
from agentlab.agentic._routing import (
    RoutingSettings,
    check_routing,
    execute_routing,
    plan_routing,
    resolve_target,
    subagent_of,
)
from agentlab.agentic._routing_record import DecisionRecord, stored_decisions
from agentlab.errors import AuthenticationError, ConfigError, StoreError
from agentlab.runs._progress import Progress
from agentlab.runs._store import DEFAULT_DB, Store

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from agentlab.agentic._harness import Connection
    from agentlab.agentic._routing_stats import RoutingComparison
    from agentlab.agents._agent import Agent

DEFAULT_REPEATS = 3
DEFAULT_MAX_TOOL_CALLS = 4


@dataclass(frozen=True)
class RoutingRun:
    """A finished (or stopped) routing run.

    Attributes:
        id: Run id (stable for the same experiment, which is what makes resume work).
        target: The name every variant was installed under.
        variants: The variants compared.
        roster: Names of the distractor agents installed beside them.
        evalset: The queries.
        records: One decision per finished trial.
        status: ``complete``, ``interrupted`` or ``stopped: <why>``.
        store_path: The results database.
        sessions: Claude Code sessions started by this call (0 when all came from the store).
    """

    id: str
    target: str
    variants: tuple[Agent, ...]
    roster: tuple[str, ...]
    evalset: EvalSet
    records: tuple[DecisionRecord, ...]
    status: str
    store_path: Path
    sessions: int = 0

    @property
    def errors(self) -> int:
        """Trials that reached no decision (API error, crash, timeout)."""
        return sum(1 for r in self.records if not r.ok)

    @cached_property
    def df(self) -> pd.DataFrame:
        """One row per trial: the query, what was expected, what was decided, cost and time."""
        import pandas as pd

        queries = {q.id: q for q in self.evalset.queries}
        rows = []
        for r in self.records:
            q = queries[r.task_id]
            ok = r.ok
            rows.append({
                "run_id": self.id, "variant": r.variant, "task_id": r.task_id,
                "repeat": r.repeat, "query": q.query, "tags": ",".join(q.tags),
                "expected": q.expected_label(self.target), "positive": q.positive(self.target),
                "decision": r.decision if ok else None,
                "triggered": (r.decision == self.target) if ok else None,
                "correct": q.correct(r.decision, self.target) if ok else None,
                "reason": r.reason if ok else None, "tools_before": r.tools_before,
                "num_turns": r.num_turns, "input_tokens": r.input_tokens,
                "output_tokens": r.output_tokens, "cache_write_tokens": r.cache_write_tokens,
                "cache_read_tokens": r.cache_read_tokens, "cost_usd": r.cost_usd,
                "latency_s": r.latency_s, "cached": r.cached, "model": r.model,
                "error": r.error, "error_kind": r.error_kind,
                "transcript_head": r.transcript_head})
        df = pd.DataFrame(rows)
        for col in ("triggered", "correct"):
            if col in df:
                df[col] = df[col].astype("boolean")
        return df

    @cached_property
    def summary(self) -> pd.DataFrame:
        """Per variant: precision, recall, F1 and accuracy with 95% CIs clustered on query."""
        from agentlab.agentic._routing_stats import routing_metrics

        return routing_metrics(self.df)

    @cached_property
    def rates(self) -> pd.DataFrame:
        """Per variant and query: the trigger rate over the repeats."""
        from agentlab.agentic._routing_stats import trigger_rates

        return trigger_rates(self.df)

    def confusion(self, variant: str | None = None) -> pd.DataFrame:
        """Trials by expected agent (rows) and chosen agent (columns), for one variant."""
        from agentlab.agentic._routing_stats import confusion_matrix

        return confusion_matrix(self.df, variant or self.variants[0].name)

    def compare(self, variant: str, baseline: str | None = None) -> RoutingComparison:
        """Paired comparison of two variants (default baseline: the base variant)."""
        from agentlab.agentic._routing_stats import compare_routing
        from agentlab.stats import pick_baseline

        return compare_routing(self.df, variant,
                               baseline or pick_baseline([v.name for v in self.variants]))

    @cached_property
    def comparisons(self) -> pd.DataFrame:
        """Every variant against the base variant: one row each (empty for one variant)."""
        import pandas as pd

        from agentlab.stats import pick_baseline

        base = pick_baseline([v.name for v in self.variants])
        rows = [vars(self.compare(v.name, base)) for v in self.variants if v.name != base]
        return pd.DataFrame(rows).set_index("variant") if rows else pd.DataFrame()


    def table(self) -> pd.DataFrame:
        """The summary for reading: each rate with its interval, as text, per variant."""
        from agentlab.agentic._routing_stats import format_metrics

        return format_metrics(self.summary)

    def charts(self) -> dict[str, Figure]:
        """The trigger-rate strip and the precision/recall chart, keyed by file name."""
        from agentlab.views._routing_charts import routing_charts

        return routing_charts(self.df, self.summary, target=self.target)

    def save(self, folder: Path | str) -> list[Path]:
        """Write the tables as CSV and the charts as PNG into ``folder``.

        The tables are ``decisions.csv`` (one row per trial), ``summary.csv``, ``rates.csv``
        and, with two or more variants, ``comparisons.csv``.

        Returns:
            The files written.
        """
        from agentlab.views._routing_charts import save_routing_charts

        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        tables = {"decisions": self.df.drop(columns=["transcript_head"]),
                  "summary": self.summary.reset_index(), "rates": self.rates}
        if not self.comparisons.empty:
            tables["comparisons"] = self.comparisons.reset_index()
        files = []
        for stem, table in tables.items():
            table.to_csv(out / f"{stem}.csv", index=False)
            files.append(out / f"{stem}.csv")
        return files + save_routing_charts(self.charts(), out)


def _snapshot(q: RoutingQuery) -> dict[str, Any]:
    return {"id": q.id, "query": q.query, "form": q.form, "should_trigger": q.should_trigger,
            "expect": q.expect, "tags": list(q.tags),
            "files": str(q.files) if q.files else None}


def _from_snapshot(s: dict[str, Any]) -> RoutingQuery:
    return RoutingQuery(id=s["id"], query=s["query"], form=s["form"],
                        should_trigger=s["should_trigger"], expect=s["expect"],
                        tags=tuple(s["tags"]), files=Path(s["files"]) if s["files"] else None)


def _snapshot_agent(snapshot: dict[str, Any]) -> Agent:
    from agentlab.agents._agent import Agent

    fm = dict(snapshot["frontmatter"])
    name, description, model = fm.pop("name"), fm.pop("description"), fm.pop("model", None)
    return Agent(name=name, description=description, body=snapshot["body"], model=model,
                 fields=fm, parse_mode="code")


def _agents(items: Iterable[Agent | Path | str]) -> list[Agent]:
    from agentlab.agents._agent import Agent, load_agents

    agents: list[Agent] = []
    for item in items:
        agents.extend([item] if isinstance(item, Agent) else load_agents(item))
    return agents


async def routing_async(
    variants: Sequence[Agent | Path | str], evalset: EvalSet | Path | str, *,
    roster: Sequence[Agent | Path | str] = (), repeats: int = DEFAULT_REPEATS,
    target: str | None = None, max_tool_calls: int = DEFAULT_MAX_TOOL_CALLS,
    model: str | None = None, connection: Connection | None = None,
    base_url: str | None = None, concurrency: int = 4, db: Path | str | Store = DEFAULT_DB,
    refresh: bool = False, progress: Progress = True, name: str | None = None,
    sandbox: bool = True, timeout_s: float = 300.0,
) -> RoutingRun:
    """Measure which subagent Claude Code delegates each query to (async core).

    Args:
        variants: The descriptions to test (agents, or agent files/folders). Each is installed
            in turn under the ``target`` name, so only what you changed differs.
        evalset: An :class:`EvalSet` or an eval file (YAML, JSON or JSONL).
        roster: Distractor agents installed beside the variant (agents, files or folders).
        repeats: Trials per (variant, query); each is a fresh session.
        target: The name the variants are installed under, which ``should_trigger: true``
            and ``expect: <name>`` refer to (default: the eval file's ``agent:``, else the
            base variant's name).
        max_tool_calls: Tool calls (``Read``, ``Glob``...) the main agent may make before
            it delegates; past them the decision is ``none``.
        model: Model for the main session (default: Claude Code's own).
        connection: API key and address (default: ``ANTHROPIC_API_KEY`` and
            ``base_url`` or ``ANTHROPIC_BASE_URL``).
        base_url: API address when ``connection`` is not given.
        concurrency: Sessions at once (each is a Claude Code process).
        db: Results database path (or an open :class:`~agentlab.runs.Store`).
        refresh: Ignore stored decisions and start every trial again.
        progress: A tqdm bar (``True``), none (``False``) or a ``(done, total)`` callback.
        name: A name stored with the run.
        sandbox: Run Bash commands in Claude Code's bubblewrap sandbox.
        timeout_s: Wall-clock limit per session (a timed-out trial is an error row).

    Returns:
        The run: ``.df`` (one row per trial), ``.summary``, ``.rates``, ``.comparisons``.

    Raises:
        ConfigError: Bad arguments, a roster name clash, no API key, or no sandbox tools,
            all before any session starts.
        EvalSetError: The eval file is malformed or expects an agent that is not installed.
        AuthenticationError: The API refused the key (finished trials are kept).
    """
    from agentlab.agentic._harness import Connection, cli_version, sandbox_problem

    agents, distractors = _agents(variants), _agents(roster)
    queries = evalset if isinstance(evalset, EvalSet) else load_evalset(evalset)
    chosen = resolve_target(agents, queries, target) if agents else ""
    check_routing(agents, queries, distractors, chosen, repeats, max_tool_calls)
    conn = connection or Connection.from_env(base_url)
    if sandbox and (problem := sandbox_problem()):
        raise ConfigError(problem)
    cli = cli_version()
    trials = plan_routing(agents, queries, roster=distractors, target=chosen, repeats=repeats,
                          model=model, max_tool_calls=max_tool_calls,
                          namespace=conn.namespace, cli=cli)
    rid = "routing-" + hashlib.sha256("\n".join(t.cache_key for t in trials).encode()
                                      ).hexdigest()[:12]
    settings = RoutingSettings({a.name: subagent_of(a) for a in distractors}, chosen, model,
                         max_tool_calls, sandbox, timeout_s)
    config = {"kind": "routing", "target": chosen, "repeats": repeats, "model": model,
              "max_tool_calls": max_tool_calls, "provider": conn.namespace, "cli": cli,
              "roster": {a.name: a.content_hash for a in distractors},
              "evalset": str(queries.source) if queries.source else None, "sandbox": sandbox}
    store = db if isinstance(db, Store) else Store(db)
    try:
        store.begin_run(rid, name, config,
                        [(v.name, v.content_hash, {"frontmatter": v.frontmatter(),
                                                   "body": v.body}) for v in agents],
                        [(q.id, _snapshot(q)) for q in queries.queries])
        found, status, sessions = await execute_routing(
            trials, rid, store, settings, conn, concurrency=concurrency, refresh=refresh,
            progress=progress)
        store.finish_run(rid, status)
    finally:
        if not isinstance(db, Store):
            store.close()
    run = RoutingRun(rid, chosen, tuple(agents), tuple(a.name for a in distractors), queries,
                     tuple(found[i] for i in sorted(found)), status, Path(store.path), sessions)
    if status.startswith("stopped: auth"):
        raise AuthenticationError(f"the API refused the key (routing run {rid} stopped early; "
                                  "finished trials are saved)")
    return run


def routing(
    variants: Sequence[Agent | Path | str], evalset: EvalSet | Path | str, *,
    roster: Sequence[Agent | Path | str] = (), repeats: int = DEFAULT_REPEATS,
    target: str | None = None, max_tool_calls: int = DEFAULT_MAX_TOOL_CALLS,
    model: str | None = None, connection: Connection | None = None,
    base_url: str | None = None, concurrency: int = 4, db: Path | str | Store = DEFAULT_DB,
    refresh: bool = False, progress: Progress = True, name: str | None = None,
    sandbox: bool = True, timeout_s: float = 300.0,
) -> RoutingRun:
    """Measure routing synchronously; works in scripts and inside Jupyter.

    Takes the same arguments as :func:`routing_async` (see there)::

        run = al.routing([base, base.with_description("...", name="base-flat")],
                         "data/routing/python-pro-backend.yaml",
                         roster=["data/agents/roster/"], repeats=3)
        run.summary          # precision, recall, F1, accuracy with 95% CIs per variant
        run.comparisons      # paired: McNemar + difference in rates, with a verdict
    """
    from agentlab.runs._runner import run_sync

    return run_sync(lambda: routing_async(
        variants, evalset, roster=roster, repeats=repeats, target=target,
        max_tool_calls=max_tool_calls, model=model, connection=connection, base_url=base_url,
        concurrency=concurrency, db=db, refresh=refresh, progress=progress, name=name,
        sandbox=sandbox, timeout_s=timeout_s))


def open_routing(run_id: str | None = None, db: Path | str = DEFAULT_DB) -> RoutingRun:
    """Reopen a stored routing run (a unique id prefix or its name is enough).

    Args:
        run_id: The run; ``None`` opens the most recently updated routing run.
        db: The results database.

    Raises:
        StoreError: No routing run matches.
    """
    with Store(db, create=False) as store:
        if run_id is None:
            runs = [r for r in store.runs() if r.config.get("kind") == "routing"]
            if not runs:
                raise StoreError(f"{store.path}: no routing runs stored yet")
            run_id = runs[0].id
        rec = store.run(run_id)
        if rec.config.get("kind") != "routing":
            raise StoreError(f"{store.path}: run {rec.id} is not a routing run")
        variants, queries = store.snapshots(rec.id)
        evalset = EvalSet(tuple(_from_snapshot(q) for q in queries))
        vpos = {v["frontmatter"]["name"]: i for i, v in enumerate(variants)}
        qpos = {q["id"]: i for i, q in enumerate(queries)}
        records = sorted(stored_decisions(store, rec.id),
                         key=lambda r: (vpos.get(r.variant, 1 << 30), qpos.get(r.task_id, 0),
                                        r.repeat))
        return RoutingRun(rec.id, str(rec.config["target"]),
                          tuple(_snapshot_agent(v) for v in variants),
                          tuple(rec.config.get("roster", {})), evalset, tuple(records),
                          rec.status, store.path)
