"""The playground's result tabs: Responses (with filters), Scores and Charts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentlab.errors import AgentlabError
from agentlab.views._html import figures_html, message_html, summary_html
from agentlab.views._responses import VERDICTS, check_labels_for, responses_html, shown_tasks

if TYPE_CHECKING:
    import pandas as pd

    from agentlab.tasks import Task

__all__ = ["CHARTS_TAB", "ResultTabs", "Shown"]

CHARTS_TAB = 2


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


@dataclass(frozen=True)
class Shown:
    """What the Responses tab draws."""

    df: pd.DataFrame
    variants: list[str]
    tasks: Sequence[Task]
    empty: str = "no result"
    repeats: int = 1


class ResultTabs:
    """The three result tabs of the playground.

    Responses: one card per task and variant, with filters by task and by verdict.
    Scores: the summary table (and the LLM judge's, when it graded). Charts: drawn the
    first time the tab is opened after a run.
    """

    def __init__(self) -> None:
        import ipywidgets as w

        self.responses, self.scores, self.charts = w.HTML(), w.HTML(), w.HTML()
        self.task_filter = w.Dropdown(options=[("all tasks", "")], description="Task",
                                      layout=w.Layout(width="360px"))
        self.verdict_filter = w.Dropdown(options=list(VERDICTS), description="Show",
                                         layout=w.Layout(width="300px"))
        self.task_filter.observe(lambda _: self.redraw_responses(), names="value")
        self.verdict_filter.observe(lambda _: self.redraw_responses(), names="value")
        responses = w.VBox([w.HBox([self.task_filter, self.verdict_filter]), self.responses])
        self.tabs = w.Tab(children=[responses, self.scores, self.charts],
                          titles=("Responses", "Scores", "Charts"))
        self.tabs.observe(self._on_tab, names="selected_index")
        self._shown: Shown | None = None
        self._good: Shown | None = None  # what the last finished run showed
        self._charts_for: tuple[pd.DataFrame, str] | None = None

    def restore(self) -> None:
        """Show the last finished run's answers again (after a failed run streamed some)."""
        if self._good is not None:
            self.draw_responses(self._good)

    def show(self, df: pd.DataFrame, base: str, edited: str, tasks: Sequence[Task], *,
             empty: str = "no result", repeats: int | None = None) -> None:
        """Fill the Responses, Scores and Charts tabs from a scored results table.

        Args:
            df: Scored results.
            base: The baseline variant (first column, reference of the paired difference).
            edited: The other variant.
            tasks: The tasks, in display order.
            empty: What a cell without a result says (e.g. after a Stop).
            repeats: Repeats the run asked for; default: as many as ``df`` holds.
        """
        from agentlab import stats

        asked = repeats if repeats is not None else int(df["repeat"].max()) + 1
        self.draw_responses(Shown(df, [base, edited], tasks, empty, asked))
        self._good = self._shown
        scores = []
        try:
            scores.append(summary_html(stats.summary(df, baseline=base)))
            if "judge_quality" in df.columns and df["judge_quality"].notna().any():
                judged = stats.summary(df, baseline=base, metric="judge_quality")
                scores.append("<h4>LLM judge (quality = (score − 1) / 4)</h4>"
                              + summary_html(judged))
        except AgentlabError as exc:
            scores.append(message_html(_one_line(exc), "warn"))
        self.scores.value = "".join(scores)
        # Drawing six figures takes about a second: only when the Charts tab is open.
        self._charts_for = (df, base)
        self.charts.value = message_html("Charts are drawn when this tab is opened.")
        if self.tabs.selected_index == CHARTS_TAB:
            self.draw_charts()

    def draw_responses(self, view: Shown) -> None:
        """Draw ``view`` in the Responses tab (the task filter follows its tasks)."""
        ids = [t.id for t in view.tasks]
        options = [("all tasks", ""), *((t, t) for t in ids)]
        if list(self.task_filter.options) != options:
            current = self.task_filter.value
            self.task_filter.options = options
            self.task_filter.value = current if current in ids else ""
        self._shown = view
        self.redraw_responses()

    def redraw_responses(self) -> None:
        """Redraw the Responses tab with the task and verdict filters applied."""
        if self._shown is None:
            return
        view = self._shown
        ids = [t.id for t in view.tasks]
        shown = shown_tasks(view.df, ids, self.verdict_filter.value, self.task_filter.value or "")
        self.responses.value = responses_html(
            view.df, view.variants, view.tasks, shown, labels=check_labels_for(view.tasks),
            empty=view.empty, repeats=view.repeats)

    def _on_tab(self, change: dict[str, Any]) -> None:
        if change["new"] == CHARTS_TAB:
            self.draw_charts()

    def draw_charts(self) -> None:
        """Draw the charts of the last run into the Charts tab (once per run)."""
        from agentlab.views import charts

        if self._charts_for is None:
            return
        df, base = self._charts_for
        self._charts_for = None
        try:
            self.charts.value = figures_html(charts.all_charts(df, baseline=base))
        except AgentlabError as exc:
            self.charts.value = message_html(_one_line(exc), "warn")
