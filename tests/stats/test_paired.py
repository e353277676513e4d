"""Paired comparisons: the exact sign-flip test for small suites, t beyond, honest verdicts."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from agentlab import stats
from agentlab.errors import ConfigError

Simulate = Callable[..., pd.DataFrame]
Table = Callable[..., pd.DataFrame]


def test_t_interval_covers_true_difference_95_percent(simulate: Simulate) -> None:
    rng = np.random.default_rng(20240501)
    hits = 0
    for _ in range(250):  # the whole path, from a results table
        diff = stats.paired_difference(simulate(rng), "new", "base")
        assert diff.method == "t" and diff.n_tasks == 20
        hits += diff.ci_low <= 0.1 <= diff.ci_high
    assert 0.92 <= hits / 250 <= 0.98  # 95% ± 2.2 Monte Carlo standard errors
    res = stats.compare_diffs(0.1 + rng.normal(0, 0.3, (4000, 20)))  # the core, precisely
    assert 0.94 <= float(np.mean((res.ci_low <= 0.1) & (res.ci_high >= 0.1))) <= 0.96


def test_exact_interval_covers_with_few_tasks_where_bootstrap_did_not() -> None:
    # Finding 1: on 5 tasks the percentile bootstrap covered 83–87% and gave 16% false
    # positives. 8 tasks with heavy tails and a +0.1 shift: the exact test's own coverage
    # is 1 - 2 * 6/256 = 95.3%.
    rng = np.random.default_rng(5)
    d = 0.1 + rng.standard_t(3, (3000, 8)) * 0.2
    res = stats.compare_diffs(d)
    assert set(res.method) == {"permutation"}
    coverage = float(np.mean((res.ci_low <= 0.1) & (res.ci_high >= 0.1)))
    assert 0.94 <= coverage <= 0.965
    null = stats.compare_diffs(rng.standard_t(3, (3000, 5)))
    assert float(np.mean(null.p_value <= 0.05)) == 0.0  # 5 tasks: the smallest p is 0.0625
    assert np.all(np.isinf(null.ci_low)) and np.all(np.isinf(null.ci_high))


def test_two_tasks_read_insufficient_data_not_better(make_table: Table) -> None:
    # Finding 1's reproduction: 2 tasks, bootstrap p = 0.0005 "better", t p = 0.20.
    df = make_table([("new", "t1", 0.9), ("new", "t2", 0.7), ("base", "t1", 0.5),
                     ("base", "t2", 0.5)])
    diff = stats.paired_difference(df, "new", "base")
    assert diff.method == "permutation" and diff.p_value == 0.5
    assert diff.verdict == "insufficient data"
    assert (diff.ci_low, diff.ci_high) == (-1.0, 1.0)  # the whole range a 0–1 difference has
    forced_t = stats.paired_difference(df, "new", "base", method="t")
    assert forced_t.p_value == pytest.approx(0.2048, abs=1e-3)
    assert forced_t.verdict == "insufficient data"  # no exact test could reject with 2


def test_identical_differences_give_no_certainty(make_table: Table) -> None:
    # Finding 2: identical differences gave p = 0.0, a zero-width CI and "better" on 2 tasks,
    # and differences equal to within 1e-15 gave p = 3e-29 on 3 tasks.
    two = make_table([("a", "t1", 1.0), ("a", "t2", 1.0), ("b", "t1", 0.0), ("b", "t2", 0.0)])
    res = stats.paired_difference(two, "a", "b")
    assert res.verdict == "insufficient data" and res.p_value == 0.5
    assert math.isnan(res.ci_low) and math.isnan(res.ci_high)  # not a zero-width interval
    three = make_table([("a", f"t{i}", 0.5 + i * 1e-16) for i in range(3)]
                       + [("b", f"t{i}", 0.4) for i in range(3)])
    res = stats.paired_difference(three, "a", "b")
    assert res.verdict == "insufficient data" and res.p_value == 0.25
    # 13 tasks, all +0.1: past the exact range, the t-test would say p = 0; the sign test
    # allows 2 / 2**13.
    many = make_table([("a", f"t{i:02d}", 0.5) for i in range(13)]
                      + [("b", f"t{i:02d}", 0.4) for i in range(13)])
    res = stats.paired_difference(many, "a", "b")
    assert res.method == "sign" and res.p_value == pytest.approx(2 / 2**13)
    assert res.verdict == "better"
    assert math.isnan(res.ci_low) and math.isnan(res.ci_high)  # never a zero-width interval
    six = make_table([("a", f"t{i}", 0.5) for i in range(6)]
                     + [("b", f"t{i}", 0.4) for i in range(6)])
    res = stats.paired_difference(six, "a", "b")
    assert (res.method, res.verdict, res.p_value) == ("sign", "better", pytest.approx(2 / 64))
    assert math.isnan(res.ci_low)


def test_interval_is_the_inversion_of_scipys_permutation_test() -> None:
    rng = np.random.default_rng(8)
    for n in (6, 9, 12):
        d = rng.normal(0.3, 1.0, n)
        res = stats.compare_diffs(d)

        def p_at(shift: float, d: np.ndarray = d) -> float:
            result = sps.permutation_test((d - shift,), np.mean, permutation_type="samples",
                                          n_resamples=np.inf)
            return float(result.pvalue)

        for end in (float(res.ci_low[0]), float(res.ci_high[0])):
            assert p_at(end) > 0.05  # the ends are inside the interval...
            outward = end - 1e-9 if end == res.ci_low[0] else end + 1e-9
            assert p_at(outward) <= 0.05  # ...and just beyond them the test rejects


def test_verdict_agrees_with_interval_on_tied_pass_fail_differences() -> None:
    rng = np.random.default_rng(4)
    for n in (6, 8, 11):
        d = rng.integers(-3, 4, (600, n)) / 3 + rng.integers(0, 2, (600, 1)) / 3
        d = d[d.std(axis=1) > 0]  # all-equal rows have no interval (tested above)
        res = stats.compare_diffs(d)
        rejects = res.p_value <= 0.05
        excludes_zero = (res.ci_low > 0) | (res.ci_high < 0)
        assert np.array_equal(rejects, excludes_zero)
        assert rejects.any() and not rejects.all()


def test_method_choice_and_limits(simulate: Simulate) -> None:
    rng = np.random.default_rng(1)
    assert stats.compare_diffs(rng.normal(size=12)).method == ("permutation",)
    assert stats.compare_diffs(rng.normal(size=13)).method == ("t",)
    assert stats.compare_diffs(rng.normal(size=14), method="permutation").method == (
        "permutation",)
    with pytest.raises(ConfigError, match="at most 16 tasks"):
        stats.compare_diffs(rng.normal(size=17), method="permutation")
    assert math.isnan(stats.compare_diffs([0.3]).p_value[0])


def test_paired_intervals_are_narrower_than_unpaired_when_tasks_correlate(
        simulate: Simulate) -> None:
    rng = np.random.default_rng(3)
    ratios = []
    for _ in range(30):
        df = simulate(rng, n_tasks=25, task_sd=0.4, interaction_sd=0.05)
        diff = stats.paired_difference(df, "new", "base")
        per = stats.variant_stats(df)
        ratios.append(diff.se / math.hypot(per.loc["new", "se"], per.loc["base", "se"]))
    assert float(np.mean(ratios)) < 0.6


def test_only_common_tasks_and_means_over_them(make_table: Table) -> None:
    df = make_table([("a", "t1", 1.0), ("a", "t1", 0.0), ("a", "t2", 1.0), ("b", "t1", 0.0),
                     ("b", "t2", 0.5), ("b", "t3", 1.0), ("b", "t2", 0.5)])
    diff = stats.paired_difference(df, "a", "b")
    assert diff.n_tasks == 2 and diff.n_dropped == 1
    assert diff.mean_diff == pytest.approx(((0.5 - 0.0) + (1.0 - 0.5)) / 2)
    assert diff.mean_diff == pytest.approx(diff.variant_mean - diff.baseline_mean)
    assert diff.baseline_mean == pytest.approx(0.25)  # t1 and t2 only, not t3


def test_verdict_wording_follows_the_metric_registry(simulate: Simulate) -> None:
    df = simulate(np.random.default_rng(2), n_tasks=30, effect=0.5)
    df["words"] = df["quality"] * 100 + 200
    df["cost_usd"] = df["quality"] / 100 + 0.01
    assert stats.paired_difference(df, "new", "base").verdict == "better"
    assert stats.paired_difference(df, "base", "new").verdict == "worse"
    assert stats.paired_difference(df, "new", "base", "words").verdict == "higher"
    assert stats.paired_difference(df, "base", "new", "words").verdict == "lower"
    assert stats.paired_difference(df, "new", "base", "cost_usd").verdict == "worse"
    assert stats.paired_difference(df, "base", "new", "cost_usd").verdict == "better"
    lower = stats.paired_difference(df, "new", "base", "words", direction="lower")
    assert lower.verdict == "worse"
    null = simulate(np.random.default_rng(4), n_tasks=10, effect=0.0)
    assert stats.paired_difference(null, "new", "base").verdict == "no detectable difference"
    one = df[df.task_id == "t000"]
    assert stats.paired_difference(one, "new", "base").verdict == "insufficient data"


def test_compare_to_baseline_applies_holm_and_keeps_raw_p(simulate: Simulate) -> None:
    df = simulate(np.random.default_rng(8))
    third = df[df.variant == "new"].assign(variant="third", quality=lambda d: d.quality - 0.2)
    both = pd.concat([df, third])
    out = stats.compare_to_baseline(both, "base", method="t")
    assert list(out.index) == ["new", "third"]
    assert out.loc["third", "mean_diff"] == pytest.approx(out.loc["new", "mean_diff"] - 0.2)
    expected = stats.holm(out["p_value"].to_numpy())
    assert np.allclose(out["p_adjusted"], expected)
    assert (out["p_adjusted"] >= out["p_value"]).all()
    raw = stats.compare_to_baseline(both, "base", adjust="none")
    assert np.array_equal(raw["p_adjusted"], raw["p_value"])
    with pytest.raises(ConfigError, match="variant 'nope'"):
        stats.compare_to_baseline(df, "nope")


def test_compare_to_baseline_keeps_a_variant_with_only_errors(simulate: Simulate) -> None:
    df = simulate(np.random.default_rng(8), n_tasks=8)
    broken = df[df.variant == "new"].assign(variant="broken", error="timeout")
    few = df[(df.variant == "new") & (df.task_id < "t003")].assign(variant="few")
    out = stats.compare_to_baseline(pd.concat([df, broken, few]), "base")
    assert out.loc["broken", "verdict"] == "insufficient data"
    assert out.loc["broken", "n_dropped"] == 8 and math.isnan(out.loc["broken", "p_adjusted"])
    # 3 tasks can never give a verdict, so "few" is not part of Holm's family either.
    assert out.loc["few", "verdict"] == "insufficient data"
    assert out.loc["few", "n_dropped"] == 5 and math.isnan(out.loc["few", "p_adjusted"])
    assert out.loc["new", "p_adjusted"] == out.loc["new", "p_value"]  # a family of one
