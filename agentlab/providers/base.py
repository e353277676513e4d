"""The provider protocol: one async call from a request to a response.

A provider turns a :class:`Request` (system prompt, messages, model id, generation
options) into a :class:`Response` (text, token counts, stop reason, latency). The
Anthropic Messages API and the embedded local model both sit behind it, and so
can a user's own provider.

A call that fails raises :class:`CallError`; the runner records it on the cell
(never aborting the run) unless its ``kind`` is ``"auth"``, which stops the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from agentlab.errors import ConfigError, ProviderError

Role = Literal["user", "assistant"]

ErrorKind = Literal[
    "rate_limit",  # 429 after the SDK's retries
    "overloaded",  # 529 after retries
    "server",  # 5xx after retries
    "connection",  # reset / refused after retries
    "timeout",  # no answer in time after retries
    "invalid_request",  # 400: fatal for this cell
    "auth",  # 401/403: fatal for the run
    "not_found",  # 404: unknown model
    "context_overflow",  # prompt longer than the model's context
    "malformed",  # the provider answered something unreadable
    "other",
]

RETRYABLE_KINDS: frozenset[ErrorKind] = frozenset(
    {"rate_limit", "overloaded", "server", "connection", "timeout"}
)


@dataclass(frozen=True)
class Message:
    """One conversation turn."""

    role: Role
    content: str


@dataclass(frozen=True)
class GenerationOptions:
    """Options that change the output, and so belong to the cache key.

    Values are checked against the Messages API's documented ranges on creation.

    Attributes:
        max_tokens: Upper bound on generated tokens (at least 1).
        temperature: Sampling temperature, 0 to 1; ``None`` leaves the provider default.
        top_p: Nucleus sampling, 0 to 1; ``None`` leaves the provider default.
        seed: Seed for providers that support one (the local model).
        stop: Stop sequences (each with some non-whitespace text).

    Raises:
        ConfigError: A value is out of range or of the wrong type.
    """

    max_tokens: int = 1024
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # The Messages API's documented ranges, checked before anything is sent: an
        # out-of-range value would otherwise fail every cell with the same 400.
        if not _is_int(self.max_tokens) or self.max_tokens < 1:
            raise ConfigError(f"max_tokens must be a whole number of at least 1, not "
                              f"{self.max_tokens!r}")
        for name in ("temperature", "top_p"):
            value = getattr(self, name)
            if value is not None and (not _is_number(value) or not 0.0 <= value <= 1.0):
                raise ConfigError(f"{name} must be between 0 and 1 (or unset), not {value!r}")
        if self.seed is not None and not _is_int(self.seed):
            raise ConfigError(f"seed must be a whole number (or unset), not {self.seed!r}")
        if isinstance(self.stop, str) or not all(
                isinstance(s, str) and s.strip() for s in self.stop):
            raise ConfigError("stop must be a list of stop sequences, each with some "
                              f"non-whitespace text, not {self.stop!r}")
        if not isinstance(self.stop, tuple):
            object.__setattr__(self, "stop", tuple(self.stop))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model may (or, with ``Request.force_tool``, must) call.

    Attributes:
        name: Tool name.
        description: What the tool is for.
        input_schema: JSON Schema of the tool's input, as canonical JSON text.
    """

    name: str
    description: str
    input_schema: str


@dataclass(frozen=True)
class ToolCall:
    """A tool call in a response; ``input`` is the JSON text of the arguments."""

    name: str
    input: str


@dataclass(frozen=True)
class Request:
    """Everything a provider needs for one call.

    Attributes:
        system: The system prompt (an agent variant's body).
        messages: The conversation so far, ending with a user turn.
        model: A concrete model id (aliases are resolved before this point).
        options: Generation options.
        tools: Tools offered to the model (used by the LLM judge).
        force_tool: Name of a tool the model must call (``tool_choice``), if any.
    """

    system: str
    messages: tuple[Message, ...]
    model: str
    options: GenerationOptions = field(default_factory=GenerationOptions)
    tools: tuple[ToolSpec, ...] = ()
    force_tool: str | None = None


StopReason = Literal["end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal", "other"]


@dataclass(frozen=True)
class Response:
    """What a provider returns for one successful call."""

    text: str
    model: str
    input_tokens: int
    output_tokens: int
    stop_reason: StopReason
    latency_s: float
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    tool_calls: tuple[ToolCall, ...] = ()


class CallError(ProviderError):
    """One call failed; the runner records ``kind`` and the message on the cell.

    Attributes:
        kind: What went wrong, from :data:`ErrorKind`.
        status: The HTTP status, when there was one.
        retryable: Whether trying again later could succeed.
    """

    def __init__(self, kind: ErrorKind, message: str, *, status: int | None = None) -> None:
        self.kind: ErrorKind = kind
        self.status = status
        self.retryable = kind in RETRYABLE_KINDS
        super().__init__(message)


@runtime_checkable
class Provider(Protocol):
    """Anything that answers a :class:`Request` asynchronously.

    Subclass :class:`BaseProvider` to get the defaults for every member but ``name`` and
    :meth:`complete`.

    Attributes:
        name: Short provider name recorded on every result (``"anthropic"``, ``"local"``).
        default_max_tokens: Output room per answer when a run sets none.
    """

    name: str
    default_max_tokens: int

    @property
    def cache_namespace(self) -> str:
        """The identity this provider contributes to cache keys."""
        ...

    def run_model(self, model: str | None) -> str | None:
        """The model a run should plan its cells with, given the run's explicit ``model``."""
        ...

    async def latest_model_ids(self) -> dict[str, str]:
        """Newest model id per family (``{"sonnet": ...}``); empty when unknown."""
        ...

    def order_requests(self, requests: Sequence[Request]) -> list[int]:
        """The order to send ``requests`` in, as a permutation of their indices."""
        ...

    async def complete(self, request: Request) -> Response:
        """Answer one request, or raise :class:`CallError`."""
        ...

    async def aclose(self) -> None:
        """Release what the provider holds on the running event loop."""
        ...


class BaseProvider:
    """Defaults for a :class:`Provider`: subclass it and define ``name`` and :meth:`complete`.

    Optional behaviour comes from these defaults, which a provider overrides where it
    differs, so the runner never asks which provider it has.
    """

    name: str = "provider"
    default_max_tokens: int = 1024

    @property
    def cache_namespace(self) -> str:
        """Identity for cache keys: the provider's name unless it serves other answers."""
        return self.name

    def run_model(self, model: str | None) -> str | None:
        """Keep the run's model: a provider that serves one fixed model overrides this."""
        return model

    async def latest_model_ids(self) -> dict[str, str]:
        """No model listing: aliases resolve through the run's table."""
        return {}

    def order_requests(self, requests: Sequence[Request]) -> list[int]:
        """Send requests in the order given.

        A provider whose speed depends on the order overrides this: the local model
        runs a system prompt's requests together, reusing its evaluated state.
        """
        return list(range(len(requests)))

    async def complete(self, request: Request) -> Response:
        """Answer one request, or raise :class:`CallError` (subclasses define this)."""
        raise NotImplementedError(f"{type(self).__name__} must define complete()")

    async def aclose(self) -> None:
        """Nothing to release."""
        return None
