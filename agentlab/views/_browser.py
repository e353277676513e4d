"""The results browser: every variant's answers to one task side by side, repeat by repeat."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from agentlab.errors import ConfigError
from agentlab.views._html import GridRow, comparison_html, message_html
from agentlab.views._responses import cards, check_labels_for, columns, disagreements

if TYPE_CHECKING:
    import pandas as pd

    from agentlab.runs._runner import Run
    from agentlab.tasks import Task

__all__ = ["ResultsBrowser"]


class ResultsBrowser:
    """Read every variant's responses to one task side by side, with scores and lengths.

    Columns are variants, rows are repeats. "Only disagreements" narrows the task list
    to :func:`disagreements`.

    Args:
        results: A results DataFrame (scored or not) or a :class:`~agentlab.runs.Run`.
        tasks: The tasks (for their prompts, their checks' names, and to score an
            unscored table); a run brings its own.
        score: Score an unscored table when tasks are known.

    Raises:
        ConfigError: The table is empty or lacks ``variant``/``task_id``.
    """

    def __init__(self, results: pd.DataFrame | Run, tasks: Sequence[Task] | None = None, *,
                 score: bool = True) -> None:
        import ipywidgets as w

        from agentlab.runs._runner import Run

        if isinstance(results, Run):
            df, tasks = results.to_dataframe(), list(results.tasks) if tasks is None else tasks
        else:
            df = results
        if df.empty or not {"variant", "task_id"} <= set(df.columns):
            raise ConfigError("results browser: the results table is empty or has no "
                              "'variant'/'task_id' columns")
        if score and tasks is not None and "quality" not in df.columns:
            from agentlab.scoring._score import score_dataframe

            df = score_dataframe(df, tasks=tasks)
        self.df = df
        self.tasks = {t.id: t for t in tasks or ()}
        self.labels = check_labels_for(list(self.tasks.values()))
        self.variants = [str(v) for v in df["variant"].drop_duplicates()]
        self.task_ids = [str(t) for t in df["task_id"].drop_duplicates()]
        self.disagreeing = disagreements(df)
        scored = "quality" in df.columns or "passed" in df.columns
        self.task_dropdown = w.Dropdown(description="Task", layout=w.Layout(width="520px"))
        self.only_disagreements = w.Checkbox(
            value=False, disabled=not scored, indent=False,
            description=f"only disagreements ({len(self.disagreeing)})" if scored
            else "only disagreements (needs scores)")
        self.header, self.grid = w.HTML(), w.HTML()
        self.widget = w.VBox([w.HBox([self.task_dropdown, self.only_disagreements]),
                              self.header, self.grid])
        self.task_dropdown.observe(lambda _: self.render(), names="value")
        self.only_disagreements.observe(lambda _: self.refresh_tasks(), names="value")
        self.refresh_tasks()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def refresh_tasks(self) -> None:
        """Fill the task list (all tasks, or only disagreements) and show the first."""
        shown = self.disagreeing if self.only_disagreements.value else self.task_ids
        marked = set(self.disagreeing)
        self.task_dropdown.options = [(f"{t}  ≠" if t in marked else t, t) for t in shown]
        self.task_dropdown.value = shown[0] if shown else None
        self.render()

    def show(self, task_id: str) -> None:
        """Switch to a task (it must be in the current list)."""
        self.task_dropdown.value = task_id

    def render(self) -> None:
        """Draw the chosen task's responses."""
        task_id = self.task_dropdown.value
        if task_id is None:
            self.header.value = message_html("No task where the variants disagree.")
            self.grid.value = ""
            return
        rows = self.df[self.df["task_id"] == task_id]
        task = self.tasks.get(task_id)
        prompt = ": " + " ".join(task.prompt.split()) if task else ""
        verdict = "variants disagree" if task_id in self.disagreeing else "variants agree"
        self.header.value = message_html(f"{task_id} ({verdict}){prompt}"[:600])
        repeats = sorted(int(r) for r in rows["repeat"].drop_duplicates())
        labels = self.labels.get(task_id)
        grid = [GridRow(f"repeat {r + 1}", "", [
            cards(rows[(rows["variant"] == v) & (rows["repeat"] == r)], labels=labels,
                  group=False) for v in self.variants]) for r in repeats]
        self.grid.value = comparison_html(columns(rows, self.variants), grid)
