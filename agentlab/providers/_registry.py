"""The provider registry: names to factories, and the choice of provider for a run.

An explicit choice always wins. Otherwise a model that a registered provider claims (a
``local…`` model claims the embedded local model) picks it, an ``ANTHROPIC_API_KEY`` in the
environment picks the Anthropic API, and with neither the run falls back to the local model,
announced in one log line. A new provider joins with :func:`register_provider`; nothing else
needs editing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from agentlab.errors import ConfigError
from agentlab.providers.base import Provider
from agentlab.providers.models import is_local

log = logging.getLogger("agentlab")

ProviderFactory = Callable[[str, "str | None"], Provider]
"""Builds a provider from the name it was chosen by and the run's explicit model."""


@dataclass(frozen=True)
class _Entry:
    name: str
    factory: ProviderFactory
    claims: Callable[[str], bool]


_REGISTRY: dict[str, _Entry] = {}


def register_provider(name: str, factory: ProviderFactory,
                      claims: Callable[[str], bool] | None = None) -> None:
    """Make a provider selectable by name.

    Args:
        name: The name users pass as ``provider=`` or ``--provider``.
        factory: ``(chosen_name, model) -> Provider``.
        claims: Which provider names and model names this provider answers to (default:
            exactly ``name``). The local provider claims every ``local…`` name.
    """
    _REGISTRY[name] = _Entry(name, factory, claims or (lambda spec: spec == name))


def provider_names() -> list[str]:
    """The registered provider names."""
    return list(_REGISTRY)


def _anthropic(_name: str, _model: str | None) -> Provider:
    from agentlab.providers.anthropic import AnthropicProvider

    return AnthropicProvider()


def _local(name: str, model: str | None) -> Provider:
    from agentlab.providers.local import LocalProvider

    return LocalProvider(model=model if model is not None and is_local(model) else name)


register_provider("anthropic", _anthropic)
register_provider("local", _local, claims=is_local)


def default_max_tokens(provider: Provider) -> int:
    """The ``max_tokens`` a run uses with ``provider`` when the caller sets none."""
    return provider.default_max_tokens


def _claimant(spec: str) -> _Entry | None:
    return next((e for e in _REGISTRY.values() if e.claims(spec)), None)


def select_provider(provider: Provider | str | None, model: str | None = None) -> Provider:
    """Return the provider a run should use.

    Args:
        provider: An instance (used as is), a registered name (``"anthropic"``, ``"local"``,
            ``"local:/path/model.gguf"``), or ``None`` to choose automatically.
        model: The run's explicit model, if any (a ``local…`` model implies the local one).

    Raises:
        ConfigError: An unknown provider name, or an object that is not a provider.
    """
    if provider is not None and not isinstance(provider, str):
        if not isinstance(provider, Provider):
            raise ConfigError(f"{type(provider).__name__} is not a provider: subclass "
                              "agentlab.BaseProvider and define name and complete()")
        return provider
    name = provider
    if name is None:
        if model is not None and _claimant(model) is not None:
            name = model
        elif os.environ.get("ANTHROPIC_API_KEY"):
            name = "anthropic"
        else:
            log.warning("agentlab: no ANTHROPIC_API_KEY set; using the embedded local model "
                        "(Qwen2.5-Coder 0.5B; set a key to run Claude)")
            name = "local"
    entry = _claimant(name)
    if entry is None:
        raise ConfigError(f"unknown provider {name!r}; use one of: {', '.join(_REGISTRY)}, "
                          "or 'local:/path/to/model.gguf'")
    return entry.factory(name, model)
