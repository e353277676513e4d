"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agentlab.testing._server import FakeAnthropic


@pytest.fixture
def fake_api() -> Iterator[FakeAnthropic]:
    """A fresh loopback fake of the Messages API; point the SDK at ``fake_api.base_url``."""
    with FakeAnthropic() as fake:
        yield fake
