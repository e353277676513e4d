"""AnthropicProvider through the loopback fake API, with the real SDK over real HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from agentlab.providers.anthropic import AnthropicProvider
from agentlab.providers.base import (
    CallError,
    GenerationOptions,
    Message,
    Provider,
    Request,
    Response,
    ToolSpec,
)
from agentlab.testing._server import FakeAnthropic, Fault

KEY = "sk-ant-test-DO-NOT-LEAK-1234567890"
T = TypeVar("T")


def provider_for(
    fake: FakeAnthropic, *, max_retries: int = 4, timeout: float = 120.0
) -> AnthropicProvider:
    return AnthropicProvider(
        api_key=KEY, base_url=fake.base_url, max_retries=max_retries, timeout=timeout
    )


def run(provider: AnthropicProvider, make: Callable[[], Awaitable[T]]) -> T:
    """Run one coroutine in a fresh loop, closing the provider's client in that loop."""

    async def go() -> T:
        try:
            return await make()
        finally:
            await provider.aclose()

    return asyncio.run(go())


def request(
    system: str = "You are terse.",
    *,
    options: GenerationOptions | None = None,
    tools: tuple[ToolSpec, ...] = (),
    force_tool: str | None = None,
) -> Request:
    return Request(
        system=system,
        messages=(Message("user", "Say hi."),),
        model="claude-test",
        options=options or GenerationOptions(),
        tools=tools,
        force_tool=force_tool,
    )


def fail(fake: FakeAnthropic, *, max_retries: int = 4, timeout: float = 120.0) -> CallError:
    provider = provider_for(fake, max_retries=max_retries, timeout=timeout)
    with pytest.raises(CallError) as info:
        run(provider, lambda: provider.complete(request()))
    return info.value


def test_is_a_provider() -> None:
    assert isinstance(AnthropicProvider(api_key=KEY), Provider)
    assert AnthropicProvider().name == "anthropic"


def test_text_reply(fake_api: FakeAnthropic) -> None:
    fake_api.reply = "Hello there, friend."
    fake_api.latency = 0.05
    provider = provider_for(fake_api)
    resp = run(provider, lambda: provider.complete(request()))
    assert resp.text == "Hello there, friend."
    assert resp.model == "claude-test"
    assert resp.stop_reason == "end_turn"
    assert resp.output_tokens == 3
    assert resp.tool_calls == ()
    assert resp.latency_s >= 0.05
    body = fake_api.bodies()[0]
    assert body["messages"] == [{"role": "user", "content": "Say hi."}]
    assert body["max_tokens"] == 1024
    assert "temperature" not in body and "tools" not in body


def test_tokens_and_prompt_cache(fake_api: FakeAnthropic) -> None:
    provider = provider_for(fake_api)
    req = request(system="Be a careful reviewer. " * 40)

    async def twice() -> list[Response]:
        return [await provider.complete(req), await provider.complete(req)]

    first, second = run(provider, twice)
    assert first.cache_write_tokens > 100 and first.cache_read_tokens == 0
    assert second.cache_read_tokens == first.cache_write_tokens
    assert second.cache_write_tokens == 0
    assert 0 < first.input_tokens < first.cache_write_tokens
    system = fake_api.bodies()[0]["system"]
    assert system == [{"type": "text", "text": req.system, "cache_control": {"type": "ephemeral"}}]


def test_generation_options_reach_the_body(fake_api: FakeAnthropic) -> None:
    fake_api.reply = "one two STOP three"
    options = GenerationOptions(max_tokens=50, temperature=0.3, top_p=0.9, seed=7, stop=("STOP",))
    provider = provider_for(fake_api)
    resp = run(provider, lambda: provider.complete(request(options=options)))
    body = fake_api.bodies()[0]
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.3, 0.9, 50)
    assert body["stop_sequences"] == ["STOP"]
    assert "seed" not in body  # the Messages API has no seed
    assert resp.stop_reason == "stop_sequence" and resp.text == "one two "


def test_max_tokens_stop_reason(fake_api: FakeAnthropic) -> None:
    fake_api.reply = "a b c d e f"
    provider = provider_for(fake_api)
    resp = run(provider, lambda: provider.complete(request(options=GenerationOptions(3))))
    assert resp.stop_reason == "max_tokens" and resp.text == "a b c"


