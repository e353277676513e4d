"""The metric registry: what every results column means, declared once.

A :class:`Metric` says of one column whether higher is better, lower is better or neither
(``direction``), which values it can take (``bounds``), its ``unit`` and the ``label`` charts and
reports print. The statistics (verdict wording, interval clipping, planning bounds), the charts
(axis labels and scales), the widgets and the report all ask :func:`get_metric`; none of them
guesses a meaning from a column's name.

Who declares what:

- the columns of the results table and of scoring (``quality``, ``passed``, lengths, tokens,
  ``cost_usd``, ``latency_s``, the judge's columns) are declared in :data:`BUILTIN_METRICS`
  below, so they are known even for a table read back from a CSV file;
- every grader declares its ``score_<type>`` column when it is registered
  (:func:`agentlab.scoring.register_grader` takes ``label`` and ``direction``, like Inspect's
  ``@scorer(metrics=...)``); a grader's score is in [0, 1] by the :class:`~agentlab.scoring.Grade`
  contract, so its bounds are fixed;
- any other column can be declared with :func:`register_metric`.

A ``score_<name>`` column whose name is not a registered grader type (a spec's own ``name:``)
is still a grader score, in [0, 1] with 1 best. Every other unknown column has no direction and
no bounds: comparisons of it read "higher"/"lower", never "better"/"worse".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from agentlab.errors import ConfigError

__all__ = [
    "BUILTIN_METRICS", "SCORE_PREFIX", "Direction", "Metric", "get_metric", "grader_metric",
    "metric_names", "register_metric",
]

Direction = Literal["higher", "lower"] | None
"""Which way is an improvement: ``higher``, ``lower``, or ``None`` (neither: a description)."""

SCORE_PREFIX = "score_"
"""Scoring writes grader ``name``'s score to the column ``score_<name>``."""


@dataclass(frozen=True)
class Metric:
    """What one results column means.

    Attributes:
        name: The column.
        label: How charts and reports name it, e.g. ``"quality"`` or ``"output tokens"``.
        direction: ``higher`` or ``lower`` is better, or ``None`` for no preference.
        bounds: The smallest and largest possible values; ``None`` for no bound.
        unit: The unit, e.g. ``"0–1"``, ``"tokens"``, ``"USD"``; empty when none.
    """

    name: str
    label: str
    direction: Direction = None
    bounds: tuple[float | None, float | None] = (None, None)
    unit: str = ""

    def __post_init__(self) -> None:
        if not self.name or not self.label:
            raise ConfigError(f"metric {self.name!r}: name and label must not be empty")
        if self.direction not in ("higher", "lower", None):
            raise ConfigError(f"metric {self.name!r}: direction must be 'higher', 'lower' or "
                              f"None, got {self.direction!r}")
        low, high = self.bounds
        if low is not None and high is not None and not low < high:
            raise ConfigError(f"metric {self.name!r}: bounds must be (low, high) with low < "
                              f"high, got {self.bounds!r}")

    @property
    def low(self) -> float | None:
        """The smallest possible value, or ``None``."""
        return self.bounds[0]

    @property
    def high(self) -> float | None:
        """The largest possible value, or ``None``."""
        return self.bounds[1]

    @property
    def span(self) -> float | None:
        """``high - low`` when both bounds exist: the largest possible difference."""
        low, high = self.bounds
        return None if low is None or high is None else high - low

    @property
    def unit_interval(self) -> bool:
        """Whether the values lie in [0, 1] (a score or a rate)."""
        return self.bounds == (0.0, 1.0)

    def axis_label(self) -> str:
        """The label with its unit, e.g. ``"quality (0–1)"``.

        The unit is left out when the label already says it (``"output tokens"``).
        """
        if not self.unit or self.unit in self.label:
            return self.label
        return f"{self.label} ({self.unit})"

    def clip(self, value: float) -> float:
        """``value`` kept within the bounds; NaN stays NaN."""
        if math.isnan(value):
            return value
        if self.low is not None and value < self.low:
            return self.low
        if self.high is not None and value > self.high:
            return self.high
        return value

    def diff_bounds(self) -> tuple[float | None, float | None]:
        """The bounds of a difference of two means of this metric: ``(-span, span)``."""
        span = self.span
        return (None, None) if span is None else (-span, span)


def grader_metric(grader: str, label: str | None = None, direction: Direction = "higher"
                  ) -> Metric:
    """The metric of a grader's ``score_<grader>`` column: in [0, 1], 1 best by default.

    Args:
        grader: The grader type (or a check spec's ``name``).
        label: How charts name it; default ``"<grader> score"``.
        direction: ``higher`` (the :class:`~agentlab.scoring.Grade` contract: 1 is best) or
            ``None`` for a score that only describes.

    Returns:
        The metric.

    Raises:
        ConfigError: ``direction`` is not one of the allowed values.
    """
    return Metric(f"{SCORE_PREFIX}{grader}", label or f"{grader.replace('_', ' ')} score",
                  direction, (0.0, 1.0), "0–1")


_COUNT = (0.0, None)
BUILTIN_METRICS: tuple[Metric, ...] = (
    # scoring (agentlab.scoring.score_dataframe)
    Metric("quality", "quality", "higher", (0.0, 1.0), "0–1"),
    Metric("passed", "pass rate", "higher", (0.0, 1.0), "0–1"),
    # the LLM judge (agentlab.scoring.judge)
    Metric("judge_quality", "judge quality", "higher", (0.0, 1.0), "0–1"),
    Metric("judge_score", "judge score", "higher", (1.0, 5.0), "1–5"),
    # the results table (agentlab.runs: CellResult, LengthMetrics and the price table)
    Metric("chars", "characters", None, _COUNT, "characters"),
    Metric("words", "words", None, _COUNT, "words"),
    Metric("lines", "lines", None, _COUNT, "lines"),
    Metric("code_blocks", "code blocks", None, _COUNT, "blocks"),
    Metric("code_lines", "lines of code", None, _COUNT, "lines"),
    Metric("input_tokens", "input tokens", None, _COUNT, "tokens"),
    Metric("output_tokens", "output tokens", None, _COUNT, "tokens"),
    Metric("cache_write_tokens", "cache write tokens", None, _COUNT, "tokens"),
    Metric("cache_read_tokens", "cache read tokens", None, _COUNT, "tokens"),
    Metric("cost_usd", "cost", "lower", _COUNT, "USD"),
    Metric("latency_s", "latency", "lower", _COUNT, "seconds"),
)
"""The columns of the results table and of scoring, with their meaning."""

_METRICS: dict[str, Metric] = {m.name: m for m in BUILTIN_METRICS}


def register_metric(metric: Metric) -> Metric:
    """Declare what a column means (registering a name again replaces it).

    Args:
        metric: The declaration.

    Returns:
        ``metric``, unchanged.
    """
    _METRICS[metric.name] = metric
    return metric


def get_metric(name: str) -> Metric:
    """What the column ``name`` means.

    Args:
        name: A results column.

    Returns:
        Its registered metric; for an unregistered ``score_<name>`` column, a grader score
        (in [0, 1], higher is better); otherwise a metric without direction or bounds,
        labelled with the column name.
    """
    found = _METRICS.get(name)
    if found is not None:
        return found
    if name.startswith(SCORE_PREFIX) and len(name) > len(SCORE_PREFIX):
        return grader_metric(name.removeprefix(SCORE_PREFIX))
    return Metric(name, name.replace("_", " "))


def metric_names() -> list[str]:
    """The registered columns, sorted."""
    return sorted(_METRICS)
