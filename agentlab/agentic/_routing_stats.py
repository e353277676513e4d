"""Measures of routing decisions: trigger rates, precision/recall, confusion, paired comparison.

Input is the routing table, one row per trial (see :func:`agentlab.agentic.routing`):
``variant``, ``task_id`` (the query id), ``repeat``, ``decision`` (the agent chosen, or
``none``), ``expected`` (an agent, ``none`` or ``not <agent>``), ``positive`` (should the agent
under test be chosen?), ``triggered`` (was it?), ``correct`` and ``error``. Error rows are left
out everywhere (:func:`agentlab.runs._results.error_rows` is the definition).

The four rates pool trials, as their usual definitions do: recall is TP / (TP + FN), the
share of ``triggered`` among rows that should trigger; precision TP / (TP + FP), the share of
``positive`` among rows that did; accuracy the share of ``correct``; and F1 = 2TP / (2TP + FP +
FN), the share of 1s among pseudo-rows where each true positive counts twice with value 1 and
each false positive or negative once with 0. Repeats of one query are not independent, so
each interval is clustered on the query: the cluster-robust (sandwich) standard error of a
ratio of cluster totals, which for F1 is the delta-method one, and a t interval with
(queries - 1) degrees of freedom.

Paired comparisons use :func:`agentlab.stats.paired_difference` and
:func:`agentlab.stats.mcnemar` on the ``correct`` column, whose meaning (higher is better, in
[0, 1]) is registered here with :func:`agentlab.scoring.metrics.register_metric`.

When every query gives the same outcome the clustered standard error is 0; the interval is then
the Wilson score interval with the number of queries as the sample size (as if the repeats of a
query were perfectly correlated), so a 13/13 recall does not claim to be exactly 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from agentlab.errors import ConfigError
from agentlab.scoring.metrics import Metric, register_metric

if TYPE_CHECKING:
    import pandas as pd

ROUTING_COLUMNS = ("variant", "task_id", "repeat", "decision", "expected", "positive",
                   "triggered", "correct", "error")

RoutingVerdict = Literal["better", "worse", "no detectable difference", "insufficient data"]

register_metric(Metric("correct", "correct routing", "higher", (0.0, 1.0), "0–1"))
register_metric(Metric("triggered", "trigger rate", None, (0.0, 1.0), "0–1"))


def _usable(df: pd.DataFrame) -> pd.DataFrame:
    from agentlab.runs._results import error_rows

    missing = [c for c in ROUTING_COLUMNS if c not in df.columns]
    if missing:
        raise ConfigError(f"routing table has no {', '.join(map(repr, missing))} column(s); "
                          "pass the DataFrame agentlab.routing() returns")
    out = df.loc[~error_rows(df)]
    return out.assign(**{c: out[c].astype(bool) for c in ("positive", "triggered", "correct")})


def trigger_rates(df: pd.DataFrame) -> pd.DataFrame:
    """Per variant and query: how often the agent under test was chosen over the repeats.

    Args:
        df: The routing table.

    Returns:
        One row per (variant, query): ``positive``, ``expected``, ``n`` (usable trials),
        ``triggers``, ``rate``, ``correct_rate``, ``decisions`` (e.g. ``"none×2 x×1"``) and
        ``majority_correct`` (at least half the repeats right).
    """
    data = _usable(df)
    groups = data.groupby(["variant", "task_id"], sort=False)
    out = groups.agg(positive=("positive", "first"), expected=("expected", "first"),
                     n=("triggered", "size"), triggers=("triggered", "sum"),
                     rate=("triggered", "mean"), correct_rate=("correct", "mean"))
    out["decisions"] = groups["decision"].agg(
        lambda s: " ".join(f"{k}×{v}" for k, v in s.value_counts().items()))
    out["majority_correct"] = out["correct_rate"] >= 0.5
    return out.reset_index()


def _interval(values: pd.DataFrame, column: str, confidence: float) -> dict[str, float]:
    """A pooled proportion of one 0/1 column, with its interval clustered on query.

    The proportion pools trials (TP / (TP + FP) for precision), so it is a ratio of cluster
    totals; its standard error is the cluster-robust (linearised) one with the G/(G-1)
    small-sample factor, and the interval is t with G-1 degrees of freedom.
    """
    import numpy as np
    from scipy import stats as sps

    if values.empty:
        return {"value": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n_queries": 0}
    y = values[column].to_numpy(float)
    _, cluster = np.unique(values["task_id"].astype(str).to_numpy(object), return_inverse=True)
    n, mean = len(y), float(y.mean())
    sums = np.bincount(cluster, weights=y - mean)
    g = len(sums)
    se = math.sqrt(g / (g - 1) * float(np.sum(sums**2))) / n if g > 1 else math.nan
    if g >= 1 and (se == 0 or math.isnan(se)):
        ci = sps.binomtest(round(mean * g), g).proportion_ci(confidence_level=confidence,
                                                              method="wilson")
        low, high = float(ci.low), float(ci.high)
    else:
        half = float(sps.t.ppf(0.5 + confidence / 2, g - 1)) * se
        low, high = mean - half, mean + half
    return {"value": mean, "ci_low": max(0.0, low), "ci_high": min(1.0, high), "n_queries": g}


def _f1_rows(data: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    tp = data[data["positive"] & data["triggered"]]
    wrong = data[data["positive"] != data["triggered"]]
    return pd.concat([tp.assign(f1=1.0), tp.assign(f1=1.0), wrong.assign(f1=0.0)])


def routing_metrics(df: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Precision, recall, F1 and accuracy per variant, with intervals clustered on query.

    "Positive" means "the agent under test was (or should have been) chosen".

    Args:
        df: The routing table.
        confidence: Interval coverage.

    Returns:
        Indexed by variant: ``trials``, ``queries``, ``tp``, ``fp``, ``fn``, ``tn``, then for
        each of ``precision``, ``recall``, ``f1``, ``accuracy`` the value and its
        ``_low``/``_high`` interval ends (NaN when undefined, e.g. precision with no trigger).
    """
    import pandas as pd

    data = _usable(df)
    rows = []
    for variant in data["variant"].drop_duplicates():
        part = data[data["variant"] == variant]
        pos, trig = part["positive"], part["triggered"]
        row: dict[str, object] = {
            "variant": variant, "trials": len(part), "queries": part["task_id"].nunique(),
            "tp": int((pos & trig).sum()), "fp": int((~pos & trig).sum()),
            "fn": int((pos & ~trig).sum()), "tn": int((~pos & ~trig).sum())}
        for name, subset, column in (("precision", part[trig], "positive"),
                                     ("recall", part[pos], "triggered"),
                                     ("f1", _f1_rows(part), "f1"),
                                     ("accuracy", part, "correct")):
            est = _interval(subset, column, confidence)
            row[name], row[f"{name}_low"], row[f"{name}_high"] = (
                est["value"], est["ci_low"], est["ci_high"])
        rows.append(row)
    return pd.DataFrame(rows).set_index("variant")


