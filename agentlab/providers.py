"""Choosing a provider for a run.

An explicit choice always wins. Otherwise a ``local…`` model picks the embedded local
model, an ``ANTHROPIC_API_KEY`` in the environment picks the Anthropic API, and with
neither the run falls back to the local model, announced in one log line.
"""

from __future__ import annotations

import logging
import os

from .errors import ConfigError
from .models import is_local
from .provider import Provider

log = logging.getLogger("agentlab")

PROVIDER_NAMES = ("anthropic", "local")

# Output room per answer when the caller sets none: whole answers from Claude; the small
# local model is cut early (about 10 s for 384 tokens on 2 cores) since it rambles.
DEFAULT_MAX_TOKENS = {"anthropic": 2048, "local": 384}


def default_max_tokens(provider: Provider) -> int:
    """The ``max_tokens`` a run uses with ``provider`` when the caller sets none."""
    return DEFAULT_MAX_TOKENS.get(provider.name, 1024)


def select_provider(provider: Provider | str | None, model: str | None = None) -> Provider:
    """Return the provider a run should use.

    Args:
        provider: An instance (used as is), a name (``"anthropic"``, ``"local"`` or
            ``"local:/path/model.gguf"``), or ``None`` to choose automatically.
        model: The run's explicit model, if any (a ``local…`` model implies the local one).

    Raises:
        ConfigError: An unknown provider name.
    """
    if provider is not None and not isinstance(provider, str):
        return provider
    name = provider
    if name is None:
        if model is not None and is_local(model):
            name = model
        elif os.environ.get("ANTHROPIC_API_KEY"):
            name = "anthropic"
        else:
            log.warning("agentlab: no ANTHROPIC_API_KEY set; using the embedded local model "
                        "(Gemma 3 270M, weak answers; set a key to run Claude)")
            name = "local"
    if name == "anthropic":
        from .anthropic_provider import AnthropicProvider

        return AnthropicProvider()
    if is_local(name):
        from .local import LocalProvider

        local_model = model if model is not None and is_local(model) else name
        return LocalProvider(model=local_model)
    raise ConfigError(f"unknown provider {name!r}; use one of: {', '.join(PROVIDER_NAMES)}, "
                      "or 'local:/path/to/model.gguf'")


def provider_namespace(provider: Provider) -> str:
    """The identity a provider contributes to cache keys.

    A provider may define ``cache_namespace`` (the Anthropic provider adds its base URL
    when it is not the default, so a fake server's answers never serve a real run).
    """
    namespace = getattr(provider, "cache_namespace", None)
    return str(namespace) if namespace else provider.name
