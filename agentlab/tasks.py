"""Sample tasks: the prompts every variant is run on.

A task file is YAML (a list of tasks, or a mapping with a ``tasks:`` list) or JSONL
(one task object a line)::

    - id: orders-filter-endpoint
      prompt: Add an endpoint that filters orders by status and date range.
      context: {path: context/orders_api.py}   # or inline text
      tags: [endpoint, fastapi]
      checks:                                   # graders, see agentlab.scoring
        - {type: contains, value: [Depends], weight: 1}
      rubric: The answer reuses the module's existing session dependency.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agentlab._files import (
    MAX_CONTEXT_BYTES,
    MAX_TASK_FILE_BYTES,
    FileRefused,
    read_regular_file,
    resolve_inside,
)
from agentlab._yaml import YamlProblem, load_yaml
from agentlab.errors import TaskFileError

if TYPE_CHECKING:
    from agentlab.agents._agent import Agent

_LANGUAGES = {".py": "python", ".sql": "sql", ".toml": "toml", ".yaml": "yaml", ".yml": "yaml",
              ".json": "json", ".ts": "typescript", ".js": "javascript", ".md": "markdown"}

MAX_ID_LENGTH = 128
"""Longest task id accepted (ids appear in tables, charts and file names)."""


def id_problem(value: object) -> str | None:
    """Why ``value`` is not a valid task id, or ``None`` when it is."""
    if not isinstance(value, str):
        return f"must be text, not {type(value).__name__}"
    if not value.strip():
        return "is empty; give the task a short unique id"
    if len(value) > MAX_ID_LENGTH:
        return f"is {len(value):,} characters long; use at most {MAX_ID_LENGTH}"
    if not value.isprintable():
        bad = next(c for c in value if not c.isprintable())
        return (f"contains the unprintable character {bad!r}; use one line of printable "
                "characters")
    return None


def prompt_problem(value: str) -> str | None:
    """Why ``value`` cannot be a prompt (a user turn), or ``None`` when it can."""
    return "is empty or only whitespace; write the request" if not value.strip() else None


@dataclass(frozen=True)
class Task:
    """One sample task.

    Attributes:
        id: Unique id within a suite.
        prompt: The user's request.
        context: Existing code or text given to the model with the prompt, if any.
        context_name: The context file's name (for the fenced block), if it came from a file.
        tags: Free-form labels for filtering.
        checks: Grader specs (see :mod:`agentlab.scoring`), kept as written.
        rubric: Rubric text for the LLM judge, if any.
        source: The file it was loaded from (``None`` for tasks built in code).
        workspace: For agentic trials: the folder copied into each trial (resolved).
        check: For agentic trials: the command run in the workspace before and after the
            agent (under bubblewrap), e.g. ``python -m unittest -q``.
        max_turns: For agentic trials: Claude Code's turn limit.
        timeout_s: For agentic trials: seconds before the session is stopped.
        max_budget_usd: For agentic trials: Claude Code's own cost cap for one trial.
        scope: For agentic trials: globs of the files the task is about (changes elsewhere
            count as outside its scope); empty means the files the prompt names.
    """

    id: str
    prompt: str
    context: str | None = None
    context_name: str | None = None
    tags: tuple[str, ...] = ()
    checks: tuple[Mapping[str, Any], ...] = field(default=(), hash=False)
    rubric: str | None = None
    source: Path | None = field(default=None, compare=False)
    workspace: Path | None = None
    check: str | None = None
    max_turns: int | None = None
    timeout_s: float | None = None
    max_budget_usd: float | None = None
    scope: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problem = id_problem(self.id)
        if problem is not None:
            raise TaskFileError(problem, path=self.source, field="id")
        problem = prompt_problem(self.prompt)
        if problem is not None:
            raise TaskFileError(problem, path=self.source, task_id=self.id, field="prompt")

    def user_message(self) -> str:
        """The text sent as the user turn: the context (fenced) followed by the prompt."""
        if not self.context:
            return self.prompt
        name = self.context_name or "context"
        lang = _LANGUAGES.get(Path(name).suffix, "")
        return (f"Existing code, `{name}`:\n\n```{lang}\n{self.context.rstrip()}\n```\n\n"
                f"{self.prompt}")

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready record of the task as run (stored with each run)."""
        return {"id": self.id, "prompt": self.prompt, "context": self.context,
                "context_name": self.context_name, "tags": list(self.tags),
                "checks": [dict(c) for c in self.checks], "rubric": self.rubric,
                **({"workspace": str(self.workspace), "check": self.check,
                    "max_turns": self.max_turns, "timeout_s": self.timeout_s,
                    "max_budget_usd": self.max_budget_usd, "scope": list(self.scope)}
                   if self.workspace is not None else {})}


