"""notebooks/05_routing.ipynb, executed by papermill offline (fake + toy keyword router)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("papermill")
pytest.importorskip("claude_agent_sdk")
pytestmark = pytest.mark.agent

ROOT = Path(__file__).resolve().parents[2]
# Four queries (two should trigger), one repeat, two descriptions: 8 Claude Code sessions.
QUERY_IDS = ["orders-filter-endpoint", "missing-status-500", "fastapi-dockerfile",
             "list-vs-tuple"]


def test_routing_notebook_runs_offline_and_writes_its_report(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANTHROPIC_", "JUPYTER_", "JPY_"))}
    env.update(JUPYTER_DATA_DIR=str(tmp_path / "jd"), JUPYTER_CONFIG_DIR=str(tmp_path / "jc"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "jr"), PYDEVD_DISABLE_FILE_VALIDATION="1")
    out, report = tmp_path / "out.ipynb", tmp_path / "report"
    params = tmp_path / "params.yaml"
    params.write_text(json.dumps({"query_ids": QUERY_IDS, "repeats": 1, "concurrency": 4,
                                  "db": str(tmp_path / "r.sqlite"),
                                  "output_dir": str(report)}))
    done = subprocess.run(
        [sys.executable, "-m", "papermill", str(ROOT / "notebooks" / "05_routing.ipynb"),
         str(out), "-f", str(params), "--cwd", str(ROOT), "-k", "python3"],
        capture_output=True, text=True, env=env, timeout=280, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    nb = json.loads(out.read_text())
    text = json.dumps(nb)
    assert "offline (fake, keyword router)" in text
    with (report / "summary.csv").open() as f:
        summary = {row["variant"]: row for row in csv.DictReader(f)}
    assert set(summary) == {"python-pro-backend", "python-pro-backend-new-description"}
    assert all(int(row["trials"]) == len(QUERY_IDS) for row in summary.values())
    with (report / "decisions.csv").open() as f:
        decisions = list(csv.DictReader(f))
    assert len(decisions) == 2 * len(QUERY_IDS) and not any(r["error"] for r in decisions)
    assert (report / "comparisons.csv").is_file()
    assert {p.name for p in report.glob("*.png")} == {"routing_trigger_rates.png",
                                                      "routing_precision_recall.png"}
    images = [o for c in nb["cells"] for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert len(images) == 2
