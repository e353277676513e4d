"""Worked scenarios kept in the body: the newer agent style, with flat prose in ``description``.

Since April 2026 Anthropic's own plugin agents keep ``description:`` to a sentence or two and
move the scenarios into a section of the body, such as::

    ## When to invoke

    - "Our Docker image is 2 GB; make it smaller."
    - The user pastes a failing pipeline log and asks why the deploy step hangs.

A section counts when its title is one of :data:`SCENARIO_TITLES` (case-insensitive). Inside
it, ``<example>`` blocks are read as in a description; otherwise each list item (or, without
a list, each paragraph) is one scenario, whose user turn is its quoted request when it has one
(``"..."``, ``“...”``, or a ``user:`` label) and the whole item otherwise.
"""

from __future__ import annotations

import re

from agentlab.agents._sections import Example, parse_examples, split_sections

SCENARIO_TITLES: tuple[str, ...] = (
    "when to invoke", "when to use", "when to use this agent", "when to invoke this agent",
    "examples", "example scenarios", "usage examples", "example requests",
)
"""Section titles whose content is read as scenarios."""

_ITEM = re.compile(r"^(?P<indent>\s*)(?:[-*+]|\d+[.)])\s+(?P<text>.*)$")
_USER_LABEL = re.compile(r"\buser\s*\**\s*:\s*\**\s*(?P<text>.+)", re.I | re.S)
_QUOTED = re.compile(r"\"(?P<a>[^\"]{8,})\"|\u201c(?P<b>[^\u201d]{8,})\u201d")
_MARKUP = re.compile(r"\*\*|__|`")


def _items(text: str) -> list[str]:
    """Top-level list items (continuation lines joined), else paragraphs."""
    items: list[list[str]] = []
    base_indent: int | None = None
    saw_list = False
    for line in text.split("\n"):
        match = _ITEM.match(line)
        indent = len(match.group("indent")) if match else 0
        if match and (base_indent is None or indent <= base_indent):
            base_indent = indent if base_indent is None else base_indent
            items.append([match.group("text").strip()])
            saw_list = True
        elif line.strip() and items and saw_list:
            items[-1].append(line.strip())
    if saw_list:
        return [" ".join(parts) for parts in items]
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]


def _scenario(item: str) -> Example:
    plain = _MARKUP.sub("", item).strip()
    label = _USER_LABEL.search(plain)
    if label:
        user = label.group("text").strip().strip("'\"\u201c\u201d").strip()
        return Example(plain[: label.start()].strip(" -:"), user, "", "", item)
    quoted = _QUOTED.search(plain)
    if quoted:
        user = (quoted.group("a") or quoted.group("b") or "").strip()
        context = (plain[: quoted.start()] + plain[quoted.end():]).strip(" -:.,")
        return Example(context, user, "", "", item)
    return Example("", plain, "", "", item)


def body_scenarios(body: str) -> tuple[Example, ...]:
    """The scenarios of a body's "When to invoke" or "Examples" section(s).

    Args:
        body: An agent's system prompt.

    Returns:
        One :class:`~agentlab.agents.Example` per scenario (``context`` holds any text around
        a quoted request; ``assistant`` and ``commentary`` are empty unless the section uses
        ``<example>`` blocks), in order; empty when no such section exists.
    """
    found: list[Example] = []
    for section in split_sections(body):
        if section.title.strip().rstrip(":").casefold() not in SCENARIO_TITLES:
            continue
        content = section.text.split("\n", 1)[1] if "\n" in section.text else ""
        blocks = parse_examples(content)
        if blocks:
            found.extend(blocks)
            continue
        found.extend(s for s in map(_scenario, _items(content)) if s.user)
    return tuple(found)
