"""Model names: aliases, resolution order, and prices.

Resolution happens at run time, per cell: an explicit override beats the variant's
``model`` field, which beats the run's default. ``inherit`` (Claude Code's "use the
parent's model") means "the run's default". Aliases map through :data:`DEFAULT_ALIASES`,
which callers may override (``ModelTable(aliases={...})``) or refresh from the Models
API (newest model per family) when a key is available.

Prices are US dollars per million tokens. They are defaults the user can override;
check them against Anthropic's price list before trusting cost figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from agentlab.errors import ConfigError

DEFAULT_ALIASES: Mapping[str, str] = {
    "haiku": "claude-haiku-5-5",
    "sonnet": "claude-sonnet-5-5",
    "opus": "claude-opus-5-5",
    "fable": "claude-fable-5-2",
}

LOCAL_PREFIX = "local"
BATCH_DISCOUNT = 0.5  # a Message Batch costs half of every standard rate


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    input: float
    output: float
    cache_write: float
    cache_read: float

    def batched(self) -> Price:
        """The Message Batches price: :data:`BATCH_DISCOUNT` of every rate.

        Anthropic bills a batch at 50% of the standard input and output prices, and the
        prompt-caching multipliers (writes 1.25x, reads 0.1x of input) apply on top of the
        batch input price, so cache writes and reads are halved too.
        """
        d = BATCH_DISCOUNT
        return Price(self.input * d, self.output * d, self.cache_write * d, self.cache_read * d)


def _price(inp: float, out: float) -> Price:
    # Anthropic's documented ratios: 5-minute cache writes cost 1.25x input, reads 0.1x.
    return Price(inp, out, inp * 1.25, inp * 0.1)


# Matched by family substring of the model id; the first match wins.
DEFAULT_PRICES: Mapping[str, Price] = {
    "haiku": _price(1.0, 5.0),
    "sonnet": _price(3.0, 15.0),
    "opus": _price(5.0, 25.0),
    "fable": _price(3.0, 15.0),
    "mythos": _price(15.0, 75.0),
}


@dataclass(frozen=True)
class ModelTable:
    """Aliases and prices used by a run (both user-overridable).

    Attributes:
        aliases: Alias → model id.
        prices: Family substring (or exact id) → price per million tokens.
    """

    aliases: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ALIASES))
    prices: Mapping[str, Price] = field(default_factory=lambda: dict(DEFAULT_PRICES))

    def with_aliases(self, aliases: Mapping[str, str]) -> ModelTable:
        """A table whose aliases are updated by ``aliases``."""
        return ModelTable({**self.aliases, **aliases}, self.prices)

    def resolve(self, name: str) -> str:
        """Turn an alias into a model id; ids and ``local…`` names pass through.

        Raises:
            ConfigError: ``name`` is empty, or ``inherit`` (which needs a default).
        """
        key = name.strip()
        if not key:
            raise ConfigError("empty model name")
        if key == "inherit":
            raise ConfigError("'inherit' needs a run default model (pass model=...)")
        return self.aliases.get(key.lower(), key)

    def price(self, model_id: str) -> Price | None:
        """The price of ``model_id``, or ``None`` when unknown (cost shows as NaN)."""
        if is_local(model_id):
            return Price(0.0, 0.0, 0.0, 0.0)
        if model_id in self.prices:
            return self.prices[model_id]
        for family, price in self.prices.items():
            if family in model_id:
                return price
        return None

    def cost(self, model_id: str, input_tokens: int, output_tokens: int,
             cache_write_tokens: int = 0, cache_read_tokens: int = 0, *,
             batch: bool = False) -> float | None:
        """Dollar cost of one call, or ``None`` when the model's price is unknown.

        ``batch=True`` prices it as part of a Message Batch (:meth:`Price.batched`).
        """
        p = self.price(model_id)
        if p is None:
            return None
        if batch:
            p = p.batched()
        return (input_tokens * p.input + output_tokens * p.output
                + cache_write_tokens * p.cache_write + cache_read_tokens * p.cache_read) / 1e6


def is_local(model: str) -> bool:
    """Whether a model name designates the embedded local provider."""
    return model == LOCAL_PREFIX or model.startswith(LOCAL_PREFIX + ":")


def choose_model(override: str | None, variant_model: str | None, default: str,
                 table: ModelTable) -> str:
    """Pick and resolve the model for one cell.

    Args:
        override: An explicit model for the whole run (wins over everything).
        variant_model: The variant's ``model`` field (``inherit`` falls through).
        default: The run's default model.
        table: Aliases used for resolution.

    Returns:
        A concrete model id (or a ``local…`` name).
    """
    for candidate in (override, variant_model, default):
        if candidate and candidate.strip() and candidate.strip() != "inherit":
            return table.resolve(candidate)
    raise ConfigError("no model: pass model=... or set 'model:' in the agent file")
