"""Sample-size plans: inflated for the pilot's uncertainty, and readable."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from agentlab import stats
from agentlab.errors import ConfigError

Simulate = Callable[..., pd.DataFrame]
Table = Callable[..., pd.DataFrame]
TRUTH = {"effect": 0.1, "interaction_sd": 0.1, "noise_sd": 0.3}
TRUE_VAR_3 = 2 * 0.1**2 + 2 * 0.3**2 / 3  # a task difference's variance with 3 repeats


def true_power(n: int, var: float, d: float, alpha: float = 0.05) -> float:
    """Power of the paired t-test on n tasks when a task difference has variance ``var``."""
    crit = sps.t.ppf(1 - alpha / 2, n - 1)
    ncp = d / np.sqrt(var / n)
    return float(sps.nct.sf(crit, n - 1, ncp) + sps.nct.cdf(-crit, n - 1, ncp))


def test_plans_from_small_pilots_mostly_reach_their_power(simulate: Simulate) -> None:
    # Finding 9: planned from the point estimate of 20×3 pilots, 53% of plans had true power
    # below 0.8. With the 80% upper confidence limit about one in five may.
    rng = np.random.default_rng(42)
    plans = [stats.sample_size(simulate(rng, n_tasks=20, repeats=3, **TRUTH), "new", "base",
                               d=0.1) for _ in range(120)]
    short = np.mean([true_power(p.n_tasks, TRUE_VAR_3, 0.1) < 0.8 for p in plans])
    naive = np.mean([true_power(p.point_n_tasks, TRUE_VAR_3, 0.1) < 0.8 for p in plans])
    assert short <= 0.30
    assert naive >= 0.38  # the point estimate's plans: about half fall short
    assert all(p.n_tasks >= p.point_n_tasks and p.pilot_tasks == 20 for p in plans)


def test_sample_size_plan_reaches_planned_power(simulate: Simulate) -> None:
    rng = np.random.default_rng(42)
    truth = {"effect": 0.15, "interaction_sd": 0.1, "noise_sd": 0.4}
    pilot = simulate(rng, n_tasks=300, repeats=3, **truth)
    plan = stats.sample_size(pilot, "new", "base", d=0.15)
    # true between = 2 * 0.1^2 (each variant's interaction), within = 2 * 0.4^2; a 300-task
    # pilot inflates them by only ~6%
    assert plan.between_var == pytest.approx(0.02, abs=0.015)
    assert plan.within_var == pytest.approx(0.32, rel=0.2)
    assert plan.repeats == 3 and plan.min_tasks <= plan.n_tasks
    assert [o.n_tasks for o in plan.options] == sorted((o.n_tasks for o in plan.options),
                                                         reverse=True)
    assert plan.tasks_for(3) == plan.n_tasks
    detected = 0
    for _ in range(150):
        df = simulate(rng, n_tasks=plan.n_tasks, repeats=3, **truth)
        detected += stats.paired_difference(df, "new", "base").verdict == "better"
    assert 0.72 <= detected / 150 <= 0.95


def test_zero_variance_pilot_does_not_say_two_tasks_suffice(make_table: Table) -> None:
    rows = [(v, f"t{i}", 1.0 if v == "new" else 0.5) for v in ("new", "base") for i in range(8)]
    plan = stats.sample_size(make_table(rows), "new", "base", d=0.1)
    assert plan.n_tasks > 2 and plan.n_tasks >= stats.min_tasks(0.05)
    assert plan.between_var == 1.0  # the largest a 0–1 difference's variance can be
    assert "no spread" in plan.note and "no spread" in str(plan)
    words = [(v, f"t{i}", 300.0 if v == "new" else 200.0) for v in ("new", "base")
             for i in range(8)]
    with pytest.raises(ConfigError, match="all equal"):
        stats.sample_size(make_table(words, "words"), "new", "base", "words", d=10)


def test_plan_reads_as_a_sentence_with_pilot_size_and_caveat(simulate: Simulate) -> None:
    df = simulate(np.random.default_rng(3), n_tasks=20, repeats=3, **TRUTH)
    plan = stats.sample_size(df, "new", "base", d=0.1)
    text = str(plan)
    assert text.startswith("To detect a difference of 0.1 in quality between new and base")
    assert f"{plan.n_tasks} tasks × 3 repeats" in text and "pilot of 20 paired tasks" in text
    assert "80% upper confidence limit" in text and str(plan.point_n_tasks) in text
    assert "| repeats | tasks | calls |" in plan._repr_markdown_()
    odd = df.replace({"variant": {"new": "<b>new</b>"}})
    page = stats.sample_size(odd, "<b>new</b>", "base", d=0.1)._repr_html_()
    assert "<b>new</b>" not in page and "&lt;b&gt;new&lt;/b&gt;" in page


def test_sample_size_errors_and_no_repeats(simulate: Simulate) -> None:
    df = simulate(np.random.default_rng(0), n_tasks=20, repeats=1)
    plan = stats.sample_size(df, "new", "base", d=0.1)
    assert plan.within_var == 0 and "No repeats" in plan.note
    with pytest.raises(ConfigError, match="positive"):
        stats.sample_size(df, "new", "base", d=0)
    with pytest.raises(ConfigError, match="pilot_confidence"):
        stats.sample_size(df, "new", "base", d=0.1, pilot_confidence=1.0)
    with pytest.raises(ConfigError, match="at least 3 tasks"):
        stats.sample_size(df[df.task_id < "t002"], "new", "base", d=0.1)
