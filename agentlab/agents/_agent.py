"""Agent variants: load them from Claude Code subagent files, derive new ones in code.

An :class:`Agent` is an immutable value. Its identity is its content (frontmatter
and body), summarised by :attr:`Agent.content_hash`; where it came from (file,
strict or lenient reading) is kept alongside but does not affect equality.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from agentlab.agents._file import KNOWN_FIELDS, ParseMode, dump_agent_text, read_agent_file
from agentlab.agents._scenarios import body_scenarios
from agentlab.agents._sections import (
    Example,
    Section,
    find_section,
    parse_examples,
    slugify,
    split_sections,
)
from agentlab.errors import AgentFileError, AgentFileErrors, ConfigError

NAME_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Real collections use dots (``dotnet-framework-4.8-expert``) and Claude Code accepts them:
# such names load with an AgentNameWarning instead of an error.
DOTTED_NAME_PATTERN = re.compile(r"[a-z0-9]+(?:[-.][a-z0-9]+)*")
MAX_NAME_LENGTH = 64
"""Longest agent name accepted (names end up in file names, tables and chart labels)."""


def name_problem(name: object) -> str | None:
    """Why ``name`` is not a valid agent name, or ``None`` when it is."""
    if not isinstance(name, str):
        return f"must be text, not {type(name).__name__}"
    if len(name) > MAX_NAME_LENGTH:
        return (f"is {len(name):,} characters long; use at most {MAX_NAME_LENGTH} "
                "(lowercase letters, digits and hyphens)")
    if not DOTTED_NAME_PATTERN.fullmatch(name):
        shown = name if name.isprintable() else repr(name)[1:-1]
        return (f"{shown!r} is not a valid agent name: use lowercase letters, digits and "
                f"hyphens, e.g. {slugify(name)[:MAX_NAME_LENGTH]!r}")
    return None


class AgentNameWarning(UserWarning):
    """An agent name has dots: Claude Code accepts it, the documented pattern does not."""


class UnknownFieldWarning(UserWarning):
    """An agent file has a frontmatter field Claude Code does not document; it is kept."""


def _tool_list(value: object) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [t.strip() for t in value.split(",") if t.strip()]
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return [t.strip() for t in value]
    raise ValueError("must be a list of tool names or a comma-separated string")


class AgentFrontmatter(BaseModel):
    """The documented frontmatter fields of a Claude Code subagent (boundary validation)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    name: str
    """Unique agent name: lowercase letters, digits and hyphens."""
    description: str
    """When to use the agent; may hold ``<example>`` blocks."""
    model: str | None = None
    """A model alias (haiku, sonnet, opus, fable, inherit) or a full model id."""
    tools: list[str] | None = None
    """Allowed tools: a YAML list or a comma-separated string."""
    color: str | None = None
    """Display colour in Claude Code."""
    disallowedTools: list[str] | None = None
    """Tools the agent may not use."""
    permissionMode: str | None = None
    """Permission mode, passed through."""
    maxTurns: int | None = None
    """Turn limit, passed through."""
    skills: list[str] | str | None = None
    """Skills the agent may use, passed through."""
    mcpServers: Any = None
    """MCP server configuration, passed through."""
    hooks: Any = None
    """Hook configuration, passed through."""
    memory: Any = None
    """Memory setting, passed through."""
    background: bool | None = None
    """Whether the agent runs in the background."""
    effort: str | None = None
    """Reasoning effort, passed through."""
    isolation: str | None = None
    """Isolation mode, passed through."""
    initialPrompt: str | None = None
    """A first prompt, passed through."""

    @field_validator("tools", "disallowedTools", mode="before")
    @classmethod
    def _tools(cls, value: object) -> list[str] | None:
        return _tool_list(value)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        problem = name_problem(value)  # the pattern and a length cap, in one place
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is empty; say when Claude should use this agent")
        return value


