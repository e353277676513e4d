"""Power analysis: how many tasks and repeats a paired comparison needs.

After Evan Miller (2024), "Adding Error Bars to Evals", section 5. A pilot's variance is
itself uncertain: planned from the point estimate of a 20-task pilot, about half the plans
fall short of the power they promise. So the plan uses the upper confidence limit of the
pilot's variance (``pilot_confidence``, 80% by default, as Browne (1995) recommends), says
how large the pilot was, and never plans fewer tasks than an exact test needs to reject at
all. Re-exported by :mod:`agentlab.stats`.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from agentlab.errors import ConfigError
from agentlab.scoring.metrics import get_metric
from agentlab.stats._data import paired_tasks, usable_rows
from agentlab.stats._paired import EXACT_MAX_TASKS
from agentlab.stats._verdict import min_tasks

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PlanRow", "SampleSizePlan", "sample_size"]


@dataclass(frozen=True)
class PlanRow:
    """One way to reach the planned power.

    Attributes:
        repeats: Repeats per task and variant.
        n_tasks: Tasks needed.
        calls: Model calls for the two variants (``2 * n_tasks * repeats``).
    """

    repeats: int
    n_tasks: int
    calls: int


def _tasks_needed(var: float, d: float, alpha: float, power: float) -> int:
    """Smallest task count whose paired t-test detects ``d`` with the given power.

    Never fewer than the exact test needs to be able to reject at ``alpha``.
    """
    from scipy import stats

    floor = min_tasks(alpha)
    if var <= 0:
        return floor
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    n = max(floor, math.ceil(float(z**2 * var / d**2)))
    for _ in range(50):  # refine with t quantiles, which matter for small n
        t = stats.t.ppf(1 - alpha / 2, n - 1) + stats.t.ppf(power, n - 1)
        new = max(floor, math.ceil(float(t**2 * var / d**2)))
        if new == n:
            break
        n = new
    return n


@dataclass(frozen=True)
class SampleSizePlan:
    """How many tasks and repeats a comparison needs (Miller 2024, section 5).

    The variance of one task's difference with K repeats per variant is
    ``between_var + within_var / K``: more repeats shrink only the second term. Both are
    the pilot's estimates inflated to the upper confidence limit of its variance.

    Attributes:
        variant: The variant compared.
        baseline: The reference variant.
        metric: The column compared.
        d: The difference to detect.
        alpha: Two-sided significance level.
        power: Chance of detecting ``d`` when it is real.
        between_var: Variance across tasks of the true per-task difference (inflated).
        within_var: Repeat-to-repeat variance, summed over the two variants (inflated).
        repeats: Repeats per task observed in the pilot.
        n_tasks: Tasks needed at the observed repeats.
        min_tasks: Tasks needed even with unlimited repeats.
        options: Tasks needed for 1, 2, 3, 5 and 10 repeats.
        note: Caveats about the estimate.
        pilot_tasks: Paired tasks in the pilot.
        pilot_confidence: Confidence of the variance's upper limit used.
        point_n_tasks: Tasks the pilot's point estimate alone would say (over-confident).
    """

    variant: str
    baseline: str
    metric: str
    d: float
    alpha: float
    power: float
    between_var: float
    within_var: float
    repeats: int
    n_tasks: int
    min_tasks: int
    options: tuple[PlanRow, ...]
    note: str
    pilot_tasks: int = 0
    pilot_confidence: float = 0.8
    point_n_tasks: int = 0

    def tasks_for(self, repeats: int) -> int:
        """Tasks needed with ``repeats`` repeats per task and variant.

        Args:
            repeats: Repeats per task and variant (at least 1).

        Returns:
            The task count.
        """
        var = self.between_var + self.within_var / max(1, repeats)
        return _tasks_needed(var, self.d, self.alpha, self.power)

    def __str__(self) -> str:
        """The plan as sentences."""
        label = get_metric(self.metric).label
        calls = 2 * self.n_tasks * self.repeats
        parts = [f"To detect a difference of {self.d:g} in {label} between {self.variant} and "
                 f"{self.baseline} with {self.power:.0%} power (two-sided α = {self.alpha:g}): "
                 f"{self.n_tasks} tasks × {self.repeats} repeats ({calls} calls); "
                 f"{self.min_tasks} tasks even with unlimited repeats. Planned from a pilot of "
                 f"{self.pilot_tasks} paired tasks"]
        if self.point_n_tasks != self.n_tasks:
            parts.append(f", using the {self.pilot_confidence:.0%} upper confidence limit of its "
                         f"variance (its point estimate alone would say {self.point_n_tasks} "
                         "tasks, which falls short of the power about half the time)")
        parts.append(f". {self.note}" if self.note else ".")
        return "".join(parts)

    def _repr_markdown_(self) -> str:
        rows = "\n".join(f"| {o.repeats} | {o.n_tasks} | {o.calls} |" for o in self.options)
        return f"{self}\n\n| repeats | tasks | calls |\n|---|---|---|\n{rows}\n"

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{o.repeats}</td><td>{o.n_tasks}</td><td>{o.calls}</td></tr>"
                       for o in self.options)
        return (f"<p>{html.escape(str(self))}</p><table><tr><th>repeats</th><th>tasks</th>"
                f"<th>calls</th></tr>{rows}</table>")


class _Pilot(NamedTuple):
    """What a pilot says about the variance of a task's difference."""

    var_d: float  # variance of the per-task differences
    within: float  # repeat-to-repeat variance, summed over the two variants
    noise: float  # the part of var_d that the pilot's own repeats contribute
    repeats: int  # typical repeats per task
    n: int  # paired tasks
    flat: bool  # every task difference is the same: no information about spread


