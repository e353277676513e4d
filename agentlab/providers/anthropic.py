"""The Anthropic Messages API behind the :class:`~agentlab.providers.base.Provider` protocol.

Built on the official SDK's ``AsyncAnthropic`` and used as designed: its retries
(which honour ``retry-after``), its timeouts, prompt caching (the system prompt is
sent as one cached block, so repeated calls with one agent variant read it from the
cache), ``count_tokens`` and ``models.list``. The SDK is imported on first use, since
importing it takes over a second.

The API key is never logged, printed or put in an error message; the provider keeps
it in a wrapper whose ``repr`` hides it, and its own ``repr`` shows no credentials.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from agentlab.providers.base import (
    BaseProvider,
    CallError,
    ErrorKind,
    Message,
    Request,
    Response,
    StopReason,
    ToolCall,
)

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic
    from anthropic.resources.messages.batches import AsyncBatches
    from anthropic.types import MessageParam, TextBlockParam, ToolParam
    from anthropic.types.messages import MessageBatchResult

DEFAULT_BASE_URL = "https://api.anthropic.com"
MODEL_FAMILIES = ("haiku", "sonnet", "opus", "fable")

_STOP_REASONS: dict[str, StopReason] = {
    "end_turn": "end_turn",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_use": "tool_use",
    "refusal": "refusal",
    # The answer was cut by a length limit, as with max_tokens, only a different one.
    "model_context_window_exceeded": "max_tokens",
}

# Newest model id per family, per API base URL, for the life of the process: the list
# changes a few times a year and resolving an alias should not cost a request per run.
_LATEST_MODELS: dict[str, dict[str, str]] = {}


class _Secret:
    """Holds a credential so that ``repr``, ``vars`` and tracebacks do not show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<hidden>"