def test_forced_tool(fake_api: FakeAnthropic) -> None:
    schema = {
        "type": "object",
        "properties": {"score": {"type": "integer", "minimum": 1}, "why": {"type": "string"}},
        "required": ["score", "why"],
    }
    tool = ToolSpec("grade", "Grade the answer.", json.dumps(schema, sort_keys=True))
    fake_api.tool_input = lambda body: {"why": "fine", "score": 4}
    provider = provider_for(fake_api)
    resp = run(provider, lambda: provider.complete(request(tools=(tool,), force_tool="grade")))
    body = fake_api.bodies()[0]
    assert body["tool_choice"] == {"type": "tool", "name": "grade"}
    assert body["tools"] == [
        {"name": "grade", "description": "Grade the answer.", "input_schema": schema}
    ]
    assert resp.stop_reason == "tool_use" and resp.text == ""
    assert [(c.name, c.input) for c in resp.tool_calls] == [
        ("grade", '{"score": 4, "why": "fine"}')
    ]


def test_rate_limit_then_success(fake_api: FakeAnthropic) -> None:
    fake_api.inject("rate_limit", retry_after=0.001)
    provider = provider_for(fake_api)
    resp = run(provider, lambda: provider.complete(request()))
    assert resp.text
    assert [r.status for r in fake_api.requests] == [429, 200]


def test_overloaded_and_server_error_then_success(fake_api: FakeAnthropic) -> None:
    fake_api.inject("overloaded", "server", retry_after=0.001)
    provider = provider_for(fake_api)
    assert run(provider, lambda: provider.complete(request())).text
    assert [r.status for r in fake_api.requests] == [529, 500, 200]


@pytest.mark.parametrize(
    ("fault", "kind", "status"),
    [
        ("invalid_request", "invalid_request", 400),
        ("auth", "auth", 401),
        ("permission", "auth", 403),
        ("not_found", "not_found", 404),
    ],
)
def test_fatal_errors_are_not_retried(
    fake_api: FakeAnthropic, fault: str, kind: str, status: int
) -> None:
    fake_api.inject(fault)  # type: ignore[arg-type]
    error = fail(fake_api)
    assert (error.kind, error.status, error.retryable) == (kind, status, False)
    assert fake_api.request_count == 1
    assert str(status) in str(error) and "claude-test" in str(error)
    assert "\n" not in str(error)


def test_error_message_carries_the_api_message(fake_api: FakeAnthropic) -> None:
    fake_api.inject(Fault("not_found"))
    assert "model: claude-test" in str(fail(fake_api))
    fake_api.inject(Fault("invalid_request", message="prompt is too long: 250000 tokens > 200000"))
    error = fail(fake_api)
    assert error.kind == "context_overflow" and "250000 tokens" in str(error)


def test_retries_exhausted(fake_api: FakeAnthropic) -> None:
    fake_api.inject("rate_limit", "rate_limit", retry_after=0.001)
    error = fail(fake_api, max_retries=1)
    assert (error.kind, error.status, error.retryable) == ("rate_limit", 429, True)
    assert fake_api.request_count == 2
    assert "after 1 retries" in str(error)
    fake_api.inject("overloaded")
    assert fail(fake_api, max_retries=0).kind == "overloaded"
    fake_api.inject(Fault("server"))
    assert fail(fake_api, max_retries=0).kind == "server"


def test_connection_reset_then_success(fake_api: FakeAnthropic) -> None:
    fake_api.inject("reset")
    provider = provider_for(fake_api)
    assert run(provider, lambda: provider.complete(request())).text
    assert [r.status for r in fake_api.requests] == [None, 200]


def test_connection_reset_exhausted(fake_api: FakeAnthropic) -> None:
    fake_api.inject("reset")
    error = fail(fake_api, max_retries=0)
    assert error.kind == "connection" and error.retryable


def test_malformed_body(fake_api: FakeAnthropic) -> None:
    fake_api.inject("malformed")
    error = fail(fake_api)
    assert error.kind == "malformed" and not error.retryable
    assert fake_api.request_count == 1


def test_timeout(fake_api: FakeAnthropic) -> None:
    fake_api.inject("slow", delay=5.0)
    start = time.monotonic()
    error = fail(fake_api, timeout=0.3, max_retries=0)
    assert error.kind == "timeout" and error.retryable
    assert time.monotonic() - start < 3


def test_connection_refused() -> None:
    with FakeAnthropic() as fake:
        url = fake.base_url
    provider = AnthropicProvider(api_key=KEY, base_url=url, max_retries=0)
    with pytest.raises(CallError) as info:
        run(provider, lambda: provider.complete(request()))
    assert info.value.kind == "connection"


