"""The customers report: orders and revenue per customer. It is slow on big databases."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class CustomerRow:
    customer: str
    orders: int
    revenue_cents: int


def customers_report(db: sqlite3.Connection) -> list[CustomerRow]:
    """Every customer (with or without orders), by name."""
    rows = []
    for customer_id, name in db.execute("SELECT id, name FROM customers ORDER BY name"):
        count, total = db.execute(
            "SELECT count(*), coalesce(sum(total_cents), 0) FROM orders WHERE customer_id = ?",
            (customer_id,)).fetchone()
        rows.append(CustomerRow(name, count, total))
    return rows