def confusion_matrix(df: pd.DataFrame, variant: str | None = None) -> pd.DataFrame:
    """Counts of trials by expected agent (rows) and chosen agent (columns).

    Args:
        df: The routing table.
        variant: One variant; ``None`` (the default) needs a table with a single variant.

    Returns:
        A table of counts; the ``none`` column is "answered without a subagent".

    Raises:
        ConfigError: ``variant`` is missing, or not given while the table has several.
    """
    import pandas as pd

    data = _usable(df)
    names = list(data["variant"].drop_duplicates())
    if variant is None:
        if len(names) != 1:
            raise ConfigError(f"the table has {len(names)} variants; name one of: "
                              f"{', '.join(map(str, names))}")
        variant = str(names[0])
    part = data[data["variant"] == variant]
    if part.empty:
        raise ConfigError(f"no usable routing trials for variant {variant!r}")
    table = pd.crosstab(part["expected"], part["decision"])
    order = [c for c in sorted(table.columns) if c != "none"] + (
        ["none"] if "none" in table.columns else [])
    return table[order].rename_axis(index="expected", columns="chosen")


@dataclass(frozen=True)
class RoutingComparison:
    """Two descriptions compared on the same queries, paired by query.

    Attributes:
        variant: The variant compared.
        baseline: The reference variant.
        n_queries: Queries both variants answered.
        accuracy_diff: Mean over queries of (variant - baseline) in the rate of correct
            decisions, repeats averaged first.
        ci_low: Lower end of its interval.
        ci_high: Upper end of its interval.
        p_value: Two-sided p-value of the paired test on ``accuracy_diff``.
        method: The test: ``permutation`` (exact sign-flip, up to 12 queries), ``t`` or
            ``sign`` (see :func:`agentlab.stats.paired_difference`).
        recall_diff: The same difference over the queries that should trigger.
        false_trigger_diff: The same over queries that should not (lower is better).
        mcnemar_p: Exact McNemar p-value on per-query majority-correct outcomes.
        variant_only: Queries only the variant gets right (by majority).
        baseline_only: Queries only the baseline gets right.
        verdict: ``better``/``worse`` when the paired test on ``accuracy_diff`` rejects at
            ``1 - confidence``, else ``no detectable difference``; ``insufficient data``
            when there are too few queries for any test to reject (below 6 at 95%).
    """

    variant: str
    baseline: str
    n_queries: int
    accuracy_diff: float
    ci_low: float
    ci_high: float
    p_value: float
    method: str
    recall_diff: float
    false_trigger_diff: float
    mcnemar_p: float
    variant_only: int
    baseline_only: int
    verdict: RoutingVerdict


