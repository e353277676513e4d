"""agentlab: experiment with Claude Code agent prompts.

Load agent variants, run them side by side on sample tasks (Anthropic API or an
embedded local model), score quality and length, and chart the results::

    import agentlab as al
    variants = al.load_agents("data/agents/")
    tasks = al.load_tasks("data/tasks/backend.yaml")
    run = al.run(variants, tasks, repeats=2)
    df = run.to_dataframe()

Names are imported lazily so that ``import agentlab`` stays fast; pandas, matplotlib,
ipywidgets, the anthropic SDK and llama.cpp load only when used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    AgentFileError,
    AgentFileErrors,
    AgentlabError,
    AuthenticationError,
    BudgetExceededError,
    ConfigError,
    MissingDependencyError,
    ProviderError,
    StoreError,
    TaskFileError,
)

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "Agent": "agents",
    "load_agent": "agents",
    "load_agents": "agents",
    "Task": "tasks",
    "load_tasks": "tasks",
    "tasks_from_examples": "tasks",
    "select_tasks": "tasks",
    "ModelTable": "models",
    "Price": "models",
    "GenerationOptions": "provider",
    "Message": "provider",
    "Request": "provider",
    "Response": "provider",
    "Provider": "provider",
    "CallError": "provider",
    "run": "runner",
    "run_async": "runner",
    "Run": "runner",
    "plan": "runner",
    "Store": "store",
    "CellResult": "store",
    "open_run": "history",
    "list_runs": "history",
    "estimate_cost": "estimate",
    "length_metrics": "results",
    "select_provider": "providers",
    "default_max_tokens": "providers",
}

__all__ = [
    "Agent",
    "AgentFileError",
    "AgentFileErrors",
    "AgentlabError",
    "AuthenticationError",
    "BudgetExceededError",
    "CallError",
    "CellResult",
    "ConfigError",
    "GenerationOptions",
    "Message",
    "MissingDependencyError",
    "ModelTable",
    "Price",
    "Provider",
    "ProviderError",
    "Request",
    "Response",
    "Run",
    "Store",
    "StoreError",
    "Task",
    "TaskFileError",
    "__version__",
    "charts",
    "default_max_tokens",
    "estimate_cost",
    "graders",
    "judge",
    "length_metrics",
    "list_runs",
    "load_agent",
    "load_agents",
    "load_tasks",
    "open_run",
    "plan",
    "report",
    "run",
    "run_async",
    "select_provider",
    "select_tasks",
    "stats",
    "tasks_from_examples",
    "widgets",
]


_SUBMODULES = ("charts", "graders", "judge", "report", "stats", "widgets")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'agentlab' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from .agents import Agent, load_agent, load_agents
    from .estimate import estimate_cost
    from .history import list_runs, open_run
    from .models import ModelTable, Price
    from .provider import CallError, GenerationOptions, Message, Provider, Request, Response
    from .providers import default_max_tokens, select_provider
    from .results import length_metrics
    from .runner import Run, plan, run, run_async
    from .store import CellResult, Store
    from .tasks import Task, load_tasks, select_tasks, tasks_from_examples
