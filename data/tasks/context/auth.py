"""Authentication helpers. Tokens are currently opaque API keys looked up in the database."""

from dataclasses import dataclass

from fastapi import Depends, Header, HTTPException, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import get_session
from app.models import ApiKey


@dataclass(frozen=True)
class CurrentUser:
    user_id: int
    customer_id: int
    scopes: frozenset[str]


async def get_current_user(
    authorization: str = Header(...),
    session: AsyncSession = Depends(get_session),
) -> CurrentUser:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="missing bearer token")
    key = (await session.execute(select(ApiKey).where(ApiKey.token == token))).scalar_one_or_none()
    if key is None or key.revoked:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="invalid token")
    return CurrentUser(user_id=key.user_id, customer_id=key.customer_id, scopes=frozenset(key.scopes))
