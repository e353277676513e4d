"""Routing eval sets: queries and which agent Claude Code should delegate each one to.

A file is YAML (``.yaml``/``.yml``), JSON (``.json``) or JSONL (``.jsonl``). It holds a list of
queries, or a mapping with ``queries:`` and an optional ``agent:`` (the agent under test). Two
forms of query, which may be mixed::

    - {query: "Add a FastAPI endpoint ...", should_trigger: true}     # one agent (skill-creator)
    - {query: "Build a React table ...", expect: frontend-developer}  # a roster
    - {query: "What is a tuple?", expect: none, tags: [general], files: workspaces/demo}

``should_trigger`` is skill-creator's trigger-eval format (its JSON lists load as they are):
true means "delegate to the agent under test", false "anything but it". ``expect`` names the
agent that should be chosen, or ``none`` for "answer directly". ``files`` is a folder (or file)
copied into the trial's workspace; it must stay inside the eval file's folder.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from agentlab._files import FileRefused, read_regular_file
from agentlab._yaml import YamlProblem, load_yaml
from agentlab.errors import ConfigError, EvalSetError

# An eval set is a list of queries: a few KB; the cap keeps a wrong path from eating memory.
MAX_EVALSET_BYTES = 8 * 1024 * 1024

NO_AGENT = "none"
"""The decision label for "no subagent: the main agent answered (or acted) itself"."""

EvalForm = Literal["should_trigger", "expect"]


class EvalItemModel(BaseModel):
    """One query as written in an eval file (unknown keys are rejected: they are typos)."""

    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1)
    """The user's prompt."""
    should_trigger: bool | None = None
    """skill-creator form: should the agent under test be chosen?"""
    expect: str | None = None
    """Roster form: the agent that should be chosen, or ``none``."""
    id: str | None = Field(default=None, min_length=1)
    """A stable id (default: derived from the query text)."""
    tags: list[str] = []
    """Labels for filtering and breakdowns."""
    files: str | None = Field(default=None, min_length=1)
    """A workspace folder or file, relative to the eval file."""

    @model_validator(mode="after")
    def _one_form(self) -> EvalItemModel:
        if not self.query.strip():
            raise ValueError("query is blank")
        has_expect = "expect" in self.model_fields_set
        if (self.should_trigger is not None) == has_expect:
            raise ValueError("give exactly one of 'should_trigger: true|false' or "
                             "'expect: <agent-name>|none'")
        return self


class EvalFileModel(BaseModel):
    """The mapping form of an eval file."""

    model_config = ConfigDict(extra="forbid")
    agent: str | None = None
    """The agent under test (what ``should_trigger: true`` refers to)."""
    queries: list[object]
    """The queries."""


@dataclass(frozen=True)
class RoutingQuery:
    """One routing query.

    Attributes:
        id: Unique id within the eval set.
        query: The prompt sent to Claude Code.
        form: ``should_trigger`` or ``expect``.
        should_trigger: For the ``should_trigger`` form, whether the agent under test should
            be chosen; for the ``expect`` form, ``None``.
        expect: For the ``expect`` form, the agent that should be chosen, or ``"none"``.
        tags: Labels.
        files: Absolute path of the workspace to start in, if any.
    """

    id: str
    query: str
    form: EvalForm
    should_trigger: bool | None = None
    expect: str | None = None
    tags: tuple[str, ...] = ()
    files: Path | None = None

    def positive(self, target: str) -> bool:
        """Whether ``target`` (the agent under test) should be chosen for this query."""
        return bool(self.should_trigger) if self.form == "should_trigger" else self.expect == target

    def expected_label(self, target: str) -> str:
        """The expected decision: an agent name, ``none``, or ``not <target>``."""
        if self.form == "expect":
            return self.expect or NO_AGENT
        return target if self.should_trigger else f"not {target}"

    def correct(self, decision: str, target: str) -> bool:
        """Whether a decision (an agent name or ``none``) is the right one."""
        if self.form == "expect":
            return decision == self.expect
        return (decision == target) == bool(self.should_trigger)


@dataclass(frozen=True)
class EvalSet:
    """A loaded eval set.

    Attributes:
        queries: The queries, in file order.
        agent: The agent under test named in the file (``agent:``), if any.
        source: The file it came from (``None`` when built in code).
    """

    queries: tuple[RoutingQuery, ...]
    agent: str | None = None
    source: Path | None = None

    def __len__(self) -> int:
        return len(self.queries)

    def expected_agents(self) -> set[str]:
        """Every agent name an ``expect`` query names (``none`` left out)."""
        return {q.expect for q in self.queries
                if q.form == "expect" and q.expect and q.expect != NO_AGENT}

    def check_names(self, target: str, roster: Iterable[str]) -> None:
        """Check that every ``expect`` names the agent under test, a roster agent or ``none``.

        Raises:
            EvalSetError: A query expects an agent that is not installed (names file, query
                and field), so a typo cannot silently count as a miss.
        """
        known = {target, *roster}
        for q in self.queries:
            if q.form == "expect" and q.expect != NO_AGENT and q.expect not in known:
                raise EvalSetError(
                    f"expects agent {q.expect!r}, which is neither the agent under test nor in "
                    f"the roster ({', '.join(sorted(known))}); fix the name or add the agent",
                    path=self.source, task_id=q.id, field="expect")

    def select(self, *, ids: Iterable[str] = (), tags: Iterable[str] = ()) -> EvalSet:
        """The queries with any of ``ids`` or ``tags`` (all when both are empty).

        Raises:
            ConfigError: An id or tag matches no query.
        """
        wanted_ids, wanted_tags = set(ids), set(tags)
        unknown = sorted(wanted_ids - {q.id for q in self.queries})
        unknown += sorted(wanted_tags - {t for q in self.queries for t in q.tags})
        if unknown:
            raise ConfigError(f"no query has id or tag {', '.join(map(repr, unknown))}")
        if not wanted_ids and not wanted_tags:
            return self
        chosen = tuple(q for q in self.queries if q.id in wanted_ids or wanted_tags & set(q.tags))
        return EvalSet(chosen, self.agent, self.source)


