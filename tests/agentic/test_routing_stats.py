"""Routing measures against hand counts, with scipy as the independent reference."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from agentlab.agentic._routing_stats import (
    compare_routing,
    confusion_matrix,
    routing_metrics,
    trigger_rates,
)
from agentlab.errors import ConfigError

TARGET = "backend"


def _table(decisions: dict[str, dict[str, list[str]]],
           expected: dict[str, str]) -> pd.DataFrame:
    """Routing rows: variant -> query -> one decision per repeat; expected agent per query."""
    rows = []
    for variant, per_query in decisions.items():
        for qid, picks in per_query.items():
            for rep, pick in enumerate(picks):
                want = expected[qid]
                rows.append({"variant": variant, "task_id": qid, "repeat": rep,
                             "decision": pick, "expected": want, "positive": want == TARGET,
                             "triggered": pick == TARGET, "correct": pick == want,
                             "error": None})
    return pd.DataFrame(rows)


EXPECTED = {"q1": TARGET, "q2": TARGET, "q3": "frontend", "q4": "none"}
# TP: q1 x3, q2 x1 = 4; FN: q2 x2 = 2; FP: q3 x1 = 1; TN: q3 x2 + q4 x3 = 5
A = {"q1": [TARGET] * 3, "q2": [TARGET, "none", "frontend"],
     "q3": [TARGET, "frontend", "frontend"], "q4": ["none"] * 3}


def _sandwich_ci(values: dict[str, list[float]]) -> tuple[float, float, float]:
    """Clustered mean and t interval computed from scratch (clusters = queries)."""
    flat = np.array([v for vs in values.values() for v in vs])
    n, g, mean = len(flat), len(values), float(flat.mean())
    var = g / (g - 1) * sum((np.array(vs) - mean).sum() ** 2 for vs in values.values()) / n**2
    half = sps.t.ppf(0.975, g - 1) * math.sqrt(var)
    return mean, max(0.0, mean - half), min(1.0, mean + half)


def test_precision_recall_f1_accuracy_match_hand_counts() -> None:
    m = routing_metrics(_table({"a": A}, EXPECTED)).loc["a"]
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (4, 1, 2, 5)
    assert m["precision"] == pytest.approx(4 / 5)
    assert m["recall"] == pytest.approx(4 / 6)
    assert m["f1"] == pytest.approx(2 * 4 / (2 * 4 + 1 + 2))
    # right: q1 x3, q2 x1, q3 x2, q4 x3 = 9 of 12
    assert m["accuracy"] == pytest.approx(9 / 12)
    assert (m["trials"], m["queries"]) == (12, 4)


def test_intervals_are_clustered_on_query() -> None:
    m = routing_metrics(_table({"a": A}, EXPECTED)).loc["a"]
    # accuracy: every row, one cluster per query
    acc = {"q1": [1.0] * 3, "q2": [1.0, 0.0, 0.0], "q3": [0.0, 1.0, 1.0], "q4": [1.0] * 3}
    mean, low, high = _sandwich_ci(acc)
    assert (m["accuracy"], m["accuracy_low"], m["accuracy_high"]) == pytest.approx(
        (mean, low, high))
    # precision: the rows that triggered (q1 x3, q2 x1, q3 x1)
    _, low, high = _sandwich_ci({"q1": [1.0] * 3, "q2": [1.0], "q3": [0.0]})
    assert (m["precision_low"], m["precision_high"]) == pytest.approx((low, high))
    # F1 as a ratio of cluster totals a_g / b_g: its delta-method variance
    a = np.array([6.0, 2.0, 0.0, 0.0])  # 2 x TP per query
    b = np.array([6.0, 4.0, 1.0, 0.0])  # 2 x TP + FP + FN per query
    f1 = a.sum() / b.sum()
    present = b > 0  # q4 contributes nothing to F1
    g = int(present.sum())
    se = math.sqrt(g / (g - 1) * float(((a - f1 * b)[present] ** 2).sum())) / b.sum()
    half = sps.t.ppf(0.975, g - 1) * se
    assert (m["f1_low"], m["f1_high"]) == pytest.approx((max(0, f1 - half), min(1, f1 + half)))


def test_perfect_scores_get_a_wilson_interval_not_a_point() -> None:
    perfect = {"q1": [TARGET] * 3, "q2": [TARGET] * 3, "q3": ["frontend"] * 3,
               "q4": ["none"] * 3}
    m = routing_metrics(_table({"a": perfect}, EXPECTED)).loc["a"]
    assert m["recall"] == 1.0 and m["accuracy"] == 1.0
    wilson = sps.binomtest(2, 2).proportion_ci(confidence_level=0.95, method="wilson")
    assert m["recall_low"] == pytest.approx(wilson.low) and m["recall_high"] == 1.0
    assert m["recall_low"] < 0.5  # two queries say little, however many repeats


def test_precision_is_undefined_without_a_trigger() -> None:
    never = {q: ["none"] * 3 for q in EXPECTED}
    m = routing_metrics(_table({"a": never}, EXPECTED)).loc["a"]
    assert math.isnan(m["precision"]) and m["recall"] == 0.0 and m["f1"] == 0.0


def test_error_rows_are_left_out() -> None:
    df = _table({"a": A}, EXPECTED)
    df.loc[0, "error"] = "session crashed"
    df.loc[0, "triggered"] = False
    m = routing_metrics(df).loc["a"]
    assert m["trials"] == 11 and m["tp"] == 3


def test_trigger_rates_per_query() -> None:
    rates = trigger_rates(_table({"a": A}, EXPECTED)).set_index("task_id")
    assert list(rates["rate"]) == pytest.approx([1.0, 1 / 3, 1 / 3, 0.0])
    assert list(rates["majority_correct"]) == [True, False, True, True]
    assert rates.loc["q2", "decisions"] in ("backend×1 none×1 frontend×1",
                                           "backend×1 frontend×1 none×1")
    assert rates.loc["q3", "n"] == 3 and bool(rates.loc["q1", "positive"])


def test_confusion_matrix_counts_trials() -> None:
    table = confusion_matrix(_table({"a": A}, EXPECTED))
    assert table.loc["backend", "backend"] == 4
    assert table.loc["backend", "frontend"] == 1 and table.loc["backend", "none"] == 1
    assert table.loc["frontend", "backend"] == 1 and table.loc["frontend", "frontend"] == 2
    assert table.loc["none", "none"] == 3
    assert list(table.columns)[-1] == "none" and int(table.to_numpy().sum()) == 12
    with pytest.raises(ConfigError, match="name one of"):
        confusion_matrix(_table({"a": A, "b": A}, EXPECTED))


def test_paired_comparison_mcnemar_and_verdict() -> None:
    queries = {f"q{i}": (TARGET if i % 2 else "none") for i in range(1, 17)}
    good = {q: [want] * 3 for q, want in queries.items()}
    # the baseline misses 8 of the 12 queries on 2 of 3 repeats (majority wrong)
    bad = {q: ([("none" if want == TARGET else TARGET)] * 2 + [want]) if i < 8 else [want] * 3
           for i, (q, want) in enumerate(queries.items())}
    df = _table({"good": good, "bad": bad}, queries)
    result = compare_routing(df, "good", "bad")
    assert (result.variant_only, result.baseline_only, result.n_queries) == (8, 0, 16)
    assert result.mcnemar_p == pytest.approx(sps.binomtest(8, 8, 0.5).pvalue)
    diffs = np.array([2 / 3] * 8 + [0.0] * 8)  # 16 queries: the t test (above 12: exact)
    t = sps.ttest_1samp(diffs, 0.0)
    ci = t.confidence_interval(0.95)
    assert (result.accuracy_diff, result.ci_low, result.ci_high) == pytest.approx(
        (diffs.mean(), ci.low, ci.high))
    assert result.p_value == pytest.approx(t.pvalue) and result.method == "t"
    assert result.verdict == "better"
    assert compare_routing(df, "bad", "good").verdict == "worse"
    # on the positives the good variant triggers 2/3 more often; on negatives 2/3 less
    assert result.recall_diff == pytest.approx(2 / 3 * 4 / 8)
    assert result.false_trigger_diff == pytest.approx(-2 / 3 * 4 / 8)
    same = compare_routing(_table({"x": good, "y": good}, queries), "x", "y")
    assert same.verdict == "no detectable difference" and same.mcnemar_p == 1.0


def test_missing_columns_and_variants_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="'decision'"):
        routing_metrics(pd.DataFrame({"variant": ["a"], "task_id": ["q"]}))
    with pytest.raises(ConfigError, match="'zzz'"):
        compare_routing(_table({"a": A}, EXPECTED), "zzz", "a")
