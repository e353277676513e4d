"""``agentlab trial`` and notebook 04 on the fake: a report and a chart; the trial view's HTML.

The CLI and papermill runs start the real Claude Code CLI (marked ``agent``; skipped when the
CLI or bubblewrap is missing). The HTML test needs neither.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import agentlab as al
from agentlab.agentic._check import CheckResult
from agentlab.agentic._record import TrialRecord
from agentlab.agentic._session import Step, ToolCall
from agentlab.agentic._workspace import FileChange, WorkspaceDiff
from agentlab.cli import main
from agentlab.testing import scripted_fake
from agentlab.views._html import response_card
from agentlab.views._trial_html import trial_html

ROOT = Path(__file__).parents[2]
NOTEBOOK = ROOT / "notebooks" / "04_agentic_trials.ipynb"
SCRIPT = ROOT / "data" / "workspaces" / "fake-script.json"


def _missing() -> str | None:
    from agentlab.agentic._harness import cli_path, sandbox_problem

    try:
        cli_path()
    except Exception as exc:
        return f"Claude Code CLI unavailable ({exc}); pip install -e '.[agent]'"
    return sandbox_problem()


needs_cli = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))


def test_trial_html_escapes_everything_the_model_wrote() -> None:
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    rec = TrialRecord(
        mode="as_main", sandbox=True, cli_version="2.1.332", workspace_hash="h",
        check="python -m unittest -q", check_before=CheckResult(1, evil, 0.1),
        check_after=CheckResult(0, f"OK {evil}", 0.1),
        diff=WorkspaceDiff(f"--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-x\n+{evil}\n",
                           (FileChange("app.py", "modified", 1, 1),)),
        calls=(ToolCall("t1", "Bash", evil, {"command": evil}, "ok", evil),
               ToolCall("t2", "Edit", "app.py", {}, "ok", parent="t0")),
        steps=(Step("text", text=evil), Step("tool", call=0), Step("tool", call=1, parent="t0")))
    fragment = trial_html(rec.to_json())
    assert "<script" not in fragment and "<img" not in fragment
    assert "&lt;script&gt;" in fragment
    assert "check before: fail (exit 1)" in fragment and "check after: pass (exit 0)" in fragment
    assert "(subagent)" in fragment and 'class="al-dl al-add"' in fragment
    card = response_card({"text": "done", "trial": rec.to_json()})
    assert "transcript (2 tool calls)" in card
    assert trial_html("") == "" and "unreadable" in trial_html("{not json")


@pytest.mark.agent
@needs_cli
def test_cli_trial_writes_a_report_and_the_chart(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    with scripted_fake(SCRIPT) as fake:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "offline-fake-key")
        monkeypatch.chdir(ROOT)
        out = tmp_path / "report"
        code = main(["trial", "--agents", "data/agents/python-pro-backend.md",
                     "--task-id", "ws-pagination-bug", "--base-url", fake.base_url,
                     "--db", str(tmp_path / "r.sqlite"), "--out", str(out), "--no-progress"])
        printed = capsys.readouterr().out
        assert code == 0, printed
        assert fake.request_count >= 4
    assert "check_pass_rate" in printed and "1 trials, 0 errors" in printed
    assert {"summary.md", "results.csv", "check_vs_diff.png"} <= {p.name for p in out.iterdir()}
    assert (out / "check_vs_diff.png").stat().st_size > 10_000


def test_notebook_is_clean_and_parameterised() -> None:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert "parameters" in code[0]["metadata"].get("tags", [])
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert len({c["id"] for c in nb["cells"]}) == len(nb["cells"])


@pytest.mark.agent
@needs_cli
def test_notebook_runs_under_papermill_on_the_fake(tmp_path: Path) -> None:
    params = {"task_ids": ["ws-pagination-bug"], "variant_names": ["python-pro-backend"],
              "offline": True, "db": str(tmp_path / "r.sqlite"),
              "output_dir": str(tmp_path / "report")}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "JUPYTER_"))}
    env.update(JUPYTER_DATA_DIR=str(tmp_path / "jd"), JUPYTER_CONFIG_DIR=str(tmp_path / "jc"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "jr"), PYDEVD_DISABLE_FILE_VALIDATION="1")
    out = tmp_path / "04.ipynb"
    proc = subprocess.run([sys.executable, "-m", "papermill", str(NOTEBOOK), str(out), "-f",
                           str(tmp_path / "params.yaml"), "-k", "python3", "--cwd", str(ROOT),
                           "--no-progress-bar", "--log-level", "ERROR"],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    nb = json.loads(out.read_text())
    shown = {c["id"]: "".join("".join(o.get("data", {}).get("text/plain", ""))
                              for o in c.get("outputs", ())) for c in nb["cells"]}
    assert "'complete', '1 trials, 0 errors" in shown["run"]
    assert "offline (fake, scripted turns)" in shown["connection"]
    assert any(o.get("data", {}).get("image/png") for o in
               next(c for c in nb["cells"] if c["id"] == "chart")["outputs"])
    assert (tmp_path / "report" / "check_vs_diff.png").exists()
    df = al.open_run(db=tmp_path / "r.sqlite").to_dataframe()
    assert bool(df["check_passed"].iloc[0]) and df["diff_lines"].iloc[0] == 4
