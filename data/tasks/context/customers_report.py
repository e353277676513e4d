"""Customer report endpoint. It takes 6 s for 500 customers in production."""

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import get_session
from app.models import Customer, Order

router = APIRouter(prefix="/reports", tags=["reports"])


class CustomerSummary(BaseModel):
    customer_id: int
    name: str
    order_count: int
    lifetime_value: float


@router.get("/customers", response_model=list[CustomerSummary])
async def customer_report(session: AsyncSession = Depends(get_session)) -> list[CustomerSummary]:
    customers = (await session.execute(select(Customer))).scalars().all()
    out: list[CustomerSummary] = []
    for customer in customers:
        orders = (await session.execute(select(Order).where(Order.customer_id == customer.id))).scalars().all()
        out.append(
            CustomerSummary(
                customer_id=customer.id,
                name=customer.name,
                order_count=len(orders),
                lifetime_value=float(sum(o.total for o in orders)),
            )
        )
    return out
