"""Cache keys: a versioned hash of canonical JSON of everything that changes the output.

Included: the provider namespace (so a fake server's answers never serve a real run),
model id, system prompt, messages, generation options, tools and the repeat index
(each repeat is its own sample). Excluded: concurrency, retries, timeouts, run names.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import fields

from agentlab.providers.base import GenerationOptions, Request

KEY_VERSION = 1


def canonical_json(value: object) -> str:
    """JSON with sorted keys and no insignificant whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# Option fields that cannot change an answer; every other field, present or future, is
# part of the key (a new field is never silently left out).
OPTIONS_EXCLUDED: frozenset[str] = frozenset()


def options_payload(options: GenerationOptions) -> dict[str, object]:
    """The generation options as they enter a cache key: all fields but the excluded."""
    return {f.name: getattr(options, f.name) for f in fields(options)
            if f.name not in OPTIONS_EXCLUDED}


def cache_key(request: Request, namespace: str, repeat: int) -> str:
    """The cache key of one cell's request.

    Args:
        request: The request as it will be sent.
        namespace: Provider identity (``anthropic``, ``anthropic@<base_url>``, ``local``).
        repeat: Sample index within the (variant, task) pair.

    Returns:
        A 64-hex-digit SHA-256 digest.
    """
    payload = {
        "v": KEY_VERSION,
        "ns": namespace,
        "model": request.model,
        "system": request.system,
        "messages": [[m.role, m.content] for m in request.messages],
        "options": options_payload(request.options),
        "tools": [[t.name, t.description, t.input_schema] for t in request.tools],
        "force_tool": request.force_tool,
        "repeat": repeat,
    }
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def experiment_id(keys: Iterable[str]) -> str:
    """A run id derived from its cells' keys: the same experiment gets the same id."""
    digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()
    return f"run-{digest[:12]}"
