"""Safe YAML for the files users write: agent frontmatter and task files.

``yaml.safe_load`` is safe against code execution but not against a hostile or broken file:
a 400-byte "billion laughs" (anchors and aliases nesting nine deep) expands into gigabytes
once anything walks the result, a duplicate key silently keeps its last value, and deep
nesting raises ``RecursionError``. :func:`load_yaml` therefore

- parses with libyaml (``CParser``) where available: a 10 MB file is read in C rather than by
  the pure-Python scanner;
- rejects anchors and aliases (agent and task files have no use for them), so nothing can
  expand beyond the size of the file;
- rejects a key that appears twice in one mapping;
- rejects nesting deeper than :data:`MAX_DEPTH`;

and reports each problem as one :class:`YamlProblem` with the 1-based line.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

try:  # libyaml: the C scanner and parser
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)


MAX_DEPTH = 50
"""Deepest nesting of lists and mappings accepted (real files nest 6 or 7 levels)."""

ProblemKind = Literal["syntax", "alias", "duplicate", "depth"]


class YamlProblem(Exception):
    """A YAML text cannot be loaded safely.

    Attributes:
        kind: ``syntax`` (not valid YAML), ``alias`` (an anchor or alias), ``duplicate``
            (a key twice in one mapping) or ``depth`` (nested too deeply).
        line: 1-based line of the problem, when known.
        problem: What is wrong, in one line without the location.
        key: The duplicate key, for ``duplicate``.
    """

    def __init__(self, kind: ProblemKind, problem: str, line: int | None,
                 key: str | None = None) -> None:
        self.kind: ProblemKind = kind
        self.problem = problem
        self.line = line
        self.key = key
        super().__init__(f"line {line}: {problem}" if line is not None else problem)


@dataclass(frozen=True)
class YamlDocument:
    """A loaded YAML document and where its top-level parts are.

    Attributes:
        value: The loaded data (plain dicts, lists and scalars).
        key_lines: Line of each key of a top-level mapping.
        item_lines: Line of each item of a top-level sequence (key ``None``) or of a
            sequence held by a top-level key (key: that key).
    """

    value: object
    key_lines: Mapping[str, int]
    item_lines: Mapping[str | None, tuple[int, ...]]


def _line(node_or_event: Any, offset: int) -> int | None:
    mark = getattr(node_or_event, "start_mark", None)
    return mark.line + 1 + offset if mark is not None else None


class _SafeLoader(Composer, _Parser, SafeConstructor, Resolver):
    """libyaml events, the Python composer (so anchors and depth can be checked), safe types."""

    def __init__(self, text: str, offset: int) -> None:
        _Parser.__init__(self, text)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._offset = offset
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event = self.peek_event()
        if isinstance(event, AliasEvent) or (
            isinstance(event, ScalarEvent | CollectionStartEvent) and event.anchor is not None
        ):
            what = "an alias (*)" if isinstance(event, AliasEvent) else "an anchor (&)"
            raise YamlProblem("alias", f"{what} is not allowed here; write the value out",
                              _line(event, self._offset))
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YamlProblem("depth", f"nested more than {MAX_DEPTH} levels deep",
                                  _line(event, self._offset))
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        return node

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Hashable, Any]:
        if not isinstance(node, MappingNode):
            found = type(node).__name__
            raise ConstructorError(None, None, f"expected a mapping node, but found {found}",
                                   node.start_mark)
        self.flatten_mapping(node)
        mapping: dict[Hashable, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                raise ConstructorError("while constructing a mapping", node.start_mark,
                                       "found an unhashable key", key_node.start_mark)
            if key in mapping:
                raise YamlProblem("duplicate", f"key {str(key)[:60]!r} appears twice; keep one",
                                  _line(key_node, self._offset), key=str(key))
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


def _syntax_problem(exc: yaml.YAMLError, offset: int) -> YamlProblem:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        parts = [p for p in (exc.context, exc.problem) if p]
        text = " ".join(": ".join(parts).split()) or type(exc).__name__
        kind: ProblemKind = "depth" if "nesting depth" in text else "syntax"  # libyaml's cap
        return YamlProblem(kind, text, mark.line + 1 + offset if mark else None)
    return YamlProblem("syntax", " ".join(str(exc).split()) or type(exc).__name__, None)


def _locations(root: Node | None, offset: int
               ) -> tuple[dict[str, int], dict[str | None, tuple[int, ...]]]:
    keys: dict[str, int] = {}
    items: dict[str | None, tuple[int, ...]] = {}

    def lines_of(node: Node) -> tuple[int, ...]:
        return tuple(_line(item, offset) or 0 for item in node.value)

    if isinstance(root, SequenceNode):
        items[None] = lines_of(root)
    elif isinstance(root, MappingNode):
        for key_node, value_node in root.value:
            if isinstance(key_node, ScalarNode):
                keys.setdefault(str(key_node.value), _line(key_node, offset) or 0)
                if isinstance(value_node, SequenceNode):
                    items.setdefault(str(key_node.value), lines_of(value_node))
    return keys, items


def load_yaml(text: str, *, first_line: int = 1) -> YamlDocument:
    """Load one YAML document safely (see the module docstring).

    Args:
        text: The YAML text (a whole file, or the frontmatter of an agent file).
        first_line: The file line ``text`` starts on, so reported lines are file lines.

    Returns:
        The value and the lines of its top-level keys and items.

    Raises:
        YamlProblem: Invalid YAML, an anchor or alias, a duplicate key, or deep nesting.
    """
    offset = first_line - 1
    loader = _SafeLoader(text, offset)
    try:
        root = loader.get_single_node()
        keys, items = _locations(root, offset)
        value = loader.construct_document(root) if root is not None else None
    except YamlProblem:
        raise
    except yaml.YAMLError as exc:
        raise _syntax_problem(exc, offset) from None
    except RecursionError:  # belt and braces: MAX_DEPTH keeps well below the limit
        raise YamlProblem("depth", "nested too deeply", None) from None
    finally:
        loader.dispose()
    return YamlDocument(value, keys, items)


def load_yaml_value(text: str) -> object:
    """Just the value of :func:`load_yaml` (for one-line snippets)."""
    return load_yaml(text).value
