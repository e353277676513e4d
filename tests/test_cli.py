from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agentlab.cli import main
from agentlab.testing._server import FakeAnthropic

ROOT = Path(__file__).resolve().parents[1]
AGENTS = ROOT / "data" / "agents"
TASKS = ROOT / "data" / "tasks" / "backend.yaml"


def test_agents_lists_every_variant(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agents", str(AGENTS)]) == 0
    out, err = capsys.readouterr()
    assert "python-pro-backend " in out and "lenient" in out
    assert out.count("\n") >= 5
    assert "not strict YAML" in err


def test_agents_reports_all_errors_at_once(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.md").write_text("no frontmatter", encoding="utf-8")
    (tmp_path / "b.md").write_text("---\nname: B\ndescription: d\n---\nx\n", encoding="utf-8")
    assert main(["agents", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2
    assert "a.md:1: no YAML frontmatter" in err[0]
    assert "b.md:2: field 'name'" in err[1]


def test_tasks_listing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tasks", "--tasks", str(TASKS), "--tag", "context"]) == 0
    out = capsys.readouterr().out
    assert "orders-filter-endpoint" in out and "orders_api.py" in out
    assert "idempotent-payments" not in out


def test_bad_task_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "t.yaml"
    bad.write_text("- id: a\n", encoding="utf-8")
    assert main(["tasks", "--tasks", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "task 'a', field 'prompt': missing" in err


def test_run_runs_export_through_fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "r.sqlite"
    with FakeAnthropic(reply="```python\ndef f(x: int) -> int:\n    return x\n```") as fake:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        code = main(["run", "--agents", str(AGENTS / "python-pro-backend.md"),
                     str(AGENTS / "python-pro-backend-concise.md"), "--tasks", str(TASKS),
                     "--task-id", "pagination-bug", "--task-id", "typed-settings",
                     "--repeats", "2", "--db", str(db), "--no-progress",
                     "--out", str(tmp_path / "out")])
        assert code == 0
        assert fake.request_count == 8
    out = capsys.readouterr().out
    assert "python-pro-backend-concise" in out and "8 cells, 0 errors" in out
    assert (tmp_path / "out" / "results.csv").exists()
    assert main(["runs", "--db", str(db)]) == 0
    listing = capsys.readouterr().out
    run_id = listing.splitlines()[1].split()[0]
    assert run_id.startswith("run-")
    target = tmp_path / "x.jsonl"
    assert main(["export", run_id[:8], "--db", str(db), "-o", str(target)]) == 0
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(rows) == 8 and rows[0]["code_blocks"] == 1


def test_failed_cells_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    with FakeAnthropic() as fake:
        fake.add_rule("invalid_request")
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        code = main(["run", "--agents", str(AGENTS / "python-pro-backend-concise.md"),
                     "--tasks", str(TASKS), "--task-id", "pagination-bug",
                     "--db", str(tmp_path / "r.sqlite"), "--no-progress"])
    assert code == 1
    assert "1 errors" in capsys.readouterr().out


def test_user_errors_have_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "agentlab.cli", "run", "--provider", "nope",
                           "--agents", str(AGENTS), "--tasks", str(TASKS),
                           "--db", str(tmp_path / "r.sqlite")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip() == ("agentlab: error: unknown provider 'nope'; use one of: "
                                   "anthropic, local, or 'local:/path/to/model.gguf'")
    usage = subprocess.run([sys.executable, "-m", "agentlab.cli", "run", "--repeats", "x"],
                           capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "Traceback" not in usage.stderr
