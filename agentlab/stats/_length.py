"""Length bias: do longer answers score higher on the same task?

LLM graders and judges are known to favour longer answers; this check demeans score and length
within each task so that task difficulty and task length do not pass for a length effect.
Re-exported by :mod:`agentlab.stats`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from agentlab.stats._data import usable_rows, variant_names

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    FloatArray = npt.NDArray[np.float64]

__all__ = ["length_bias"]


def _correlate(x: FloatArray, y: FloatArray,
               method: Literal["spearman", "pearson"]) -> tuple[float, float, float]:
    from scipy import stats

    if len(x) < 3 or float(x.std()) == 0 or float(y.std()) == 0:
        return math.nan, math.nan, math.nan  # scipy warns on constant input
    res = stats.spearmanr(x, y) if method == "spearman" else stats.pearsonr(x, y)
    slope = float((x * y).sum() / (x * x).sum())  # both are demeaned
    return float(res.statistic), float(res.pvalue), slope


def _why_undefined(centred: pd.DataFrame, part: pd.DataFrame, score_col: str,
                   length_col: str) -> str:
    """Why the correlation is NaN, in words (empty when it is defined)."""
    if len(part) < 3:
        return f"only {len(part)} scored answers; needs 3 or more"
    if int(part.groupby("task_id").size().max()) < 2:
        return ("one answer per task: within a task there is nothing to compare; run 2+ "
                "repeats (or variants, for 'all')")
    if float(centred[length_col].std()) == 0:
        return "length does not vary within any task"
    if float(centred[score_col].std()) == 0:
        return "the score does not vary within any task"
    return ""


def length_bias(
    df: pd.DataFrame, score_col: str = "quality", length_col: str = "words", *,
    method: Literal["spearman", "pearson"] = "spearman",
) -> pd.DataFrame:
    """Do longer answers score higher on the same task?

    Score and length are demeaned within each task (per variant for the variant
    rows; across variants for ``all``), so task difficulty and task length do not
    masquerade as a length effect. p-values ignore the degrees of freedom used by
    demeaning and are approximate.

    Args:
        df: Scored results.
        score_col: The score column.
        length_col: The length column.
        method: ``spearman`` (rank) or ``pearson`` correlation.

    Returns:
        Indexed by variant plus ``all``: ``n``, ``r``, ``p_value``,
        ``slope_per_100`` (score change per 100 more length units) and ``note``, which
        says why ``r`` is NaN when it is (e.g. one answer per task), else empty.

    Raises:
        ConfigError: A column is missing.
    """
    import pandas as pd

    data = usable_rows(df, score_col)
    if length_col not in data.columns:
        data = data.join(df[[length_col]].astype(float))
    data = data[data[length_col].notna()]
    rows = []
    for name in [*variant_names(df), "all"]:
        part = data if name == "all" else data[data["variant"] == name]
        centred = part[[score_col, length_col]] - part.groupby("task_id")[
            [score_col, length_col]].transform("mean")
        r, p, slope = _correlate(centred[length_col].to_numpy(float),
                                 centred[score_col].to_numpy(float), method)
        note = _why_undefined(centred, part, score_col, length_col) if math.isnan(r) else ""
        rows.append({"variant": name, "n": len(part), "r": r, "p_value": p,
                     "slope_per_100": slope * 100, "note": note})
    return pd.DataFrame(rows).set_index("variant")
