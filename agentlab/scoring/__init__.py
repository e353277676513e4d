"""Scoring: graders that turn a response into scores, and the metrics they declare.

A grader type is a factory registered by name in ``_registry`` (so task files and the CLI can
name it); ``_text`` and ``_code`` define the built-in types (wording and format; Python read
with ``ast``, ruff and mypy, never executed), ``_tools`` runs the linters on text in a
subprocess, ``_score`` scores a results table, and ``judge`` asks an LLM for rubric grades and
pairwise preferences. ``metrics`` says once what every score column means: its direction,
bounds, unit and label.
"""

from agentlab.scoring._registry import (
    Grade,
    GradeContext,
    Grader,
    grader_names,
    register_grader,
)
from agentlab.scoring._score import (
    check_labels,
    default_code_graders,
    make_grader,
    score_dataframe,
)
from agentlab.scoring.metrics import Metric, get_metric, register_metric

__all__ = [
    "Grade",
    "GradeContext",
    "Grader",
    "Metric",
    "check_labels",
    "default_code_graders",
    "get_metric",
    "grader_names",
    "make_grader",
    "register_grader",
    "register_metric",
    "score_dataframe",
]
