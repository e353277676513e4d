"""Prompt diffs for the playground: a readable, escaped unified diff with changed words marked.

Both sides are text a user (or a model) wrote, so every line is escaped here; the markup
uses only the ``al-*`` classes styled by :data:`agentlab.views._html.STYLE`.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Sequence

__all__ = ["diff_html"]

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


def _word_diff(old: str, new: str) -> tuple[str, str]:
    """The two lines, escaped, with changed words wrapped in ``<del>`` / ``<ins>``."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.ratio() < 0.3:  # mostly rewritten: word marks would only add noise
        return html.escape(old), html.escape(new)
    left: list[str] = []
    right: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        x, y = html.escape("".join(a[i1:i2])), html.escape("".join(b[j1:j2]))
        if tag == "equal":
            left.append(x)
            right.append(y)
            continue
        if x:
            left.append(f"<del>{x}</del>")
        if y:
            right.append(f"<ins>{y}</ins>")
    return "".join(left), "".join(right)


def _diff_line(kind: str, sign: str, number: int, body: str) -> str:
    return (f'<div class="al-dl al-{kind}"><span class="al-ln">{number}</span>'
            f'<span class="al-sign">{sign}</span>{body or " "}</div>')


def _hunk(group: Sequence[tuple[str, int, int, int, int]], a: list[str],
          b: list[str]) -> list[str]:
    first, last = group[0], group[-1]
    out = [f'<div class="al-hunk">lines {first[3] + 1}–{last[4]} of the edited prompt</div>']
    for tag, i1, i2, j1, j2 in group:
        if tag == "equal":
            out += [_diff_line("ctx", " ", j1 + k + 1, html.escape(a[i1 + k]))
                    for k in range(i2 - i1)]
            continue
        pairs = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        marked = [_word_diff(a[i1 + k], b[j1 + k]) for k in range(pairs)]
        olds = [m[0] for m in marked] + [html.escape(x) for x in a[i1 + pairs:i2]]
        news = [m[1] for m in marked] + [html.escape(y) for y in b[j1 + pairs:j2]]
        out += [_diff_line("del", "−", i1 + k + 1, s) for k, s in enumerate(olds)]
        out += [_diff_line("add", "+", j1 + k + 1, s) for k, s in enumerate(news)]
    return out


def diff_html(a: str, b: str, *, from_name: str = "base", to_name: str = "edited",
              context: int = 3) -> str:
    """A readable, escaped unified diff of two prompts, changed words marked.

    Args:
        a: The original text.
        b: The edited text.
        from_name: Label of ``a``.
        to_name: Label of ``b``.
        context: Unchanged lines shown around each change.

    Returns:
        An HTML fragment: a one-line summary, then each changed region with removed
        lines (−, old line numbers) and added lines (+, new line numbers).
    """
    a_lines, b_lines = a.splitlines(), b.splitlines()
    matcher = difflib.SequenceMatcher(None, a_lines, b_lines, autojunk=False)
    names = f"{html.escape(to_name)} vs {html.escape(from_name)}"
    groups = list(matcher.get_grouped_opcodes(context))
    if not groups:
        return f'<div class="al-diff"><div class="al-dsum">{names}: no changes</div></div>'
    ops = matcher.get_opcodes()
    removed = sum(i2 - i1 for tag, i1, i2, _, _ in ops if tag != "equal")
    added = sum(j2 - j1 for tag, _, _, j1, j2 in ops if tag != "equal")
    out = [f'<div class="al-diff"><div class="al-dsum">{names}: '
           f'<span class="al-plus">+{added}</span> <span class="al-minus">−{removed}</span> '
           "lines</div>"]
    for group in groups:
        out += _hunk(group, a_lines, b_lines)
    return "".join(out) + "</div>"
