"""Cursor pagination for the customers list. Users report that page 2 repeats the last
customer of page 1 and that the last page is sometimes missing a customer."""

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Customer


class CustomerOut(BaseModel):
    id: int
    name: str


class CustomerPage(BaseModel):
    items: list[CustomerOut]
    next_cursor: int | None


async def list_customers(session: AsyncSession, cursor: int | None, limit: int = 50) -> CustomerPage:
    query = select(Customer).order_by(Customer.id).limit(limit)
    if cursor is not None:
        query = query.where(Customer.id >= cursor)
    rows = list((await session.execute(query)).scalars().all())
    next_cursor = rows[-1].id if len(rows) == limit - 1 else None
    return CustomerPage(
        items=[CustomerOut(id=c.id, name=c.name) for c in rows],
        next_cursor=next_cursor,
    )
