"""Cache keys: a versioned hash of canonical JSON of everything that changes the output.

Included: the provider namespace (so a fake server's answers never serve a real run),
model id, system prompt, messages, generation options, tools and the repeat index
(each repeat is its own sample). Excluded: concurrency, retries, timeouts, run names.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from .provider import Request

KEY_VERSION = 1


def canonical_json(value: object) -> str:
    """JSON with sorted keys and no insignificant whitespace."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def cache_key(request: Request, namespace: str, repeat: int) -> str:
    """The cache key of one cell's request.

    Args:
        request: The request as it will be sent.
        namespace: Provider identity (``anthropic``, ``anthropic@<base_url>``, ``local``).
        repeat: Sample index within the (variant, task) pair.

    Returns:
        A 64-hex-digit SHA-256 digest.
    """
    opts = request.options
    payload = {
        "v": KEY_VERSION,
        "ns": namespace,
        "model": request.model,
        "system": request.system,
        "messages": [[m.role, m.content] for m in request.messages],
        "options": {"max_tokens": opts.max_tokens, "temperature": opts.temperature,
                    "top_p": opts.top_p, "seed": opts.seed, "stop": list(opts.stop)},
        "tools": [[t.name, t.description, t.input_schema] for t in request.tools],
        "force_tool": request.force_tool,
        "repeat": repeat,
    }
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def experiment_id(keys: Iterable[str]) -> str:
    """A run id derived from its cells' keys: the same experiment gets the same id."""
    digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()
    return f"run-{digest[:12]}"
