"""pass@k and pass^k: the chance that one of k attempts passes, and that all k do.

Per task, with n repeats of which c pass, the unbiased estimates are ``1 - C(n-c, k) / C(n, k)``
(pass@k, Chen et al. 2021) and ``C(c, k) / C(n, k)`` (pass^k, reliability). Tasks weigh the
same, as everywhere in :mod:`agentlab.stats`. Without enough data the estimate and its interval
are NaN, never a made-up [0, 1]. Re-exported by :mod:`agentlab.stats`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from agentlab.errors import ConfigError
from agentlab.stats._data import t_crit, usable_rows, variant_names

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["pass_at_k", "pass_hat_k"]


def _pass_k(df: pd.DataFrame, k: int, col: str, all_k: bool,
            confidence: float) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    if k < 1:
        raise ConfigError(f"k must be at least 1, got {k}")
    data = usable_rows(df, col)
    rows = []
    for variant in variant_names(df):
        part = data[data["variant"] == variant].groupby("task_id")[col].agg(["size", "sum"])
        part = part[part["size"] >= k]  # a task needs k attempts to estimate pass@k
        est = np.array([
            math.comb(int(c), k) / math.comb(int(n), k) if all_k
            else 1 - math.comb(int(n - c), k) / math.comb(int(n), k)
            for n, c in zip(part["size"], part["sum"], strict=True)
        ], dtype=float)
        g = len(est)
        mean = float(est.mean()) if g else math.nan
        se = float(est.std(ddof=1)) / math.sqrt(g) if g > 1 else math.nan
        half = t_crit(confidence, g - 1) * se
        # np.clip keeps NaN (the builtin max(0.0, nan) would give 0.0).
        low, high = np.clip([mean - half, mean + half], 0.0, 1.0)
        rows.append({"variant": variant, "k": k, "estimate": mean, "se": se,
                     "ci_low": float(low), "ci_high": float(high), "n_tasks": g})
    return pd.DataFrame(rows).set_index("variant")


def pass_at_k(df: pd.DataFrame, k: int, col: str = "passed", *,
              confidence: float = 0.95) -> pd.DataFrame:
    """pass@k per variant: chance that at least one of k attempts passes.

    Tasks with fewer than k usable repeats are left out, and the per-task estimates are
    averaged over tasks (error bars over tasks, a t interval clipped to [0, 1]). With no
    task left the estimate is NaN; with one, the interval is NaN.

    Args:
        df: Results with a boolean ``col``.
        k: Attempts.
        col: The pass/fail column.
        confidence: Interval coverage.

    Returns:
        Indexed by variant: ``k``, ``estimate``, ``se``, ``ci_low``, ``ci_high``,
        ``n_tasks``.

    Raises:
        ConfigError: ``k`` below 1 or a column is missing.
    """
    return _pass_k(df, k, col, False, confidence)


def pass_hat_k(df: pd.DataFrame, k: int, col: str = "passed", *,
               confidence: float = 0.95) -> pd.DataFrame:
    """pass^k per variant: chance that all of k attempts pass (reliability).

    Per task the unbiased estimate is ``C(c, k) / C(n, k)``; otherwise as
    :func:`pass_at_k`.

    Args:
        df: Results with a boolean ``col``.
        k: Attempts.
        col: The pass/fail column.
        confidence: Interval coverage.

    Returns:
        Indexed by variant: ``k``, ``estimate``, ``se``, ``ci_low``, ``ci_high``,
        ``n_tasks``.

    Raises:
        ConfigError: ``k`` below 1 or a column is missing.
    """
    return _pass_k(df, k, col, True, confidence)
