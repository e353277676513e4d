"""What a comparison is called: the verdict words, the smallest usable suite, and Holm's step-down.

The words, all of them:

- ``better`` / ``worse``: the difference is significant and the metric has a direction
  (:mod:`agentlab.scoring.metrics`); the only directional words for such a metric;
- ``higher`` / ``lower``: significant, for a metric without a direction (words, tokens);
- ``no detectable difference``: the test could have rejected, and did not;
- ``insufficient data``: it could not have: fewer paired tasks than an exact test needs
  at this level (:func:`min_tasks`), or no p-value at all;
- ``baseline``: the reference row of a summary.

Re-exported by :mod:`agentlab.stats`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from agentlab.scoring.metrics import Direction

    FloatArray = npt.NDArray[np.float64]

__all__ = ["VERDICTS", "Verdict", "holm", "min_tasks", "verdict"]

Verdict = Literal["better", "worse", "higher", "lower", "no detectable difference",
                  "insufficient data", "baseline"]
VERDICTS: tuple[str, ...] = get_args(Verdict)
"""Every word a verdict can be."""


def min_tasks(alpha: float) -> int:
    """The fewest paired tasks with which an exact sign-flip test can reject at ``alpha``.

    With n tasks the smallest two-sided p-value of the exact test is ``2 / 2**n``; at
    ``alpha = 0.05`` that needs 6 tasks (5 give at best p = 0.0625).
    """
    return max(2, math.ceil(1 + math.log2(1 / alpha) - 1e-12))


def verdict(diff: float, p_value: float, n_tasks: int, direction: Direction,
            alpha: float) -> Verdict:
    """The word for a paired difference.

    Args:
        diff: Mean difference (variant - baseline).
        p_value: Two-sided p-value (adjusted for multiplicity if it applies).
        n_tasks: Paired tasks.
        direction: The metric's direction (``None``: no preferred direction).
        alpha: Significance level (1 - confidence).

    Returns:
        One of :data:`VERDICTS` (never ``baseline``).
    """
    if n_tasks < min_tasks(alpha) or not (math.isfinite(p_value) and math.isfinite(diff)):
        return "insufficient data"
    if p_value > alpha or diff == 0:
        return "no detectable difference"
    if direction is None:
        return "higher" if diff > 0 else "lower"
    return "better" if (diff > 0) == (direction == "higher") else "worse"


def holm(p_values: npt.ArrayLike) -> FloatArray:
    """Holm's step-down adjustment along the last axis; NaN p-values are left out.

    The k-th smallest of m p-values becomes ``max over j <= k of (m - j + 1) * p_(j)``,
    capped at 1. It keeps the family-wise error at the level under any dependence
    (scipy has Benjamini-Hochberg, ``false_discovery_control``, but not Holm).

    Args:
        p_values: Raw p-values, one family per row of the last axis.

    Returns:
        The adjusted p-values, in the input's order and shape.
    """
    import numpy as np

    p = np.asarray(p_values, dtype=float)
    if p.size == 0:
        return p.copy()
    order = np.argsort(p, axis=-1)  # NaN sorts last
    ranked = np.take_along_axis(p, order, axis=-1)
    m = np.sum(np.isfinite(p), axis=-1, keepdims=True)
    factors = m - np.arange(p.shape[-1])
    adjusted = np.minimum(1.0, np.maximum.accumulate(factors * ranked, axis=-1))
    out = np.empty_like(p)
    np.put_along_axis(out, order, adjusted, axis=-1)
    return out