class ContextRef(BaseModel):
    """``context: {path: file}``: a file whose content is given to the model."""

    model_config = ConfigDict(extra="forbid")
    path: str
    """Path relative to the task file; it must resolve inside the task file's folder (or an
    allowed root), after following symlinks."""


class TaskModel(BaseModel):
    """One task as written in a task file (typos in keys are rejected)."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1)
    """Unique task id."""
    prompt: str = Field(min_length=1)
    """The user's request."""
    context: str | ContextRef | None = None
    """Inline text, or ``{path: ...}`` to a file."""
    tags: list[str] = []
    """Labels."""
    checks: list[dict[str, Any]] = []
    """Grader specs."""
    rubric: str | None = None
    """Rubric for the LLM judge."""
    workspace: str | None = Field(default=None, min_length=1)
    """Agentic trials: a folder relative to the task file (it must resolve inside the task
    file's folder), copied into each trial."""
    check: str | None = Field(default=None, min_length=1)
    """Agentic trials: a shell command run in the workspace before and after the agent."""
    max_turns: int | None = Field(default=None, ge=1)
    """Agentic trials: Claude Code's turn limit."""
    timeout_s: float | None = Field(default=None, gt=0)
    """Agentic trials: seconds before the session is stopped."""
    max_budget_usd: float | None = Field(default=None, gt=0)
    """Agentic trials: Claude Code's own cost cap for one trial, in USD."""
    scope: list[str] = []
    """Agentic trials: globs of the files the task is about."""

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        problem = id_problem(value) if isinstance(value, str) else None
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, value: str) -> str:
        problem = prompt_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value


_UNION_MEMBERS = frozenset({"str", "ContextRef"})


