"""The prompt playground: edit a system prompt, run it against its base, compare, save.

The run goes in the background (:func:`agentlab.start`): the kernel stays free, answers
stream into the Responses tab as cells finish, and **Stop** cancels the calls in flight
and keeps what finished ("stopped: N of M cells saved"). A second click on Run while a run
goes is ignored. Saving keeps the editor's text and makes the saved variant the base.
Progress, scoring, the optional LLM judge and the result tabs are updated from the run's
own thread (ipykernel sends widget messages from any thread).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentlab.errors import AgentlabError, ConfigError
from agentlab.runs._store import DEFAULT_DB
from agentlab.views._html import STYLE, MessageKind, diff_html, message_html
from agentlab.views._tabs import ResultTabs, Shown
from agentlab.views._taskpicker import TaskPicker

if TYPE_CHECKING:
    import pandas as pd

    from agentlab.agents._agent import Agent
    from agentlab.providers.base import GenerationOptions, Provider
    from agentlab.runs._estimate import CostEstimate
    from agentlab.runs._handle import RunHandle
    from agentlab.runs._runner import Run
    from agentlab.tasks import Task

__all__ = ["DEFAULT_AGENTS", "DEFAULT_TASKS", "Playground", "one_line"]

log = logging.getLogger("agentlab")

DEFAULT_AGENTS = Path("data/agents")
DEFAULT_TASKS = Path("data/tasks/backend.yaml")
STREAM_EVERY_S = 0.5
"""Shortest pause between two redraws of the Responses tab while a run streams in."""


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


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 400 else text[:397] + "..."


def _normalized(body: str) -> str:
    return body.strip("\n").rstrip()  # as Agent.with_body stores it


@dataclass(frozen=True)
class _Job:
    """What a run started from the playground needs when it ends."""

    base: Agent
    edited: Agent
    tasks: tuple[Task, ...]
    judge: bool
    started: float
    repeats: int


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
        judge_model: Model of the optional LLM judge (default: not the judged one).
        judge_provider: Provider of the judge (default: the Anthropic API when
            ``ANTHROPIC_API_KEY`` is set; the judge refuses to run without one).

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
        base: str | None = None, judge_model: str | None = None,
        judge_provider: Provider | str | None = None,
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
        self.judge_model, self.judge_provider = judge_model, judge_provider
        self.last_run: Run | None = None
        self.results: pd.DataFrame | None = None
        self.handle: RunHandle | None = None
        self.message = ""
        self._job: _Job | None = None
        self._outcome: Run | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._loading_base = False
        self._streamed_at = 0.0
        self._build_inputs(model, repeats)
        self._current_base = base or pick_baseline(names)
        self.base_dropdown.value = self._current_base
        self._build_layout()
        self.on_base_change()

    # -- construction --------------------------------------------------------------------
    def _build_inputs(self, model: str | None, repeats: int) -> None:
        import ipywidgets as w

        full = w.Layout(width="100%")
        self.base_dropdown = w.Dropdown(options=[v.name for v in self.variants],
                                        description="Base", layout=w.Layout(width="420px"))
        self.editor_label = w.HTML()
        self.editor = w.Textarea(rows=25, layout=full,
                                 placeholder="Type the system prompt of the edited variant "
                                             "here (it cannot be empty).")
        self.diff = w.HTML(layout=full)
        self.task_select = TaskPicker(self.tasks, [t.id for t in self.tasks[:3]])
        self.model_text = w.Text(value=model or "", placeholder="default", description="Model")
        self.repeats = w.BoundedIntText(value=repeats, min=1, max=20, description="Repeats",
                                        layout=w.Layout(width="160px"))
        self.run_button = w.Button(description="Run", button_style="primary", icon="play",
                                   tooltip="Run the base and the edited prompt on the tasks")
        self.stop_button = w.Button(description="Stop", icon="stop", disabled=True,
                                    tooltip="Cancel the calls in flight; finished cells stay")
        self.reset_button = w.Button(description="Reset to base", icon="undo")
        self.save_name = w.Text(placeholder="new-variant-name", description="Save as")
        self.save_button = w.Button(description="Save as variant", icon="save")
        self.run_names = w.HTML()
        self.judge_box = w.Checkbox(value=False, indent=False,
                                    description="Also grade with the LLM judge (extra calls)")
        self.judge_note = w.HTML()
        self.status = w.HTML()
        self.progress = w.IntProgress(value=0, min=0, max=1, description="Cells",
                                      layout=w.Layout(width="420px", visibility="hidden"))
        self.progress_text = w.HTML()
        self.progress_row = w.HBox([self.progress, self.progress_text],
                                   layout=w.Layout(display="none"))
        self.stale = w.HTML(layout=w.Layout(display="none"))
        self.view = ResultTabs()
        self.tabs, self.responses = self.view.tabs, self.view.responses
        self.scores, self.charts = self.view.scores, self.view.charts
        self.task_filter, self.verdict_filter = self.view.task_filter, self.view.verdict_filter
        self.base_dropdown.observe(self.on_base_change, names="value")
        self.editor.observe(lambda _: self.update_diff(), names="value")
        self.save_name.observe(lambda _: self._show_names(), names="value")
        for changed in (self.judge_box, self.repeats, self.model_text):
            changed.observe(lambda _: self.update_judge_note(), names="value")
        self.task_select.observe(lambda _: self.update_judge_note())
        self.run_button.on_click(self.on_run)
        self.stop_button.on_click(self.on_stop)
        self.save_button.on_click(self.on_save)
        self.reset_button.on_click(self.on_reset)

    def _build_layout(self) -> None:
        import ipywidgets as w

        self.widget = w.VBox([
            w.HBox([self.base_dropdown, self.model_text, self.repeats]),
            self.task_select.widget, self.editor_label, self.editor, self.diff,
            w.HBox([self.run_button, self.stop_button, self.reset_button, self.save_name,
                    self.save_button]),
            self.run_names, w.HBox([self.judge_box, self.judge_note]),
            self.progress_row, self.status, self.stale, self.tabs,
        ])

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # -- state ---------------------------------------------------------------------------
    @property
    def base(self) -> Agent:
        """The base variant chosen in the dropdown."""
        return next(v for v in self.variants if v.name == self.base_dropdown.value)

    @property
    def running(self) -> bool:
        """Whether a run started here has not finished yet (scoring included)."""
        return not self._idle.is_set()

    def selected_tasks(self) -> list[Task]:
        """The tasks chosen in the task list, in suite order."""
        chosen = set(self.task_select.value)
        return [t for t in self.tasks if t.id in chosen]

    def edited_name(self) -> str:
        """The name the next Run gives the editor's prompt: "Save as", or ``<base>-edited``."""
        return self.save_name.value.strip() or f"{self.base.name}-edited"

    def edited_variant(self) -> Agent:
        """The variant the editor describes, named by :meth:`edited_name`.

        Raises:
            AgentFileError: Empty prompt or invalid name.
            ConfigError: The name is the base's own.
        """
        base, name = self.base, self.edited_name()
        if name == base.name:
            raise ConfigError(f"the edited variant needs a name other than its base's ({name!r})")
        return base.with_body(self.editor.value, name=name)

    def say(self, text: str, kind: MessageKind = "info") -> None:
        """Show a one-line message in the status area (kept in :attr:`message`)."""
        self.message = " ".join(text.split())
        self.status.value = message_html(self.message, kind)

    def wait(self, timeout: float | None = None) -> Run | None:
        """Wait until the current run has ended and its results are shown.

        Args:
            timeout: Seconds to wait at most (``None``: as long as it takes).

        Returns:
            The run that just ended, or ``None`` when it failed (the status says why).

        Raises:
            TimeoutError: The run is still going after ``timeout`` seconds.
        """
        if not self._idle.wait(timeout):
            raise TimeoutError(f"the playground's run is still going after {timeout}s")
        return self._outcome

    # -- editing -------------------------------------------------------------------------
    def on_base_change(self, change: dict[str, Any] | None = None) -> None:
        """Load the chosen base variant's prompt into the editor."""
        if self._loading_base or (change is not None and change["new"] == self._current_base):
            return  # options being refreshed (a save), or the same base again
        base = self.base
        self._current_base = base.name
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
        self.diff.value = STYLE + diff_html(
            base.body, _normalized(self.editor.value), from_name=base.name,
            to_name=self.edited_name())
        self._show_names()

    def _show_names(self) -> None:
        import html

        base, edited = html.escape(self.base.name), html.escape(self.edited_name())
        self.editor_label.value = (
            f"<b>System prompt of <code>{edited}</code></b> — starts as a copy of "
            f"<code>{base}</code>; the diff under it shows what you changed")
        self.run_names.value = (
            f"<span class='al-dimtext'>Next Run compares <b>{base}</b> (base) with "
            f"<b>{edited}</b> (this editor)</span>")

    def update_judge_note(self) -> None:
        """Show the LLM judge's worst-case cost (or why it cannot judge) while it is ticked."""
        if not self.judge_box.value:
            self.judge_note.value = ""
            return
        try:
            estimate = self._judge_estimate()
        except AgentlabError as exc:
            self.judge_note.value = message_html(f"LLM judge: {one_line(exc)}", "warn")
            return
        cost = "unknown price" if estimate.cost_usd is None else f"at most ${estimate.cost_usd:.3f}"
        self.judge_note.value = message_html(
            f"LLM judge: {estimate.calls} calls to {estimate.model}, {cost} (worst case: "
            "every answer and judgement at its token limit)")

    def _judge_estimate(self) -> CostEstimate:
        from agentlab.providers._registry import select_provider
        from agentlab.providers.models import ModelTable, choose_model
        from agentlab.scoring.judge import estimate_judge

        model = self.model_text.value.strip() or None
        table = ModelTable()
        judged = [choose_model(model, self.base.model, self.default_model, table)]
        tokens = (self.options.max_tokens if self.options is not None
                  else select_provider(self.provider, model).default_max_tokens)
        return estimate_judge(self.selected_tasks(), answers_per_task=2 * int(self.repeats.value),
                              judged_models=judged, answer_tokens=tokens,
                              judge_model=self.judge_model, provider=self.judge_provider,
                              table=table)

    def on_save(self, _button: object = None) -> Path | None:
        """Save the editor's prompt as a new variant file in ``agents_dir``.

        The saved variant becomes the base; the editor keeps its text.

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
            self.say(one_line(exc), "error")
            return None
        self.variants.append(saved)
        # Refreshing the options moves the value through the first option: without the
        # guard that would load another base's prompt over the edit (issue 12, bug 1).
        self._loading_base = True
        try:
            with self.base_dropdown.hold_sync():
                self.base_dropdown.options = [v.name for v in self.variants]
                self.base_dropdown.value = self._current_base = saved.name
        finally:
            self._loading_base = False
        self.save_name.value = ""
        self.update_diff()
        self.say(f"saved {target}; {name!r} is now the base, so the next Run compares your "
                 f"next edits ({self.edited_name()}) with it", "ok")
        return target

    # -- running -------------------------------------------------------------------------
    def on_run(self, _button: object = None) -> RunHandle | None:
        """Start the base vs edited run in the background; ignored while one is going.

        Returns:
            The run's handle, or ``None`` when it did not start (the status area says
            why, unless a run was already going).
        """
        if self.running:
            return None  # a second click (double click) while a run goes
        self._idle.clear()
        try:
            return self._start()
        except AgentlabError as exc:
            self.say(one_line(exc), "error")
        except Exception as exc:  # a bug must reach the user as one line, not be lost
            log.exception("agentlab playground: run failed to start")
            self.say(f"unexpected {type(exc).__name__}: {one_line(exc)}", "error")
        self._outcome = None
        self._set_running(False)
        self._idle.set()
        return None

    def _start(self) -> RunHandle:
        from agentlab.runs._handle import start

        base, edited, tasks = self.base, self.edited_variant(), self.selected_tasks()
        if not tasks:
            raise ConfigError("select at least one task")
        judging = bool(self.judge_box.value)
        if judging:
            try:
                self._judge_estimate()
            except AgentlabError as exc:
                raise ConfigError(f"LLM judge: {one_line(exc)}; untick it to run without "
                                  "the judge") from None
        repeats = int(self.repeats.value)
        cells = 2 * len(tasks) * repeats
        self._job = _Job(base, edited, tuple(tasks), judging, time.monotonic(), repeats)
        self._set_running(True)
        self.say(f"running {cells} cells ({base.name} vs {edited.name}) in the background; "
                 "Stop keeps the cells that finished")
        self._streamed_at = 0.0
        self.handle = start(
            [base, edited], tasks, repeats=repeats, model=self.model_text.value.strip() or None,
            provider=self.provider, options=self.options, db=self.db,
            progress=self._on_progress, default_model=self.default_model,
            concurrency=self.concurrency, name=f"playground: {base.name} vs {edited.name}")
        self.handle.add_done_callback(self._finish)
        return self.handle

    def on_stop(self, _button: object = None) -> None:
        """Stop the current run: calls in flight are cancelled, finished cells are kept."""
        if self.handle is None or self.handle.done:
            return
        self.handle.stop()
        self.stop_button.disabled = True
        self.say("stopping: cancelling the calls in flight; finished cells are kept", "warn")

    def _set_running(self, running: bool) -> None:
        self.run_button.disabled, self.stop_button.disabled = running, not running
        self.run_button.description = "Running…" if running else "Run"
        self.stop_button.button_style = "danger" if running else ""
        if running:
            self.progress.value, self.progress.max = 0, 1
            self.progress_text.value = ""
        self.progress.layout.visibility = "visible" if running else "hidden"
        self.progress_row.layout.display = "" if running else "none"

    def _on_progress(self, done: int, total: int) -> None:
        """Move the progress bar and stream answers in (on the runner's thread)."""
        self.progress.max = max(1, total)
        self.progress.value = done
        handle = self.handle
        text = str(handle.progress) if handle is not None else f"{done}/{total} cells"
        self.progress_text.value = f"<span class='al-dimtext'>{text}</span>"
        now = time.monotonic()
        if handle is not None and (now - self._streamed_at >= STREAM_EVERY_S or done >= total):
            self._streamed_at = now
            self._stream(handle)

    def _stream(self, handle: RunHandle) -> None:
        """Show the answers committed so far, unscored, while the run goes on."""
        from agentlab.runs._results import results_dataframe

        job, saved = self._job, handle.saved
        if job is None or not saved:
            return
        df = results_dataframe(handle.run_id or "", saved)
        self.view.draw_responses(Shown(df, [job.base.name, job.edited.name], job.tasks,
                                       "waiting for the answer…", job.repeats))

    def _finish(self, handle: RunHandle) -> None:
        """Score and show a run that ended, or say why it failed (on the runner's thread)."""
        job = self._job
        outcome: Run | None = None
        try:
            run = handle.result()
            if job is not None:
                outcome = self._show_run(run, job)
        except AgentlabError as exc:
            self._failed(one_line(exc))
        except Exception as exc:  # a bug must reach the user as one line, not be lost
            log.exception("agentlab playground: run failed")
            self._failed(f"unexpected {type(exc).__name__}: {one_line(exc)}")
        finally:
            self._outcome = outcome
            self._set_running(False)
            self._idle.set()

    def _failed(self, text: str) -> None:
        self.say(text, "error")
        if self.last_run is not None:
            self._mark_stale(f"The results below are from the previous run ({self.last_run.id}); "
                             "the last run failed.")

    def _mark_stale(self, text: str | None) -> None:
        """Show (or with ``None`` hide) the banner that says the results are old ones."""
        if text is not None:
            self.view.restore()  # put back what streaming the failed run replaced
        self.stale.value = "" if text is None else (
            f"{STYLE}<div class='al-root'><div class='al-stale'>{text}</div></div>")
        self.stale.layout.display = "none" if text is None else ""

    def _show_run(self, run: Run, job: _Job) -> Run | None:
        from agentlab.scoring._score import score_dataframe

        df = run.to_dataframe()
        if df.empty:
            self.say(f"{run.status} (run {run.id}); nothing finished to show", "warn")
            if self.last_run is not None:
                self._mark_stale(f"The results below are from the previous run "
                                 f"({self.last_run.id}).")
            return run
        scored = score_dataframe(df, tasks=job.tasks)
        note = ""
        if job.judge:
            scored, note = self._judged(scored, job)
        self.last_run, self.results = run, scored
        self._mark_stale(None)
        stopped = run.status.startswith("stopped")
        self.view.show(scored, job.base.name, job.edited.name, job.tasks, repeats=job.repeats,
                       empty="not run (stopped before it)" if stopped else "no result")
        self.say(self._summary_line(run, job) + note,
                 "ok" if run.status == "complete" and not run.errors and not note else "warn")
        return run

    def _judged(self, scored: pd.DataFrame, job: _Job) -> tuple[pd.DataFrame, str]:
        from agentlab.scoring.judge import judge

        self.say(f"judging {int((~scored['text'].isna()).sum())} answers with the LLM judge…")
        try:
            return judge(scored, job.tasks, judge_model=self.judge_model,
                         provider=self.judge_provider, db=self.db, progress=False), ""
        except AgentlabError as exc:
            return scored, f"; LLM judge failed: {one_line(exc)}"

    @staticmethod
    def _summary_line(run: Run, job: _Job) -> str:
        reused = max(0, len(run.results) - run.requests_sent)
        errors = f", {run.errors} errors" if run.errors else ""
        same = " (the edited prompt equals the base)" if job.edited.body == job.base.body else ""
        took = f"{time.monotonic() - job.started:.1f}s"
        head = (f"{run.status} (run {run.id}, {took})" if run.status.startswith("stopped")
                else f"run {run.id} {run.status}: {len(run.results)} cells in {took}")
        return (f"{head}; sent {run.requests_sent} requests, {reused} cells from cache"
                f"{errors}{same}")

    def show(self, df: pd.DataFrame, base: str, edited: str, tasks: Sequence[Task]) -> None:
        """Fill the Responses, Scores and Charts tabs from a scored results table."""
        self.view.show(df, base, edited, tasks)