class AnthropicProvider(BaseProvider):
    """Calls the Anthropic Messages API; one SDK client per event loop, made on first use.

    Args:
        api_key: The API key; ``None`` lets the SDK read ``ANTHROPIC_API_KEY``.
        base_url: API address; ``None`` lets the SDK read ``ANTHROPIC_BASE_URL`` or use
            its default. Point it at :class:`agentlab.testing.FakeAnthropic` for tests.
        max_retries: SDK retries for 408/409/429/5xx answers and connection errors.
        timeout: Seconds allowed per attempt.
    """

    name: str = "anthropic"
    default_max_tokens: int = 2048  # whole answers from Claude

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        max_retries: int = 4,
        timeout: float = 120.0,
    ) -> None:
        self._key = _Secret(api_key) if api_key else None
        self.base_url = base_url
        self.max_retries = max_retries
        self.timeout = timeout
        # The SDK's HTTP connection pool belongs to the loop it was first used on; a
        # sync caller that runs each batch in a fresh loop must get a fresh client.
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncAnthropic] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return (
            f"AnthropicProvider(base_url={self._effective_base_url()!r}, "
            f"max_retries={self.max_retries}, timeout={self.timeout})"
        )

    def _effective_base_url(self) -> str:
        url = self.base_url or os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL
        return url.rstrip("/")

    @property
    def cache_namespace(self) -> str:
        """Identity for result-cache keys: answers from another server never count as real."""
        url = self._effective_base_url()
        return self.name if url == DEFAULT_BASE_URL else f"{self.name}@{url}"

    def _client(self) -> AsyncAnthropic:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            import anthropic

            for old in [lp for lp in self._clients if lp.is_closed()]:
                del self._clients[old]  # its sockets died with their loop
            client = anthropic.AsyncAnthropic(
                api_key=self._key.reveal() if self._key else None,
                base_url=self.base_url,
                max_retries=self.max_retries,
                timeout=self.timeout,
            )
            self._clients[loop] = client
        return client

    async def aclose(self) -> None:
        """Close the SDK client of the running event loop (call before the loop ends)."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()

    async def complete(self, request: Request) -> Response:
        """Send one request to the Messages API.

        Args:
            request: The system prompt, messages, model and options.

        Returns:
            The reply's text, tool calls, token counts (cache writes and reads
            included), stop reason, model and latency.

        Raises:
            CallError: The call failed after the SDK's retries; ``kind`` says how.
        """
        from anthropic import omit

        body = self.request_body(request)
        # SDK 2.x has no temperature / top_p arguments; the API still takes them.
        extra = {k: v for k, v in body.items() if k not in _CREATE_ARGS}
        start = time.monotonic()
        error: CallError | None = None
        try:
            client = self._client()  # may fail: the SDK resolves credentials here
            message = await client.messages.create(
                model=body["model"],
                max_tokens=body["max_tokens"],
                system=body.get("system", omit),
                messages=body["messages"],
                stop_sequences=body.get("stop_sequences", omit),
                tools=body.get("tools", omit),
                tool_choice=body.get("tool_choice", omit),
                extra_body=extra or None,
            )
        except Exception as exc:  # every failure becomes a CallError; see _call_error
            error = _call_error(exc, request.model, self._key)
        # Raised outside the except block so the SDK exception, whose request object
        # carries the Authorization header, is not kept as the CallError's context.
        if error is not None:
            raise error
        return _response(message, time.monotonic() - start)

    def request_body(self, request: Request) -> dict[str, Any]:
        """The JSON body of the Messages call for ``request``: what :meth:`complete` sends.

        A Message Batch sends the same body as each request's ``params``, so a batched cell
        asks exactly what a direct call asks (cached system block, options and all).

        Args:
            request: The system prompt, messages, model and options.

        Returns:
            A ``messages.create`` body; fields left at the API's default are absent.
        """
        opts = request.options
        body: dict[str, Any] = {"model": request.model, "max_tokens": opts.max_tokens}
        system = _system_blocks(request.system)
        if system:
            body["system"] = system
        body["messages"] = _message_params(request.messages)
        if opts.stop:
            body["stop_sequences"] = list(opts.stop)
        if request.tools:
            body["tools"] = [_tool_param(t.name, t.description, t.input_schema)
                             for t in request.tools]
        if request.force_tool:
            body["tool_choice"] = {"type": "tool", "name": request.force_tool}
        for name in ("temperature", "top_p"):
            value = getattr(opts, name)
            if value is not None:
                body[name] = value
        return body

    @property
    def api_url(self) -> str:
        """The API base URL this provider talks to (argument, ``ANTHROPIC_BASE_URL`` or default)."""
        return self._effective_base_url()

    def batches(self, *, retries: bool = True) -> AsyncBatches:
        """The SDK's Message Batches resource on the running event loop's client.

        Args:
            retries: ``False`` gives a client that never retries, for ``create``: the SDK
                sends no idempotency key, so a retried create could make a second batch.

        Returns:
            ``client.messages.batches`` (create, retrieve, results, cancel, list).
        """
        client = self._client()
        if not retries:
            client = client.with_options(max_retries=0)
        return client.messages.batches

    def call_error(self, exc: Exception, what: str) -> CallError:
        """Classify an SDK exception as a one-line :class:`CallError` that hides the key.

        Args:
            exc: What the SDK raised.
            what: The model or endpoint concerned, named in the message.
        """
        return _call_error(exc, what, self._key)

    def batch_outcome(self, result: MessageBatchResult, latency_s: float,
                      model: str) -> Response | CallError | None:
        """Turn one Message Batch result into a response, an error, or ``None``.

        Args:
            result: The ``result`` of one line of a batch's results.
            latency_s: Seconds to record as the answer's latency.
            model: The requested model, named in error messages.

        Returns:
            The response (``succeeded``), a :class:`CallError` with its kind (``errored``),
            or ``None`` when the request was not processed (``expired``, ``canceled``).
        """
        if result.type == "succeeded":
            try:
                return _response(result.message, latency_s)
            except CallError as exc:
                return exc
        if result.type != "errored":
            return None
        error = result.error.error
        kind = _ERROR_TYPE_KINDS.get(error.type, "other")
        if error.type == "invalid_request_error" and "prompt is too long" in error.message.lower():
            kind = "context_overflow"
        text = _one_line(f"Anthropic batch request failed: {error.type}: {error.message} "
                         f"(model {model})")
        return CallError(kind, _hide_secrets(text, self._key))

    async def count_tokens(self, system: str, messages: Sequence[Message], model: str) -> int:
        """Count a prompt's input tokens with the API's ``count_tokens`` endpoint.

        Args:
            system: The system prompt.
            messages: The conversation.
            model: A concrete model id.

        Returns:
            The number of input tokens the prompt would use.

        Raises:
            CallError: The count failed.
        """
        from anthropic import omit

        error: CallError | None = None
        try:
            result = await self._client().messages.count_tokens(
                model=model, system=system or omit, messages=_message_params(messages)
            )
        except Exception as exc:
            error = _call_error(exc, model, self._key)
        if error is not None:
            raise error
        return int(result.input_tokens)

    async def latest_model_ids(self) -> dict[str, str]:
        """Return the newest active model id per family, from ``models.list``.

        The answer is cached for the life of the process, per API base URL.

        Returns:
            A mapping such as ``{"haiku": "claude-haiku-…", "sonnet": …, "opus": …}``;
            families the API does not list are absent.

        Raises:
            CallError: Listing the models failed.
        """
        key = self._effective_base_url()
        if key in _LATEST_MODELS:
            return dict(_LATEST_MODELS[key])
        newest: dict[str, tuple[Any, str]] = {}
        error: CallError | None = None
        try:
            async for info in self._client().models.list(limit=1000):
                family = _family(info.id, getattr(info, "line", None))
                if family is None or getattr(info, "lifecycle", "active") != "active":
                    continue
                if family not in newest or info.created_at > newest[family][0]:
                    newest[family] = (info.created_at, info.id)
        except Exception as exc:
            error = _call_error(exc, "models.list", self._key)
        if error is not None:
            raise error
        _LATEST_MODELS[key] = {family: mid for family, (_, mid) in newest.items()}
        return dict(_LATEST_MODELS[key])


def _family(model_id: str, line: str | None) -> str | None:
    # The API names a model's line; older answers did not, so fall back to the id.
    if line:
        return line
    return next((f for f in MODEL_FAMILIES if f in model_id), None)


def _system_blocks(system: str) -> list[TextBlockParam]:
    if not system:
        return []  # the API refuses empty text blocks
    return [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}]


def _message_param(message: Message) -> MessageParam:
    if message.role == "assistant":
        return {"role": "assistant", "content": message.content}
    return {"role": "user", "content": message.content}


def _message_params(messages: Sequence[Message]) -> list[MessageParam]:
    return [_message_param(m) for m in messages]


def _tool_param(name: str, description: str, input_schema: str) -> ToolParam:
    return {"name": name, "description": description, "input_schema": json.loads(input_schema)}


def _response(message: object, latency_s: float) -> Response:
    """Convert the SDK's Message, or raise CallError("malformed") if it is not one."""
    from anthropic.types import Message as ApiMessage
    from anthropic.types import TextBlock, ToolUseBlock

    try:
        if not isinstance(message, ApiMessage):  # a non-JSON answer comes back as str
            raise TypeError(f"got {type(message).__name__}, not a message")
        usage = message.usage
        counts = [usage.input_tokens, usage.output_tokens]
        if not all(isinstance(n, int) for n in counts):
            raise TypeError("usage token counts are not integers")
        blocks = message.content
        return Response(
            text="".join(b.text for b in blocks if isinstance(b, TextBlock)),
            model=str(message.model),
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            stop_reason=_STOP_REASONS.get(str(message.stop_reason), "other"),
            latency_s=latency_s,
            cache_write_tokens=usage.cache_creation_input_tokens or 0,
            cache_read_tokens=usage.cache_read_input_tokens or 0,
            tool_calls=tuple(
                ToolCall(b.name, json.dumps(b.input, sort_keys=True))
                for b in blocks
                if isinstance(b, ToolUseBlock)
            ),
        )
    except (AttributeError, TypeError, ValueError) as exc:  # fields missing or mistyped
        reason = f"{type(exc).__name__}: {exc}"
    raise CallError("malformed", _one_line(f"Anthropic API answer unreadable ({reason})"))


