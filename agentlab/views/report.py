"""Write a run's report to a folder: results, summary (CSV and Markdown) and charts.

Used by ``agentlab run --out`` and the batch notebook, so both produce the same files:

- ``results.csv``: one row per cell (scores included when scored);
- ``summary.csv`` and ``summary.md``: one row per variant with CIs and the verdict
  versus the baseline;
- ``<chart>.png``: every chart :func:`agentlab.views.charts.all_charts` supports.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from agentlab.stats._baseline import pick_baseline

if TYPE_CHECKING:
    import pandas as pd

_SUMMARY_COLUMNS = ("n", "errors", "quality", "quality_ci_low", "quality_ci_high", "pass_rate",
                    "words", "output_tokens", "cost_usd", "provider", "diff", "diff_ci_low",
                    "diff_ci_high", "p_value", "verdict")


def _cell(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
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


def _with_interval(fmt: str, row: pd.Series, col: str) -> str:
    value, low, high = row[col], row.get(f"{col}_ci_low"), row.get(f"{col}_ci_high")
    if not isinstance(value, float | int) or math.isnan(value):
        return "–"
    text = fmt.format(value)
    if isinstance(low, float) and isinstance(high, float) and not math.isnan(low):
        text += f" [{fmt.format(low)}, {fmt.format(high)}]"
    return text


def _verdict_text(row: pd.Series) -> str:
    verdict = row["verdict"]
    if not isinstance(verdict, str) or verdict == "baseline" or math.isnan(row["diff"]):
        return str(verdict) if isinstance(verdict, str) else "–"
    return f"{verdict} ({row['diff']:+.2f}, p={row['p_value']:.2g})"


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
            parts.append(f"- **{variant}** vs baseline: {row['verdict']} (quality difference "
                         f"{row['diff']:+.3f}, 95% CI {row['diff_ci_low']:+.3f} to "
                         f"{row['diff_ci_high']:+.3f}, p = {row['p_value']:.3g})")
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
