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
    EvalSetError,
    MissingDependencyError,
    ProviderError,
    StoreError,
    StoreLockedError,
    TaskFileError,
)

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "routing": "agentic",
    "routing_async": "agentic",
    "open_routing": "agentic",
    "load_evalset": "agentic",
    "trial": "agentic",
    "trial_async": "agentic",
    "Agent": "agents",
    "load_agent": "agents",
    "load_agents": "agents",
    "Task": "tasks",
    "load_tasks": "tasks",
    "tasks_from_examples": "tasks",
    "select_tasks": "tasks",
    "ModelTable": "providers",
    "Price": "providers",
    "GenerationOptions": "providers",
    "Message": "providers",
    "Request": "providers",
    "Response": "providers",
    "Provider": "providers",
    "BaseProvider": "providers",
    "CallError": "providers",
    "select_provider": "providers",
    "default_max_tokens": "providers",
    "run": "runs",
    "run_async": "runs",
    "start": "runs",
    "Run": "runs",
    "RunHandle": "runs",
    "RunProgress": "runs",
    "plan": "runs",
    "Store": "runs",
    "CellResult": "runs",
    "open_run": "runs",
    "list_runs": "runs",
    "estimate_cost": "runs",
    "length_metrics": "runs",
    "BatchOptions": "runs",
    "list_batches": "runs",
    "cancel_batch": "runs",
}

# Subpackages reachable as attributes (``al.stats``); ``charts`` and ``widgets`` are
# short names for the two view modules notebooks use most.
_SUBMODULES: dict[str, str] = {
    "agentic": "agentic",
    "agents": "agents",
    "providers": "providers",
    "runs": "runs",
    "scoring": "scoring",
    "stats": "stats",
    "views": "views",
    "testing": "testing",
    "charts": "views.charts",
    "widgets": "views.widgets",
    "report": "views.report",
}

__all__ = [
    "Agent",
    "AgentFileError",
    "AgentFileErrors",
    "AgentlabError",
    "AuthenticationError",
    "BaseProvider",
    "BatchOptions",
    "BudgetExceededError",
    "CallError",
    "CellResult",
    "ConfigError",
    "EvalSetError",
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
    "RunHandle",
    "RunProgress",
    "Store",
    "StoreError",
    "StoreLockedError",
    "Task",
    "TaskFileError",
    "__version__",
    "agentic",
    "agents",
    "cancel_batch",
    "charts",
    "default_max_tokens",
    "estimate_cost",
    "length_metrics",
    "list_batches",
    "list_runs",
    "load_agent",
    "load_agents",
    "load_evalset",
    "load_tasks",
    "open_routing",
    "open_run",
    "plan",
    "providers",
    "report",
    "routing",
    "routing_async",
    "run",
    "run_async",
    "runs",
    "scoring",
    "select_provider",
    "select_tasks",
    "start",
    "stats",
    "tasks_from_examples",
    "testing",
    "trial",
    "trial_async",
    "views",
    "widgets",
]



def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{_SUBMODULES[name]}", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'agentlab' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from . import agentic, agents, providers, runs, scoring, stats, testing, views
    from .agentic import (
        load_evalset,
        open_routing,
        routing,
        routing_async,
        trial,
        trial_async,
    )
    from .agents import Agent, load_agent, load_agents
    from .providers import (
        BaseProvider,
        CallError,
        GenerationOptions,
        Message,
        ModelTable,
        Price,
        Provider,
        Request,
        Response,
        default_max_tokens,
        select_provider,
    )
    from .runs import (
        BatchOptions,
        CellResult,
        Run,
        RunHandle,
        RunProgress,
        Store,
        cancel_batch,
        estimate_cost,
        length_metrics,
        list_batches,
        list_runs,
        open_run,
        plan,
        run,
        run_async,
        start,
    )
    from .tasks import Task, load_tasks, select_tasks, tasks_from_examples
    from .views import charts, report, widgets
