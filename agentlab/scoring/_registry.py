"""The grader registry: what a grade is, and how grader types are registered.

The modules that define graders (:mod:`agentlab.scoring._text`, :mod:`agentlab.scoring._code`)
import this one, and :mod:`agentlab.scoring` imports them, so the registry lives
here to keep the imports free of cycles. Users import these names from
:mod:`agentlab.scoring`, which re-exports them.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model

from agentlab.errors import ConfigError
from agentlab.scoring.metrics import Direction, Metric, grader_metric, register_metric

__all__ = [
    "COMMON_FIELDS", "CheckSpec", "Grade", "GradeContext", "Grader", "GraderType", "grade",
    "grader_names", "grader_type", "register_grader", "spec_error",
]


@dataclass(frozen=True)
class Grade:
    """The result of one grader on one response.

    Attributes:
        score: In [0, 1]; 1 is best.
        reason: A short human-readable explanation.
        passed: Whether the response meets the check.
    """

    score: float
    reason: str
    passed: bool


@dataclass(frozen=True)
class GradeContext:
    """What a grader may know about the task besides the response.

    Attributes:
        task_id: The task id.
        prompt: The user's request.
        context: Existing code or text given with the prompt, if any.
        tags: The task's labels.
    """

    task_id: str = ""
    prompt: str = ""
    context: str | None = None
    tags: tuple[str, ...] = ()


class Grader(Protocol):
    """A callable that grades one response."""

    def __call__(self, response: str, task: GradeContext) -> Grade:
        """Grade ``response`` to ``task``."""
        ...


def grade(score: float, reason: str, threshold: float = 1.0) -> Grade:
    """Build a :class:`Grade`, clamping the score and deriving ``passed``.

    Args:
        score: The raw score; clamped to [0, 1].
        reason: A short explanation.
        threshold: The score at or above which the grade passes.

    Returns:
        The grade.
    """
    value = min(1.0, max(0.0, float(score)))
    return Grade(value, reason, value >= threshold - 1e-9)


F = TypeVar("F", bound=Callable[..., Grader])
COMMON_FIELDS = ("type", "name", "weight", "threshold")
"""Spec fields every grader type accepts; factories may not use these names."""


class CheckSpec(BaseModel):
    """Fields every check spec accepts (each grader type adds its own)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: str
    """The grader type, e.g. ``contains``."""
    name: str | None = Field(default=None, min_length=1)
    """Column name suffix; defaults to the type."""
    weight: float = Field(default=1.0, ge=0)
    """Weight in the weighted mean ``quality``."""
    threshold: float | None = Field(default=None, ge=0, le=1)
    """Score needed to pass; defaults to the grader's own rule."""


@dataclass(frozen=True)
class GraderType:
    """A registered grader type.

    Attributes:
        factory: Builds the grader from the spec's own fields.
        model: Validates a spec of this type (common fields included).
        slow: Whether the grader runs a subprocess (graded in a thread pool).
        metric: What its ``score_<type>`` column means (see :mod:`agentlab.scoring.metrics`).
        reads: What the grader is given as its ``response``: the response ``text``, or an
            agentic ``trial``'s record (JSON, the results column ``trial``); a trial grader
            does not apply (NaN) to rows without one.
    """

    factory: Callable[..., Grader]
    model: type[CheckSpec]
    slow: bool
    metric: Metric
    reads: Literal["text", "trial"] = "text"


_REGISTRY: dict[str, GraderType] = {}


def _spec_model(name: str, factory: Callable[..., Grader]) -> type[CheckSpec]:
    try:
        hints = get_type_hints(factory)
    except (NameError, TypeError):  # names local to a test or notebook cell
        hints = {}
    fields: dict[str, Any] = {}
    for param in inspect.signature(factory).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.name in COMMON_FIELDS:
            raise ConfigError(f"grader {name!r}: parameter {param.name!r} is reserved; rename it")
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (hints.get(param.name, Any), default)
    model: type[CheckSpec] = create_model(f"{name}_check", __base__=CheckSpec, **fields)
    return model


def register_grader(
    name: str, *, slow: bool = False, label: str | None = None, direction: Direction = "higher",
    reads: Literal["text", "trial"] = "text",
) -> Callable[[F], F]:
    """Register a grader factory under ``name`` (a decorator), and declare its metric.

    The factory's keyword parameters, with their annotations and defaults, are the
    spec's fields; they are validated with pydantic and unknown keys are rejected.
    The grader's column ``score_<name>`` is declared in the metric registry
    (:mod:`agentlab.scoring.metrics`): in [0, 1], with ``label`` and ``direction``.

    Registering a name again replaces the earlier factory (re-running a notebook cell).

    Args:
        name: The ``type`` used in check specs.
        slow: Whether the grader runs a subprocess (graded in a thread pool).
        label: How charts and reports name the score; default ``"<name> score"``.
        direction: ``higher`` (1 is best, the :class:`Grade` contract) or ``None`` for a
            score that describes rather than ranks (comparisons then read higher/lower).
        reads: ``"trial"`` for a grader of agentic trials: it is given the trial's record
            (JSON) instead of the response text (see :mod:`agentlab.scoring._trial`).

    Returns:
        A decorator that registers the factory and returns it unchanged.

    Raises:
        ConfigError: A factory parameter uses a reserved name, or ``direction`` is invalid.
    """
    metric = grader_metric(name, label, direction)

    def decorate(factory: F) -> F:
        _REGISTRY[name] = GraderType(factory, _spec_model(name, factory), slow, metric, reads)
        register_metric(metric)
        return factory

    return decorate


def grader_names() -> list[str]:
    """The registered grader types, sorted."""
    return sorted(_REGISTRY)


def grader_type(kind: str) -> GraderType:
    """The registered grader type called ``kind``.

    Args:
        kind: The ``type`` of a check spec.

    Returns:
        The registered type.

    Raises:
        ConfigError: No grader type has that name; the message suggests a close one.
    """
    entry = _REGISTRY.get(kind)
    if entry is None:
        close = difflib.get_close_matches(kind, _REGISTRY, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"unknown grader type {kind!r}; {hint}known: {', '.join(grader_names())}"
        )
    return entry


def spec_error(kind: str, field: str | None, message: str) -> ConfigError:
    """A :class:`ConfigError` naming the grader type and field (for factories).

    Args:
        kind: The grader type.
        field: The spec field at fault, if any.
        message: What is wrong and how to fix it.

    Returns:
        The error, to be raised by the caller.
    """
    where = f", field {field!r}" if field else ""
    return ConfigError(f"grader {kind!r}{where}: {message}")
