"""Simulate experiments with known truth: do agentlab's intervals and verdicts keep their levels?

For each suite size (5, 10, 13 and 20 tasks, 3 repeats) and each kind of score:

- ``normal``: score = task difficulty + task×variant effect + noise, all normal;
- ``heavy``: the same with Student-t (3 df) task×variant effects and noise (same sd);
- ``passfail``: each task has a pass probability per variant (task×variant effects included),
  and every repeat passes or fails;

it simulates a baseline and 6 variants. Under the null the 6 variants are no better than the
baseline on average, though each one's effect varies by task; a false "better"/"worse" is any
verdict that is not "no detectable difference"/"insufficient data". With an effect of +0.1 the
script checks that the 95% interval covers +0.1.

The figures come from agentlab's own code on the per-task differences: ``compare_diffs`` (exact
sign-flip permutation test up to 12 tasks, t beyond), the verdict rule (``min_tasks``) and
``holm``. For comparison, the same data go through the methods agentlab used before: the
percentile bootstrap over tasks, the t-test at any size, and no multiplicity correction.

Targets (the issue's): coverage >= 93%, and family-wise error <= 6% with Holm's correction.
Run: ``python benchmarks/sim_stats.py [--reps 2000] [--seed 11]`` (about a minute).
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from agentlab.stats import compare_diffs, holm, min_tasks

FloatArray = npt.NDArray[np.float64]
ALPHA, VARIANTS, REPEATS, EFFECT = 0.05, 6, 3, 0.1
Generator = Callable[[np.random.Generator, int, int, float], FloatArray]


def _student(rng: np.random.Generator, size: tuple[int, ...], sd: float) -> FloatArray:
    out: FloatArray = rng.standard_t(3, size) * sd / math.sqrt(3.0)  # t(3) has variance 3
    return out


def continuous(heavy: bool) -> Generator:
    """Per-task means, shape (reps, 1 + VARIANTS, n), of a continuous score."""

    def make(rng: np.random.Generator, reps: int, n: int, effect: float) -> FloatArray:
        def draw(size: tuple[int, ...], sd: float) -> FloatArray:
            return _student(rng, size, sd) if heavy else rng.normal(0.0, sd, size)

        task = rng.normal(0.0, 0.25, (reps, 1, n))  # difficulty, shared: cancels when paired
        inter = draw((reps, 1 + VARIANTS, n), 0.1)  # this variant is better on some tasks
        noise = draw((reps, 1 + VARIANTS, n, REPEATS), 0.3).mean(axis=-1)
        shift = np.r_[0.0, np.full(VARIANTS, effect)][None, :, None]
        out: FloatArray = 0.5 + task + inter + shift + noise
        return out

    return make


def passfail(rng: np.random.Generator, reps: int, n: int, effect: float) -> FloatArray:
    """Pass rates per task over REPEATS attempts; probabilities stay inside (0, 1)."""
    base = rng.uniform(0.2, 0.7, (reps, 1, n))
    inter = rng.uniform(-0.15, 0.15, (reps, 1 + VARIANTS, n))  # mean 0: a null on average
    shift = np.r_[0.0, np.full(VARIANTS, effect)][None, :, None]
    p = base + inter + shift
    out: FloatArray = rng.binomial(REPEATS, p) / REPEATS
    return out


def bootstrap(d: FloatArray, rng: np.random.Generator, boots: int = 1000
              ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The percentile bootstrap over tasks agentlab used to recommend (vectorised)."""
    rows, n = d.shape
    low, high, p = np.empty(rows), np.empty(rows), np.empty(rows)
    step = max(1, 4_000_000 // (boots * n))
    for s in range(0, rows, step):
        part = d[s:s + step]
        idx = rng.integers(0, n, (len(part), boots, n))
        means = np.take_along_axis(part[:, None, :], idx, axis=2).mean(axis=2)
        low[s:s + step], high[s:s + step] = np.quantile(means, [ALPHA / 2, 1 - ALPHA / 2], axis=1)
        centre = part.mean(axis=1, keepdims=True)
        p[s:s + step] = (np.sum(np.abs(means - centre) >= np.abs(centre), axis=1) + 1) / (boots + 1)
    return low, high, p


def rates(diffs: FloatArray, truth: float, rng: np.random.Generator) -> dict[str, float]:
    """Coverage of ``truth`` and rejection rates for diffs of shape (reps, VARIANTS, n)."""
    reps, _, n = diffs.shape
    flat = diffs.reshape(reps * VARIANTS, n)
    res = compare_diffs(flat, 1 - ALPHA)
    usable = n >= min_tasks(ALPHA)  # the verdict rule: fewer tasks read "insufficient data"
    raw = (res.p_value <= ALPHA) & usable
    adjusted = (holm(res.p_value.reshape(reps, VARIANTS)) <= ALPHA) & usable
    with warnings.catch_warnings():  # the old t-test on identical differences: p = 0 or NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        t = sps.ttest_1samp(flat, 0.0, axis=-1)
    t_ci = t.confidence_interval(1 - ALPHA)
    b_low, b_high, b_p = bootstrap(flat, rng)
    return {
        "coverage": float(np.mean((res.ci_low <= truth) & (truth <= res.ci_high))),
        "fpr": float(raw.mean()),
        "fwer_raw": float(raw.reshape(reps, VARIANTS).any(axis=1).mean()),
        "fwer_holm": float(adjusted.any(axis=1).mean()),
        "t_coverage": float(np.mean((t_ci.low <= truth) & (truth <= t_ci.high))),
        "t_fpr": float(np.mean(t.pvalue <= ALPHA)),
        "boot_coverage": float(np.mean((b_low <= truth) & (truth <= b_high))),
        "boot_fpr": float(np.mean(b_p <= ALPHA)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000, help="simulated experiments each")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--tasks", default="5,10,13,20", help="suite sizes, comma-separated")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    kinds: dict[str, Generator] = {"normal": continuous(False), "heavy": continuous(True),
                                   "passfail": passfail}
    mc_cov = math.sqrt(0.95 * 0.05 / (args.reps * VARIANTS))
    mc_fwer = math.sqrt(0.05 * 0.95 / args.reps)
    print(f"{args.reps} experiments per row, {VARIANTS} variants vs 1 baseline, {REPEATS} repeats,"
          f" alpha {ALPHA}; Monte Carlo s.e.: coverage {mc_cov:.1%}, FWER {mc_fwer:.1%}")
    print("coverage: 95% CI of a +0.1 effect; FPR: one null comparison; FWER: any of 6 nulls.")
    print(f"{'tasks':>5} {'scores':>8} | {'agentlab: cover':>15} {'FPR':>5} {'FWER raw':>8} "
          f"{'FWER Holm':>9} | {'t: cover':>8} {'FPR':>5} | {'bootstrap: cover':>16} {'FPR':>5}")
    worst_cov, worst_fwer, started = 1.0, 0.0, time.perf_counter()
    for n in (int(x) for x in args.tasks.split(",")):
        for name, make in kinds.items():
            null = make(rng, args.reps, n, 0.0)
            shifted = make(rng, args.reps, n, EFFECT)
            null_rates = rates(null[:, 1:] - null[:, :1], 0.0, rng)
            cover = rates(shifted[:, 1:] - shifted[:, :1], EFFECT, rng)
            worst_cov = min(worst_cov, cover["coverage"])
            worst_fwer = max(worst_fwer, null_rates["fwer_holm"])
            print(f"{n:>5} {name:>8} | {cover['coverage']:>15.1%} {null_rates['fpr']:>5.1%} "
                  f"{null_rates['fwer_raw']:>8.1%} {null_rates['fwer_holm']:>9.1%} | "
                  f"{cover['t_coverage']:>8.1%} {null_rates['t_fpr']:>5.1%} | "
                  f"{cover['boot_coverage']:>16.1%} {null_rates['boot_fpr']:>5.1%}")
    ok = worst_cov >= 0.93 and worst_fwer <= 0.06
    print(f"worst coverage {worst_cov:.1%} (target >= 93%), worst FWER with Holm "
          f"{worst_fwer:.1%} (target <= 6%): {'PASS' if ok else 'FAIL'}; "
          f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
