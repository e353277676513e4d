"""Runs: variants × tasks × repeats sent through a provider, cached, resumable, stored.

``_runner`` plans the cells and executes them concurrently (one async core, a sync wrapper that
also works inside Jupyter); ``_cachekey`` says what identifies a cell's output; ``_store`` is
the SQLite results store with its append-only migrations, committed cell by cell (``_writer``
keeps answers in memory while another process holds the database's lock); ``_history`` lists
and reopens past runs; ``_results`` turns cells into a tidy DataFrame;
``_estimate`` prices a run before it is sent; ``_handle`` runs one in the background
(:func:`start`) with progress and a Stop that keeps what finished; and ``_batch`` sends a run
through the Message Batches API at half the price, its bookkeeping (``_batchbook``) committed so
that a run killed at any point re-attaches to its batches instead of paying twice.
"""

from agentlab.runs._batch import BatchOptions, cancel_batch, list_batches
from agentlab.runs._cells import Cell, plan
from agentlab.runs._estimate import CostEstimate, estimate_cost
from agentlab.runs._handle import RunHandle, RunProgress, start
from agentlab.runs._history import list_runs, open_run
from agentlab.runs._progress import Progress
from agentlab.runs._results import COLUMNS, error_rows, length_metrics, results_dataframe
from agentlab.runs._runner import Run, run, run_async
from agentlab.runs._store import DEFAULT_DB, CellResult, Store

__all__ = [
    "COLUMNS",
    "DEFAULT_DB",
    "BatchOptions",
    "Cell",
    "CellResult",
    "CostEstimate",
    "Progress",
    "Run",
    "RunHandle",
    "RunProgress",
    "Store",
    "cancel_batch",
    "error_rows",
    "estimate_cost",
    "length_metrics",
    "list_batches",
    "list_runs",
    "open_run",
    "plan",
    "results_dataframe",
    "run",
    "run_async",
    "start",
]