def _rate_diff(data: pd.DataFrame, variant: str, baseline: str) -> float:
    from agentlab.stats import paired_difference

    if data.empty:
        return math.nan
    return paired_difference(data, variant, baseline, "triggered").mean_diff


def compare_routing(df: pd.DataFrame, variant: str, baseline: str, *,
                    confidence: float = 0.95) -> RoutingComparison:
    """Compare two variants' routing on the queries both answered.

    Args:
        df: The routing table with both variants.
        variant: The variant compared.
        baseline: The reference variant.
        confidence: Interval coverage.

    Returns:
        The paired comparison and its verdict.

    Raises:
        ConfigError: A variant is missing from the table.
    """
    from agentlab.stats import mcnemar, paired_difference

    data = _usable(df)
    for name in (variant, baseline):
        if name not in set(data["variant"]):
            raise ConfigError(f"variant {name!r} has no usable routing trials")
    diff = paired_difference(data, variant, baseline, "correct", confidence=confidence)
    test = mcnemar(data, variant, baseline, "correct")
    verdict: RoutingVerdict = diff.verdict if diff.verdict in (
        "better", "worse", "insufficient data") else "no detectable difference"
    return RoutingComparison(
        variant, baseline, diff.n_tasks, diff.mean_diff, diff.ci_low, diff.ci_high,
        diff.p_value, diff.method, _rate_diff(data[data["positive"]], variant, baseline),
        _rate_diff(data[~data["positive"]], variant, baseline),
        test.p_value, test.variant_only, test.baseline_only, verdict)


def format_metrics(summary: pd.DataFrame) -> pd.DataFrame:
    """A summary from :func:`routing_metrics` as text: ``0.82 [0.61, 0.95]`` per rate.

    Args:
        summary: The per-variant summary.

    Returns:
        Indexed by variant: trials, queries, the confusion counts and one text column per
        rate ("-" where it is undefined, such as precision with no trigger).
    """
    out = summary[["trials", "queries", "tp", "fp", "fn", "tn"]].copy()
    for name in ("precision", "recall", "f1", "accuracy"):
        out[name] = [
            "-" if math.isnan(v) else f"{v:.2f} [{lo:.2f}, {hi:.2f}]"
            for v, lo, hi in zip(summary[name], summary[f"{name}_low"], summary[f"{name}_high"],
                                 strict=True)]
    return out
