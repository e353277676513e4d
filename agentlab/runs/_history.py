"""Past runs: list them and reopen them (results as DataFrames, variants and tasks as run)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentlab.runs._store import DEFAULT_DB, Store

if TYPE_CHECKING:
    import pandas as pd

    from agentlab.agents._agent import Agent
    from agentlab.runs._runner import Run
    from agentlab.tasks import Task


def list_runs(db: Path | str = DEFAULT_DB) -> pd.DataFrame:
    """Every stored run, newest first, with its variants' names (``variant_names``).

    Columns: id, name, status, variant_names, variants, tasks, cells, errors, provider,
    created, updated.
    """
    import pandas as pd

    with Store(db, create=False) as store:
        counts, names = store.counts(), store.variant_names()
        rows = []
        for rec in store.runs():
            cells, errors, variants, tasks = counts.get(rec.id, (0, 0, 0, 0))
            rows.append({"id": rec.id, "name": rec.name, "status": rec.status,
                         "variant_names": ", ".join(names.get(rec.id, [])),
                         "variants": variants, "tasks": tasks, "cells": cells,
                         "errors": errors, "provider": rec.config.get("provider"),
                         "created": rec.created, "updated": rec.updated})
    return pd.DataFrame(rows, columns=["id", "name", "status", "variant_names", "variants",
                                       "tasks", "cells", "errors", "provider", "created",
                                       "updated"])


def _agent(snapshot: dict[str, Any]) -> Agent:
    from agentlab.agents._agent import Agent

    fm = dict(snapshot["frontmatter"])
    name, description, model = fm.pop("name"), fm.pop("description"), fm.pop("model", None)
    return Agent(name=name, description=description, body=snapshot["body"], model=model,
                 fields=fm, parse_mode="code")


def _task(snapshot: dict[str, Any]) -> Task:
    from agentlab.tasks import Task

    workspace = snapshot.get("workspace")  # agentic trials' tasks only
    return Task(id=snapshot["id"], prompt=snapshot["prompt"], context=snapshot["context"],
                context_name=snapshot["context_name"], tags=tuple(snapshot["tags"]),
                checks=tuple(snapshot["checks"]), rubric=snapshot["rubric"],
                workspace=Path(workspace) if workspace else None,
                check=snapshot.get("check"), max_turns=snapshot.get("max_turns"),
                timeout_s=snapshot.get("timeout_s"),
                max_budget_usd=snapshot.get("max_budget_usd"),
                scope=tuple(snapshot.get("scope", ())))


def open_run(run_id: str | None = None, db: Path | str = DEFAULT_DB) -> Run:
    """Reopen a stored run by id (a unique prefix or its name is enough).

    Args:
        run_id: The run; ``None`` opens the most recently updated one.
        db: The results database.

    Raises:
        StoreError: No run, or several, match (or the database has no runs).
    """
    from agentlab.errors import StoreError
    from agentlab.runs._runner import Run

    with Store(db, create=False) as store:
        if run_id is None:
            runs = [r for r in store.runs() if r.config.get("kind") != "routing"]
            if not runs:
                raise StoreError(f"{store.path}: no runs stored yet; run an experiment first")
            run_id = runs[0].id
        rec = store.run(run_id)
        if rec.config.get("kind") == "routing":  # its queries are not tasks
            raise StoreError(f"{store.path}: {rec.id} is a routing run; reopen it with "
                             "agentlab.open_routing()")
        variants, tasks = store.snapshots(rec.id)
        agents = tuple(_agent(v) for v in variants)
        task_list = tuple(_task(t) for t in tasks)
        order = {(a.name, t.id): (i, j) for i, a in enumerate(agents)
                 for j, t in enumerate(task_list)}
        results = sorted(store.results(rec.id),
                         key=lambda r: (*order.get((r.variant, r.task_id), (1 << 30, 0)),
                                        r.repeat))
        provider = str(rec.config.get("provider_name") or rec.config.get("provider", ""))
        return Run(rec.id, agents, task_list, tuple(results), rec.status, store.path, provider)