def _read_text(path: Path) -> str:
    try:
        raw = read_regular_file(path, limit=MAX_TASK_FILE_BYTES)
    except FileRefused as exc:
        raise TaskFileError(f"cannot read task file: it {exc}", path=path) from None
    try:
        return raw.decode("utf-8-sig")  # a UTF-8 byte-order mark is accepted and dropped
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise TaskFileError(f"not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                            "re-save the file as UTF-8", path=path, line=line) from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"key {key[:60]!r} appears twice; keep one")
        seen[key] = value
    return seen


def _jsonl_records(text: str, path: Path) -> list[tuple[object, int | None]]:
    out: list[tuple[object, int | None]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append((json.loads(line, object_pairs_hook=_unique_keys), n))
        except json.JSONDecodeError as exc:
            raise TaskFileError(f"invalid JSON ({exc.msg}, column {exc.colno})", path=path,
                                line=n) from None
        except (ValueError, RecursionError) as exc:  # a duplicate key, or nested too deep
            problem = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
            raise TaskFileError(f"invalid task line: {problem}", path=path, line=n) from None
    return out


def _records(path: Path) -> list[tuple[object, int | None]]:
    text = _read_text(path)
    if path.suffix == ".jsonl":
        return _jsonl_records(text, path)
    try:
        doc = load_yaml(text)
    except YamlProblem as exc:
        raise TaskFileError(f"invalid YAML: {exc.problem}", path=path, line=exc.line) from None
    data, lines = doc.value, doc.item_lines.get(None, ())
    if isinstance(data, dict) and "tasks" in data:
        data, lines = data["tasks"], doc.item_lines.get("tasks", ())
    if not isinstance(data, list):
        where = doc.key_lines.get("tasks", 1)
        raise TaskFileError("expected a list of tasks (or a 'tasks:' list)", path=path,
                            line=where)
    return [(item, lines[i] if i < len(lines) else None) for i, item in enumerate(data)]


def _build(raw: object, path: Path, index: int, line: int | None,
           roots: Sequence[Path]) -> Task:
    label = raw.get("id") if isinstance(raw, dict) else None
    shown = label if isinstance(label, str | int) and id_problem(str(label)) is None else None
    task_id = str(shown) if shown is not None else f"#{index + 1}"
    if not isinstance(raw, dict):
        raise TaskFileError("each task must be a mapping with 'id' and 'prompt'", path=path,
                            task_id=task_id, line=line)
    try:
        model = TaskModel.model_validate(raw)
    except ValidationError as exc:
        # For a union (context: text or {path: ...}) report the member the value resembles:
        # the deepest location, with the member names taken out.
        err = max(exc.errors(), key=lambda e: len(e["loc"]))
        fieldname = ".".join(str(p) for p in err["loc"] if p not in _UNION_MEMBERS) or None
        msg = "missing" if err["type"] == "missing" else err["msg"].removeprefix("Value error, ")
        raise TaskFileError(msg, path=path, task_id=task_id, field=fieldname,
                            line=line) from None
    _validate_checks(model, path, line)
    context, context_name = _context(model, path, line, roots)
    return Task(id=model.id, prompt=model.prompt.strip(), context=context,
                context_name=context_name, tags=tuple(model.tags),
                checks=tuple(model.checks), rubric=model.rubric, source=path,
                workspace=_workspace(model, path, line), check=model.check,
                max_turns=model.max_turns, timeout_s=model.timeout_s,
                max_budget_usd=model.max_budget_usd, scope=tuple(model.scope))


_TRIAL_FIELDS = ("check", "max_turns", "timeout_s", "max_budget_usd", "scope")


def _workspace(model: TaskModel, path: Path, line: int | None) -> Path | None:
    """The agentic workspace folder, resolved inside the task file's folder."""
    if model.workspace is None:
        orphan = next((f for f in _TRIAL_FIELDS if f in model.model_fields_set), None)
        if orphan is not None:
            raise TaskFileError("is an agentic-trial field and needs 'workspace:' (a folder "
                                "beside the task file)", path=path, task_id=model.id,
                                field=orphan, line=line)
        return None
    written, base = model.workspace, path.parent.resolve()
    problem = None
    try:
        folder = (base / written).resolve(strict=True) if "\x00" not in written else None
    except (OSError, RuntimeError):
        folder = None
    if folder is None:
        problem = "does not exist"
    elif not folder.is_relative_to(base):  # after following symlinks
        problem = (f"resolves to {folder}, outside the task file's folder {base}; put the "
                   "workspace beside the task file")
    elif not folder.is_dir():
        problem = "is not a folder"
    if problem is not None or folder is None:
        raise TaskFileError(f"workspace {written[:200]!r} {problem}", path=path,
                            task_id=model.id, field="workspace", line=line)
    return folder


def _validate_checks(model: TaskModel, path: Path, line: int | None) -> None:
    from agentlab.errors import ConfigError
    from agentlab.scoring._score import make_grader

    for n, check in enumerate(model.checks):
        try:
            make_grader(check)
        except ConfigError as exc:
            raise TaskFileError(str(exc), path=path, task_id=model.id,
                                field=f"checks[{n}]", line=line) from None


def _context(model: TaskModel, path: Path, line: int | None,
             roots: Sequence[Path]) -> tuple[str | None, str | None]:
    if not isinstance(model.context, ContextRef):
        return model.context, None
    written = model.context.path
    try:
        file = resolve_inside(path.parent, written, [path.parent, *roots])
        text = read_regular_file(file, limit=MAX_CONTEXT_BYTES,
                                 follow_symlinks=False).decode("utf-8")
    except FileRefused as exc:
        raise TaskFileError(f"context file {written[:200]!r} cannot be read: it {exc}", path=path,
                            task_id=model.id, field="context", line=line) from None
    except UnicodeDecodeError:
        raise TaskFileError(f"context file {written[:200]!r} cannot be read: it is not UTF-8 "
                            "text", path=path,
                            task_id=model.id, field="context", line=line) from None
    return text, Path(written).name


def load_tasks(*paths: Path | str | Iterable[Path | str],
               context_roots: Iterable[Path | str] = ()) -> list[Task]:
    """Load tasks from YAML or JSONL files.

    A task's ``context: {path: ...}`` must resolve, after following symlinks, inside the
    task file's folder or one of ``context_roots``, and name a regular file of at most
    :data:`~agentlab._files.MAX_CONTEXT_BYTES`.

    Args:
        *paths: Task files (``.yaml``, ``.yml``, ``.jsonl``), or lists of them.
        context_roots: Further folders context files may come from.

    Returns:
        The tasks in file order.

    Raises:
        TaskFileError: Unreadable file, bad structure, unknown, missing or duplicate field,
            an anchor or alias, an invalid id or blank prompt, a context path that is missing,
            outside the allowed folders or not a regular file, or a duplicate id (within or
            across the files).
    """
    tasks: list[Task] = []
    seen: dict[str, Path] = {}
    roots = [Path(r) for r in context_roots]
    files = [Path(p) for item in paths
             for p in ([item] if isinstance(item, str | Path) else item)]
    for path in files:
        for index, (raw, line) in enumerate(_records(path)):
            task = _build(raw, path, index, line, roots)
            if task.id in seen:
                raise TaskFileError(f"duplicate id (first in {seen[task.id]})", path=path,
                                    task_id=task.id, field="id", line=line)
            seen[task.id] = path
            tasks.append(task)
    if not tasks:
        raise TaskFileError("no tasks found; a task file lists tasks with 'id:' and 'prompt:'",
                            path=", ".join(str(p) for p in files) or None,
                            line=1 if len(files) == 1 else None)
    return tasks


def tasks_from_examples(*agents: Agent) -> list[Task]:
    """Turn the user turns of agents' worked examples into tasks.

    The examples are the ``<example>`` blocks of the description or, when it has none (the
    newer style, flat prose in ``description``), the items of a "When to invoke" or
    "Examples" section of the body (:attr:`Agent.scenarios`). Ids are
    ``<agent>-example-<n>`` (1-based). Only the user turn is sent: the example's "Context:"
    line describes the situation for Claude Code's router, not for the agent.
    """
    tasks: list[Task] = []
    for agent in agents:
        for n, example in enumerate(agent.scenarios, 1):
            if example.user:
                tasks.append(Task(id=f"{agent.name}-example-{n}", prompt=example.user,
                                  tags=("example",)))
    return tasks


def select_tasks(tasks: Iterable[Task], *, ids: Iterable[str] = (),
                 tags: Iterable[str] = ()) -> list[Task]:
    """Filter tasks by id and/or tag (a task matches if it has any of the tags).

    Raises:
        ConfigError: An id or tag matches no task (a typo would silently run fewer tasks).
    """
    from agentlab.errors import ConfigError

    pool = list(tasks)
    wanted_ids, wanted_tags = set(ids), set(tags)
    unknown = sorted(wanted_ids - {t.id for t in pool})
    unknown += sorted(wanted_tags - {tag for t in pool for tag in t.tags})
    if unknown:
        raise ConfigError(f"no task has id or tag {', '.join(map(repr, unknown))}; "
                          f"ids are: {', '.join(t.id for t in pool)}")
    return [t for t in pool if (not wanted_ids or t.id in wanted_ids)
            and (not wanted_tags or wanted_tags & set(t.tags))]
