"""What the fake Anthropic API answers: message bodies, errors, model lists, token counts.

Pure functions over request JSON, used by :mod:`agentlab.testing` (which owns the
server, its state and the public API); kept apart so each module stays readable.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

FaultKind = Literal[
    "rate_limit",  # 429 rate_limit_error (send retry_after to set the retry-after headers)
    "overloaded",  # 529 overloaded_error
    "server",  # 500 api_error
    "invalid_request",  # 400 invalid_request_error
    "auth",  # 401 authentication_error
    "permission",  # 403 permission_error
    "not_found",  # 404 not_found_error
    "reset",  # close the connection (TCP RST) without answering
    "slow",  # wait Fault.delay seconds, then answer normally
    "malformed",  # 200 with a body that is not JSON
]
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)

_ERRORS: dict[str, tuple[int, str, str]] = {
    "rate_limit": (429, "rate_limit_error", "Fake rate limit: too many requests."),
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "server": (500, "api_error", "Internal server error"),
    "invalid_request": (400, "invalid_request_error", "Fake invalid request."),
    "auth": (401, "authentication_error", "invalid x-api-key"),
    "permission": (403, "permission_error", "Your API key does not have permission."),
    "not_found": (404, "not_found_error", "Not found."),
}
DEFAULT_MODELS: tuple[str, ...] = (
    "claude-opus-5-5",
    "claude-sonnet-5-5",
    "claude-haiku-5-5",
    "claude-fable-5-2",
    "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5-20251001",
)
_LINES = ("haiku", "sonnet", "opus", "fable", "mythos")

Json = dict[str, Any]  # request and response bodies are free-form JSON


@dataclass(frozen=True)
class Fault:
    """A failure to answer one request with.

    Attributes:
        kind: What to do instead of a normal answer.
        retry_after: Seconds sent as ``retry-after`` (rounded up) and ``retry-after-ms``
            on an HTTP error; the SDK waits that long before retrying. ``0`` is sent as
            ``retry-after-ms: 1``, because the SDK treats 0 as absent and falls back to
            its own backoff (0.5 s and more). ``None`` sends no such header.
        delay: For ``"slow"``: seconds to wait before answering normally.
        message: Error message to send instead of the default one.
    """

    kind: FaultKind
    retry_after: float | None = None
    delay: float = 30.0
    message: str | None = None


@dataclass(frozen=True)
class Reply:
    """An answer to write: status, headers and body, or a connection reset."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    reset: bool = False
    fault: FaultKind | None = None


def json_reply(status: int, payload: object, **kw: Any) -> Reply:
    """Build a JSON answer; ``kw`` are further :class:`Reply` fields (``headers`` are added)."""
    headers = (("content-type", "application/json"), *kw.pop("headers", ()))
    return Reply(status, json.dumps(payload).encode(), headers, **kw)


def error_reply(status: int, etype: str, message: str, **kw: Any) -> Reply:
    """Build an error answer in the API's shape ``{"type": "error", "error": {...}}``."""
    payload = {"type": "error", "error": {"type": etype, "message": message}}
    return json_reply(status, payload, **kw)


def tokens(chars: int) -> int:
    """Approximate a token count from a character count (about four per token)."""
    return math.ceil(chars / 4)


def _block_text(block: Any) -> str:
    if isinstance(block, str):
        return block
    if isinstance(block, dict):
        text = block.get("text")
        if isinstance(text, str):
            return text
        return json.dumps({k: v for k, v in block.items() if k != "cache_control"})
    return json.dumps(block)


def _segment(block: Any) -> tuple[str, bool]:
    return _block_text(block), isinstance(block, dict) and "cache_control" in block


def _segments(req: Json) -> list[tuple[str, bool]]:
    """Flatten a request into (text, has cache_control) pieces, in the API's caching order."""
    segs = [_segment(tool) for tool in req.get("tools") or []]
    system = req.get("system")
    segs += [_segment(block) for block in ([system] if isinstance(system, str) else system or [])]
    for message in req.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else message
        segs += [_segment(b) for b in (content if isinstance(content, list) else [content])]
    if segs and isinstance(req.get("cache_control"), dict):
        segs[-1] = (segs[-1][0], True)  # top-level cache_control caches the whole prompt
    return segs


def count_input_tokens(req: Json) -> int:
    """Estimate a request's input tokens as about one per four characters."""
    return max(1, tokens(sum(len(text) for text, _ in _segments(req))))


def cache_prefixes(req: Json, min_tokens: int) -> list[str]:
    """Return the prompt prefixes ending at each ``cache_control`` breakpoint, shortest first.

    Args:
        req: A Messages API request body.
        min_tokens: Prefixes shorter than this are not cached (as in the real API).

    Returns:
        The cacheable prefixes' text.
    """
    segs = _segments(req)
    ends = [i + 1 for i, (_, marked) in enumerate(segs) if marked]
    prefixes = ["\n".join(text for text, _ in segs[:end]) for end in ends]
    return [p for p in prefixes if tokens(len(p)) >= max(1, min_tokens)]


