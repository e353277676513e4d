"""Results as tidy pandas DataFrames: one row per cell, length metrics and cost.

Length metrics are computed from the response text:

- ``chars``, ``words`` (whitespace-separated), ``lines`` (non-empty);
- ``code_blocks``: fenced blocks (```), ``code_lines``: non-empty lines inside them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from agentlab._fences import extract_code_blocks
from agentlab.providers.models import ModelTable
from agentlab.runs._store import CellResult

if TYPE_CHECKING:
    import pandas as pd

@dataclass(frozen=True)
class LengthMetrics:
    """Length measures of one response."""

    chars: int
    words: int
    lines: int
    code_blocks: int
    code_lines: int


# The table's columns come from the dataclasses, so a new CellResult field shows up here
# without an edit; the cache key and the raw tool-call JSON are storage details.
# (An agentic trial's record, ``trial``, is also expanded into trial columns below.)
_CELL_FIELDS = [f.name for f in fields(CellResult) if f.name not in ("cache_key", "tool_calls")]
_LENGTH_FIELDS = [f.name for f in fields(LengthMetrics)]
COLUMNS = ["run_id", *_CELL_FIELDS, *_LENGTH_FIELDS, "cost_usd"]


def length_metrics(text: str) -> LengthMetrics:
    """Measure a response's length, in prose and in code."""
    blocks = extract_code_blocks(text)
    code_lines = sum(1 for b in blocks for ln in b.code.splitlines() if ln.strip())
    return LengthMetrics(len(text), len(text.split()),
                         sum(1 for ln in text.splitlines() if ln.strip()), len(blocks), code_lines)


def error_rows(df: pd.DataFrame) -> pd.Series[bool]:
    """Which rows of a results table are errors: the one definition every module uses.

    A row is an error when its ``error`` column holds a non-empty string; ``None``, NaN
    and ``""`` are not errors. A table without an ``error`` column has none.
    """
    import pandas as pd

    if "error" not in df.columns:
        return pd.Series(False, index=df.index, dtype=bool)
    err = df["error"]
    return err.notna() & (err.astype(str) != "")


def results_dataframe(run_id: str, results: Sequence[CellResult],
                      table: ModelTable | None = None) -> pd.DataFrame:
    """Build the one-row-per-cell DataFrame (columns in :data:`COLUMNS`)."""
    import pandas as pd

    table = table or ModelTable()
    rows = []
    for r in results:
        m = length_metrics(r.text)
        cost = table.cost(r.model, r.input_tokens, r.output_tokens, r.cache_write_tokens,
                          r.cache_read_tokens, batch=r.batch_id is not None)
        rows.append((run_id, *(getattr(r, f) for f in _CELL_FIELDS),
                     *(getattr(m, f) for f in _LENGTH_FIELDS),
                     float("nan") if cost is None else cost))
    df = pd.DataFrame.from_records(rows, columns=COLUMNS)
    if any(r.trial for r in results):
        from agentlab.agentic._record import with_trial_columns

        df = with_trial_columns(df, [r.trial for r in results], table)
    return df


def run_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per-variant totals: cells, errors, cached, mean words and output tokens, cost.

    The ``cost`` column reads ``local`` for rows from the embedded model.
    """
    import pandas as pd

    failed = error_rows(df)
    ok = df[~failed]
    groups = df.groupby("variant", sort=False)
    out = pd.DataFrame({
        "cells": groups.size(),
        "errors": failed.groupby(df["variant"], sort=False).sum(),
        "cached": groups["cached"].sum(),
        "mean_words": ok.groupby("variant", sort=False)["words"].mean(),
        "mean_output_tokens": ok.groupby("variant", sort=False)["output_tokens"].mean(),
        "mean_latency_s": ok.groupby("variant", sort=False)["latency_s"].mean(),
        "cost_usd": groups["cost_usd"].sum(min_count=1),
    })
    local = {str(k): bool(v) for k, v in
             groups["provider"].agg(lambda s: bool((s == "local").all())).items()}
    out["cost"] = [("local" if local[str(v)] else
                    ("unknown" if pd.isna(c) else f"${c:.4f}")) for v, c in out["cost_usd"].items()]
    return out.reindex(df["variant"].drop_duplicates())