# The error types a batch result can carry (the SDK's ErrorObject union) as error kinds.
_ERROR_TYPE_KINDS: dict[str, ErrorKind] = {
    "invalid_request_error": "invalid_request",
    "authentication_error": "auth",
    "permission_error": "auth",
    "not_found_error": "not_found",
    "rate_limit_error": "rate_limit",
    "timeout_error": "timeout",
    "api_error": "server",
    "overloaded_error": "overloaded",
}
# messages.create's own arguments; the rest of a request body goes in ``extra_body``.
_CREATE_ARGS = frozenset({"model", "max_tokens", "system", "messages", "stop_sequences",
                          "tools", "tool_choice"})


def _status_kind(status: int, api_message: str) -> ErrorKind:
    kinds: dict[int, ErrorKind] = {
        400: "invalid_request",
        401: "auth",
        403: "auth",
        404: "not_found",
        408: "timeout",
        413: "invalid_request",
        429: "rate_limit",
        529: "overloaded",
    }
    if status == 400 and "prompt is too long" in api_message.lower():
        return "context_overflow"
    return kinds.get(status, "server" if status >= 500 else "other")


def _call_error(exc: Exception, model: str, key: _Secret | None) -> CallError:
    """Classify an SDK failure into a one-line CallError that never shows the key."""
    import anthropic

    status: int | None = None
    kind: ErrorKind
    if isinstance(exc, anthropic.APITimeoutError):
        kind, detail = "timeout", "no answer within the timeout"
    elif isinstance(exc, anthropic.APIConnectionError):
        cause = exc.__cause__
        kind, detail = "connection", f"connection failed ({type(cause or exc).__name__}: {cause})"
    elif isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        api_message = exc.api_message or exc.message
        kind = _status_kind(status, api_message)
        detail = f"{status} {exc.type or 'error'}: {api_message}"
    elif isinstance(exc, anthropic.APIResponseValidationError | json.JSONDecodeError):
        kind, detail = "malformed", f"answer unreadable ({type(exc).__name__}: {exc})"
    elif isinstance(exc, anthropic.CredentialsError) or (
        isinstance(exc, TypeError) and "authentication method" in str(exc)
    ):
        kind, detail = "auth", "no usable API key: set ANTHROPIC_API_KEY or pass api_key="
    else:
        kind, detail = "other", f"{type(exc).__name__}: {exc}"
    retries = _retries_taken(exc)
    after = f" after {retries} retries" if retries else ""
    text = _one_line(f"Anthropic API call failed{after}: {detail} (model {model})")
    return CallError(kind, _hide_secrets(text, key), status=status)


def _hide_secrets(text: str, key: _Secret | None) -> str:
    # Belt and braces: no API answer should echo a credential, but never pass one on.
    secrets = [key.reveal()] if key else []
    secrets += [os.environ.get(n, "") for n in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")]
    for secret in filter(None, secrets):
        text = text.replace(secret, "<hidden>")
    return text


def _retries_taken(exc: Exception) -> int:
    # The SDK numbers each attempt in this request header; the last attempt's number is
    # how many retries were spent before giving up.
    request = getattr(exc, "request", None)
    value = request.headers.get("x-stainless-retry-count") if request is not None else None
    return int(value) if value and value.isdigit() else 0


def _one_line(text: str, limit: int = 500) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