@dataclass(frozen=True, eq=False)
class Agent:
    """One agent variant: frontmatter fields plus the system prompt (body).

    Attributes:
        name: Agent name.
        description: When to use it (may contain ``<example>`` blocks).
        body: The system prompt.
        model: Model alias or id from the frontmatter, if any.
        fields: Every other frontmatter field, in file order (documented and unknown).
        source: The file it was loaded from, if any.
        parse_mode: ``"strict"`` YAML, ``"lenient"`` fallback, or ``"code"`` (derived).
        parent: Name of the variant this one was derived from, if any.
        warnings: Non-fatal remarks from loading (unknown fields, lenient reading).
    """

    name: str
    description: str
    body: str
    model: str | None = None
    fields: Mapping[str, object] = field(default_factory=dict)
    source: Path | None = None
    parse_mode: ParseMode = "code"
    parent: str | None = None
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problem = name_problem(self.name)
        if problem is not None:
            raise AgentFileError(problem, path=self.source, field="name")

    # -- identity ---------------------------------------------------------------------
    def frontmatter(self) -> dict[str, object]:
        """All frontmatter fields as they would be saved, ``name`` first."""
        data: dict[str, object] = {"name": self.name, "description": self.description}
        if self.model is not None:
            data["model"] = self.model
        data.update(self.fields)
        return data

    @cached_property
    def content_hash(self) -> str:
        """Stable 12-hex-digit hash of frontmatter and body."""
        payload = json.dumps(
            {"frontmatter": self.frontmatter(), "body": self.body},
            sort_keys=True, ensure_ascii=False, default=str,
        )
        return hashlib.sha256(f"agent-v1:{payload}".encode()).hexdigest()[:12]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Agent):
            return NotImplemented
        return self.frontmatter() == other.frontmatter() and self.body == other.body

    def __hash__(self) -> int:
        return hash(self.content_hash)

    def __repr__(self) -> str:
        return (f"Agent(name={self.name!r}, model={self.model!r}, hash={self.content_hash}, "
                f"mode={self.parse_mode}, body={len(self.body)} chars)")

    @property
    def tools(self) -> tuple[str, ...] | None:
        """Allowed tools, if the frontmatter restricts them."""
        value = self.fields.get("tools")
        return tuple(str(t) for t in value) if isinstance(value, list) else None

    @property
    def color(self) -> str | None:
        """Display colour, if set."""
        value = self.fields.get("color")
        return str(value) if value is not None else None

    @cached_property
    def examples(self) -> tuple[Example, ...]:
        """The ``<example>`` blocks of the description, parsed."""
        return parse_examples(self.description)

    @cached_property
    def scenarios(self) -> tuple[Example, ...]:
        """Worked scenarios: the ``<example>`` blocks, else the body's "When to invoke" items.

        Older agents keep scenarios in ``description``; newer ones (flat prose there) keep
        them in a "When to invoke" or "Examples" section of the body.
        """
        return self.examples or body_scenarios(self.body)

    # -- deriving variants ----------------------------------------------------------------
    def _derive(self, suffix: str, name: str | None, **changes: Any) -> Agent:
        new_name = name if name is not None else f"{self.name}-{slugify(suffix)}"
        problem = name_problem(new_name)
        if problem is not None:
            raise AgentFileError(f"invalid variant name: {problem}", field="name")
        return replace(self, name=new_name, source=None, parse_mode="code", parent=self.name,
                       warnings=(), **changes)

    def with_body(self, body: str, *, name: str | None = None) -> Agent:
        """A variant with a new system prompt."""
        if not body.strip():
            raise AgentFileError("a variant's body (system prompt) cannot be empty", field="body")
        return self._derive("edited", name, body=body.strip("\n").rstrip())

    def with_description(self, description: str, *, name: str | None = None) -> Agent:
        """A variant whose ``description`` (what Claude Code routes on) is ``description``.

        Raises:
            AgentFileError: The description is blank.
        """
        if not description.strip():
            raise AgentFileError("a variant's description cannot be empty; say when Claude "
                                 "should use this agent", field="description")
        return self._derive("description", name, description=description.strip())

    def with_model(self, model: str | None, *, name: str | None = None) -> Agent:
        """A variant that asks for another model (alias or id); ``None`` removes it."""
        return self._derive(model or "default-model", name, model=model)

    def renamed(self, name: str) -> Agent:
        """The same prompt under another name."""
        return self._derive("", name)

    def with_fields(self, *, name: str | None = None, **fields: object) -> Agent:
        """A variant with frontmatter fields set (``None`` removes a field)."""
        merged = {k: v for k, v in {**self.fields, **fields}.items() if v is not None}
        return self._derive("fields", name, fields=merged)

    def replace_text(self, old: str, new: str, *, count: int = -1,
                     name: str | None = None) -> Agent:
        """A variant with ``old`` replaced by ``new`` in the body.

        Raises:
            ConfigError: ``old`` does not occur in the body.
        """
        if old not in self.body:
            raise ConfigError(f"text not found in {self.name}'s body: {old[:60]!r}")
        return self.with_body(self.body.replace(old, new, count), name=name or
                              f"{self.name}-replaced")

    def append(self, text: str, *, name: str | None = None) -> Agent:
        """A variant with ``text`` added at the end of the body."""
        return self.with_body(f"{self.body}\n\n{text.strip()}",
                              name=name or f"{self.name}-appended")

    def sections(self) -> tuple[Section, ...]:
        """The body's sections (preamble first, then each headed section)."""
        return split_sections(self.body)

    def drop_section(self, title: str, *, name: str | None = None) -> Agent:
        """A variant without the section titled ``title`` (case-insensitive).

        Raises:
            ConfigError: No section has that title (the message lists the titles).
        """
        return self._splice(title, "", name or f"{self.name}-no-{slugify(title)}")

    def replace_section(self, title: str, text: str, *, name: str | None = None) -> Agent:
        """A variant whose section ``title`` (heading included) is replaced by ``text``."""
        return self._splice(title, text.strip("\n"), name or f"{self.name}-new-{slugify(title)}")

    def _splice(self, title: str, text: str, name: str) -> Agent:
        section = find_section(self.sections(), title)
        lines = self.body.split("\n")
        middle = [text, ""] if text else []
        new_body = "\n".join([*lines[: section.start_line], *middle, *lines[section.end_line :]])
        return self.with_body(re.sub(r"\n{3,}", "\n\n", new_body), name=name)

    def ablations(self) -> list[Agent]:
        """One variant per headed section, each without that section."""
        return [self.drop_section(s.title) for s in self.sections() if s.style != "preamble"]

    def diff(self, other: Agent, *, context: int = 3) -> str:
        """A readable diff: changed frontmatter fields, then a unified diff of the bodies."""
        out: list[str] = []
        mine, theirs = self.frontmatter(), other.frontmatter()
        for key in dict.fromkeys([*mine, *theirs]):
            if key == "name" or mine.get(key) == theirs.get(key):
                continue
            out.append(f"~ {key}: {_short(mine.get(key))} -> {_short(theirs.get(key))}")
        out.extend(difflib.unified_diff(
            self.body.splitlines(), other.body.splitlines(),
            fromfile=self.name, tofile=other.name, n=context, lineterm="",
        ))
        return "\n".join(out)

    # -- saving -------------------------------------------------------------------------
    def to_markdown(self) -> str:
        """The agent as a Claude Code subagent file with strict-YAML frontmatter."""
        return dump_agent_text(self.frontmatter(), self.body)

    def save(self, path: Path | str) -> Path:
        """Write the agent as ``.md``; a folder path gets ``<name>.md`` inside it.

        Returns:
            The file written.
        """
        target = Path(path)
        if target.is_dir() or not target.suffix:
            target = target / f"{self.name}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.to_markdown(), encoding="utf-8")
        return target


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _validation_error(exc: ValidationError, path: Path, lines: dict[str, int]) -> AgentFileError:
    err = exc.errors()[0]
    loc = str(err["loc"][0]) if err["loc"] else None
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "missing":
        fix = {"name": "add 'name: my-agent'",
               "description": "add 'description: When to use this agent'"}.get(loc or "", "add it")
        msg = f"missing required field; {fix}"
    return AgentFileError(msg, path=path, line=lines.get(loc or ""), field=loc)


