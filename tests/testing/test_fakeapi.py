"""The loopback fake Messages API: raw HTTP behaviour, faults, recording, and the real SDK."""

from __future__ import annotations

import asyncio
import http.client
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from agentlab.testing._server import FakeAnthropic, Fault, minimal_instance, prompt_text

SECRET = "sk-ant-fake-SECRET-VALUE-42"


@pytest.fixture
def conn(fake_api: FakeAnthropic) -> Iterator[http.client.HTTPConnection]:
    c = http.client.HTTPConnection("127.0.0.1", fake_api.port, timeout=5)
    yield c
    c.close()


def post(
    c: http.client.HTTPConnection, body: Any, path: str = "/v1/messages"
) -> tuple[int, dict[str, str], Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    c.request("POST", path, raw, {"content-type": "application/json", "x-api-key": SECRET})
    r = c.getresponse()
    data = r.read()
    headers = {k.lower(): v for k, v in r.getheaders()}
    try:
        return r.status, headers, json.loads(data)
    except ValueError:
        return r.status, headers, data


def message(text: str = "hello", **kw: Any) -> dict[str, Any]:
    return {
        "model": "claude-x",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": text}],
        **kw,
    }


def test_message_shape_and_keep_alive(
    fake_api: FakeAnthropic, conn: http.client.HTTPConnection
) -> None:
    fake_api.reply = "two words"
    for _ in range(2):  # both on one connection
        status, headers, body = post(conn, message("x" * 40))
        assert status == 200 and headers["content-type"] == "application/json"
        assert int(headers["content-length"]) > 0
    assert body["type"] == "message" and body["role"] == "assistant" and body["model"] == "claude-x"
    assert body["content"] == [{"type": "text", "text": "two words"}]
    assert body["stop_reason"] == "end_turn" and body["id"].startswith("msg_")
    assert body["usage"] == {
        "input_tokens": 10,
        "output_tokens": 2,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def test_reply_callable_and_fixed_counts(
    fake_api: FakeAnthropic, conn: http.client.HTTPConnection
) -> None:
    fake_api.reply = lambda req: req["messages"][-1]["content"].upper()
    fake_api.input_tokens, fake_api.output_tokens, fake_api.stop_reason = 7, 9, "refusal"
    _, _, body = post(conn, message("shout"))
    assert body["content"][0]["text"] == "SHOUT"
    assert (body["usage"]["input_tokens"], body["usage"]["output_tokens"]) == (7, 9)
    assert body["stop_reason"] == "refusal"


def test_prompt_cache(fake_api: FakeAnthropic, conn: http.client.HTTPConnection) -> None:
    system = [{"type": "text", "text": "s" * 400, "cache_control": {"type": "ephemeral"}}]
    usages = [post(conn, message(system=system))[2]["usage"] for _ in range(2)]
    assert (usages[0]["cache_creation_input_tokens"], usages[0]["cache_read_input_tokens"]) == (
        100,
        0,
    )
    assert (usages[1]["cache_creation_input_tokens"], usages[1]["cache_read_input_tokens"]) == (
        0,
        100,
    )
    other = post(conn, message(system=system, model="claude-y"))[2]["usage"]
    assert other["cache_creation_input_tokens"] == 100  # the cache is per model
    plain = post(conn, message(system="s" * 400))[2]["usage"]
    assert plain["cache_read_input_tokens"] == 0 and plain["input_tokens"] > 100
    fake_api.cache_min_tokens = 1024
    big = [{"type": "text", "text": "t" * 400, "cache_control": {"type": "ephemeral"}}]
    assert post(conn, message(system=big))[2]["usage"]["cache_creation_input_tokens"] == 0


def test_forced_tool_default_input(
    fake_api: FakeAnthropic, conn: http.client.HTTPConnection
) -> None:
    schema = {
        "type": "object",
        "properties": {
            "score": {"type": "integer", "minimum": 1, "maximum": 5},
            "verdict": {"enum": ["pass", "fail"]},
            "notes": {"type": "string"},
        },
        "required": ["score", "verdict"],
    }
    tools = [
        {"name": "other", "input_schema": {"type": "object"}},
        {"name": "grade", "input_schema": schema},
    ]
    _, _, body = post(conn, message(tools=tools, tool_choice={"type": "tool", "name": "grade"}))
    assert body["stop_reason"] == "tool_use"
    (block,) = body["content"]
    assert (
        block["type"] == "tool_use"
        and block["name"] == "grade"
        and block["id"].startswith("toolu_")
    )
    assert block["input"] == {"score": 1, "verdict": "pass"}
    _, _, auto = post(conn, message(tools=tools))  # no forced tool: a text answer
    assert auto["content"][0]["type"] == "text"


def test_minimal_instance() -> None:
    assert minimal_instance({"type": "string", "minLength": 2}) == "xx"
    assert minimal_instance({"type": ["null", "number"], "exclusiveMinimum": 0}) == 1.0
    assert minimal_instance({"type": "array", "items": {"type": "boolean"}, "minItems": 2}) == [
        False,
        False,
    ]
    assert minimal_instance({"properties": {"a": {"const": 3}}, "required": ["a"]}) == {"a": 3}


def test_stop_sequences_and_max_tokens(
    fake_api: FakeAnthropic, conn: http.client.HTTPConnection
) -> None:
    fake_api.reply = "alpha beta END gamma delta"
    _, _, body = post(conn, message(stop_sequences=["END"]))
    assert (body["content"][0]["text"], body["stop_reason"], body["stop_sequence"]) == (
        "alpha beta ",
        "stop_sequence",
        "END",
    )
    _, _, body = post(conn, message(max_tokens=2))
    assert (body["content"][0]["text"], body["stop_reason"]) == ("alpha beta", "max_tokens")


def test_count_tokens_models_and_unknown_paths(
    fake_api: FakeAnthropic, conn: http.client.HTTPConnection
) -> None:
    status, _, body = post(
        conn,
        {"model": "m", "messages": [{"role": "user", "content": "y" * 80}]},
        "/v1/messages/count_tokens",
    )
    assert (status, body) == (200, {"input_tokens": 20})
    conn.request("GET", "/v1/models?limit=2")
    page = json.loads(conn.getresponse().read())
    assert [m["id"] for m in page["data"]] == ["claude-opus-5-5", "claude-sonnet-5-5"]
    assert page["has_more"] is True and page["last_id"] == "claude-sonnet-5-5"
    assert {"created_at", "display_name", "type"} <= page["data"][0].keys()
    conn.request("GET", "/v1/nope")
    resp = conn.getresponse()
    assert resp.status == 404 and json.loads(resp.read())["error"]["type"] == "not_found_error"
    assert fake_api.path_counts == {"/v1/messages/count_tokens": 1, "/v1/models": 1, "/v1/nope": 1}


def test_bad_requests(fake_api: FakeAnthropic, conn: http.client.HTTPConnection) -> None:
    status, _, body = post(conn, b"{not json")
    assert status == 400 and body["type"] == "error"
    status, _, body = post(conn, {"model": "m", "messages": []})
    assert status == 400 and body["error"]["type"] == "invalid_request_error"
    fake_api.strict_models = True
    status, _, body = post(conn, message())
    assert status == 404 and body["error"]["message"] == "model: claude-x"


@pytest.mark.parametrize(
    ("kind", "status", "etype"),
    [
        ("rate_limit", 429, "rate_limit_error"),
        ("overloaded", 529, "overloaded_error"),
        ("server", 500, "api_error"),
        ("invalid_request", 400, "invalid_request_error"),
        ("auth", 401, "authentication_error"),
        ("permission", 403, "permission_error"),
        ("not_found", 404, "not_found_error"),
    ],
)
def test_http_faults(
    fake_api: FakeAnthropic, conn: http.client.HTTPConnection, kind: str, status: int, etype: str
) -> None:
    fake_api.inject(kind, retry_after=1.5)  # type: ignore[arg-type]
    got, headers, body = post(conn, message())
    assert got == status and body["type"] == "error" and body["error"]["type"] == etype
    assert (headers["retry-after"], headers["retry-after-ms"]) == ("2", "1500")
    assert post(conn, message())[0] == 200  # a queued fault applies once
    assert [r.fault for r in fake_api.requests] == [kind, None]


def test_retry_after_zero_still_means_retry_at_once(
    fake_api: FakeAnthropic, conn: http.client.HTTPConnection
) -> None:
    fake_api.inject("rate_limit", retry_after=0)
    headers = post(conn, message())[1]
    assert (headers["retry-after"], headers["retry-after-ms"]) == ("0", "1")
    fake_api.inject("server")
    assert "retry-after" not in post(conn, message())[1]


def test_reset_slow_and_malformed(
    fake_api: FakeAnthropic, conn: http.client.HTTPConnection
) -> None:
    fake_api.inject("reset", Fault("slow", delay=0.2), "malformed")
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
        post(conn, message())
    conn.close()
    start = time.monotonic()
    assert post(conn, message())[0] == 200
    assert time.monotonic() - start >= 0.2
    status, _, body = post(conn, message())
    assert status == 200 and isinstance(body, bytes)
    assert [r.status for r in fake_api.requests] == [None, 200, 200]


def test_rules_by_model_marker_and_path(
    fake_api: FakeAnthropic, conn: http.client.HTTPConnection
) -> None:
    fake_api.add_rule("overloaded", model="claude-busy")
    fake_api.add_rule("invalid_request", marker="BREAK-ME", times=1)
    fake_api.add_rule("server", path="/v1/models")
    assert post(conn, message(model="claude-busy"))[0] == 529
    assert post(conn, message(model="claude-busy"))[0] == 529
    assert post(conn, message("please BREAK-ME now"))[0] == 400
    assert post(conn, message("please BREAK-ME now"))[0] == 200  # times=1 used up
    conn.request("GET", "/v1/models")
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 500
    fake_api.inject("auth")  # queued faults come before rules
    assert post(conn, message(model="claude-busy"))[0] == 401
    fake_api.clear_faults()
    assert post(conn, message(model="claude-busy"))[0] == 200
    with pytest.raises(ValueError, match="unknown fault kind"):
        fake_api.inject("explode")  # type: ignore[arg-type]


def test_recording_keeps_no_credentials(
    fake_api: FakeAnthropic, conn: http.client.HTTPConnection
) -> None:
    conn.request(
        "POST", "/v1/messages", json.dumps(message()), {"authorization": f"Bearer {SECRET}"}
    )
    conn.getresponse().read()
    post(conn, message())  # sends x-api-key
    conn.request("GET", "/v1/models")  # no credentials
    conn.getresponse().read()
    first, second, third = fake_api.requests
    assert first.auth_present and "authorization" in first.header_names
    assert second.auth_present and "x-api-key" in second.header_names
    assert not third.auth_present and third.body is None
    assert first.body == message() and first.method == "POST" and first.status == 200
    assert SECRET not in repr(fake_api.requests) and SECRET not in repr(vars(fake_api))
    assert fake_api.request_count == 3
    fake_api.reset()
    assert (fake_api.request_count, fake_api.requests, fake_api.peak_in_flight) == (0, [], 0)


def test_prompt_text() -> None:
    req = {
        "system": [{"type": "text", "text": "SYS"}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "U"}]}],
    }
    assert prompt_text(req) == "SYS\nU"


