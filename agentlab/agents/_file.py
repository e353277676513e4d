"""Reading and writing Claude Code subagent files (YAML frontmatter + Markdown body).

Real agent files are often not strict YAML: an unquoted ``description`` holding
``Examples: <example>Context: ...`` is a YAML error ("mapping values are not
allowed here"), yet Claude Code loads it. :func:`parse_agent_text` therefore tries
strict YAML first and falls back to a lenient reading of top-level ``key: value``
lines; which reading worked is reported as ``mode``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agentlab._files import MAX_AGENT_FILE_BYTES, FileRefused, read_regular_file
from agentlab._yaml import YamlProblem, load_yaml, load_yaml_value
from agentlab.errors import AgentFileError

ParseMode = Literal["strict", "lenient", "code"]

# Fields documented for Claude Code subagents. Unknown fields are kept and warned about.
KNOWN_FIELDS: tuple[str, ...] = (
    "name",
    "description",
    "model",
    "tools",
    "color",
    "disallowedTools",
    "permissionMode",
    "maxTurns",
    "skills",
    "mcpServers",
    "hooks",
    "memory",
    "background",
    "effort",
    "isolation",
    "initialPrompt",
)

_FENCE = "---"
# A lenient top-level key: a known field, or a lowercase-initial identifier. Capitalised
# words such as "Examples:" or "Context:" stay part of the value above them.
_LENIENT_KEY = re.compile(r"^(?P<key>[a-z][A-Za-z0-9_-]*)\s*:(?:\s+(?P<value>.*)|\s*)$")


@dataclass(frozen=True)
class ParsedAgentFile:
    """The raw pieces of an agent file before validation."""

    frontmatter: dict[str, object]
    body: str
    mode: ParseMode
    field_lines: dict[str, int]
    yaml_error: str | None
    body_line: int | None = None
    """The file line the body starts on."""


def _split(text: str, path: Path | None) -> tuple[list[str], str, int]:
    """Return (frontmatter lines, body, first body line number)."""
    lines = text.split("\n")
    first = lines[0].rstrip("\r").strip() if lines else ""
    if first != _FENCE:
        raise AgentFileError(
            "no YAML frontmatter: the file must start with a '---' line, then fields such as "
            "'name:' and 'description:', then a closing '---' line",
            path=path,
            line=1,
        )
    for i in range(1, len(lines)):
        if lines[i].rstrip("\r").strip() == _FENCE:
            body = "\n".join(line.rstrip("\r") for line in lines[i + 1 :])
            return [line.rstrip("\r") for line in lines[1:i]], body, i + 2
    raise AgentFileError(
        "unterminated frontmatter: the '---' on line 1 has no closing '---' line; add one "
        "between the fields and the prompt",
        path=path,
        line=1,
    )


def _lenient_value(raw: str) -> object:
    """Parse one lenient value: YAML for simple scalars and flow lists, else the raw text."""
    stripped = raw.strip()
    if not stripped:
        return ""
    try:
        value = load_yaml_value(stripped)
    except YamlProblem:
        return stripped
    if isinstance(value, str | int | float | bool | list):
        return value
    return stripped


def _parse_lenient(lines: list[str], path: Path | None) -> tuple[dict[str, object], dict[str, int]]:
    values: dict[str, list[str]] = {}
    field_lines: dict[str, int] = {}
    current: str | None = None
    for offset, line in enumerate(lines):
        lineno = offset + 2
        match = _LENIENT_KEY.match(line)
        if match is not None and (
            match.group("key") in KNOWN_FIELDS or not line[:1].isspace()
        ):
            key = match.group("key")
            if key in values:
                raise AgentFileError(
                    "field appears twice in the frontmatter; keep one", path=path, line=lineno,
                    field=key,
                )
            values[key] = [match.group("value") or ""]
            field_lines[key] = lineno
            current = key
        elif not line.strip():
            if current is not None:
                values[current].append("")
        elif current is None:
            if line.lstrip().startswith("#"):
                continue  # a YAML comment before any field
            raise AgentFileError(
                f"cannot read frontmatter line {line.strip()[:40]!r}: expected 'key: value'",
                path=path,
                line=lineno,
            )
        else:
            values[current].append(line.strip())
    if not values:
        raise AgentFileError(
            "frontmatter has no 'key: value' fields", path=path, line=1
        )
    parsed: dict[str, object] = {}
    for key, parts in values.items():
        while parts and not parts[-1]:
            parts.pop()
        head, rest = parts[0], parts[1:]
        if not rest:
            parsed[key] = _lenient_value(head)
        else:
            # Continuation lines: a block list ("- item") or folded text.
            if not head and rest and all(p.startswith("- ") for p in rest if p):
                parsed[key] = [p[2:].strip() for p in rest if p]
            else:
                parsed[key] = "\n".join([head, *rest]).strip() if head else "\n".join(rest)
    return parsed, field_lines


def parse_agent_text(text: str, path: Path | None = None) -> ParsedAgentFile:
    """Split an agent file into frontmatter and body, strictly if possible.

    Args:
        text: The whole file.
        path: Where it came from, for error messages.

    Returns:
        The frontmatter mapping, the body, and which reading worked.

    Raises:
        AgentFileError: No frontmatter, unterminated frontmatter, a duplicate field, an
            anchor or alias, nesting too deep, or frontmatter that neither strict YAML nor
            the lenient reading can make sense of.
    """
    text = text.removeprefix("\ufeff")
    fm_lines, body, body_line = _split(text, path)
    body = body.strip("\n").rstrip()
    try:
        doc = load_yaml("\n".join(fm_lines), first_line=2)
    except YamlProblem as exc:
        if exc.kind == "duplicate":  # ambiguous: never guess which value was meant
            raise AgentFileError("field appears twice in the frontmatter; keep one", path=path,
                                 line=exc.line, field=exc.key) from None
        if exc.kind != "syntax":  # an alias or deep nesting: unsafe to expand
            raise AgentFileError(exc.problem, path=path, line=exc.line) from None
        lenient, field_lines = _parse_lenient(fm_lines, path)
        yaml_error = f"line {exc.line}: {exc.problem}" if exc.line else exc.problem
        return ParsedAgentFile(lenient, body, "lenient", field_lines, yaml_error, body_line)
    if doc.value is None:
        raise AgentFileError("frontmatter is empty; add 'name:' and 'description:'",
                             path=path, line=2)
    if not isinstance(doc.value, dict):
        raise AgentFileError(
            "frontmatter must be 'key: value' fields, not a bare value or list",
            path=path, line=2,
        )
    frontmatter = {str(k): v for k, v in doc.value.items()}
    return ParsedAgentFile(frontmatter, body, "strict", dict(doc.key_lines), None, body_line)


def read_agent_file(path: Path) -> ParsedAgentFile:
    """Read and split one agent file.

    Raises:
        AgentFileError: The file is missing, not a regular file, larger than
            :data:`~agentlab._files.MAX_AGENT_FILE_BYTES`, not UTF-8, or has no readable
            frontmatter.
    """
    try:
        raw = read_regular_file(path, limit=MAX_AGENT_FILE_BYTES)
    except FileRefused as exc:
        raise AgentFileError(f"cannot read agent file: it {exc}", path=path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise AgentFileError(
            f"not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); re-save the file "
            "as UTF-8",
            path=path,
            line=line,
        ) from exc
    return parse_agent_text(text, path)


def dump_agent_text(frontmatter: dict[str, object], body: str) -> str:
    """Render frontmatter (as strict YAML) and body as an agent file."""
    import frontmatter as fm  # python-frontmatter; only needed when saving

    post = fm.Post(body.rstrip())
    post.metadata.update(frontmatter)
    text: str = fm.dumps(post, sort_keys=False, allow_unicode=True, width=1_000_000)
    return text + "\n"
