"""Variant labels and colours shared by every chart.

A variant keeps one colour (:func:`variant_colors`) and one short label
(:func:`short_names`) in every chart. Parts all names share are named once in the axis
label, as ``prefix-*-suffix``; when one variant is the base the others extend
(``python-pro-backend`` and ``python-pro-backend-concise``), the base keeps its name and the
others show what they add.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import NamedTuple

# tab10 first (the colours people know), then dark, saturated picks from tab20b and
# Dark2 that stay apart from tab10, so up to 20 variants get 20 distinct hues.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#e7298a", "#e6ab02", "#1b9e77", "#843c39", "#637939",
    "#7b4173", "#8c6d31", "#6b6ecf", "#a6761d",
)
SEPARATORS = "-_ ./:"

class Names(NamedTuple):
    """Display labels, and the prefix and suffix that were cut from every name."""

    labels: dict[str, str]
    prefix: str
    suffix: str
    base: str | None = None
    """The name the others extend (it keeps its full label), if there is one."""

    def axis_label(self, what: str = "variant") -> str:
        """``what`` and, in plain words, what was cut from the labels.

        E.g. ``variant (others extend "python-pro-backend")`` or
        ``task (shared "orders-" left out)``.
        """
        if self.base is not None:
            return f'{what} (others extend "{short_name(self.base, 22)}")'
        cut = [f'"{short_name(part, 28)}"' for part in (self.prefix, self.suffix) if part]
        if not cut:
            return what
        return f"{what} (shared {' and '.join(cut)} left out)"


def short_name(name: str, max_len: int = 24) -> str:
    """Shorten one name to at most ``max_len`` characters by cutting out its middle.

    Args:
        name: The name to shorten.
        max_len: Longest result allowed (at least 5).

    Returns:
        ``name``, or its head and tail joined by "…" (the tail, where names differ, longer).
    """
    max_len = max(max_len, 5)
    if len(name) <= max_len:
        return name
    head = (max_len - 1) * 2 // 5
    return name[:head] + "…" + name[-(max_len - 1 - head) :]


def _shared_start(names: Sequence[str]) -> str:
    """The longest start of all names that ends at a separator and leaves each a rest."""
    if len(names) < 2:
        return ""
    shared = os.path.commonprefix(list(names))  # noqa: RUF071 (names, not paths)
    cut = len(shared)
    while cut > 0 and (shared[cut - 1] not in SEPARATORS or cut >= min(map(len, names))):
        cut -= 1
    return shared[:cut]


def _base_name(names: Sequence[str]) -> str | None:
    """A name every other name extends (``a`` for ``a``, ``a-b``, ``a-c``), if any."""
    for base in names:
        if len(names) > 1 and all(o == base or (o.startswith(base) and o[len(base)] in
                                                SEPARATORS) for o in names):
            return base
    return None


def shorten(names: Sequence[str], max_len: int = 24) -> Names:
    """Unique display labels for ``names`` and the parts cut from all of them."""
    base = _base_name(names)
    if base is not None:  # the base keeps its name; the others show what they add to it
        prefix, suffix = base + "-", ""
        rests = [n if n == base else n[len(base) + 1 :] for n in names]
    else:
        prefix = _shared_start(names)
        rests = [n[len(prefix) :] for n in names]
        suffix = _shared_start([r[::-1] for r in rests])[::-1]
        rests = [r[: len(r) - len(suffix)] for r in rests]
    limit = max_len
    while True:  # raise the limit until middle-ellipsizing no longer merges two names
        labels = [short_name(r, limit) for r in rests]
        if len(set(labels)) == len(labels) or limit > max(map(len, rests)):
            return Names(dict(zip(names, labels, strict=True)), prefix, suffix, base)
        limit += 4


def short_names(names: Iterable[str], max_len: int = 24) -> dict[str, str]:
    """Shorten several names for display, keeping them unique.

    Drops the prefix and suffix all names share (cut at a separator such as "-"), then
    middle-ellipsizes each rest, raising the limit while two labels would be equal.

    Args:
        names: The names, e.g. variant names; duplicates are ignored.
        max_len: Longest label wanted.

    Returns:
        A mapping from each distinct name to its unique display label.
    """
    return shorten(list(dict.fromkeys(names)), max_len).labels


def variant_colors(variants: Iterable[str]) -> dict[str, str]:
    """Give each variant a colour, stable for a given order of variants.

    Args:
        variants: Variant names in a stable order (charts use first appearance in the df).

    Returns:
        A mapping from variant to hex colour; 20 distinct colours, then they repeat.
    """
    return {v: PALETTE[i % len(PALETTE)] for i, v in enumerate(dict.fromkeys(variants))}
