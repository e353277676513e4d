"""A loopback fake of the Anthropic Messages API, for tests and token-free notebooks.

The real ``anthropic`` SDK talks to it over real HTTP: point ``base_url`` (or the
``ANTHROPIC_BASE_URL`` environment variable) at :attr:`FakeAnthropic.base_url` and
use any non-empty API key. It answers ``POST /v1/messages``,
``POST /v1/messages/count_tokens``, ``GET /v1/models`` and ``GET /v1/models/{id}``, the
Message Batches endpoints (:attr:`FakeAnthropic.batches`, see :mod:`agentlab.testing._batches`),
simulates prompt caching, forced tool calls and latency, injects faults (429, 529,
500, 400, 401, 403, 404, connection resets, slow and malformed answers) and records
what it received, except credential values, which it never keeps::

    with FakeAnthropic(latency=0.05, reply="Hi") as fake:
        fake.inject("rate_limit", retry_after=0.01)
        client = anthropic.Anthropic(api_key="test", base_url=fake.base_url)

From a shell (for notebooks run by papermill): ``python -m agentlab.testing --port 8765``.
Standard library only.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import struct
import sys
import threading
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from agentlab.testing._batches import FakeBatches
from agentlab.testing._replies import (
    DEFAULT_MODELS,
    FAULT_KINDS,
    Fault,
    FaultKind,
    Json,
    Reply,
    cache_prefixes,
    count_input_tokens,
    cut_reply,
    error_reply,
    fault_reply,
    forced_tool,
    json_reply,
    minimal_instance,
    missing_field,
    model_infos,
    models_page,
    prompt_text,
    tokens,
)
from agentlab.testing._stream import (
    MatchRule,
    Script,
    Scripts,
    Turn,
    sse_reply,
    turn_content,
)

__all__ = [
    "DEFAULT_MODELS",
    "FAULT_KINDS",
    "FakeAnthropic",
    "Fault",
    "FaultKind",
    "RecordedRequest",
    "minimal_instance",
    "prompt_text",
]

_CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key"})


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake answered (credential header values are never kept).

    Attributes:
        method: ``"GET"`` or ``"POST"``.
        path: URL path without the query string.
        body: The decoded JSON body, or ``None`` when there was none or it was invalid.
        header_names: Lower-case names of the request headers, in order.
        auth_present: Whether an ``Authorization`` or ``x-api-key`` header was sent.
        status: HTTP status answered, or ``None`` when the connection was reset.
        fault: The injected fault applied, if any.
    """

    method: str
    path: str
    body: Any
    header_names: tuple[str, ...]
    auth_present: bool
    status: int | None
    fault: FaultKind | None


@dataclass
class _Rule:
    fault: Fault
    model: str | None
    marker: str | None
    path: str | None
    remaining: int | None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # listen backlog: many clients may connect at once
    fake: FakeAnthropic
    conns: set[socket.socket]

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls getfqdn(), a reverse DNS lookup that can take
        # seconds on some machines; a loopback fake does not need a server name.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # clients hanging up are normal
            super().handle_error(request, client_address)

    def drop_connections(self) -> None:
        # Idle keep-alive connections block their handler in recv() until closed.
        for sock in list(self.conns):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
    disable_nagle_algorithm = True  # headers and body go out without a 40 ms Nagle stall
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.conns.add(self.connection)

    def finish(self) -> None:
        self.server.conns.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        return None  # keep test output clean

    def do_GET(self) -> None:
        self.server.fake._serve(self, b"")

    def do_POST(self) -> None:
        length = self.headers.get("content-length")
        if length is None:
            self.write(error_reply(411, "invalid_request_error", "Content-Length required"))
            return
        self.server.fake._serve(self, self.rfile.read(int(length)))

    def write(self, reply: Reply) -> None:
        if reply.reset:
            # Linger 0 makes close() send RST; the fd really closes once finish() closes
            # the handler's file objects, which still hold the socket.
            linger = struct.pack("ii", 1, 0)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            self.connection.close()
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)


