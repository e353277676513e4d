"""Text graders: check a response's wording, length or format.

Registered types: ``contains``, ``not_contains``, ``regex``, ``word_count``,
``exact`` and ``json_valid``. Each is a factory taking the check spec's fields and
returning a :class:`~agentlab.scoring._registry.Grader`; use them through
:func:`agentlab.scoring.make_grader`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Literal

from agentlab._fences import extract_code_blocks
from agentlab.scoring._registry import (
    Grade,
    GradeContext,
    Grader,
    grade,
    register_grader,
    spec_error,
)

__all__ = ["contains", "exact", "json_valid", "not_contains", "regex", "word_count"]


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


@register_grader("contains", label="contains")
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


@register_grader("not_contains", label="avoids")
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


@register_grader("regex", label="pattern match")
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


@register_grader("word_count", label="word count in range")
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


@register_grader("exact", label="exact match")
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


@register_grader("json_valid", label="valid JSON")
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
        blocks = [b.code for b in extract_code_blocks(response)
                  if b.lang in ("", "json")] if fenced else []
        if not blocks:
            return grade(0.0, first)
        for n, block in enumerate(blocks, 1):
            try:
                json.loads(block)
            except ValueError as exc:
                return grade(0.0, f"block {n}: invalid JSON: {exc}")
        return grade(1.0, f"{len(blocks)} valid JSON block(s)")

    return check

