"""Builders for the statistics tests: results tables with a known truth."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

Simulate = Callable[..., pd.DataFrame]


def simulate_results(
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


@pytest.fixture
def simulate() -> Simulate:
    """:func:`simulate_results`, for tests that build their own tables."""
    return simulate_results


def table(rows: list[tuple[str, str, float]], col: str = "quality") -> pd.DataFrame:
    """A results table from (variant, task_id, value) rows, repeats numbered per cell."""
    df = pd.DataFrame(rows, columns=["variant", "task_id", col])
    df["repeat"] = df.groupby(["variant", "task_id"]).cumcount()
    df["error"] = None
    return df


@pytest.fixture
def make_table() -> Callable[..., pd.DataFrame]:
    """:func:`table`."""
    return table
