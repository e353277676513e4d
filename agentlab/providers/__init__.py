"""Providers: the plug-in family that turns one request into one response.

``base`` defines the request and response values and the :class:`Provider` protocol with the
defaults every provider inherits (its ``max_tokens`` default, cache namespace, model
resolution, closing). ``_registry`` maps provider names to factories and picks one for a run;
a new provider joins by registering itself, with no edits elsewhere. The real implementations
are ``anthropic`` (the Messages API through the official SDK) and ``local`` (a GGUF model run
in-process by llama.cpp); their mock is the loopback fake in :mod:`agentlab.testing`.
``models`` holds model aliases and prices.
"""

from agentlab.providers._registry import (
    default_max_tokens,
    provider_names,
    register_provider,
    select_provider,
)
from agentlab.providers.base import (
    BaseProvider,
    CallError,
    ErrorKind,
    GenerationOptions,
    Message,
    Provider,
    Request,
    Response,
    StopReason,
    ToolCall,
    ToolSpec,
)
from agentlab.providers.models import ModelTable, Price, choose_model, is_local

__all__ = [
    "BaseProvider",
    "CallError",
    "ErrorKind",
    "GenerationOptions",
    "Message",
    "ModelTable",
    "Price",
    "Provider",
    "Request",
    "Response",
    "StopReason",
    "ToolCall",
    "ToolSpec",
    "choose_model",
    "default_max_tokens",
    "is_local",
    "provider_names",
    "register_provider",
    "select_provider",
]
