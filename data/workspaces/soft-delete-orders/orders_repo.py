"""Orders repository on SQLite. Every function is scoped to one customer."""

from __future__ import annotations

import sqlite3


class NotFound(Exception):
    """No such order for this customer."""


def get_status(db: sqlite3.Connection, order_id: int, customer_id: int) -> str:
    """An order's status."""
    row = db.execute("SELECT status FROM orders WHERE id = ? AND customer_id = ?",
                     (order_id, customer_id)).fetchone()
    if row is None:
        raise NotFound(order_id)
    return str(row[0])


def cancel_order(db: sqlite3.Connection, order_id: int, customer_id: int) -> None:
    """Cancel an order."""
    get_status(db, order_id, customer_id)
    db.execute("DELETE FROM orders WHERE id = ? AND customer_id = ?", (order_id, customer_id))
    db.commit()
