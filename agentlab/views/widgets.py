"""Notebook widgets (ipywidgets 8): the prompt playground and the results browser.

::

    from agentlab.views import widgets
    widgets.playground("data/agents", "data/tasks/backend.yaml")   # edit, run, compare
    widgets.results_browser(run)                                   # read every response

Both only call library functions (``agentlab.run``, ``graders.score_dataframe``,
``stats.summary``, ``charts.all_charts``) and show everything a model wrote through
:mod:`agentlab.views._html`, which escapes it. Their handlers are public methods, so they
also work without a browser (``pg.run_button.click()`` or ``pg.on_run()``).
Problems are shown as a one-line message in the status area, never as a traceback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentlab.errors import AgentlabError, ConfigError
from agentlab.runs._results import error_rows
from agentlab.runs._store import DEFAULT_DB
from agentlab.views import _html as render

if TYPE_CHECKING:
    import pandas as pd

    from agentlab.agents._agent import Agent
    from agentlab.providers.base import GenerationOptions, Provider
    from agentlab.runs._runner import Run
    from agentlab.tasks import Task

__all__ = ["Playground", "ResultsBrowser", "disagreements", "playground", "results_browser"]

log = logging.getLogger("agentlab")

DEFAULT_AGENTS = Path("data/agents")
DEFAULT_TASKS = Path("data/tasks/backend.yaml")
CHARTS_TAB = 2
QUALITY_GAP = 0.25
"""Mean-quality spread above which variants count as disagreeing on a task."""


def _as_variants(variants: Sequence[Agent] | Path | str) -> list[Agent]:
    from agentlab.agents._agent import load_agents

    found = load_agents(variants) if isinstance(variants, str | Path) else list(variants)
    if not found:
        raise ConfigError("the playground needs at least one base variant")
    return found


def _as_tasks(tasks: Sequence[Task] | Path | str) -> list[Task]:
    from agentlab.tasks import load_tasks

    found = load_tasks(tasks) if isinstance(tasks, str | Path) else list(tasks)
    if not found:
        raise ConfigError("the playground needs at least one task")
    return found


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 400 else text[:397] + "..."


def _normalized(body: str) -> str:
    return body.strip("\n").rstrip()  # as Agent.with_body stores it


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


def _columns(df: pd.DataFrame, variants: Sequence[str]) -> list[render.Column]:
    from agentlab.views.charts import variant_colors

    colors = variant_colors(variants)
    return [render.Column(v, _variant_note(df[df["variant"] == v]), colors[v]) for v in variants]


def _cards(rows: pd.DataFrame, label_repeats: bool) -> str:
    if rows.empty:
        return '<div class="al-dimtext">no result</div>'
    records = [{str(k): v for k, v in r.items()}
               for r in rows.sort_values("repeat").to_dict("records")]
    return "".join(render.response_card(r, caption=f"repeat {r['repeat'] + 1}"
                                        if label_repeats else "") for r in records)


class Playground:
    """Edit an agent's system prompt and compare it with the original on a few tasks.

    Args:
        variants: Base variants, or a folder of agent ``.md`` files.
        tasks: Tasks, or a task file.
        db: Results database (its cache makes re-runs send only changed cells).
        provider: ``None`` (choose automatically), ``"local"``, ``"anthropic"`` or an
            instance.
        model: Initial model for every cell (empty: each variant's own or the default).
        options: Generation options.
        agents_dir: Folder where "Save as variant" writes ``<name>.md``.
        repeats: Initial samples per (variant, task).
        default_model: Model for variants that name none.
        concurrency: Most calls in flight.
        base: The variant to start from; default: the one the others extend.

    Raises:
        AgentFileError: A variant file cannot be loaded.
        TaskFileError: The task file cannot be loaded.
    """

    def __init__(
        self, variants: Sequence[Agent] | Path | str = DEFAULT_AGENTS,
        tasks: Sequence[Task] | Path | str = DEFAULT_TASKS, *, db: Path | str = DEFAULT_DB,
        provider: Provider | str | None = None, model: str | None = None,
        options: GenerationOptions | None = None, agents_dir: Path | str = DEFAULT_AGENTS,
        repeats: int = 1, default_model: str = "sonnet", concurrency: int = 8,
        base: str | None = None,
    ) -> None:
        from agentlab.stats import pick_baseline

        self.variants = _as_variants(variants)
        names = [v.name for v in self.variants]
        if base is not None and base not in names:
            raise ConfigError(f"playground: no variant named {base!r}; choose from {names}")
        self.tasks = _as_tasks(tasks)
        self.db, self.provider, self.options = db, provider, options
        self.agents_dir = Path(agents_dir)
        self.default_model, self.concurrency = default_model, concurrency
        self.last_run: Run | None = None
        self.results: pd.DataFrame | None = None
        self.message = ""
        self._charts_for: tuple[pd.DataFrame, str] | None = None
        self._build_inputs(model, repeats)
        self.base_dropdown.value = base or pick_baseline(names)
        self._build_layout()
        self.on_base_change()

    # -- construction --------------------------------------------------------------------
    def _build_inputs(self, model: str | None, repeats: int) -> None:
        import ipywidgets as w

        full = w.Layout(width="100%")
        self.base_dropdown = w.Dropdown(options=[v.name for v in self.variants],
                                        description="Base", layout=w.Layout(width="420px"))
        self.editor = w.Textarea(rows=25, layout=full)
        self.diff = w.HTML(layout=full)
        labels = [(f"{t.id} — {' '.join(t.prompt.split())[:70]}", t.id) for t in self.tasks]
        self.task_select = w.SelectMultiple(
            options=labels, value=[t.id for t in self.tasks[:3]], description="Tasks",
            rows=min(8, len(labels)), layout=full)
        self.model_text = w.Text(value=model or "", placeholder="default", description="Model")
        self.repeats = w.BoundedIntText(value=repeats, min=1, max=20, description="Repeats",
                                        layout=w.Layout(width="160px"))
        self.run_button = w.Button(description="Run", button_style="primary", icon="play")
        self.reset_button = w.Button(description="Reset to base", icon="undo")
        self.save_name = w.Text(placeholder="new-variant-name", description="Save as")
        self.save_button = w.Button(description="Save as variant", icon="save")
        self.status = w.HTML()
        self.progress = w.IntProgress(value=0, min=0, max=1, description="Cells",
                                      layout=w.Layout(width="420px", visibility="hidden"))
        self.responses, self.scores, self.charts = w.HTML(), w.HTML(), w.HTML()
        self.base_dropdown.observe(lambda _: self.on_base_change(), names="value")
        self.editor.observe(lambda _: self.update_diff(), names="value")
        self.run_button.on_click(self.on_run)
        self.save_button.on_click(self.on_save)
        self.reset_button.on_click(self.on_reset)

    def _build_layout(self) -> None:
        import ipywidgets as w

        self.tabs = w.Tab(children=[self.responses, self.scores, self.charts],
                          titles=("Responses", "Scores", "Charts"))
        self.tabs.observe(self._on_tab, names="selected_index")
        self.widget = w.VBox([
            w.HBox([self.base_dropdown, self.model_text, self.repeats]),
            self.task_select, self.editor, self.diff,
            w.HBox([self.run_button, self.reset_button, self.save_name, self.save_button]),
            self.progress, self.status, self.tabs,
        ])

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # -- state ---------------------------------------------------------------------------
    @property
    def base(self) -> Agent:
        """The base variant chosen in the dropdown."""
        return next(v for v in self.variants if v.name == self.base_dropdown.value)

    def selected_tasks(self) -> list[Task]:
        """The tasks chosen in the task list, in suite order."""
        chosen = set(self.task_select.value)
        return [t for t in self.tasks if t.id in chosen]

    def edited_variant(self) -> Agent:
        """The variant the editor describes, named by "Save as" or ``<base>-edited``.

        Raises:
            AgentFileError: Empty prompt or invalid name.
            ConfigError: The name is the base's own.
        """
        base = self.base
        name = self.save_name.value.strip() or f"{base.name}-edited"
        if name == base.name:
            raise ConfigError(f"the edited variant needs a name other than its base's ({name!r})")
        return base.with_body(self.editor.value, name=name)

    def say(self, text: str, kind: render.MessageKind = "info") -> None:
        """Show a one-line message in the status area (kept in :attr:`message`)."""
        self.message = " ".join(text.split())
        self.status.value = render.message_html(self.message, kind)

    # -- handlers ------------------------------------------------------------------------
    def on_base_change(self, _change: object = None) -> None:
        """Load the chosen base variant's prompt into the editor."""
        base = self.base
        self.editor.value = base.body
        self.update_diff()
        where = f" from {base.source}" if base.source else ""
        self.say(f"base: {base.name}{where}; edit the prompt, then Run")

    def on_reset(self, _button: object = None) -> None:
        """Put the base variant's prompt back into the editor."""
        self.editor.value = self.base.body

    def update_diff(self) -> None:
        """Redraw the diff between the base prompt and the editor."""
        base = self.base
        self.diff.value = render.STYLE + render.diff_html(
            base.body, _normalized(self.editor.value), from_name=base.name, to_name="edited")

    def on_run(self, _button: object = None) -> Run | None:
        """Run the base and the edited variant on the chosen tasks, score, and show them.

        Returns:
            The run, or ``None`` when it could not start (the status area says why).
        """
        self.run_button.disabled, self.run_button.description = True, "Running…"
        try:
            return self._run()
        except AgentlabError as exc:
            self.say(_one_line(exc), "error")
        except Exception as exc:  # a bug must reach the user as one line, not be lost
            log.exception("agentlab playground: run failed")
            self.say(f"unexpected {type(exc).__name__}: {_one_line(exc)}", "error")
        finally:
            self.run_button.disabled, self.run_button.description = False, "Run"
        return None

    def _run(self) -> Run:
        from agentlab.runs._runner import run
        from agentlab.scoring import _score as graders

        base, edited, tasks = self.base, self.edited_variant(), self.selected_tasks()
        if not tasks:
            raise ConfigError("select at least one task")
        repeats = int(self.repeats.value)
        self.say(f"running {2 * len(tasks) * repeats} cells ({base.name} vs {edited.name})…")
        started = time.monotonic()
        result = run([base, edited], tasks, repeats=repeats,
                     model=self.model_text.value.strip() or None, provider=self.provider,
                     options=self.options, db=self.db, progress=self._on_progress,
                     default_model=self.default_model, concurrency=self.concurrency)
        scored = graders.score_dataframe(result.to_dataframe(), tasks=tasks)
        self.last_run, self.results = result, scored
        self.show(scored, base.name, edited.name, tasks)
        reused = max(0, len(result.results) - result.requests_sent)
        errors = f", {result.errors} errors" if result.errors else ""
        same = " (the edited prompt equals the base)" if edited.body == base.body else ""
        self.say(f"run {result.id} {result.status}: {len(result.results)} cells in "
                 f"{time.monotonic() - started:.1f}s; sent {result.requests_sent} requests, "
                 f"{reused} cells from cache{errors}{same}",
                 "ok" if result.status == "complete" and not result.errors else "warn")
        return result

    def _on_progress(self, done: int, total: int) -> None:
        """Move the progress bar (called from the runner's thread as cells finish)."""
        self.progress.max = max(1, total)
        self.progress.value = done
        self.progress.layout.visibility = "visible"

    def show(self, df: pd.DataFrame, base: str, edited: str, tasks: Sequence[Task]) -> None:
        """Fill the Responses, Scores and Charts tabs from a scored results table."""
        from agentlab import stats

        label_repeats = df["repeat"].nunique() > 1
        rows = [render.GridRow(t.id, " ".join(t.prompt.split())[:160], [
            _cards(df[(df["task_id"] == t.id) & (df["variant"] == v)], label_repeats)
            for v in (base, edited)]) for t in tasks]
        self.responses.value = render.comparison_html(_columns(df, [base, edited]), rows)
        try:
            self.scores.value = render.summary_html(stats.summary(df, baseline=base))
        except AgentlabError as exc:
            self.scores.value = render.message_html(_one_line(exc), "warn")
        # Drawing six figures takes about a second: only when the Charts tab is open.
        self._charts_for = (df, base)
        self.charts.value = render.message_html("Charts are drawn when this tab is opened.")
        if self.tabs.selected_index == CHARTS_TAB:
            self.draw_charts()

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
            self.charts.value = render.figures_html(charts.all_charts(df, baseline=base))
        except AgentlabError as exc:
            self.charts.value = render.message_html(_one_line(exc), "warn")

    def on_save(self, _button: object = None) -> Path | None:
        """Save the editor's prompt as a new variant file in ``agents_dir``.

        Returns:
            The file written, or ``None`` (the status area says why).
        """
        from agentlab.agents._agent import load_agent

        name = self.save_name.value.strip()
        try:
            if not name:
                raise ConfigError("type a name for the new variant in 'Save as' (lowercase "
                                  "letters, digits and hyphens)")
            agent = self.edited_variant()
            target = self.agents_dir / f"{name}.md"
            if target.exists() or any(v.name == name for v in self.variants):
                raise ConfigError(f"{target}: a variant named {name!r} already exists; "
                                  "choose another name")
            saved = load_agent(agent.save(target))
        except (AgentlabError, OSError) as exc:
            self.say(_one_line(exc), "error")
            return None
        self.variants.append(saved)
        current = self.base_dropdown.value
        self.base_dropdown.options = [v.name for v in self.variants]
        self.base_dropdown.value = current
        self.say(f"saved {target} (variant {name!r}); it is now in the Base list", "ok")
        return target


def playground(variants: Sequence[Agent] | Path | str = DEFAULT_AGENTS,
               tasks: Sequence[Task] | Path | str = DEFAULT_TASKS, **kwargs: Any) -> Playground:
    """Create a :class:`Playground`; display it by leaving it last in a cell.

    Args:
        variants: Base variants, or a folder of agent files.
        tasks: Tasks, or a task file.
        **kwargs: Other :class:`Playground` arguments (``db``, ``provider``, ``model``,
            ``options``, ``agents_dir``, ``repeats``, ``default_model``, ``concurrency``,
            ``base``: the variant to start from, default the one the others extend).

    Returns:
        The playground.
    """
    return Playground(variants, tasks, **kwargs)


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


class ResultsBrowser:
    """Read every variant's responses to one task side by side, with scores and lengths.

    Columns are variants, rows are repeats. "Only disagreements" narrows the task list
    to :func:`disagreements`.

    Args:
        results: A results DataFrame (scored or not) or a :class:`~agentlab.runs._runner.Run`.
        tasks: The tasks (for their prompts, and to score an unscored table); a run
            brings its own.
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
            self.header.value = render.message_html("No task where the variants disagree.")
            self.grid.value = ""
            return
        rows = self.df[self.df["task_id"] == task_id]
        task = self.tasks.get(task_id)
        prompt = ": " + " ".join(task.prompt.split()) if task else ""
        verdict = "variants disagree" if task_id in self.disagreeing else "variants agree"
        self.header.value = render.message_html(f"{task_id} ({verdict}){prompt}"[:600])
        repeats = sorted(int(r) for r in rows["repeat"].drop_duplicates())
        grid = [render.GridRow(f"repeat {r + 1}", "", [
            _cards(rows[(rows["variant"] == v) & (rows["repeat"] == r)], False)
            for v in self.variants]) for r in repeats]
        self.grid.value = render.comparison_html(_columns(rows, self.variants), grid)


def results_browser(results: pd.DataFrame | Run, tasks: Sequence[Task] | None = None,
                    **kwargs: Any) -> ResultsBrowser:
    """Create a :class:`ResultsBrowser`; display it by leaving it last in a cell.

    Args:
        results: A results DataFrame or a run.
        tasks: The tasks, for prompts and scoring (a run brings its own).
        **kwargs: Other :class:`ResultsBrowser` arguments (``score``).

    Returns:
        The browser.
    """
    return ResultsBrowser(results, tasks, **kwargs)
