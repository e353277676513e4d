"""The statistics package: its layout, its imports, and the words its docs promise."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from agentlab import stats
from agentlab.stats import _errorbars, _exact, _paired, _passk, _plan, _summary, _verdict

MODULES = ["_baseline", "_data", "_errorbars", "_exact", "_length", "_paired", "_passk",
           "_plan", "_summary", "_verdict"]


def test_stats_modules_import_alone_without_cycles_or_heavy_deps() -> None:
    # Each first in a fresh package: a cycle fails, and so does a module-level pandas.
    script = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]:\n"
        "    for key in [k for k in sys.modules if k.split('.')[0] == 'agentlab']:\n"
        "        del sys.modules[key]\n"
        "    importlib.import_module('agentlab.stats.' + name)\n"
        "print(sorted({'pandas', 'numpy', 'scipy', 'matplotlib'} & set(sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, *MODULES], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_stats_only_re_exports_the_question_modules() -> None:
    assert stats.variant_stats is _errorbars.variant_stats
    assert stats.paired_difference is _paired.paired_difference
    assert stats.compare_to_baseline is _paired.compare_to_baseline
    assert stats.mcnemar is _exact.mcnemar and stats.pass_at_k is _passk.pass_at_k
    assert stats.sample_size is _plan.sample_size and stats.SampleSizePlan is _plan.SampleSizePlan
    assert stats.summary is _summary.summary and stats.holm is _verdict.holm
    source = Path(stats.__file__).read_text()
    assert "def " not in source and "class " not in source


def test_readme_documents_every_verdict_word() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("## Scoring and statistics"):]
    section = section[:section.index("\n## ", 3)]
    for word in stats.VERDICTS:
        assert f'"{word}"' in section, word
    # The bootstrap is named only as the method it replaced, never recommended.
    assert "bootstrap" not in re.sub(r"percentile\s+bootstrap", "", section.lower())
