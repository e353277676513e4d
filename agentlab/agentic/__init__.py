"""Agentic trials: run a variant inside Claude Code on a sandboxed workspace, grade what it did.

A trial copies a task's ``workspace:`` folder, runs the variant in the real Claude Code
harness (the CLI bundled in ``claude-agent-sdk``) on the copy, and records the outcome and
the behaviour: the check command's result before and after, the unified diff, every tool
call in order, turns, tokens, cost and time. ``_harness`` runs one isolated session (its
values, spec and result, are in ``_session``), ``_workspace`` copies, hashes and diffs
folders, ``_check`` runs the check command under bubblewrap, ``_record`` is what a trial
stores, ``_trialcell`` plans and runs one trial, and ``_trial`` runs many, cached, resumable
and stored as cells of a :class:`~agentlab.runs.Run` (:func:`trial`).

Routing (which subagent does Claude Code delegate a query to?) runs on the same harness:
``_evalset`` loads eval sets, ``_routing`` plans and executes routing trials,
``_routing_record`` classifies and stores each decision, ``_routing_stats`` measures them, and
``_routing_run`` is the entry point (:func:`routing`).
"""

from agentlab.agentic._evalset import EvalSet, RoutingQuery, load_evalset
from agentlab.agentic._record import TrialRecord, trial_summary
from agentlab.agentic._routing_run import RoutingRun, open_routing, routing, routing_async
from agentlab.agentic._routing_stats import (
    RoutingComparison,
    compare_routing,
    confusion_matrix,
    routing_metrics,
    trigger_rates,
)
from agentlab.agentic._session import Connection, SessionResult, SessionSpec
from agentlab.agentic._trial import trial, trial_async

__all__ = [
    "Connection",
    "EvalSet",
    "RoutingComparison",
    "RoutingQuery",
    "RoutingRun",
    "SessionResult",
    "SessionSpec",
    "TrialRecord",
    "compare_routing",
    "confusion_matrix",
    "load_evalset",
    "open_routing",
    "routing",
    "routing_async",
    "routing_metrics",
    "trial",
    "trial_async",
    "trial_summary",
    "trigger_rates",
]
