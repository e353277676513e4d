"""Statistics for eval results: error bars, paired comparisons, exact tests, planning, summary.

After Evan Miller (2024), "Adding Error Bars to Evals" (arXiv:2411.00640), one module per
question: ``_errorbars`` (each variant's mean with a task-clustered interval), ``_paired`` (is a
variant better than the baseline on the same tasks: the exact sign-flip permutation test up to
12 tasks, the t interval beyond), ``_exact`` (McNemar and sign tests per task), ``_passk``
(pass@k and pass^k), ``_plan`` (how many tasks and repeats a comparison needs, from a pilot),
``_length`` (length bias), ``_verdict`` (the verdict words and Holm's correction), ``_summary``
(the per-variant table) and ``_baseline`` (the default-baseline rule). ``_data`` holds the one
weighting rule they share: every task weighs the same. What a metric means (its direction,
bounds and unit) comes from :mod:`agentlab.scoring.metrics`. This module only re-exports.
"""

from agentlab.stats._baseline import pick_baseline
from agentlab.stats._errorbars import variant_stats
from agentlab.stats._exact import McNemarResult, SignTest, mcnemar, sign_test
from agentlab.stats._length import length_bias
from agentlab.stats._paired import (
    EXACT_MAX_TASKS,
    PairedDiff,
    compare_diffs,
    compare_to_baseline,
    paired_difference,
)
from agentlab.stats._passk import pass_at_k, pass_hat_k
from agentlab.stats._plan import PlanRow, SampleSizePlan, sample_size
from agentlab.stats._summary import DIFF_COLUMNS, summary
from agentlab.stats._verdict import VERDICTS, Verdict, holm, min_tasks, verdict

__all__ = [
    "DIFF_COLUMNS",
    "EXACT_MAX_TASKS",
    "VERDICTS",
    "McNemarResult",
    "PairedDiff",
    "PlanRow",
    "SampleSizePlan",
    "SignTest",
    "Verdict",
    "compare_diffs",
    "compare_to_baseline",
    "holm",
    "length_bias",
    "mcnemar",
    "min_tasks",
    "paired_difference",
    "pass_at_k",
    "pass_hat_k",
    "pick_baseline",
    "sample_size",
    "sign_test",
    "summary",
    "variant_stats",
    "verdict",
]
