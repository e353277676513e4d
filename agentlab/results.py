"""Results as tidy pandas DataFrames: one row per cell, length metrics and cost.

Length metrics are computed from the response text:

- ``chars``, ``words`` (whitespace-separated), ``lines`` (non-empty);
- ``code_blocks``: fenced blocks (```), ``code_lines``: non-empty lines inside them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .models import ModelTable
from .store import CellResult

if TYPE_CHECKING:
    import pandas as pd

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")

COLUMNS = [
    "run_id", "variant", "variant_hash", "task_id", "repeat", "model", "provider", "text",
    "input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens", "latency_s",
    "stop_reason", "error", "error_kind", "cached", "chars", "words", "lines", "code_blocks",
    "code_lines", "cost_usd",
]


@dataclass(frozen=True)
class LengthMetrics:
    """Length measures of one response."""

    chars: int
    words: int
    lines: int
    code_blocks: int
    code_lines: int


def length_metrics(text: str) -> LengthMetrics:
    """Measure a response's length, in prose and in code."""
    blocks = code_lines = 0
    fence: str | None = None
    for line in text.splitlines():
        match = _FENCE.match(line)
        if match and fence is None:
            fence, blocks = match.group(1)[0] * 3, blocks + 1
        elif match and fence is not None and match.group(1).startswith(fence):
            fence = None
        elif fence is not None and line.strip():
            code_lines += 1
    return LengthMetrics(len(text), len(text.split()),
                         sum(1 for ln in text.splitlines() if ln.strip()), blocks, code_lines)


def results_dataframe(run_id: str, results: Sequence[CellResult],
                      table: ModelTable | None = None) -> pd.DataFrame:
    """Build the one-row-per-cell DataFrame (columns in :data:`COLUMNS`)."""
    import pandas as pd

    table = table or ModelTable()
    rows = []
    for r in results:
        m = length_metrics(r.text)
        cost = table.cost(r.model, r.input_tokens, r.output_tokens, r.cache_write_tokens,
                          r.cache_read_tokens)
        rows.append((run_id, r.variant, r.variant_hash, r.task_id, r.repeat, r.model,
                     r.provider, r.text, r.input_tokens, r.output_tokens, r.cache_write_tokens,
                     r.cache_read_tokens, r.latency_s, r.stop_reason, r.error, r.error_kind,
                     r.cached, m.chars, m.words, m.lines, m.code_blocks, m.code_lines,
                     float("nan") if cost is None else cost))
    return pd.DataFrame.from_records(rows, columns=COLUMNS)


def run_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per-variant totals: cells, errors, cached, mean words and output tokens, cost.

    The ``cost`` column reads ``local`` for rows from the embedded model.
    """
    import pandas as pd

    ok = df[df["error"].isna()]
    groups = df.groupby("variant", sort=False)
    out = pd.DataFrame({
        "cells": groups.size(),
        "errors": groups["error"].count(),
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
