"""Graders: turn check specs into graders and score a results table.

A grader type is a factory registered under a name; a check spec from a task file
names the type and its parameters, and :func:`make_grader` turns it into a callable::

    checks:
      - {type: contains, value: [BaseModel, Depends], mode: all, case: false, weight: 2}
      - {type: regex, pattern: 'async def [a-z_]+', name: async_handler}
      - {type: mypy_strict, timeout: 60}

Every spec may also carry ``name`` (column ``score_<name>``; defaults to the type),
``weight`` (in the weighted mean ``quality``; default 1) and ``threshold`` (the
score at which the check counts as passed; default: the grader's own notion).

The registry and :class:`Grade` live in :mod:`agentlab.scoring._registry` (re-exported
here); the text graders (``contains``, ``not_contains``, ``regex``, ``word_count``,
``exact``, ``json_valid``) in :mod:`agentlab.scoring._text`; the code graders
(``code_parses``, ``type_coverage``, ``no_any``, ``pydantic_models``, ``ruff_clean``,
``mypy_strict``) in :mod:`agentlab.scoring._code`, which reads the code and never runs
it. Importing this module registers all of them.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError

from agentlab.errors import ConfigError
from agentlab.runs._results import error_rows

# codecheck and textcheck are imported for their side effect: registering graders.
from agentlab.scoring import _code as codecheck  # noqa: F401
from agentlab.scoring import _text as textcheck  # noqa: F401
from agentlab.scoring import _trial as trialcheck  # noqa: F401
from agentlab.scoring._registry import (
    COMMON_FIELDS,
    CheckSpec,
    Grade,
    GradeContext,
    Grader,
    grade,
    grader_names,
    grader_type,
    register_grader,
    spec_error,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CheckSpec", "Grade", "GradeContext", "Grader", "GraderLike", "NamedGrader", "TaskLike",
    "as_grader", "check_labels", "default_code_graders", "grade", "grader_names", "make_grader",
    "register_grader", "score_dataframe", "spec_error",
]


@dataclass(frozen=True)
class NamedGrader:
    """A grader with the name, weight and threshold its spec gave it.

    Attributes:
        name: Column suffix (``score_<name>``).
        type: The registered type, or ``"callable"`` for a plain function.
        grader: The underlying callable.
        weight: Weight in ``quality``.
        threshold: Overrides the grader's own ``passed`` when set.
        key: Identity of what the grader computes (not its name or weight), used to
            grade each distinct (response, check) pair once.
        slow: Whether it runs a subprocess (graded in a thread pool).
        reads: ``text`` (the response) or ``trial`` (an agentic trial's record, JSON).
    """

    name: str
    type: str
    grader: Grader
    weight: float = 1.0
    threshold: float | None = None
    key: str = ""
    slow: bool = False
    reads: str = "text"

    def __call__(self, response: str, task: GradeContext) -> Grade:
        """Grade ``response``, applying the spec's threshold if it has one."""
        result = self.grader(response, task)
        if self.threshold is not None:
            result = replace(result, passed=result.score >= self.threshold - 1e-9)
        return result


PlainGrader = Callable[[str, GradeContext], "Grade | float | bool"]
GraderLike = Mapping[str, Any] | str | NamedGrader | PlainGrader
"""A check spec (mapping or bare type name), a built grader, or a plain callable."""


def _validation_error(kind: str, model: type[CheckSpec], exc: ValidationError) -> ConfigError:
    # An unknown key is usually a typo of a required one: report it, not the "missing".
    err = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
    field = ".".join(str(p) for p in err["loc"]) or None
    if err["type"] == "missing":
        return spec_error(kind, field, "required field is missing; add it")
    if err["type"] == "extra_forbidden":
        valid = sorted(model.model_fields)
        close = difflib.get_close_matches(str(err["loc"][0]), valid, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return spec_error(kind, field, f"unknown field; {hint}valid fields: {', '.join(valid)}")
    return spec_error(kind, field, f"{err['msg']} (got {err.get('input')!r})")


def make_grader(spec: Mapping[str, Any] | str) -> NamedGrader:
    """Build a grader from a check spec.

    Args:
        spec: A mapping such as ``{"type": "contains", "value": "Depends"}``, or a
            bare type name such as ``"code_parses"``.

    Returns:
        The grader, named ``spec["name"]`` or its type.

    Raises:
        ConfigError: Unknown type, unknown or invalid field; the message names the
            grader type and field.
    """
    data: dict[str, Any] = {"type": spec} if isinstance(spec, str) else dict(spec)
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ConfigError(f"check spec {data!r} has no 'type'; add e.g. type: contains")
    entry = grader_type(kind)
    try:
        checked = entry.model.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(kind, entry.model, exc) from None
    params = checked.model_dump(exclude=set(COMMON_FIELDS))
    key_fields = checked.model_dump(mode="json", exclude={"name", "weight"})
    return NamedGrader(
        name=checked.name or kind,
        type=kind,
        grader=entry.factory(**params),
        weight=checked.weight,
        threshold=checked.threshold,
        key=json.dumps(key_fields, sort_keys=True, default=str),
        slow=entry.slow,
        reads=entry.reads,
    )


def _coerce(result: Grade | float | bool) -> Grade:
    if isinstance(result, Grade):
        return result
    if isinstance(result, bool):
        return Grade(1.0 if result else 0.0, "passed" if result else "failed", result)
    return grade(float(result), f"score {float(result):.2f}")


@dataclass(frozen=True)
class _Plain:
    fn: PlainGrader

    def __call__(self, response: str, task: GradeContext) -> Grade:
        return _coerce(self.fn(response, task))


def as_grader(item: GraderLike) -> NamedGrader:
    """Turn a spec, a :class:`NamedGrader` or a plain callable into a grader.

    A plain callable takes ``(response, task)`` and returns a :class:`Grade`, a
    float score, or a bool; it is named after the function.

    Args:
        item: What to turn into a grader.

    Returns:
        The grader.

    Raises:
        ConfigError: The spec is invalid, or ``item`` is of an unknown kind.
    """
    if isinstance(item, NamedGrader):
        return item
    if isinstance(item, str | Mapping):
        return make_grader(item)
    if callable(item):
        name = getattr(item, "__name__", "custom")
        name = "custom" if name == "<lambda>" else name
        return NamedGrader(name, "callable", _Plain(item), key=f"callable:{id(item)}")
    raise ConfigError(f"cannot use {item!r} as a grader; pass a check spec or a callable")


def default_code_graders() -> list[dict[str, Any]]:
    """The checks used for a task that has none of its own.

    Returns:
        Fresh specs for ``code_parses``, ``type_coverage``, ``no_any`` and ``ruff_clean``.
    """
    return [{"type": t} for t in ("code_parses", "type_coverage", "no_any", "ruff_clean")]


_MAIN_PARAMS = ("value", "pattern", "equals")


def _check_label(item: GraderLike) -> str:
    """What a check looks for, e.g. ``contains: Depends(get_session)``, ``word count: max 600``."""
    if isinstance(item, NamedGrader):
        return item.name
    if not isinstance(item, str | Mapping):
        return as_grader(item).name
    spec: Mapping[str, Any] = {"type": item} if isinstance(item, str) else item
    if isinstance(spec.get("name"), str):
        return str(spec["name"])
    kind = str(spec.get("type", "")).replace("_", " ")
    params = [(k, v) for k, v in spec.items() if k not in COMMON_FIELDS and v is not None]
    if not params:
        return kind
    key, value = params[0]
    shown = ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    return f"{kind}: {shown}" if key in _MAIN_PARAMS else f"{kind}: {key} {shown}"


def check_labels(checks: Sequence[GraderLike], graders: Sequence[GraderLike] = (), *,
                 defaults: Sequence[GraderLike] | None = None) -> dict[str, str]:
    """Readable names of the ``score_<name>`` columns one task's checks produce.

    The columns are named as :func:`score_dataframe` names them (a second ``contains``
    check writes ``score_contains_2``); the labels say what each check looks for.

    Args:
        checks: The task's check specs (``Task.checks``).
        graders: Run-wide graders, as for :func:`score_dataframe`.
        defaults: Checks for a task without its own, as for :func:`score_dataframe`.

    Returns:
        Column name -> label, e.g. ``{"score_contains_2": "contains: OrderStatus"}``.

    Raises:
        ConfigError: A check spec is invalid.
    """
    own = list(checks) or list(default_code_graders() if defaults is None else defaults)
    items = own + list(graders)
    named = _unique_names([as_grader(g) for g in items])
    return {f"score_{g.name}": _check_label(item) for g, item in zip(named, items, strict=True)}


# -- scoring a results table ---------------------------------------------------------


class TaskLike(Protocol):
    """Anything with an ``id`` and ``checks`` (such as :class:`agentlab.tasks.Task`)."""

    @property
    def id(self) -> str:
        """The task id."""
        ...

    @property
    def checks(self) -> Sequence[Mapping[str, Any]]:
        """The task's check specs."""
        ...


TasksArg = Mapping[str, Sequence[GraderLike]] | Iterable[TaskLike]


def _task_table(tasks: TasksArg | None) -> dict[str, tuple[GradeContext, Sequence[GraderLike]]]:
    if tasks is None:
        return {}
    table: dict[str, tuple[GradeContext, Sequence[GraderLike]]] = {}
    items = tasks.items() if isinstance(tasks, Mapping) else ((t.id, t) for t in tasks)
    for task_id, value in items:
        checks: Sequence[GraderLike] = value.checks if hasattr(value, "checks") else value
        ctx = GradeContext(
            task_id=str(task_id),
            prompt=str(getattr(value, "prompt", "")),
            context=getattr(value, "context", None),
            tags=tuple(getattr(value, "tags", ())),
        )
        table[str(task_id)] = (ctx, checks)
    return table


def _unique_names(graders: list[NamedGrader]) -> list[NamedGrader]:
    seen: dict[str, int] = {}
    out = []
    for g in graders:
        seen[g.name] = seen.get(g.name, 0) + 1
        out.append(g if seen[g.name] == 1 else replace(g, name=f"{g.name}_{seen[g.name]}"))
    return out


_Job = tuple[str, str, GradeContext]  # (grader key, response, task context)


def _run_jobs(jobs: dict[_Job, NamedGrader], max_workers: int) -> dict[_Job, Grade]:
    from concurrent.futures import ThreadPoolExecutor

    done = {job: g(job[1], job[2]) for job, g in jobs.items() if not g.slow}
    slow = [(job, g) for job, g in jobs.items() if g.slow]
    if slow:
        # mypy and ruff run as subprocesses, so threads overlap them despite the GIL.
        with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
            grades = pool.map(lambda item: item[1](item[0][1], item[0][2]), slow)
            done.update(zip((job for job, _ in slow), grades, strict=True))
    return done


def score_dataframe(
    df: pd.DataFrame,
    tasks: TasksArg | None = None,
    graders: Sequence[GraderLike] | None = None,
    *,
    defaults: Sequence[GraderLike] | None = None,
    max_workers: int = 4,
) -> pd.DataFrame:
    """Grade every response of a results table.

    A row's graders are its task's checks (or ``defaults`` when the task has none)
    followed by the run-wide ``graders``. Each distinct (response, check) pair is
    graded once; subprocess graders run in a thread pool.

    Args:
        df: Results with ``task_id`` and ``text`` (and ``error``) columns.
        tasks: Task objects (with ``id`` and ``checks``) or a mapping task id ->
            check specs.
        graders: Check specs or callables applied to every row.
        defaults: Checks for tasks without their own; ``None`` means
            :func:`default_code_graders`, ``()`` means none.
        max_workers: Threads for subprocess graders.

    Returns:
        A copy of ``df`` with ``score_<name>`` per grader (NaN where a grader does
        not apply), ``quality`` (weighted mean), ``passed`` (all graders passed,
        nullable boolean) and ``grade_reasons``; error rows get NaN / NA.

    Raises:
        ConfigError: A check spec is invalid.
    """
    import pandas as pd

    table = _task_table(tasks)
    run_wide = [as_grader(g) for g in graders or ()]
    fallback = [as_grader(g) for g in (default_code_graders() if defaults is None else defaults)]
    per_task: dict[str, tuple[GradeContext, list[NamedGrader]]] = {}
    jobs: dict[_Job, NamedGrader] = {}
    plan: list[list[tuple[NamedGrader, _Job]] | None] = []
    trials = df["trial"] if "trial" in df.columns else [""] * len(df)  # agentic trials
    for task_id, text, failed, trial in zip(
        df["task_id"].astype(str), df["text"], error_rows(df), trials, strict=True,
    ):
        if task_id not in per_task:
            ctx, checks = table.get(task_id, (GradeContext(task_id=task_id), ()))
            own = [as_grader(c) for c in checks] or fallback
            per_task[task_id] = (ctx, _unique_names(own + run_wide))
        ctx, row_graders = per_task[task_id]
        if failed or not row_graders:
            plan.append(None)
            continue
        row = []
        for g in row_graders:
            source = trial if g.reads == "trial" else text
            if g.reads == "trial" and not (isinstance(source, str) and source):
                continue  # a trial grader does not apply to a chat row: NaN
            job = (g.key, source if isinstance(source, str) else "", ctx)
            jobs.setdefault(job, g)
            row.append((g, job))
        plan.append(row or None)
    results = _run_jobs(jobs, max_workers)
    return _assemble(pd, df, plan, results)


def _assemble(
    pd: Any, df: pd.DataFrame, plan: list[list[tuple[NamedGrader, _Job]] | None],
    results: dict[_Job, Grade],
) -> pd.DataFrame:
    old = [c for c in df.columns if c.startswith("score_")]
    out = df.drop(columns=old + [c for c in ("quality", "passed", "grade_reasons")
                                 if c in df.columns])
    names = list(dict.fromkeys(g.name for row in plan if row for g, _ in row))
    scores: dict[str, list[float]] = {n: [math.nan] * len(df) for n in names}
    quality, passed = [math.nan] * len(df), [pd.NA] * len(df)
    reasons: list[str | None] = [None] * len(df)
    for i, row in enumerate(plan):
        if row is None:
            continue
        grades = [(g, results[job]) for g, job in row]
        for g, result in grades:
            scores[g.name][i] = result.score
        total = sum(g.weight for g, _ in grades)
        if total > 0:
            quality[i] = sum(g.weight * r.score for g, r in grades) / total
        passed[i] = all(r.passed for _, r in grades)
        reasons[i] = "; ".join(f"{g.name}: {r.reason}" for g, r in grades)
    for name in names:
        out[f"score_{name}"] = scores[name]
    out["quality"] = quality
    out["passed"] = pd.array(passed, dtype="boolean")
    out["grade_reasons"] = reasons
    return out