def agent_from_file(path: Path | str) -> Agent:
    """Load one agent file (see :func:`load_agent`)."""
    path = Path(path)
    parsed = read_agent_file(path)
    try:
        model = AgentFrontmatter.model_validate(parsed.frontmatter)
    except ValidationError as exc:
        raise _validation_error(exc, path, parsed.field_lines) from None
    if not parsed.body.strip():
        raise AgentFileError("empty body: write the system prompt below the closing '---'",
                             path=path, line=parsed.body_line)
    remarks: list[str] = []
    if not NAME_PATTERN.fullmatch(model.name):
        remarks.append(f"name {model.name!r} has dots; Claude Code accepts it, but the "
                       "documented form is lowercase letters, digits and hyphens")
        warnings.warn(f"{path}: agent name {model.name!r} has dots (accepted)",
                      AgentNameWarning, stacklevel=3)
    if parsed.mode == "lenient":
        remarks.append(f"frontmatter is not strict YAML ({parsed.yaml_error}); read leniently "
                       "(saving the variant writes valid YAML)")
    fields: dict[str, object] = {}
    dumped = model.model_dump(exclude_unset=True)
    for key in parsed.frontmatter:
        if key in ("name", "description", "model"):
            continue
        fields[key] = dumped.get(key, parsed.frontmatter[key])
        if key not in KNOWN_FIELDS:
            remarks.append(f"unknown field {key!r} kept as is")
            warnings.warn(f"{path}: unknown frontmatter field {key!r} kept as is",
                          UnknownFieldWarning, stacklevel=3)
    return Agent(
        name=model.name, description=model.description, body=parsed.body,
        model=str(model.model) if model.model is not None else None, fields=fields,
        source=path, parse_mode=parsed.mode, warnings=tuple(remarks),
    )