def test_missing_key_is_an_auth_error(
    fake_api: FakeAnthropic, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path))  # no profile files either
    provider = AnthropicProvider(base_url=fake_api.base_url)
    with pytest.raises(CallError) as info:
        run(provider, lambda: provider.complete(request()))
    assert info.value.kind == "auth" and "ANTHROPIC_API_KEY" in str(info.value)
    assert fake_api.request_count == 0


def test_key_never_leaks(fake_api: FakeAnthropic) -> None:
    provider = provider_for(fake_api, max_retries=0)
    for fault in ("auth", "invalid_request", "reset", "malformed"):
        fake_api.inject(fault)
        with pytest.raises(CallError) as info:
            run(provider, lambda: provider.complete(request()))
        error = info.value
        texts = [str(error), repr(error), repr(error.args), repr(vars(error))]
        assert not any(KEY in t for t in texts)
        assert error.__context__ is None and error.__cause__ is None
    run(provider, lambda: provider.complete(request()))
    for text in (repr(provider), str(provider), repr(vars(provider))):
        assert KEY not in text
    assert KEY not in repr(fake_api.requests) and KEY not in repr(vars(fake_api))
    assert all(r.auth_present and "authorization" in r.header_names for r in fake_api.requests)


def test_key_from_environment_is_used_and_scrubbed(
    fake_api: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    provider = AnthropicProvider(base_url=fake_api.base_url, max_retries=0)
    assert run(provider, lambda: provider.complete(request())).text
    fake_api.inject(Fault("invalid_request", message=f"bad key {KEY} echoed"))
    with pytest.raises(CallError) as info:
        run(provider, lambda: provider.complete(request()))
    assert KEY not in str(info.value) and "<hidden>" in str(info.value)
    assert fake_api.requests[0].auth_present and KEY not in repr(provider)


def test_concurrent_calls_reach_peak_in_flight(fake_api: FakeAnthropic) -> None:
    fake_api.latency = 0.3
    provider = provider_for(fake_api)

    async def five() -> list[Response]:
        return list(await asyncio.gather(*(provider.complete(request()) for _ in range(5))))

    start = time.monotonic()
    assert len(run(provider, five)) == 5
    assert time.monotonic() - start < 1.2  # concurrent, not 5 x 0.3 s in a row
    assert fake_api.peak_in_flight == 5 and fake_api.in_flight == 0


def test_fresh_client_per_event_loop(fake_api: FakeAnthropic) -> None:
    provider = provider_for(fake_api)
    for _ in range(3):  # each asyncio.run is a new loop; a stale client would fail here
        assert run(provider, lambda: provider.complete(request())).text
    assert fake_api.request_count == 3


def test_count_tokens(fake_api: FakeAnthropic) -> None:
    provider = provider_for(fake_api)
    msgs = (Message("user", "x" * 400),)
    n = run(provider, lambda: provider.count_tokens("y" * 400, msgs, "claude-test"))
    assert 190 <= n <= 210
    assert fake_api.path_counts == {"/v1/messages/count_tokens": 1}


def test_latest_model_ids(fake_api: FakeAnthropic) -> None:
    fake_api.models = {
        "claude-sonnet-4-5-20250929": "2025-09-29T00:00:00Z",
        "claude-sonnet-5-5": "2026-05-01T00:00:00Z",
        "claude-haiku-4-5-20251001": "2025-10-01T00:00:00Z",
        "claude-opus-5-5": "2026-04-01T00:00:00Z",
        "claude-opus-4-8": "2026-01-01T00:00:00Z",
    }
    provider = provider_for(fake_api)
    latest = run(provider, provider.latest_model_ids)
    assert latest == {
        "sonnet": "claude-sonnet-5-5",
        "haiku": "claude-haiku-4-5-20251001",
        "opus": "claude-opus-5-5",
    }
    assert run(provider, provider.latest_model_ids) == latest
    assert fake_api.path_counts == {"/v1/models": 1}  # the second answer came from the cache


def test_cache_namespace_names_a_non_default_server(fake_api: FakeAnthropic) -> None:
    assert AnthropicProvider(base_url="https://api.anthropic.com/").cache_namespace == "anthropic"
    assert provider_for(fake_api).cache_namespace == f"anthropic@{fake_api.base_url}"
