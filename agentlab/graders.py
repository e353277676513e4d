"""Graders: score a response in [0, 1] with a short reason.

A grader type is a factory registered under a name; a check spec from a task file
names the type and its parameters, and :func:`make_grader` turns it into a callable::

    checks:
      - {type: contains, value: [BaseModel, Depends], mode: all, case: false, weight: 2}
      - {type: regex, pattern: 'async def [a-z_]+', name: async_handler}
      - {type: mypy_strict, timeout: 60}

Every spec may also carry ``name`` (column ``score_<name>``; defaults to the type),
``weight`` (in the weighted mean ``quality``; default 1) and ``threshold`` (the
score at which the check counts as passed; default: the grader's own notion).

The code graders (``code_parses``, ``type_coverage``, ``no_any``,
``pydantic_models``, ``ruff_clean``, ``mypy_strict``) live in
:mod:`agentlab.codecheck`; they read the code and never run it.
"""

from __future__ import annotations

import difflib
import inspect
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from .errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CheckSpec", "Grade", "GradeContext", "Grader", "GraderLike", "NamedGrader", "TaskLike",
    "as_grader", "default_code_graders", "grade", "grader_names", "make_grader",
    "register_grader", "score_dataframe", "spec_error",
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
    """

    name: str
    type: str
    grader: Grader
    weight: float = 1.0
    threshold: float | None = None
    key: str = ""
    slow: bool = False

    def __call__(self, response: str, task: GradeContext) -> Grade:
        """Grade ``response``, applying the spec's threshold if it has one."""
        result = self.grader(response, task)
        if self.threshold is not None:
            result = replace(result, passed=result.score >= self.threshold - 1e-9)
        return result


PlainGrader = Callable[[str, GradeContext], "Grade | float | bool"]
GraderLike = Mapping[str, Any] | str | NamedGrader | PlainGrader
"""A check spec (mapping or bare type name), a built grader, or a plain callable."""

F = TypeVar("F", bound=Callable[..., Grader])
_COMMON = ("type", "name", "weight", "threshold")


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
class _GraderType:
    factory: Callable[..., Grader]
    model: type[CheckSpec]
    slow: bool


_REGISTRY: dict[str, _GraderType] = {}


def _spec_model(name: str, factory: Callable[..., Grader]) -> type[CheckSpec]:
    try:
        hints = get_type_hints(factory)
    except (NameError, TypeError):  # names local to a test or notebook cell
        hints = {}
    fields: dict[str, Any] = {}
    for param in inspect.signature(factory).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.name in _COMMON:
            raise ConfigError(f"grader {name!r}: parameter {param.name!r} is reserved; rename it")
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (hints.get(param.name, Any), default)
    model: type[CheckSpec] = create_model(f"{name}_check", __base__=CheckSpec, **fields)
    return model


def register_grader(name: str, *, slow: bool = False) -> Callable[[F], F]:
    """Register a grader factory under ``name`` (a decorator).

    The factory's keyword parameters, with their annotations and defaults, are the
    spec's fields; they are validated with pydantic and unknown keys are rejected.

    Registering a name again replaces the earlier factory (re-running a notebook cell).

    Args:
        name: The ``type`` used in check specs.
        slow: Whether the grader runs a subprocess (graded in a thread pool).

    Returns:
        A decorator that registers the factory and returns it unchanged.

    Raises:
        ConfigError: A factory parameter uses a reserved name.
    """

    def decorate(factory: F) -> F:
        _REGISTRY[name] = _GraderType(factory, _spec_model(name, factory), slow)
        return factory

    return decorate


