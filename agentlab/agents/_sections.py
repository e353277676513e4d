"""Structure inside an agent's text: ``<example>`` blocks and prompt sections.

Examples live in the ``description`` field::

    <example>Context: ... user: 'Add an endpoint' assistant: 'I'll use ...'
    <commentary>Why this agent fits</commentary></example>

Sections live in the body. Three heading styles are recognised: Markdown ``#``
headings, bold label lines (``**Core Expertise:**``) and plain label lines that
introduce a list (``When given a task, you will:``). Text before the first
heading is the preamble.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from agentlab.errors import ConfigError

SectionStyle = Literal["preamble", "markdown", "bold", "label"]


@dataclass(frozen=True)
class Example:
    """One ``<example>`` block of an agent's description.

    Attributes:
        context: The situation the example describes ("Context: ...").
        user: The first user turn.
        assistant: The first assistant turn.
        commentary: The ``<commentary>`` text, if any.
        raw: The whole block as written.
    """

    context: str
    user: str
    assistant: str
    commentary: str
    raw: str


@dataclass(frozen=True)
class Section:
    """A section of a prompt body.

    Attributes:
        title: Heading text without markup ("" for the preamble).
        style: Which heading style introduced it.
        text: The section's full text, heading line included.
        start_line: 0-based index of its first line in the body.
        end_line: 0-based index one past its last line.
    """

    title: str
    style: SectionStyle
    text: str
    start_line: int
    end_line: int


_EXAMPLE = re.compile(r"<example>(.*?)</example>", re.S | re.I)
_COMMENTARY = re.compile(r"<commentary>(.*?)</commentary>", re.S | re.I)
_LABEL = re.compile(r"(?<![\w])(context|user|assistant)\s*:", re.I)
_QUOTES = {"'": "'", '"': '"', "\u201c": "\u201d", "\u2018": "\u2019"}


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] in _QUOTES and value[-1] == _QUOTES[value[0]]:
        value = value[1:-1]
    return value.replace("\\n", "\n").strip()


def parse_examples(description: str) -> tuple[Example, ...]:
    r"""Parse every ``<example>`` block in a description.

    Tolerates single, double and typographic quotes around turns, turns on one line
    or several, ``\n`` escapes, and a ``<commentary>`` block anywhere inside.
    """
    examples: list[Example] = []
    for match in _EXAMPLE.finditer(description):
        raw = match.group(1)
        commentary = " ".join(m.strip() for m in _COMMENTARY.findall(raw))
        inner = _COMMENTARY.sub(" ", raw)
        parts: dict[str, str] = {}
        labels = list(_LABEL.finditer(inner))
        for i, label in enumerate(labels):
            key = label.group(1).lower()
            end = labels[i + 1].start() if i + 1 < len(labels) else len(inner)
            if key not in parts:  # keep the first turn of each role
                parts[key] = _unquote(inner[label.end() : end])
        examples.append(
            Example(
                context=parts.get("context", ""),
                user=parts.get("user", ""),
                assistant=parts.get("assistant", ""),
                commentary=_unquote(commentary),
                raw=match.group(0),
            )
        )
    return tuple(examples)


_MD_HEADING = re.compile(r"^(#{1,6})\s+(?P<title>.+?)\s*#*\s*$")
_BOLD_HEADING = re.compile(r"^\*\*(?P<title>[^*]+?)\*\*\s*:?\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


def _heading(lines: list[str], i: int) -> tuple[str, SectionStyle] | None:
    line = lines[i].rstrip()
    md = _MD_HEADING.match(line)
    if md:
        return md.group("title").strip(), "markdown"
    bold = _BOLD_HEADING.match(line)
    if bold:
        return bold.group("title").strip().rstrip(":").strip(), "bold"
    # A short plain line ending in ':' after a blank line and followed by a list.
    if (
        line.endswith(":")
        and len(line) <= 80
        and not _LIST_ITEM.match(line)
        and (i == 0 or not lines[i - 1].strip())
    ):
        for nxt in lines[i + 1 :]:
            if nxt.strip():
                if _LIST_ITEM.match(nxt):
                    return line[:-1].strip(), "label"
                break
    return None


def split_sections(body: str) -> tuple[Section, ...]:
    """Split a prompt body into its preamble and headed sections."""
    lines = body.split("\n")
    starts: list[tuple[int, str, SectionStyle]] = []
    in_fence = False
    for i, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        found = _heading(lines, i)
        if found is not None:
            starts.append((i, found[0], found[1]))
    sections: list[Section] = []
    first = starts[0][0] if starts else len(lines)
    if "\n".join(lines[:first]).strip():
        sections.append(Section("", "preamble", "\n".join(lines[:first]).strip("\n"), 0, first))
    for n, (start, title, style) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        text = "\n".join(lines[start:end]).strip("\n")
        sections.append(Section(title, style, text, start, end))
    return tuple(sections)


def find_section(sections: tuple[Section, ...], title: str) -> Section:
    """Find a section by title, case-insensitively.

    Raises:
        ConfigError: No section has that title (the message lists the titles).
    """
    wanted = title.strip().rstrip(":").casefold()
    for section in sections:
        if section.title.casefold() == wanted:
            return section
    titles = ", ".join(repr(s.title) for s in sections if s.title)
    raise ConfigError(f"no section titled {title!r}; sections are: {titles}")


def slugify(text: str) -> str:
    """Lowercase letters, digits and hyphens, as Claude Code agent names want."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")
    return re.sub(r"-{2,}", "-", slug) or "section"
