"""Statistics tests, mostly by simulation with known truth (seeded, a few seconds)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from agentlab import stats
from agentlab.errors import ConfigError
from agentlab.stats import _errorbars as errorbars
from agentlab.stats import _plan as statsplan
from agentlab.stats import _summary as statsummary


def simulate(
    rng: np.random.Generator, *, n_tasks: int = 20, repeats: int = 3, effect: float = 0.1,
    base: float = 0.5, task_sd: float = 0.25, interaction_sd: float = 0.1, noise_sd: float = 0.3,
) -> pd.DataFrame:
    """Two variants on shared tasks: score = mean + task effect + task×variant + noise."""
    task = rng.normal(0, task_sd, n_tasks)  # difficulty, shared by both variants
    t = np.repeat(np.arange(n_tasks), repeats)
    ids = np.array([f"t{i:03d}" for i in range(n_tasks)])[t]
    frames = []
    for name, mean in (("base", base), ("new", base + effect)):
        inter = rng.normal(0, interaction_sd, n_tasks)
        score = mean + task[t] + inter[t] + rng.normal(0, noise_sd, len(t))
        frames.append(pd.DataFrame({"variant": name, "task_id": ids,
                                    "repeat": np.tile(np.arange(repeats), n_tasks),
                                    "quality": score, "error": None}))
    return pd.concat(frames, ignore_index=True)


def test_paired_ci_covers_true_difference_95_percent() -> None:
    rng = np.random.default_rng(20240501)
    hits = 0
    for _ in range(1000):
        diff = stats.paired_difference(simulate(rng), "new", "base")
        hits += diff.ci_low <= 0.1 <= diff.ci_high
    assert 0.93 <= hits / 1000 <= 0.97


def test_clustered_ci_covers_variant_mean_and_naive_does_not() -> None:
    rng = np.random.default_rng(7)
    clustered = naive = 0
    for _ in range(1000):
        df = simulate(rng, n_tasks=15, repeats=4, task_sd=0.3)
        row = stats.variant_stats(df).loc["base"]
        clustered += row.ci_low <= 0.5 <= row.ci_high
        flat = stats.variant_stats(df, cluster=None).loc["base"]
        naive += flat.ci_low <= 0.5 <= flat.ci_high
    assert 0.93 <= clustered / 1000 <= 0.97
    assert naive / 1000 < 0.85  # treating repeats as independent overstates precision


def test_variant_stats_columns_and_counts() -> None:
    df = simulate(np.random.default_rng(1), n_tasks=6, repeats=2)
    df.loc[0, "error"] = "rate_limit"
    out = stats.variant_stats(df)
    assert list(out.index) == ["base", "new"]
    assert list(out.columns) == ["n", "n_tasks", "mean", "se", "ci_low", "ci_high"]
    assert out.loc["base", "n"] == 11 and out.loc["new", "n_tasks"] == 6
    values = df.loc[(df.variant == "new")].groupby("task_id")["quality"].mean()
    assert out.loc["new", "se"] == pytest.approx(values.std() / math.sqrt(6))


def test_paired_intervals_are_narrower_than_unpaired_when_tasks_correlate() -> None:
    rng = np.random.default_rng(3)
    ratios = []
    for _ in range(50):
        df = simulate(rng, n_tasks=25, task_sd=0.4, interaction_sd=0.05)
        diff = stats.paired_difference(df, "new", "base")
        per = stats.variant_stats(df)
        unpaired_se = math.hypot(per.loc["new", "se"], per.loc["base", "se"])
        ratios.append(diff.se / unpaired_se)
    assert float(np.mean(ratios)) < 0.6


def test_bootstrap_option() -> None:
    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(300):
        diff = stats.paired_difference(simulate(rng, n_tasks=30), "new", "base",
                                       method="bootstrap", n_boot=400, seed=1)
        hits += diff.ci_low <= 0.1 <= diff.ci_high
    assert 0.90 <= hits / 300 <= 0.98  # percentile intervals run slightly narrow

    df = simulate(np.random.default_rng(5), n_tasks=40, effect=0.3)
    boot = stats.paired_difference(df, "new", "base", method="bootstrap", seed=2)
    t = stats.paired_difference(df, "new", "base")
    assert boot.method == "bootstrap" and boot.mean_diff == pytest.approx(t.mean_diff)
    assert boot.se == pytest.approx(t.se, rel=0.2)
    assert boot.verdict == t.verdict == "better" and boot.p_value < 0.01
    again = stats.paired_difference(df, "new", "base", method="bootstrap", seed=2)
    assert (again.ci_low, again.ci_high) == (boot.ci_low, boot.ci_high)


def test_paired_difference_only_uses_common_tasks_and_averages_repeats() -> None:
    df = pd.DataFrame({
        "variant": ["a", "a", "a", "b", "b", "b", "b"],
        "task_id": ["t1", "t1", "t2", "t1", "t2", "t3", "t2"],
        "quality": [1.0, 0.0, 1.0, 0.0, 0.5, 1.0, 0.5],
    })
    diff = stats.paired_difference(df, "a", "b")
    assert diff.n_tasks == 2
    assert diff.mean_diff == pytest.approx(((0.5 - 0.0) + (1.0 - 0.5)) / 2)
    assert diff.se == 0.0 and diff.verdict == "better" and diff.p_value == 0.0


def test_verdict_wording_follows_direction() -> None:
    df = simulate(np.random.default_rng(2), n_tasks=30, effect=0.5)
    df["words"] = df["quality"] * 100
    assert stats.paired_difference(df, "new", "base").verdict == "better"
    assert stats.paired_difference(df, "base", "new").verdict == "worse"
    assert stats.paired_difference(df, "new", "base", "words").verdict == "higher"
    assert stats.paired_difference(df, "base", "new", "words").verdict == "lower"
    lower_better = stats.paired_difference(df, "new", "base", "words", higher_is_better=False)
    assert lower_better.verdict == "worse"
    null = simulate(np.random.default_rng(4), n_tasks=10, effect=0.0)
    assert stats.paired_difference(null, "new", "base").verdict == "no detectable difference"
    one = df[df.task_id == "t000"]
    assert stats.paired_difference(one, "new", "base").verdict == "insufficient data"


def test_compare_to_baseline() -> None:
    df = simulate(np.random.default_rng(8))
    third = df[df.variant == "new"].assign(variant="third", quality=lambda d: d.quality - 0.2)
    out = stats.compare_to_baseline(pd.concat([df, third]), "base", method="t")
    assert list(out.index) == ["new", "third"]
    assert out.loc["third", "mean_diff"] == pytest.approx(out.loc["new", "mean_diff"] - 0.2)
    with pytest.raises(ConfigError, match="variant 'nope'"):
        stats.compare_to_baseline(df, "nope")


def test_sample_size_plan_reaches_planned_power() -> None:
    rng = np.random.default_rng(42)
    truth = {"effect": 0.15, "interaction_sd": 0.1, "noise_sd": 0.4}
    pilot = simulate(rng, n_tasks=300, repeats=3, **truth)
    plan = stats.sample_size(pilot, "new", "base", d=0.15)
    # true between = 2 * 0.1^2 (each variant's interaction), within = 2 * 0.4^2
    assert plan.between_var == pytest.approx(0.02, abs=0.015)
    assert plan.within_var == pytest.approx(0.32, rel=0.15)
    assert plan.repeats == 3 and plan.min_tasks <= plan.n_tasks
    assert [o.n_tasks for o in plan.options] == sorted((o.n_tasks for o in plan.options),
                                                         reverse=True)
    assert plan.tasks_for(3) == plan.n_tasks
    detected = 0
    for _ in range(400):
        df = simulate(rng, n_tasks=plan.n_tasks, repeats=3, **truth)
        detected += stats.paired_difference(df, "new", "base").verdict == "better"
    assert 0.7 <= detected / 400 <= 0.9


def test_sample_size_errors_and_no_repeats() -> None:
    df = simulate(np.random.default_rng(0), n_tasks=20, repeats=1)
    plan = stats.sample_size(df, "new", "base", d=0.1)
    assert plan.within_var == 0 and "no repeats" in plan.note
    with pytest.raises(ConfigError, match="positive"):
        stats.sample_size(df, "new", "base", d=0)
    with pytest.raises(ConfigError, match="at least 3 tasks"):
        stats.sample_size(df[df.task_id < "t002"], "new", "base", d=0.1)


def passfail(rows: list[tuple[str, str, int, bool]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["variant", "task_id", "repeat", "passed"])


def test_pass_at_k_and_pass_hat_k_hand_computed() -> None:
    df = passfail([
        ("a", "t1", 0, True), ("a", "t1", 1, False), ("a", "t1", 2, False),
        ("a", "t2", 0, True), ("a", "t2", 1, True), ("a", "t2", 2, True),
        ("a", "t3", 0, True),  # one attempt only: left out for k=2
    ])
    at2 = stats.pass_at_k(df, 2).loc["a"]
    # t1: 1 - C(2,2)/C(3,2) = 2/3; t2: 1
    assert at2["estimate"] == pytest.approx((2 / 3 + 1) / 2) and at2["n_tasks"] == 2
    hat2 = stats.pass_hat_k(df, 2).loc["a"]
    # t1: C(1,2)/C(3,2) = 0; t2: C(3,2)/C(3,2) = 1
    assert hat2["estimate"] == pytest.approx(0.5)
    assert stats.pass_at_k(df, 1).loc["a", "estimate"] == pytest.approx((1 / 3 + 1 + 1) / 3)
    with pytest.raises(ConfigError, match="k must be"):
        stats.pass_at_k(df, 0)


def test_mcnemar_hand_built_table() -> None:
    # 10 tasks, 2 repeats; variant passes t0-t7, baseline passes t0-t1 and t8.
    rows = []
    for i in range(10):
        for r in range(2):
            rows.append(("v", f"t{i}", r, i < 8))
            rows.append(("b", f"t{i}", r, i < 2 or i == 8))
    result = stats.mcnemar(passfail(rows), "v", "b")
    assert (result.n, result.both_pass, result.variant_only, result.baseline_only,
            result.both_fail) == (10, 2, 6, 1, 1)
    assert result.p_value == pytest.approx(2 * 8 / 2**7)  # P(X<=1), X~Bin(7, 1/2), two-sided
    pairs = stats.mcnemar(passfail(rows), "v", "b", unit="pair")
    assert (pairs.n, pairs.variant_only, pairs.baseline_only) == (20, 12, 2)


def test_mcnemar_majority_rule_and_no_discordance() -> None:
    rows = [("v", "t1", 0, True), ("v", "t1", 1, False), ("b", "t1", 0, False),
            ("b", "t1", 1, False)]
    result = stats.mcnemar(passfail(rows), "v", "b")
    assert result.variant_only == 1  # half of the repeats counts as passing
    same = stats.mcnemar(passfail(rows), "b", "b")
    assert same.p_value == 1.0 and same.variant_only == same.baseline_only == 0


def test_sign_test() -> None:
    df = simulate(np.random.default_rng(9), n_tasks=12, effect=2.0)
    result = stats.sign_test(df, "new", "base")
    assert (result.wins, result.losses, result.ties) == (12, 0, 0)
    assert result.p_value == pytest.approx(2 / 2**12)


def test_length_bias_within_task() -> None:
    rng = np.random.default_rng(12)
    df = simulate(rng, n_tasks=30, repeats=4, task_sd=0.5)
    df["words"] = rng.integers(100, 400, len(df))
    # Tasks differ a lot in length, and harder tasks are longer: demeaning removes that.
    df["words"] += (df["task_id"].str[1:].astype(int) * 50)
    null = stats.length_bias(df)
    assert list(null.index) == ["base", "new", "all"]
    assert abs(null.loc["all", "r"]) < 0.15
    df["quality"] += df["words"] / 1000
    biased = stats.length_bias(df, method="pearson")
    assert biased.loc["all", "r"] > 0.2 and biased.loc["new", "slope_per_100"] > 0.05
    flat = df.assign(words=100)
    assert math.isnan(stats.length_bias(flat).loc["all", "r"])


def test_summary_full_and_without_quality() -> None:
    df = simulate(np.random.default_rng(13), n_tasks=10, repeats=2)
    df["words"] = 200.0
    df["output_tokens"] = 300
    df["cost_usd"] = np.where(df.variant == "new", 0.0, 0.01)
    df["provider"] = np.where(df.variant == "new", "local", "anthropic")
    df["passed"] = df["quality"] > 0.5
    df.loc[0, ["error", "quality"]] = ["timeout", np.nan]
    out = stats.summary(df)
    assert list(out.index) == ["base", "new"]
    assert out.loc["base", "errors"] == 1 and out.loc["base", "n"] == 20
    for col in ("quality", "quality_ci_low", "quality_ci_high", "words", "words_ci_low",
                "output_tokens_ci_high", "pass_rate", "diff", "diff_ci_low", "diff_ci_high",
                "p_value", "verdict"):
        assert col in out.columns
    assert out.loc["base", "verdict"] == "baseline" and math.isnan(out.loc["base", "diff"])
    assert out.loc["new", "provider"] == "local"
    assert out.loc["base", "cost_usd"] == pytest.approx(0.2)
    diff = stats.paired_difference(df, "new", "base")
    assert out.loc["new", "diff"] == pytest.approx(diff.mean_diff)
    assert stats.summary(df, "new").loc["base", "verdict"] != "baseline"

    bare = stats.summary(df.drop(columns=["quality", "passed"]))
    assert "quality" not in bare.columns and "diff" not in bare.columns
    assert bare.loc["new", "words"] == 200.0
    with pytest.raises(ConfigError, match="baseline 'x'"):
        stats.summary(df, "x")


def test_missing_column_is_a_config_error() -> None:
    df = simulate(np.random.default_rng(0), n_tasks=3)
    with pytest.raises(ConfigError, match="no 'score_mypy_strict' column"):
        stats.variant_stats(df, "score_mypy_strict")


def test_stats_modules_import_alone_without_cycles_or_heavy_deps() -> None:
    # Each first in a fresh package: a cycle fails, and so does a module-level pandas.
    script = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]:\n"
        "    for key in [k for k in sys.modules if k.split('.')[0] == 'agentlab']:\n"
        "        del sys.modules[key]\n"
        "    importlib.import_module('agentlab.' + name)\n"
        "print(sorted({'pandas', 'numpy', 'scipy'} & set(sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, "stats._errorbars", "stats._plan",
                           "stats._summary", "stats"], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_stats_re_exports_the_split_modules() -> None:
    assert stats.variant_stats is errorbars.variant_stats
    assert stats.paired_difference is errorbars.paired_difference
    assert stats.compare_to_baseline is errorbars.compare_to_baseline
    assert stats.sample_size is statsplan.sample_size
    assert stats.SampleSizePlan is statsplan.SampleSizePlan
    assert stats.summary is statsummary.summary
    assert stats.length_bias is statsummary.length_bias