class FakeAnthropic:
    """A fake Messages API server on 127.0.0.1, served from a background thread.

    Settings are plain attributes and may be changed while it runs.

    Args:
        port: TCP port; ``0`` picks a free one.
        latency: Seconds to wait before each successful ``/v1/messages`` answer.
        reply: The reply text, or a callable from the request body to the text.
        tool_input: Callable from the request body to a forced tool call's input;
            by default a minimal object built from the tool's ``input_schema``.
        input_tokens: Fixed ``usage.input_tokens``; by default about chars / 4.
        output_tokens: Fixed ``usage.output_tokens``; by default the reply's words.
        stop_reason: Force this stop reason on text replies; by default ``end_turn``,
            or ``max_tokens`` / ``stop_sequence`` when the reply had to be cut.
        models: Model ids, newest first, or a mapping of id to ``created_at`` (ISO).
        strict_models: Answer 404 to ``/v1/messages`` for a model not in ``models``.
        cache_min_tokens: Shortest prompt prefix that can be cached (the real API
            needs 1024 or more; ``0`` makes caching visible with short prompts).
        batch_delay: Seconds a Message Batch takes to end (``batches.delay``).
        host: Address to listen on; keep the loopback default.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        latency: float = 0.0,
        reply: str | Callable[[Json], str] = "This is a reply from the fake Anthropic API.",
        tool_input: Callable[[Json], Json] | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        stop_reason: str | None = None,
        models: Sequence[str] | Mapping[str, str] = DEFAULT_MODELS,
        strict_models: bool = False,
        cache_min_tokens: int = 0,
        batch_delay: float = 0.0,
        host: str = "127.0.0.1",
    ) -> None:
        self.latency = latency
        self.reply = reply
        self.tool_input = tool_input
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.stop_reason = stop_reason
        self.models = models
        self.strict_models = strict_models
        self.cache_min_tokens = cache_min_tokens
        # Message Batches endpoints (agentlab.testing._batches); reset() forgets their batches.
        self.batches = FakeBatches(self._messages, lambda: self.base_url, batch_delay)
        self.scripts = Scripts()  # scripted turns (agentlab.testing._stream); kept by reset()
        self._address = (host, port)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> FakeAnthropic:
        """Start serving in a daemon thread; returns ``self``."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server(self._address, _Handler)
        server.fake, server.conns = self, set()
        self._server = server
        # A short poll interval makes stop() quick: shutdown() waits for the next poll.
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open connections and wait for handler threads to end."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes handlers sleeping for latency or a slow fault
        server.shutdown()
        server.drop_connections()
        server.server_close()  # joins the handler threads
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port served on (only while running)."""
        if self._server is None:
            raise RuntimeError("FakeAnthropic is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """URL to give the SDK as ``base_url`` / ``ANTHROPIC_BASE_URL``."""
        return f"http://{self._address[0]}:{self.port}"

    # -- scripted turns ----------------------------------------------------------

    def script(self, *turns: Turn, match: MatchRule = None) -> None:
        """Answer the conversations ``match`` selects with these turns, one per request.

        See :mod:`agentlab.testing._stream` (``say``, ``call``) for how turns are chosen.

        Args:
            *turns: The assistant turns, in order.
            match: A string in the system prompt or first user message, a predicate on
                the request body, or ``None`` for every conversation.
        """
        self.scripts.add(Script(tuple(turns), match))

    # -- faults ------------------------------------------------------------------

    def inject(
        self,
        *faults: Fault | FaultKind,
        retry_after: float | None = None,
        delay: float = 30.0,
        path: str | None = "/v1/messages",
    ) -> None:
        """Queue faults for the next requests, one fault per request, in order.

        Args:
            *faults: Faults, or fault kinds (built with ``retry_after`` and ``delay``).
            retry_after: ``Fault.retry_after`` for faults given as kinds.
            delay: ``Fault.delay`` for faults given as kinds.
            path: Only requests to this path take a queued fault; ``None`` for any path.

        Raises:
            ValueError: A kind is not one of :data:`FAULT_KINDS`.
        """
        built = [self._fault(f, retry_after, delay) for f in faults]
        with self._lock:
            self._queue.extend((f, path) for f in built)

    def add_rule(
        self,
        fault: Fault | FaultKind,
        *,
        model: str | None = None,
        marker: str | None = None,
        times: int | None = None,
        path: str | None = "/v1/messages",
        retry_after: float | None = None,
    ) -> None:
        """Apply a fault to every matching request (after queued faults are used up).

        Args:
            fault: The fault, or its kind.
            model: Match only requests for this model.
            marker: Match only requests whose prompt text contains this string.
            times: Stop after this many matches; ``None`` for ever.
            path: Match only this path; ``None`` for any path.
            retry_after: ``Fault.retry_after`` when ``fault`` is a kind.

        Raises:
            ValueError: ``fault`` is not a known kind.
        """
        rule = _Rule(self._fault(fault, retry_after, 30.0), model, marker, path, times)
        with self._lock:
            self._rules.append(rule)

    def clear_faults(self) -> None:
        """Drop queued faults and rules."""
        with self._lock:
            self._queue.clear()
            self._rules.clear()

    @staticmethod
    def _fault(fault: Fault | FaultKind, retry_after: float | None, delay: float) -> Fault:
        if isinstance(fault, Fault):
            return fault
        if fault not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {fault!r}; use one of {', '.join(FAULT_KINDS)}")
        return Fault(fault, retry_after=retry_after, delay=delay)

    def _take_fault(self, path: str, body: Json | None) -> Fault | None:
        with self._lock:
            for i, (fault, where) in enumerate(self._queue):
                if where is None or where == path:
                    del self._queue[i]
                    return fault
            for rule in self._rules:
                if self._matches(rule, path, body):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return rule.fault
        return None

    @staticmethod
    def _matches(rule: _Rule, path: str, body: Json | None) -> bool:
        if rule.remaining == 0 or (rule.path is not None and rule.path != path):
            return False
        if rule.model is not None and (body or {}).get("model") != rule.model:
            return False
        return rule.marker is None or rule.marker in prompt_text(body or {})

    # -- recording ---------------------------------------------------------------

    def reset(self) -> None:
        """Forget recorded requests, counters, faults, rules and the prompt cache."""
        with self._lock:
            self._log: list[RecordedRequest] = []
            self._paths: Counter[str] = Counter()
            self._in_flight: int = getattr(self, "_in_flight", 0)  # requests may be under way
            self._peak = self._in_flight
            self._queue: deque[tuple[Fault, str | None]] = deque()
            self._rules: list[_Rule] = []
            self._cache: set[tuple[str, str]] = set()
            self._serial = 0
        self.batches.clear()

    @property
    def request_count(self) -> int:
        """Requests received so far (counted on arrival, faulted ones included)."""
        with self._lock:
            return sum(self._paths.values())

    @property
    def path_counts(self) -> dict[str, int]:
        """Requests received per URL path."""
        with self._lock:
            return dict(self._paths)

    @property
    def in_flight(self) -> int:
        """Requests being answered right now."""
        return self._in_flight

    @property
    def peak_in_flight(self) -> int:
        """The most requests that were being answered at the same time."""
        return self._peak

    @property
    def requests(self) -> list[RecordedRequest]:
        """Answered requests, in the order they were answered."""
        with self._lock:
            return list(self._log)

    def bodies(self, path: str = "/v1/messages") -> list[Json]:
        """Return the JSON bodies received on ``path``, in the order they were answered."""
        return [r.body for r in self.requests if r.path == path and isinstance(r.body, dict)]

    # -- serving (called from handler threads) -----------------------------------

    def _serve(self, handler: _Handler, raw: bytes) -> None:
        names = tuple(name.lower() for name in handler.headers)
        url = urlsplit(handler.path)
        with self._lock:
            self._paths[url.path] += 1
            self._in_flight += 1
            self._peak = max(self._peak, self._in_flight)
        body: Json | None = None
        reply: Reply | None = None
        try:
            try:
                decoded = json.loads(raw) if raw else None
                body = decoded if isinstance(decoded, dict) else None
            except ValueError:
                reply = error_reply(400, "invalid_request_error", "Body is not valid JSON.")
            if reply is None:
                reply = self._answer(handler.command, url.path, parse_qs(url.query), body)
            if reply.delay > 0:
                self._stopping.wait(reply.delay)  # stop() cuts the wait short
        finally:
            # Recorded before the answer goes out: a client that has its answer can
            # rely on finding its request in the log and no longer in flight.
            status = None if reply is None or reply.reset else reply.status
            auth = bool(_CREDENTIAL_HEADERS.intersection(names))
            fault = reply.fault if reply else None
            record = RecordedRequest(handler.command, url.path, body, names, auth, status, fault)
            with self._lock:
                self._in_flight -= 1
                self._log.append(record)
        handler.write(reply)

    def _answer(
        self, method: str, path: str, query: dict[str, list[str]], body: Json | None
    ) -> Reply:
        fault = self._take_fault(path, body)
        if fault is not None and fault.kind != "slow":
            return fault_reply(fault, body)
        try:
            reply = self._route(method, path, query, body)
        except Exception as exc:  # a user's reply/tool_input callable failed: say so, as a 500
            message = f"fake server error: {type(exc).__name__}: {exc}"
            return error_reply(500, "api_error", message)
        if fault is not None:  # "slow": the normal answer, but late
            return Reply(reply.status, reply.body, reply.headers, fault.delay, fault="slow")
        return reply

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: Json | None
    ) -> Reply:
        if path.startswith("/v1/messages/batches"):
            return self.batches.route(method, path, query, body)
        if method == "POST" and path == "/v1/messages":
            return self._messages(body or {})
        if method == "POST" and path == "/v1/messages/count_tokens":
            problem = missing_field(body or {}, ("model", "messages"))
            if problem:
                return error_reply(400, "invalid_request_error", problem)
            return json_reply(200, {"input_tokens": count_input_tokens(body or {})})
        if method == "GET" and path == "/v1/models":
            return json_reply(200, models_page(model_infos(self.models), query))
        if method == "GET" and path.startswith("/v1/models/"):
            wanted = unquote(path.removeprefix("/v1/models/"))
            found = [m for m in model_infos(self.models) if m["id"] == wanted]
            if found:
                return json_reply(200, found[0])
            return error_reply(404, "not_found_error", f"model: {wanted}")
        return error_reply(404, "not_found_error", f"Not found: {method} {path}")

    def _cache_usage(self, req: Json) -> tuple[int, int]:
        """Return (cache write, cache read) tokens, remembering the cached prefixes."""
        model = str(req.get("model"))
        prefixes = cache_prefixes(req, self.cache_min_tokens)
        if not prefixes:
            return 0, 0
        with self._lock:
            hits = [p for p in prefixes if (model, p) in self._cache]
            self._cache.update((model, p) for p in prefixes)
        read = tokens(len(hits[-1])) if hits else 0
        return tokens(len(prefixes[-1])) - read, read

    def _messages(self, req: Json) -> Reply:
        problem = missing_field(req, ("model", "messages", "max_tokens"))
        if problem:
            return error_reply(400, "invalid_request_error", problem)
        model = str(req["model"])
        if self.strict_models and model not in {m["id"] for m in model_infos(self.models)}:
            return error_reply(404, "not_found_error", f"model: {model}")
        with self._lock:
            self._serial += 1
            serial = self._serial
        content, stop, sequence, out = self._content(req, serial)
        write, read = self._cache_usage(req)
        total = count_input_tokens(req)
        fixed_in, fixed_out = self.input_tokens, self.output_tokens
        usage = {
            "input_tokens": fixed_in if fixed_in is not None else max(0, total - write - read),
            "output_tokens": fixed_out if fixed_out is not None else out,
            "cache_creation_input_tokens": write,
            "cache_read_input_tokens": read,
        }
        payload = {
            "id": f"msg_fake{serial:016d}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop,
            "stop_sequence": sequence,
            "usage": usage,
        }
        if req.get("stream"):
            return sse_reply(payload, delay=self.latency)
        return json_reply(200, payload, delay=self.latency)

    def _content(self, req: Json, serial: int) -> tuple[list[Json], str, str | None, int]:
        """Return (content blocks, stop reason, stop sequence, output tokens)."""
        turn = self.scripts.turn_for(req)
        if turn is not None:
            blocks = turn_content(turn, serial)
            return blocks, turn.stop_reason, None, max(1, tokens(len(json.dumps(blocks))))
        tool = forced_tool(req)
        if tool is not None:
            schema = tool.get("input_schema", {})
            args = self.tool_input(req) if self.tool_input else minimal_instance(schema)
            block = {
                "type": "tool_use",
                "id": f"toolu_fake{serial:014d}",
                "name": tool["name"],
                "input": args,
            }
            return [block], "tool_use", None, max(1, tokens(len(json.dumps(args))))
        text = self.reply(req) if callable(self.reply) else self.reply
        text, stop, sequence = cut_reply(text, req)
        out = max(1, len(text.split()))
        return [{"type": "text", "text": text}], self.stop_reason or stop, sequence, out