def _slug_id(query: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", query.casefold()).strip("-")
    digest = hashlib.sha256(query.encode()).hexdigest()[:6]
    return f"{words[:40].rstrip('-') or 'query'}-{digest}"


def _first_error(exc: ValidationError) -> ErrorDetails:
    """The error to report: an unknown key first (a typo explains the "missing" that follows)."""
    errors = exc.errors()
    return next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])


def _records(path: Path) -> tuple[list[tuple[object, int | None]], str | None]:
    try:
        text = read_regular_file(path, limit=MAX_EVALSET_BYTES).decode("utf-8-sig")
    except FileRefused as exc:
        raise EvalSetError(f"cannot read eval set: it {exc}", path=path) from None
    except UnicodeDecodeError as exc:
        raise EvalSetError(f"not UTF-8 ({exc.reason} at offset {exc.start}); re-save the "
                           "file as UTF-8", path=path) from None
    if path.suffix == ".jsonl":
        out: list[tuple[object, int | None]] = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    out.append((json.loads(line), n))
                except json.JSONDecodeError as exc:
                    raise EvalSetError(f"line {n}: invalid JSON ({exc.msg})", path=path) from exc
        return out, None
    try:
        data = json.loads(text) if path.suffix == ".json" else load_yaml(text).value
    except json.JSONDecodeError as exc:
        raise EvalSetError(f"invalid JSON: {exc.msg}", path=path, line=exc.lineno) from None
    except YamlProblem as exc:  # aliases, duplicate keys and deep nesting are refused
        raise EvalSetError(f"invalid YAML: {exc.problem}", path=path, line=exc.line) from None
    except RecursionError:
        raise EvalSetError("nested too deeply", path=path) from None
    agent: str | None = None
    if isinstance(data, dict):
        try:
            header = EvalFileModel.model_validate(data)
        except ValidationError as exc:
            err = _first_error(exc)
            raise EvalSetError(err["msg"] if err["type"] != "missing" else "missing",
                               path=path, field=".".join(map(str, err["loc"]))) from None
        data, agent = header.queries, header.agent
    if not isinstance(data, list):
        raise EvalSetError("expected a list of queries (or a mapping with 'queries:')", path=path)
    return [(item, None) for item in data], agent


def _workspace(value: str, path: Path, qid: str) -> Path:
    root = path.parent.resolve()
    target = (root / value).resolve()
    if not target.is_relative_to(root):
        raise EvalSetError(f"workspace {value!r} resolves outside the eval file's folder "
                           f"({root}); keep workspaces beside the eval file",
                           path=path, task_id=qid, field="files")
    if not target.exists():
        raise EvalSetError(f"workspace {value!r} does not exist ({target})", path=path,
                           task_id=qid, field="files")
    return target


def _build(raw: object, path: Path, index: int, line: int | None) -> RoutingQuery:
    where = f"#{index + 1}" + (f" (line {line})" if line else "")
    label = raw.get("id") if isinstance(raw, dict) else None
    qid = str(label) if label is not None else where
    if not isinstance(raw, dict):
        raise EvalSetError("each query must be a mapping with 'query' and 'should_trigger' or "
                           "'expect'", path=path, task_id=qid)
    try:
        item = EvalItemModel.model_validate(raw)
    except ValidationError as exc:
        err = _first_error(exc)
        fieldname = ".".join(str(p) for p in err["loc"]) or None
        msg = "missing" if err["type"] == "missing" else err["msg"].removeprefix("Value error, ")
        raise EvalSetError(msg, path=path, task_id=qid, field=fieldname) from None
    final_id = item.id or _slug_id(item.query)
    expect = item.expect
    if "expect" in item.model_fields_set:
        expect = NO_AGENT if expect is None or expect.strip().casefold() == NO_AGENT else expect
    return RoutingQuery(
        id=final_id, query=item.query.strip(),
        form="should_trigger" if item.should_trigger is not None else "expect",
        should_trigger=item.should_trigger, expect=expect, tags=tuple(item.tags),
        files=_workspace(item.files, path, final_id) if item.files else None)


def load_evalset(path: Path | str) -> EvalSet:
    """Load a routing eval set from YAML, JSON or JSONL.

    Args:
        path: The eval file.

    Returns:
        The queries in file order.

    Raises:
        EvalSetError: Unreadable file, bad structure, an unknown or missing field, both or
            neither of ``should_trigger``/``expect``, a duplicate id or query, or a
            workspace that is missing or outside the file's folder. The message names the
            file, the query and the field.
    """
    file = Path(path)
    records, agent = _records(file)
    queries: list[RoutingQuery] = []
    seen_ids: set[str] = set()
    seen_text: dict[str, str] = {}
    for index, (raw, line) in enumerate(records):
        q = _build(raw, file, index, line)
        if q.query in seen_text:
            raise EvalSetError(f"same query as {seen_text[q.query]!r}", path=file,
                               task_id=q.id, field="query")
        if q.id in seen_ids:
            raise EvalSetError("duplicate id", path=file, task_id=q.id, field="id")
        seen_ids.add(q.id)
        seen_text[q.query] = q.id
        queries.append(q)
    if not queries:
        raise EvalSetError("no queries found", path=file)
    return EvalSet(tuple(queries), agent, file)
