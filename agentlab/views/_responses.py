"""The Responses view of the widgets: one card per task and variant, filters by task and verdict.

With one repeat a card is the answer itself; with several it is their spread (pass count,
quality and length ranges, one square per repeat) with every answer folded under it, so
8 tasks × 2 variants × 12 repeats make 16 cards, not 192. Which tasks the variants
disagree on is defined once, here (:func:`disagreements`).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from agentlab.runs._results import error_rows
from agentlab.views._html import Column, GridRow, comparison_html, repeats_card, response_card

if TYPE_CHECKING:
    import pandas as pd

    from agentlab.tasks import Task

__all__ = ["QUALITY_GAP", "VERDICTS", "Verdict", "cards", "check_labels_for", "columns",
           "disagreements", "responses_html", "shown_tasks", "tasks_with_errors"]

QUALITY_GAP = 0.25
"""Mean-quality spread above which variants count as disagreeing on a task."""

Verdict = Literal["all", "disagree", "agree", "errors"]
VERDICTS: tuple[tuple[str, Verdict], ...] = (
    ("all tasks", "all"), ("variants disagree", "disagree"), ("variants agree", "agree"),
    ("tasks with errors", "errors"))
"""The verdict filter's choices: (label, value)."""

Labels = Mapping[str, Mapping[str, str]]
"""Per task id, the readable name of each ``score_*`` column."""


def disagreements(df: pd.DataFrame, *, quality_gap: float = QUALITY_GAP) -> list[str]:
    """Tasks on which the variants disagree, in order of first appearance.

    The rule: on a task, variants disagree when (1) their pass rates over the task's
    repeats are not all equal (one variant passed where another failed), or (2) their
    mean quality differs by more than ``quality_gap`` (max minus min), or (3) one
    variant has only errors while another has a response. Error rows are otherwise
    left out; a task run by a single variant never counts.

    Args:
        df: Results with ``variant``, ``task_id``, ``error`` and, when scored,
            ``passed`` and ``quality``.
        quality_gap: The quality spread that counts as a disagreement.

    Returns:
        Task ids.
    """
    out = []
    failed = error_rows(df)
    for task_id, rows in df.groupby("task_id", sort=False):
        if rows["variant"].nunique() < 2:
            continue
        ok = rows[~failed[rows.index]]
        if ok["variant"].nunique() not in (0, rows["variant"].nunique()):
            out.append(str(task_id))
            continue
        by_variant = ok.groupby("variant", sort=False)
        if "passed" in ok and ok["passed"].notna().any():
            rates = by_variant["passed"].apply(lambda s: s.dropna().astype(float).mean())
            if rates.max() != rates.min():
                out.append(str(task_id))
                continue
        if "quality" in ok and ok["quality"].notna().any():
            means = by_variant["quality"].mean()
            if means.max() - means.min() > quality_gap:
                out.append(str(task_id))
    return out


def tasks_with_errors(df: pd.DataFrame) -> list[str]:
    """Tasks with at least one failed cell, in order of first appearance."""
    return [str(t) for t in dict.fromkeys(df.loc[error_rows(df), "task_id"])]


def shown_tasks(df: pd.DataFrame, task_ids: Sequence[str], verdict: Verdict,
                task: str = "") -> list[str]:
    """The tasks a filter keeps, in ``task_ids`` order.

    Args:
        df: The results.
        task_ids: Every task, in display order.
        verdict: ``all``, ``disagree`` (:func:`disagreements`), ``agree`` (the others)
            or ``errors`` (:func:`tasks_with_errors`).
        task: One task id to keep, or ``""`` for any.

    Returns:
        Task ids.
    """
    keep = list(task_ids) if not task else [t for t in task_ids if t == task]
    if verdict == "all":
        return keep
    if verdict == "errors":
        chosen = set(tasks_with_errors(df))
        return [t for t in keep if t in chosen]
    disagree = set(disagreements(df))
    return [t for t in keep if (t in disagree) == (verdict == "disagree")]


def check_labels_for(tasks: Sequence[Task]) -> dict[str, dict[str, str]]:
    """Readable grader names per task (empty for a task whose checks cannot be built)."""
    from agentlab.errors import ConfigError
    from agentlab.scoring import check_labels

    out: dict[str, dict[str, str]] = {}
    for task in tasks:
        try:
            out[task.id] = check_labels(task.checks)
        except ConfigError:
            out[task.id] = {}
    return out


def _variant_note(rows: pd.DataFrame) -> str:
    """A one-line per-variant summary for a column heading."""
    ok = rows[~error_rows(rows)]
    parts = []
    if "quality" in ok and ok["quality"].notna().any():
        parts.append(f"quality {ok['quality'].mean():.2f}")
    if "passed" in ok and ok["passed"].notna().any():
        parts.append(f"passed {int(ok['passed'].sum())}/{int(ok['passed'].notna().sum())}")
    if len(ok):
        parts.append(f"{ok['words'].mean():.0f} words")
    if len(ok) < len(rows):
        parts.append(f"{len(rows) - len(ok)} errors")
    return " · ".join(parts)


def columns(df: pd.DataFrame, variants: Sequence[str]) -> list[Column]:
    """Column headings: each variant with its colour and a one-line summary."""
    from agentlab.views.charts import variant_colors

    colors = variant_colors(variants)
    return [Column(v, _variant_note(df[df["variant"] == v]), colors[v]) for v in variants]


def cards(rows: pd.DataFrame, *, labels: Mapping[str, str] | None = None, group: bool = True,
          empty: str = "no result", repeats: int = 1) -> str:
    """One variant's answers to one task: its answer, or its repeats folded into one card.

    Args:
        rows: The results rows of one variant and task.
        labels: Readable names of the ``score_*`` columns.
        group: Fold several repeats into one card (the results browser shows them apart).
        empty: What to say when there is no row.
        repeats: Repeats the run asked for (a stopped run may have fewer rows).

    Returns:
        Escaped HTML.
    """
    if rows.empty:
        return f'<div class="al-dimtext">{html.escape(empty)}</div>'
    records = [{str(k): v for k, v in r.items()}
               for r in rows.sort_values("repeat").to_dict("records")]
    if group and max(len(records), repeats) > 1:
        return repeats_card(records, labels=labels, expected=repeats)
    return "".join(response_card(r, labels=labels) for r in records)


def responses_html(df: pd.DataFrame, variants: Sequence[str], tasks: Sequence[Task],
                   shown: Sequence[str], *, labels: Labels | None = None,
                   empty: str = "no result", repeats: int = 1) -> str:
    """The Responses tab: a row per shown task, a column per variant.

    Args:
        df: Results (scored or not; partial while a run goes).
        variants: Column order.
        tasks: The run's tasks (their prompts label the rows).
        shown: The task ids to show, in order.
        labels: Readable grader names per task.
        empty: What a cell without a result says.
        repeats: Repeats per task and variant the run asked for.

    Returns:
        A self-contained, escaped HTML fragment.
    """
    prompts = {t.id: " ".join(t.prompt.split()) for t in tasks}
    rows = [GridRow(task_id, _cut(prompts.get(task_id, ""), 160), [
        cards(df[(df["task_id"] == task_id) & (df["variant"] == v)],
              labels=(labels or {}).get(task_id), empty=empty, repeats=repeats)
        for v in variants]) for task_id in shown]
    return comparison_html(columns(df, variants), rows,
                                  empty="No task matches the filter.")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
