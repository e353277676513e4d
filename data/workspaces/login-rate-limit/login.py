"""Login with email and password. There is no protection against password guessing."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping


class RateLimited(Exception):
    """Too many failed attempts; retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many failed attempts; retry after {retry_after:.0f} s")
        self.retry_after = retry_after


def _hash(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


class LoginService:
    """Checks passwords. ``clock`` returns the current time in seconds."""

    def __init__(self, users: Mapping[str, str], clock: Callable[[], float]) -> None:
        self._hashes = {email.lower(): _hash(pw) for email, pw in users.items()}
        self._clock = clock

    def login(self, email: str, password: str) -> bool:
        """Whether the password is right for this email."""
        expected = self._hashes.get(email.lower(), "")
        return hmac.compare_digest(expected, _hash(password))