def prompt_text(req: Json) -> str:
    """Return the text of a request's system prompt and messages, for markers and counting.

    Args:
        req: A Messages API request body.

    Returns:
        The concatenated text of tools, system blocks and message content.
    """
    return "\n".join(text for text, _ in _segments(req))


def minimal_instance(schema: Any) -> Any:
    """Build the smallest value that satisfies a (simple) JSON Schema.

    Args:
        schema: A JSON Schema; objects get only their ``required`` properties.

    Returns:
        A value of the schema's type (``const``/``enum``/``default`` win when present).
    """
    if not isinstance(schema, dict):
        return None
    for key in ("const", "default"):
        if key in schema:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        props = schema.get("properties") or {}
        return {name: minimal_instance(props.get(name, {})) for name in schema.get("required", [])}
    if kind == "array":
        return [minimal_instance(schema.get("items", {}))] * int(schema.get("minItems", 0))
    if kind == "string":
        return "x" * int(schema.get("minLength", 0))
    if kind in ("integer", "number"):
        low = float(schema.get("minimum", schema.get("exclusiveMinimum")) or 0)
        low += 1 if "exclusiveMinimum" in schema and "minimum" not in schema else 0
        return math.ceil(low) if kind == "integer" else low
    return False if kind == "boolean" else None


def fault_reply(fault: Fault, body: Json | None) -> Reply:
    """Build the answer a fault stands for (an error body, a reset, a broken body)."""
    if fault.kind == "reset":
        return Reply(0, reset=True, fault="reset")
    if fault.kind == "malformed":  # e.g. a proxy's HTML page labelled as JSON
        ctype = (("content-type", "application/json"),)
        return Reply(200, b"<html>502 Bad Gateway</html>", ctype, fault="malformed")
    status, etype, message = _ERRORS[fault.kind]
    if fault.kind == "not_found" and body and "model" in body:
        message = f"model: {body['model']}"
    headers: list[tuple[str, str]] = []
    if fault.retry_after is not None:
        headers.append(("retry-after", str(math.ceil(fault.retry_after))))
        headers.append(("retry-after-ms", str(max(1, round(fault.retry_after * 1000)))))
    message = fault.message or message
    return error_reply(status, etype, message, headers=tuple(headers), fault=fault.kind)


def model_infos(models: Sequence[str] | Mapping[str, str]) -> list[Json]:
    """Describe models as ``/v1/models`` does, newest first (ids alone get made-up dates)."""
    if not isinstance(models, Mapping):
        start = datetime(2026, 6, 1, tzinfo=UTC)
        models = {m: (start - timedelta(days=30 * i)).isoformat() for i, m in enumerate(models)}
    infos = [
        {
            "type": "model",
            "id": mid,
            "display_name": mid.replace("-", " ").title(),
            "created_at": created.replace("+00:00", "Z"),
            "lifecycle": "active",
            "line": next((line for line in _LINES if line in mid), None),
        }
        for mid, created in models.items()
    ]
    return sorted(infos, key=lambda m: str(m["created_at"]), reverse=True)


def models_page(infos: list[Json], query: dict[str, list[str]]) -> Json:
    """Return one page of a model list, honouring ``limit`` and ``after_id``."""
    ids = [m["id"] for m in infos]
    after = query.get("after_id", [None])[0]
    start = ids.index(after) + 1 if after in ids else 0
    limit = int(query.get("limit", ["20"])[0])
    page = infos[start : start + limit]
    return {
        "data": page,
        "has_more": start + limit < len(infos),
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
    }


def missing_field(req: Json, fields: Iterable[str]) -> str | None:
    """Return a 400 message naming the first missing required field, if any."""
    for name in fields:
        if name not in req:
            return f"{name}: Field required"
    if "messages" in req and not req["messages"]:
        return "messages: at least one message is required"
    return None


def forced_tool(req: Json) -> Json | None:
    """Return the tool the request forces (``tool_choice`` tool or any), if any."""
    choice = req.get("tool_choice") or {}
    tools = [t for t in req.get("tools") or [] if isinstance(t, dict)]
    if choice.get("type") == "tool":
        return next((t for t in tools if t.get("name") == choice.get("name")), None)
    if choice.get("type") == "any" and tools:
        return tools[0]
    return None


def cut_reply(text: str, req: Json) -> tuple[str, str, str | None]:
    """Apply stop sequences and max_tokens (counted in words) to a reply."""
    hits = [(text.find(s), s) for s in req.get("stop_sequences") or [] if s and s in text]
    if hits:
        index, sequence = min(hits)
        return text[:index], "stop_sequence", sequence
    words = text.split()
    limit = int(req.get("max_tokens", len(words)))
    if len(words) > limit:
        return " ".join(words[:limit]), "max_tokens", None
    return text, "end_turn", None


