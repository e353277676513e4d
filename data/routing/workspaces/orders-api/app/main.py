"""Orders API (sample workspace for a routing query)."""

from datetime import date
from enum import Enum

from fastapi import Depends, FastAPI
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Order, get_session

app = FastAPI(title="orders")


class OrderStatus(str, Enum):
    pending = "pending"
    shipped = "shipped"
    cancelled = "cancelled"


class OrderOut(BaseModel):
    id: int
    status: OrderStatus
    created: date


@app.get("/orders", response_model=list[OrderOut])
async def list_orders(status: str, session: AsyncSession = Depends(get_session)) -> list[Order]:
    query = select(Order).where(Order.status == OrderStatus(status))
    return list((await session.scalars(query)).all())
