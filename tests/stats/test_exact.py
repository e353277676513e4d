"""Exact tests per task: McNemar and the sign test."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from agentlab import stats

Simulate = Callable[..., pd.DataFrame]


def passfail(rows: list[tuple[str, str, int, bool]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["variant", "task_id", "repeat", "passed"])


def test_mcnemar_hand_built_table() -> None:
    # 10 tasks, 2 repeats; variant passes t0-t7, baseline passes t0-t1 and t8.
    rows = []
    for i in range(10):
        for r in range(2):
            rows.append(("v", f"t{i}", r, i < 8))
            rows.append(("b", f"t{i}", r, i < 2 or i == 8))
    result = stats.mcnemar(passfail(rows), "v", "b")
    assert (result.n, result.both_pass, result.variant_only, result.baseline_only,
            result.both_fail, result.n_dropped) == (10, 2, 6, 1, 1, 0)
    assert result.p_value == pytest.approx(2 * 8 / 2**7)  # P(X<=1), X~Bin(7, 1/2), two-sided


def test_mcnemar_majority_rule_and_no_discordance() -> None:
    rows = [("v", "t1", 0, True), ("v", "t1", 1, False), ("b", "t1", 0, False),
            ("b", "t1", 1, False)]
    result = stats.mcnemar(passfail(rows), "v", "b")
    assert result.variant_only == 1  # half of the repeats counts as passing
    same = stats.mcnemar(passfail(rows), "b", "b")
    assert same.p_value == 1.0 and same.variant_only == same.baseline_only == 0


def _clustered_null(rng: np.random.Generator, n_tasks: int, repeats: int
                    ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Average effect zero, but each task favours one variant by 0.4 in pass rate."""
    base = rng.uniform(0.3, 0.7, n_tasks)
    swing = rng.choice([-0.4, 0.4], n_tasks)
    v = rng.random((n_tasks, repeats)) < (base + swing / 2)[:, None]
    b = rng.random((n_tasks, repeats)) < (base - swing / 2)[:, None]
    ids = np.repeat([f"t{i:02d}" for i in range(n_tasks)], repeats)
    df = pd.DataFrame({"variant": ["v"] * v.size + ["b"] * b.size, "task_id": [*ids, *ids],
                       "repeat": np.tile(np.arange(repeats), 2 * n_tasks),
                       "passed": [*v.ravel(), *b.ravel()]})
    return df, v, b


def test_mcnemar_per_task_keeps_its_level_where_matched_repeats_do_not() -> None:
    # Finding 4: unit="pair" treated matched repeats as independent pairs; under this null
    # its false-positive rate was 19-29%. Only the per-task test is left.
    rng = np.random.default_rng(17)
    per_task = per_pair = 0
    sims = 200
    for _ in range(sims):
        df, v, b = _clustered_null(rng, 20, 8)
        per_task += stats.mcnemar(df, "v", "b").p_value <= 0.05
        only_v, only_b = int((v & ~b).sum()), int((~v & b).sum())  # matched repeats
        per_pair += sps.binomtest(only_v, only_v + only_b).pvalue <= 0.05
    assert per_task / sims <= 0.08  # 5% nominal (exact tests are conservative) + MC error
    assert per_pair / sims >= 0.14  # what the removed option did (22% in 600 runs)
    with pytest.raises(TypeError, match="unit"):
        stats.mcnemar(df, "v", "b", unit="pair")  # type: ignore[call-arg]


def test_sign_test(simulate: Simulate) -> None:
    df = simulate(np.random.default_rng(9), n_tasks=12, effect=2.0)
    result = stats.sign_test(df, "new", "base")
    assert (result.wins, result.losses, result.ties) == (12, 0, 0)
    assert result.p_value == pytest.approx(2 / 2**12)
