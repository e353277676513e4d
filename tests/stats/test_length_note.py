"""length_bias says, in its ``note`` column, why a correlation could not be computed."""

from __future__ import annotations

import pandas as pd

from agentlab import stats


def frame(repeats: int) -> pd.DataFrame:
    rows = [{"variant": v, "task_id": f"t{t}", "repeat": r, "error": None,
             "words": 50 + 40 * r + 7 * t + (5 if v == "b" else 0),
             "quality": min(1.0, 0.3 + 0.2 * r + 0.05 * t)}
            for v in ("a", "b") for t in range(4) for r in range(repeats)]
    return pd.DataFrame(rows)


def test_one_answer_per_task_is_named_as_the_reason() -> None:
    table = stats.length_bias(frame(1))
    assert table.loc[["a", "b"], "r"].isna().all()
    assert all("one answer per task" in n for n in table.loc[["a", "b"], "note"])


def test_no_note_when_the_correlation_is_defined() -> None:
    table = stats.length_bias(frame(3))
    assert table["r"].notna().all()
    assert (table["note"] == "").all()


def test_too_few_answers_and_flat_scores_are_told_apart() -> None:
    few = stats.length_bias(frame(1).head(2))
    assert "only 2 scored answers" in str(few.loc["all", "note"])
    flat = frame(3).assign(quality=0.5)
    assert "score does not vary" in str(stats.length_bias(flat).loc["a", "note"])
