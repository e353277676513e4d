"""Cost estimates before a run.

Input tokens come from the Messages API's ``count_tokens`` when ``online=True`` (it
needs a key and network), otherwise from an offline approximation: one token per
3.5 characters of system prompt and user turn, plus 8 tokens of message framing.
That is within roughly ±20% for English prose and code on Claude's tokenizer; use
``online=True`` when the figure matters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentlab.errors import ConfigError
from agentlab.providers.models import ModelTable, choose_model

if TYPE_CHECKING:
    from agentlab.agents._agent import Agent
    from agentlab.tasks import Task

CHARS_PER_TOKEN = 3.5
FRAMING_TOKENS = 8


@dataclass(frozen=True)
class CostEstimate:
    """An estimate for one variant (or the total when ``variant`` is ``"TOTAL"``)."""

    variant: str
    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    method: str


def approx_tokens(text: str) -> int:
    """Offline token estimate for ``text``."""
    return int(len(text) / CHARS_PER_TOKEN) + 1


async def _online_counts(prompts: list[tuple[str, str, str]]) -> list[int]:
    """Count (system, user turn, model) prompts with one client, concurrently."""
    from agentlab.providers.anthropic import AnthropicProvider
    from agentlab.providers.base import Message

    provider = AnthropicProvider()
    try:
        return list(await asyncio.gather(*(
            provider.count_tokens(system, (Message("user", user),), model)
            for system, user, model in prompts)))
    finally:
        await provider.aclose()


def estimate_cost(variants: Sequence[Agent], tasks: Sequence[Task], *, repeats: int = 1,
                  model: str | None = None, default_model: str = "sonnet",
                  output_tokens: int = 600, online: bool = False,
                  table: ModelTable | None = None, batch: bool = False) -> list[CostEstimate]:
    """Estimate tokens and dollars for a run, per variant and in total.

    Args:
        variants: Variants to run.
        tasks: Tasks to run.
        repeats: Samples per (variant, task).
        model: Explicit model override, as for :func:`agentlab.run`.
        default_model: Default model, as for :func:`agentlab.run`.
        output_tokens: Assumed output length per call.
        online: Count input tokens with the API (needs ``ANTHROPIC_API_KEY``).
        table: Aliases and prices.
        batch: Price the calls as a Message Batch (half of every rate), as
            ``run(..., batch=True)`` would send them.

    Returns:
        One estimate per variant, then a ``TOTAL`` row.

    Raises:
        ConfigError: ``repeats`` is below 1, ``output_tokens`` is negative, or a model has
            no known price (a typo such as ``gpt-4-typo``, or a model missing from
            ``table.prices``).
    """
    from agentlab.runs._cells import check_repeats
    from agentlab.runs._runner import run_sync

    check_repeats(repeats)
    if not isinstance(output_tokens, int) or output_tokens < 0:
        raise ConfigError(f"output_tokens must be a whole number of 0 or more, not "
                          f"{output_tokens!r}")
    table = table or ModelTable()
    models = [choose_model(model, v.model, default_model, table) for v in variants]
    unpriced = sorted({m for m in models if table.price(m) is None})
    if unpriced:
        raise ConfigError(f"unknown model {', '.join(map(repr, unpriced))}: no price is known "
                          f"for it; use an alias ({', '.join(table.aliases)}), a Claude model "
                          "id, or add its price with ModelTable(prices=...)")
    prompts = [(v.body, t.user_message(), m) for v, m in zip(variants, models, strict=True)
               for t in tasks]
    if online:  # run_sync also works inside Jupyter's running event loop
        counts = run_sync(lambda: _online_counts(prompts))
    else:
        counts = [approx_tokens(system) + approx_tokens(user) + FRAMING_TOKENS
                  for system, user, _ in prompts]
    rows: list[CostEstimate] = []
    for n, (variant, model_id) in enumerate(zip(variants, models, strict=True)):
        tokens = sum(counts[n * len(tasks) : (n + 1) * len(tasks)])
        calls = len(tasks) * repeats
        cost = table.cost(model_id, tokens * repeats, output_tokens * calls, batch=batch)
        rows.append(CostEstimate(variant.name, model_id, calls, tokens * repeats,
                                 output_tokens * calls, cost,
                                 "count_tokens" if online else "approx"))
    costs = [r.cost_usd for r in rows]
    total = None if any(c is None for c in costs) else sum(c for c in costs if c is not None)
    rows.append(CostEstimate("TOTAL", "", sum(r.calls for r in rows),
                             sum(r.input_tokens for r in rows),
                             sum(r.output_tokens for r in rows), total, rows[0].method
                             if rows else "approx"))
    return rows
