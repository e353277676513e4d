"""Write a run's report to a folder: results, summary (CSV and Markdown) and charts.

Used by ``agentlab run --out`` and the batch notebook, so both produce the same files:

- ``results.csv``: one row per cell (scores included when scored);
- ``summary.csv`` and ``summary.md``: one row per variant with CIs and the verdict
  versus the baseline;
- ``<chart>.png``: every chart :func:`agentlab.views.charts.all_charts` supports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from agentlab.stats._baseline import pick_baseline

if TYPE_CHECKING:
    import pandas as pd

_SUMMARY_COLUMNS = ("n", "errors", "quality", "quality_ci_low", "quality_ci_high", "pass_rate",
                    "words", "output_tokens", "cost_usd", "provider", "n_paired", "n_dropped",
                    "diff", "diff_ci_low", "diff_ci_high", "p_value", "p_adjusted", "verdict")


def _cell(value: object) -> str:
    import pandas as pd

    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    if value is pd.NA:  # a nullable count (n_paired) of the baseline row
        return "–"
    return str(value).replace("|", "\\|")


def markdown_table(table: pd.DataFrame) -> str:
    """Render a DataFrame (index included) as a GitHub Markdown table."""
    header = [str(table.index.name or ""), *(str(c) for c in table.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for index, row in table.iterrows():
        lines.append("| " + " | ".join([_cell(index), *(_cell(v) for v in row)]) + " |")
    return "\n".join(lines)


def compact_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """A narrow view of a summary for terminals: values with their 95% CIs as text."""
    import pandas as pd

    out = pd.DataFrame(index=summary.index)
    for col in ("n", "errors"):
        if col in summary.columns:
            out[col] = summary[col]
    for col, fmt in (("quality", "{:.2f}"), ("words", "{:.0f}"), ("output_tokens", "{:.0f}")):
        if col in summary.columns:
            out[col] = [_with_interval(fmt, row, col) for _, row in summary.iterrows()]
    if "cost_usd" in summary.columns:
        local = summary.get("provider", pd.Series("", index=summary.index)) == "local"
        out["cost"] = ["local" if is_local else f"${c:.4f}"
                       for c, is_local in zip(summary["cost_usd"], local, strict=True)]
    if "verdict" in summary.columns:
        out["vs baseline"] = [_verdict_text(row) for _, row in summary.iterrows()]
    return out


PREVIEW_COLUMNS = ("variant", "task_id", "repeat", "quality", "passed", "words",
                   "output_tokens", "cost_usd", "error", "text")


def preview(df: pd.DataFrame, rows: int = 5, *, width: int = 80,
            columns: Sequence[str] = PREVIEW_COLUMNS) -> pd.DataFrame:
    """The first rows of a results table, narrowed to what a person reads first.

    Args:
        df: A results table (scored or not).
        rows: Rows to keep.
        width: Longest ``text``, ``error`` and ``grade_reasons`` shown; longer ones end
            in "…", and newlines become spaces.
        columns: The columns to keep (those ``df`` lacks are skipped).

    Returns:
        The chosen columns of the first ``rows`` rows.
    """
    out = df.head(rows)[[c for c in columns if c in df.columns]].copy()

    def cut(value: object) -> object:
        if not isinstance(value, str):
            return value
        line = " ".join(value.split())
        return line if len(line) <= width else line[: width - 1] + "…"

    for col in ("text", "error", "grade_reasons"):
        if col in out.columns:
            out[col] = out[col].map(cut)
    return out


def _with_interval(fmt: str, row: pd.Series, col: str) -> str:
    value, low, high = row[col], row.get(f"{col}_ci_low"), row.get(f"{col}_ci_high")
    if not isinstance(value, float | int) or math.isnan(value):
        return "–"
    text = fmt.format(value)
    if isinstance(low, float) and isinstance(high, float) and not math.isnan(low):
        text += f" [{fmt.format(low)}, {fmt.format(high)}]"
    return text


def _verdict_text(row: pd.Series) -> str:
    import pandas as pd

    verdict = row["verdict"]
    if not isinstance(verdict, str):
        return "–"
    if verdict in ("baseline", "insufficient data") or math.isnan(row["diff"]) \
            or math.isnan(row["p_value"]):
        return verdict  # NaN reads as the words, never as "nan"
    text = f"{verdict} ({row['diff']:+.2f}, p={row['p_value']:.2g}"
    adjusted = row.get("p_adjusted")
    if isinstance(adjusted, float) and adjusted != row["p_value"]:
        text += f", Holm {adjusted:.2g}"
    dropped = row.get("n_dropped", 0)
    if not pd.isna(dropped) and int(dropped) > 0:
        text += f", {int(dropped)} dropped"
    return text + ")"


def summary_markdown(summary: pd.DataFrame, *, title: str, run_id: str | None = None) -> str:
    """A Markdown page: the summary table and one plain-words line per variant."""
    columns = [c for c in _SUMMARY_COLUMNS if c in summary.columns]
    parts = [f"# {title}", ""]
    if run_id:
        parts += [f"Run `{run_id}`.", ""]
    parts += [markdown_table(summary[columns]), ""]
    if "verdict" in summary.columns:
        for variant, row in summary.iterrows():
            if row["verdict"] in ("baseline", None) or (isinstance(row["verdict"], float)):
                continue
            text = row.get("verdict_text")  # stats.summary states means, CI, Holm, drops
            parts.append(f"- **{variant}** vs baseline: "
                         f"{text if isinstance(text, str) and text else _verdict_text(row)}")
    return "\n".join(parts).rstrip() + "\n"


def write_report(df: pd.DataFrame, folder: Path | str, *, baseline: str | None = None,
                 run_id: str | None = None, charts: bool = True,
                 title: str = "agentlab report") -> list[Path]:
    """Write results, summary and charts for a (scored or unscored) results table.

    Args:
        df: One row per cell, as from ``Run.to_dataframe()`` (optionally scored).
        folder: Output folder (created when missing).
        baseline: Variant the others are compared with (default: the first).
        run_id: Shown in the Markdown summary.
        charts: Also write every chart as PNG.
        title: Heading of ``summary.md``.

    Returns:
        The files written.
    """
    from agentlab.stats import summary as stats_summary

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    baseline = baseline or pick_baseline([str(v) for v in df["variant"].drop_duplicates()])
    table = stats_summary(df, baseline=baseline)
    written = [out / "results.csv", out / "summary.csv", out / "summary.md"]
    df.to_csv(written[0], index=False)
    table.to_csv(written[1])
    written[2].write_text(summary_markdown(table, title=title, run_id=run_id), encoding="utf-8")
    if charts:
        from agentlab.views.charts import all_charts, save_charts

        figures = all_charts(df, baseline=baseline)
        written += save_charts(figures, out)
    return written