def load_agent(path: Path | str) -> Agent:
    """Load one Claude Code subagent file.

    Args:
        path: A ``.md`` file with YAML frontmatter.

    Returns:
        The agent; ``parse_mode`` says whether strict YAML or the lenient reading was used.

    Raises:
        AgentFileError: The file is missing, not UTF-8, has no or unterminated frontmatter,
            lacks ``name``/``description``, has an invalid name or an empty body.
    """
    return agent_from_file(path)


def load_agents(paths: Path | str | Iterable[Path | str], *,
                collect_errors: bool = False) -> list[Agent]:
    """Load every ``.md`` agent file in a folder (sorted by name), or a list of files/folders.

    Args:
        paths: A folder, a file, or several of either.
        collect_errors: Load every file and raise one :class:`AgentFileErrors` listing all
            problems, instead of stopping at the first.

    Raises:
        AgentFileError: A file is bad, the folder has no agents, or two files share a name.
    """
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    files: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(p.glob("*.md"))
            if not found:
                raise AgentFileError("no .md agent files in this folder", path=p)
            files.extend(found)
        else:
            files.append(p)
    agents: list[Agent] = []
    errors: list[AgentFileError] = []
    seen: dict[str, Path] = {}
    for file in files:
        try:
            agent = agent_from_file(file)
        except AgentFileError as exc:
            if not collect_errors:
                raise
            errors.append(exc)
            continue
        if agent.name in seen:
            dup = AgentFileError(f"duplicate agent name {agent.name!r} (also in {seen[agent.name]}"
                                 "); rename one", path=file, field="name")
            if not collect_errors:
                raise dup
            errors.append(dup)
            continue
        seen[agent.name] = file
        agents.append(agent)
    if errors:
        raise AgentFileErrors(errors)
    return agents
