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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agentlab.errors import TaskFileError

if TYPE_CHECKING:
    from agentlab.agents._agent import Agent

_LANGUAGES = {".py": "python", ".sql": "sql", ".toml": "toml", ".yaml": "yaml", ".yml": "yaml",
              ".json": "json", ".ts": "typescript", ".js": "javascript", ".md": "markdown"}


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
    """

    id: str
    prompt: str
    context: str | None = None
    context_name: str | None = None
    tags: tuple[str, ...] = ()
    checks: tuple[Mapping[str, Any], ...] = field(default=(), hash=False)
    rubric: str | None = None
    source: Path | None = field(default=None, compare=False)

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
                "checks": [dict(c) for c in self.checks], "rubric": self.rubric}


class ContextRef(BaseModel):
    """``context: {path: file}``: a file whose content is given to the model."""

    model_config = ConfigDict(extra="forbid")
    path: str
    """Path relative to the task file."""


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

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value


def _records(path: Path) -> list[tuple[object, int | None]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskFileError(f"cannot read task file: {exc}", path=path) from exc
    if path.suffix == ".jsonl":
        out: list[tuple[object, int | None]] = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    out.append((json.loads(line), n))
                except json.JSONDecodeError as exc:
                    raise TaskFileError(f"line {n}: invalid JSON ({exc.msg})", path=path) from exc
        return out
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TaskFileError(f"invalid YAML: {' '.join(str(exc).split())}", path=path) from exc
    if isinstance(data, dict) and "tasks" in data:
        data = data["tasks"]
    if not isinstance(data, list):
        raise TaskFileError("expected a list of tasks (or a 'tasks:' list)", path=path)
    return [(item, None) for item in data]


def _build(raw: object, path: Path, index: int, line: int | None) -> Task:
    label = raw.get("id") if isinstance(raw, dict) else None
    where = f"#{index + 1}" + (f" (line {line})" if line else "")
    task_id = str(label) if label is not None else where
    if not isinstance(raw, dict):
        raise TaskFileError("each task must be a mapping with 'id' and 'prompt'", path=path,
                            task_id=task_id)
    try:
        model = TaskModel.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        fieldname = ".".join(str(p) for p in err["loc"]) or None
        msg = "missing" if err["type"] == "missing" else err["msg"]
        raise TaskFileError(msg, path=path, task_id=task_id, field=fieldname) from None
    _validate_checks(model, path)
    context, context_name = _context(model, path)
    return Task(id=model.id, prompt=model.prompt.strip(), context=context,
                context_name=context_name, tags=tuple(model.tags),
                checks=tuple(model.checks), rubric=model.rubric, source=path)


def _validate_checks(model: TaskModel, path: Path) -> None:
    from agentlab.errors import ConfigError
    from agentlab.scoring._score import make_grader

    for n, check in enumerate(model.checks):
        try:
            make_grader(check)
        except ConfigError as exc:
            raise TaskFileError(str(exc), path=path, task_id=model.id,
                                field=f"checks[{n}]") from None


def _context(model: TaskModel, path: Path) -> tuple[str | None, str | None]:
    if not isinstance(model.context, ContextRef):
        return model.context, None
    file = (path.parent / model.context.path).resolve()
    try:
        return file.read_text(encoding="utf-8"), Path(model.context.path).name
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskFileError(f"context file {model.context.path!r} cannot be read "
                            f"({type(exc).__name__}: {file})", path=path, task_id=model.id,
                            field="context") from exc


def load_tasks(*paths: Path | str | Iterable[Path | str]) -> list[Task]:
    """Load tasks from YAML or JSONL files.

    Args:
        *paths: Task files (``.yaml``, ``.yml``, ``.jsonl``), or lists of them.

    Returns:
        The tasks in file order.

    Raises:
        TaskFileError: Unreadable file, bad structure, unknown or missing field, missing
            context file, or a duplicate id (within or across the files).
    """
    tasks: list[Task] = []
    seen: dict[str, Path] = {}
    files = [Path(p) for item in paths
             for p in ([item] if isinstance(item, str | Path) else item)]
    for path in files:
        for index, (raw, line) in enumerate(_records(path)):
            task = _build(raw, path, index, line)
            if task.id in seen:
                raise TaskFileError(f"duplicate id (first in {seen[task.id]})", path=path,
                                    task_id=task.id, field="id")
            seen[task.id] = path
            tasks.append(task)
    if not tasks:
        raise TaskFileError("no tasks found", path=", ".join(str(p) for p in files) or None)
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