def _pilot(data: pd.DataFrame, metric: str, variant: str, baseline: str) -> _Pilot:
    import numpy as np

    d = paired_tasks(data, metric, variant, baseline).diffs
    if len(d) < 3:
        raise ConfigError(f"need at least 3 tasks answered by both {variant!r} and "
                          f"{baseline!r} to plan; run a pilot first")
    stats_ = data[data["variant"].isin([variant, baseline])].groupby(
        ["variant", "task_id"])[metric].agg(["var", "size"])
    within = stats_.groupby(level=0)["var"].mean().fillna(0.0)  # var is NaN with 1 repeat
    inv_k = stats_.groupby(level=0)["size"].apply(lambda s: float(np.mean(1 / s)))
    flat = float(d.std()) <= 1e-9 * float(np.abs(d).max())
    return _Pilot(float(d.var(ddof=1)), float(within.sum()), float((within * inv_k).sum()),
                  max(1, round(float(stats_["size"].median()))), len(d), flat)


def _components(pilot: _Pilot, metric: str) -> tuple[float, float, list[str]]:
    """Point estimates of (between, within) and the caveats; the worst case without spread."""
    notes = []
    if pilot.flat:
        span = get_metric(metric).span
        if span is None:
            raise ConfigError(f"the pilot's {pilot.n} task differences in {metric!r} are all "
                              "equal, so their variance is unknown; run a pilot on more varied "
                              "tasks")
        notes.append(f"The pilot's task differences have no spread, so their variance is "
                     f"unknown: planned for the largest a difference of {metric!r} allows "
                     f"({span:g}²); a pilot on more varied tasks would give a smaller plan.")
        return span**2, 0.0, notes
    if pilot.within == 0 and pilot.repeats <= 1:
        notes.append("No repeats in the pilot: within-task noise is unknown, so repeats show "
                     "no gain.")
    if pilot.var_d < pilot.noise:
        notes.append("Between-task variance estimated at 0 (noisy pilot); more tasks would help.")
    return max(0.0, pilot.var_d - pilot.noise), pilot.within, notes


def sample_size(
    df: pd.DataFrame, variant: str, baseline: str, metric: str = "quality",
    d: float = 0.05, *, alpha: float = 0.05, power: float = 0.8,
    pilot_confidence: float = 0.8,
) -> SampleSizePlan:
    """Plan an experiment able to detect a paired difference ``d`` (power analysis).

    The pilot ``df`` gives the between-task variance of the per-task difference and the
    within-task (repeat) variance of each variant. Both are multiplied by
    ``(n - 1) / chi2.ppf(1 - pilot_confidence, n - 1)`` for a pilot of n tasks: the upper
    confidence limit of the variance, so that the plan reaches its power with probability
    about ``pilot_confidence`` rather than one half.

    Args:
        df: Pilot results with both variants, ideally with 2+ repeats.
        variant: The variant compared.
        baseline: The reference variant.
        metric: The column compared.
        d: Smallest difference worth detecting (in the metric's units).
        alpha: Two-sided significance level.
        power: Wanted chance of detecting ``d``.
        pilot_confidence: Confidence of the variance's upper limit (0.5 would plan from
            the point estimate).

    Returns:
        The plan (``print(plan)`` reads as a sentence).

    Raises:
        ConfigError: ``d`` not positive, ``pilot_confidence`` outside (0, 1), too few
            common tasks, a missing column, or no spread in an unbounded metric.
    """
    from scipy import stats

    if not d > 0:
        raise ConfigError(f"d must be a positive difference, got {d}")
    if not 0 < pilot_confidence < 1:
        raise ConfigError(f"pilot_confidence must be between 0 and 1, got {pilot_confidence}")
    pilot = _pilot(usable_rows(df, metric), metric, variant, baseline)
    between, within, notes = _components(pilot, metric)
    n, k = pilot.n, pilot.repeats
    # The worst case needs no inflating; an estimate gets its upper confidence limit.
    inflate = 1.0 if pilot.flat else (n - 1) / float(stats.chi2.ppf(1 - pilot_confidence, n - 1))
    if _tasks_needed(inflate * (between + within / k), d, alpha, power) <= EXACT_MAX_TASKS:
        notes.append(f"Up to {EXACT_MAX_TASKS} tasks the comparison uses the exact permutation "
                     "test, which has somewhat less power than the t-test this plan assumes.")
    options = tuple(
        PlanRow(r, n_r := _tasks_needed(inflate * (between + within / r), d, alpha, power),
                2 * n_r * r)
        for r in (1, 2, 3, 5, 10)
    )
    return SampleSizePlan(
        variant, baseline, metric, d, alpha, power, inflate * between, inflate * within, k,
        _tasks_needed(inflate * (between + within / k), d, alpha, power),
        _tasks_needed(inflate * between, d, alpha, power), options, " ".join(notes),
        n, pilot_confidence, _tasks_needed(between + within / k, d, alpha, power),
    )
