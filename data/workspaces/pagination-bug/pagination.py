"""Cursor pagination for the customers list.

Users report that page 2 repeats the last customer of page 1, and that the next cursor
is missing when a page is full, so the last customers are never shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Customer:
    id: int
    name: str


@dataclass(frozen=True)
class CustomerPage:
    items: list[Customer]
    next_cursor: int | None


def list_customers(customers: Sequence[Customer], cursor: int | None,
                   limit: int = 50) -> CustomerPage:
    """One page of customers ordered by id, after ``cursor`` (the last id already seen)."""
    rows = sorted(customers, key=lambda c: c.id)
    if cursor is not None:
        rows = [c for c in rows if c.id >= cursor]
    rows = rows[:limit]
    next_cursor = rows[-1].id if len(rows) == limit - 1 else None
    return CustomerPage(items=rows, next_cursor=next_cursor)