def grader_names() -> list[str]:
    """The registered grader types, sorted."""
    return sorted(_REGISTRY)


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
    entry = _REGISTRY.get(kind)
    if entry is None:
        close = difflib.get_close_matches(kind, _REGISTRY, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"unknown grader type {kind!r}; {hint}known: {', '.join(grader_names())}"
        )
    try:
        checked = entry.model.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(kind, entry.model, exc) from None
    params = checked.model_dump(exclude=set(_COMMON))
    key_fields = checked.model_dump(mode="json", exclude={"name", "weight"})
    return NamedGrader(
        name=checked.name or kind,
        type=kind,
        grader=entry.factory(**params),
        weight=checked.weight,
        threshold=checked.threshold,
        key=json.dumps(key_fields, sort_keys=True, default=str),
        slow=entry.slow,
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


# -- text graders -------------------------------------------------------------------


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _presence(kind: str, value: str | list[str], case: bool) -> Callable[[str], list[bool]]:
    needles = _as_list(value)
    if not needles:
        raise spec_error(kind, "value", "give at least one string")

    def found(response: str) -> list[bool]:
        text = response if case else response.casefold()
        return [(n if case else n.casefold()) in text for n in needles]

    return found


def _short(items: list[str]) -> str:
    text = ", ".join(repr(i) for i in items[:5])
    return text + (", ..." if len(items) > 5 else "")


@register_grader("contains")
def contains(
    value: str | list[str], mode: Literal["all", "any"] = "all", case: bool = True
) -> Grader:
    """Check that the response contains the given strings.

    Args:
        value: A string or a list of strings.
        mode: ``all``: score is the fraction found, passed when all are found;
            ``any``: 1 when at least one is found.
        case: Match case exactly (``false`` ignores case).

    Returns:
        The grader.
    """
    needles, found = _as_list(value), _presence("contains", value, case)

    def check(response: str, task: GradeContext) -> Grade:
        hits = found(response)
        missing = [n for n, h in zip(needles, hits, strict=True) if not h]
        if mode == "any":
            first = next((n for n, h in zip(needles, hits, strict=True) if h), None)
            return grade(1.0, f"found {first!r}") if first is not None else grade(
                0.0, f"none of {_short(needles)} found")
        reason = f"missing {_short(missing)}" if missing else f"all {len(needles)} found"
        return grade(sum(hits) / len(hits), reason)

    return check


@register_grader("not_contains")
def not_contains(
    value: str | list[str], mode: Literal["all", "any"] = "all", case: bool = True
) -> Grader:
    """Check that the response does not contain the given strings.

    Args:
        value: A string or a list of strings.
        mode: ``all``: every string must be absent (score is the fraction absent);
            ``any``: at least one must be absent.
        case: Match case exactly (``false`` ignores case).

    Returns:
        The grader.
    """
    needles, found = _as_list(value), _presence("not_contains", value, case)

    def check(response: str, task: GradeContext) -> Grade:
        hits = found(response)
        present = [n for n, h in zip(needles, hits, strict=True) if h]
        if mode == "any":
            ok = not all(hits)
            return grade(1.0 if ok else 0.0, "ok" if ok else f"all of {_short(needles)} present")
        reason = f"contains {_short(present)}" if present else "none present"
        return grade(1 - sum(hits) / len(hits), reason)

    return check


_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


@register_grader("regex")
def regex(pattern: str, flags: str = "", must_match: bool = True) -> Grader:
    """Check the response against a regular expression (``re.search``).

    Args:
        pattern: A Python regular expression.
        flags: Letters from ``imsx`` (ignore case, multiline, dot-all, verbose).
        must_match: ``true``: pass when it matches; ``false``: pass when it does not.

    Returns:
        The grader.

    Raises:
        ConfigError: Unknown flag letter or invalid pattern.
    """
    bad = sorted(set(flags) - set(_FLAGS))
    if bad:
        raise spec_error("regex", "flags", f"unknown flag(s) {''.join(bad)!r}; use letters imsx")
    bits = 0
    for letter in flags:
        bits |= _FLAGS[letter]
    try:
        compiled = re.compile(pattern, bits)
    except re.error as exc:
        raise spec_error("regex", "pattern", f"invalid regular expression: {exc}") from None

    def check(response: str, task: GradeContext) -> Grade:
        match = compiled.search(response)
        if match is None:
            return grade(0.0 if must_match else 1.0, "no match")
        snippet = match.group(0)[:40].replace("\n", " ")
        return grade(1.0 if must_match else 0.0, f"matched {snippet!r}")

    return check


@register_grader("word_count")
def word_count(min: int | None = None, max: int | None = None) -> Grader:
    """Check that the response length in words is within bounds.

    Words are whitespace-separated tokens, as in the results' ``words`` column.
    The score is 1 inside the bounds and decays outside: ``words / min`` when too
    short, ``max / words`` when too long.

    Args:
        min: Lower bound (inclusive), if any.
        max: Upper bound (inclusive), if any.

    Returns:
        The grader.

    Raises:
        ConfigError: No bound given, or ``min`` above ``max``.
    """
    low, high = min, max
    if low is None and high is None:
        raise spec_error("word_count", None, "give min, max or both")
    if low is not None and high is not None and low > high:
        raise spec_error("word_count", "min", f"min ({low}) is above max ({high})")

    def check(response: str, task: GradeContext) -> Grade:
        words = len(response.split())
        if low is not None and words < low:
            return grade(words / low, f"{words} words, below {low}")
        if high is not None and words > high:
            return grade(high / words, f"{words} words, above {high}")
        return grade(1.0, f"{words} words")

    return check


@register_grader("exact")
def exact(equals: str, strip: bool = True, case: bool = True) -> Grader:
    """Check that the response equals a string.

    Args:
        equals: The expected response.
        strip: Ignore leading and trailing whitespace.
        case: Match case exactly.

    Returns:
        The grader.
    """

    def norm(text: str) -> str:
        text = text.strip() if strip else text
        return text if case else text.casefold()

    expected = norm(equals)

    def check(response: str, task: GradeContext) -> Grade:
        ok = norm(response) == expected
        return grade(1.0 if ok else 0.0, "equal" if ok else "differs")

    return check


_JSON_FENCE = re.compile(r"```(?:json)?[ \t]*\n(.*?)\n```", re.DOTALL)


@register_grader("json_valid")
def json_valid(fenced: bool = True) -> Grader:
    """Check that the response is valid JSON.

    Args:
        fenced: Also accept a response whose fenced (```json) blocks all parse,
            when the whole response is not JSON.

    Returns:
        The grader.
    """

    def check(response: str, task: GradeContext) -> Grade:
        try:
            json.loads(response)
            return grade(1.0, "valid JSON")
        except ValueError as exc:
            first = f"invalid JSON: {exc}"
        blocks = _JSON_FENCE.findall(response) if fenced else []
        if not blocks:
            return grade(0.0, first)
        for n, block in enumerate(blocks, 1):
            try:
                json.loads(block)
            except ValueError as exc:
                return grade(0.0, f"block {n}: invalid JSON: {exc}")
        return grade(1.0, f"{len(blocks)} valid JSON block(s)")

    return check


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
    has_error = "error" in df.columns
    for task_id, text, error in zip(
        df["task_id"].astype(str), df["text"], df["error"] if has_error else [None] * len(df),
        strict=True,
    ):
        if task_id not in per_task:
            ctx, checks = table.get(task_id, (GradeContext(task_id=task_id), ()))
            own = [as_grader(c) for c in checks] or fallback
            per_task[task_id] = (ctx, _unique_names(own + run_wide))
        ctx, row_graders = per_task[task_id]
        if (isinstance(error, str) and error) or not row_graders:
            plan.append(None)
            continue
        row = []
        for g in row_graders:
            job = (g.key, text if isinstance(text, str) else "", ctx)
            jobs.setdefault(job, g)
            row.append((g, job))
        plan.append(row)
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


from . import codecheck as _codecheck  # noqa: E402, F401 - registers the code graders
