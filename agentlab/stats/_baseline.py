"""The default baseline: which variant the others are compared with when none is named.

This is the one rule; the summary, the CLI, the report, the widgets and the notebooks ask
it rather than taking "the first variant".
"""

from __future__ import annotations

from collections.abc import Sequence

from agentlab.errors import ConfigError


def pick_baseline(variants: Sequence[str]) -> str:
    """The default baseline: the variant whose name most others extend, else the first.

    With ``python-pro-backend`` and ``python-pro-backend-concise`` (and so on), the
    base agent is the baseline whatever the file order.
    """
    if not variants:
        raise ConfigError("no variants to choose a baseline from")

    def extended_by(name: str) -> int:
        return sum(1 for other in variants if other != name and other.startswith(name + "-"))

    best = max(variants, key=extended_by)
    return best if extended_by(best) > 0 else variants[0]
