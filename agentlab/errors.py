"""Errors raised by agentlab.

Every error derives from one root, so callers (the CLI, a notebook) can catch
``AgentlabError`` and show its one-line message::

    AgentlabError
    ├── AgentFileError        an agent .md file is malformed (file, line, field, fix)
    ├── TaskFileError         a task file is malformed (file, task id, field)
    │   └── EvalSetError      a routing eval set is malformed (file, query id, field)
    ├── ConfigError           a bad argument or setting: unknown model, bad option
    ├── MissingDependencyError an optional extra is not installed (names the pip command)
    ├── ProviderError         a model call failed in a way the whole run must know about
    │   └── AuthenticationError  the API key was refused: stop the run early
    ├── BudgetExceededError   the run would exceed its cost cap
    └── StoreError            the results database cannot be used
        └── StoreLockedError  another process holds its write lock (try again later)

Per-cell failures (a 429 that exhausted retries, a 400 for one prompt) are not
raised: they are recorded on the cell so that one bad cell never aborts a run.
"""

from __future__ import annotations

from pathlib import Path


class AgentlabError(Exception):
    """Root of every error agentlab raises on purpose."""


def _where(path: Path | str | None, line: int | None = None) -> str:
    if path is None:
        return ""
    return f"{path}:{line}: " if line is not None else f"{path}: "


class AgentFileError(AgentlabError):
    """An agent file cannot be loaded.

    Attributes:
        path: The file (or folder) at fault.
        line: The 1-based line where the problem is, when known.
        field: The frontmatter field at fault, when there is one.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.line = line
        self.field = field
        where = _where(path, line)
        super().__init__(f"{where}{'field ' + repr(field) + ': ' if field else ''}{message}")


class AgentFileErrors(AgentFileError):
    """Several agent files failed at once (``load_agents(..., collect_errors=True)``)."""

    def __init__(self, errors: list[AgentFileError]) -> None:
        self.errors = errors
        lines = "\n".join(str(e) for e in errors)
        AgentlabError.__init__(self, f"{len(errors)} agent file error(s):\n{lines}")
        self.path = None
        self.line = None
        self.field = None


class TaskFileError(AgentlabError):
    """A task file cannot be loaded.

    Attributes:
        path: The task file at fault.
        task_id: The task at fault, when known.
        field: The field at fault, when known.
        line: The 1-based line where the problem is, when known.
    """

    item = "task"  # what ``task_id`` names, in the message

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        task_id: str | None = None,
        field: str | None = None,
        line: int | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.task_id = task_id
        self.field = field
        self.line = line
        parts = []
        if task_id is not None:
            parts.append(f"{self.item} {task_id!r}")
        if field is not None:
            parts.append(f"field {field!r}")
        scope = (", ".join(parts) + ": ") if parts else ""
        super().__init__(f"{_where(path, line)}{scope}{message}")


class EvalSetError(TaskFileError):
    """A routing eval set cannot be loaded (file, query id, field)."""

    item = "query"


class ConfigError(AgentlabError):
    """A bad argument or setting, such as an unknown model or provider."""


class MissingDependencyError(AgentlabError):
    """An optional dependency is missing; the message names the pip command."""

    def __init__(self, module: str, extra: str | None = None) -> None:
        fix = (f"pip install 'agentlab[{extra}]' (or pip install {module})" if extra
               else f"pip install {module}")
        super().__init__(f"{module} is not installed; run: {fix}")


class ProviderError(AgentlabError):
    """A model call failed in a way that concerns the whole run."""


class AuthenticationError(ProviderError):
    """The provider refused the credentials (401/403); the run stops early."""


class BudgetExceededError(AgentlabError):
    """Running the remaining cells would exceed the run's cost cap."""


class StoreError(AgentlabError):
    """The results database cannot be opened or is from an unknown schema."""


class StoreLockedError(StoreError):
    """Another process held the results database's write lock past the busy timeout."""
