"""Orders API (FastAPI + async SQLAlchemy)."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import CurrentUser, get_current_user
from app.db import get_session
from app.models import Order

router = APIRouter(prefix="/orders", tags=["orders"])


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    status: OrderStatus
    total: Decimal
    created_at: datetime


@router.get("/{order_id}", response_model=OrderOut)
async def get_order(
    order_id: int,
    session: AsyncSession = Depends(get_session),
    user: CurrentUser = Depends(get_current_user),
) -> Order:
    order = await session.get(Order, order_id)
    if order is None or order.customer_id != user.customer_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="order not found")
    return order


@router.get("", response_model=list[OrderOut])
async def list_orders(
    session: AsyncSession = Depends(get_session),
    user: CurrentUser = Depends(get_current_user),
) -> list[Order]:
    result = await session.execute(
        select(Order).where(Order.customer_id == user.customer_id).order_by(Order.created_at.desc())
    )
    return list(result.scalars().all())
