"""Notebook widgets (ipywidgets 8): the prompt playground and the results browser.

::

    from agentlab.views import widgets
    pg = widgets.playground("data/agents", "data/tasks/backend.yaml")   # edit, run, compare
    widgets.results_browser(run)                                        # read every response

Both only call library functions (``agentlab.start``, ``scoring.score_dataframe``,
``stats.summary``, ``charts.all_charts``) and show everything a model wrote through
:mod:`agentlab.views._html`, which escapes it. The playground's runs go in the
background: the kernel stays free while they run, answers stream in as cells finish,
and **Stop** keeps what finished. Handlers are public methods, so everything also works
without a browser (``pg.run_button.click()``, then ``pg.wait()``). Problems are shown as
a one-line message, never as a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentlab.views._browser import ResultsBrowser
from agentlab.views._playground import DEFAULT_AGENTS, DEFAULT_TASKS, Playground
from agentlab.views._responses import QUALITY_GAP, disagreements
from agentlab.views._taskpicker import TaskPicker

if TYPE_CHECKING:
    import pandas as pd

    from agentlab.agents._agent import Agent
    from agentlab.runs._runner import Run
    from agentlab.tasks import Task

__all__ = ["QUALITY_GAP", "Playground", "ResultsBrowser", "TaskPicker", "disagreements",
           "playground", "results_browser"]


def playground(variants: Sequence[Agent] | Path | str = DEFAULT_AGENTS,
               tasks: Sequence[Task] | Path | str = DEFAULT_TASKS, **kwargs: Any) -> Playground:
    """Create a :class:`Playground`; display it by leaving it last in a cell.

    Args:
        variants: Base variants, or a folder of agent files.
        tasks: Tasks, or a task file.
        **kwargs: Other :class:`Playground` arguments (``db``, ``provider``, ``model``,
            ``options``, ``agents_dir``, ``repeats``, ``default_model``, ``concurrency``,
            ``base``: the variant to start from, default the one the others extend;
            ``judge_model``, ``judge_provider``).

    Returns:
        The playground.
    """
    return Playground(variants, tasks, **kwargs)


def results_browser(results: pd.DataFrame | Run, tasks: Sequence[Task] | None = None,
                    **kwargs: Any) -> ResultsBrowser:
    """Create a :class:`ResultsBrowser`; display it by leaving it last in a cell.

    Args:
        results: A results DataFrame or a run.
        tasks: The tasks, for prompts, check names and scoring (a run brings its own).
        **kwargs: Other :class:`ResultsBrowser` arguments (``score``).

    Returns:
        The browser.
    """
    return ResultsBrowser(results, tasks, **kwargs)