def test_sdk_many_concurrent_requests(fake_api: FakeAnthropic) -> None:
    import anthropic

    fake_api.latency = 0.02

    async def go() -> list[str]:
        client = anthropic.AsyncAnthropic(api_key=SECRET, base_url=fake_api.base_url, max_retries=0)
        sem = asyncio.Semaphore(32)

        async def one(i: int) -> str:
            async with sem:
                m = await client.messages.create(
                    model="m", max_tokens=5, messages=[{"role": "user", "content": f"n{i}"}]
                )
                return m.id

        try:
            return list(await asyncio.gather(*(one(i) for i in range(400))))
        finally:
            await client.close()

    ids = asyncio.run(go())
    assert len(set(ids)) == 400 and fake_api.request_count == 400
    assert 8 <= fake_api.peak_in_flight <= 32
    assert fake_api.in_flight == 0


def test_sdk_models_list_paginates(fake_api: FakeAnthropic) -> None:
    import anthropic

    client = anthropic.Anthropic(api_key=SECRET, base_url=fake_api.base_url)
    try:
        ids = [m.id for m in client.models.list(limit=2)]
    finally:
        client.close()
    assert len(ids) == 6 and ids[0] == "claude-opus-5-5"
    assert fake_api.path_counts == {"/v1/models": 3}


def test_stop_is_prompt_with_a_slow_request_in_flight() -> None:
    fake = FakeAnthropic().start()
    fake.inject("slow", delay=30)
    c = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    c.request("POST", "/v1/messages", json.dumps(message()))
    time.sleep(0.1)
    start = time.monotonic()
    fake.stop()
    assert time.monotonic() - start < 2
    c.close()
    fake.stop()  # stopping twice is harmless
    with pytest.raises(RuntimeError, match="not running"):
        _ = fake.base_url


def test_command_line() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agentlab.testing",
            "--port",
            "0",
            "--latency",
            "0.01",
            "--reply",
            "from cli",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        c = http.client.HTTPConnection(url.removeprefix("http://"), timeout=5)
        status, _, body = post(c, message())
        c.close()
        assert status == 200 and body["content"][0]["text"] == "from cli"
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0
        proc.stdout.close()  # type: ignore[union-attr]
