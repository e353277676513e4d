"""Orders service: every query is scoped to the current user's customer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Order:
    id: int
    customer_id: int
    status: OrderStatus
    created_at: datetime


@dataclass(frozen=True)
class CurrentUser:
    id: int
    customer_id: int


class NotFound(Exception):
    """The order does not exist, or belongs to another customer."""


def list_orders(orders: Iterable[Order], user: CurrentUser) -> list[Order]:
    """The user's orders, newest first."""
    own = [o for o in orders if o.customer_id == user.customer_id]
    return sorted(own, key=lambda o: o.created_at, reverse=True)


def get_order(orders: Iterable[Order], user: CurrentUser, order_id: int) -> Order:
    """One of the user's orders."""
    for order in orders:
        if order.id == order_id and order.customer_id == user.customer_id:
            return order
    raise NotFound(order_id)
