from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
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


# -- hardening (issue 10) --------------------------------------------------------------------


@pytest.fixture
def fake_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        yield fake


def _run(tmp_path: Path, *extra: str) -> list[str]:
    return ["run", "--agents", str(AGENTS / "python-pro-backend.md"), "--tasks", str(TASKS),
            "--task-id", "pagination-bug", "--db", str(tmp_path / "r.sqlite"), "--no-progress",
            *extra]


@pytest.mark.parametrize(("extra", "fragment"), [
    (["--out", "/etc/passwd/sub"], "--out /etc/passwd/sub: cannot be created: /etc/passwd is a "
                                   "file, not a folder"),
    (["--repeats", "0"], "repeats must be a whole number of at least 1, not 0"),
    (["--repeats", "-1"], "repeats must be"),
    (["--max-tokens", "0"], "max_tokens must be a whole number of at least 1, not 0"),
    (["--max-tokens", "-5"], "max_tokens must be"),
    (["--temperature", "99"], "temperature must be between 0 and 1 (or unset), not 99.0"),
    (["--concurrency", "0"], "concurrency must be"),
])
def test_bad_run_settings_cost_nothing(tmp_path: Path, fake_env: FakeAnthropic,
                                       capsys: pytest.CaptureFixture[str], extra: list[str],
                                       fragment: str) -> None:
    assert main(_run(tmp_path, *extra)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err, err
    assert fake_env.request_count == 0
    assert not (tmp_path / "r.sqlite").exists(), "no empty run is stored"


def test_db_under_a_file_is_one_line_before_any_call(tmp_path: Path, fake_env: FakeAnthropic,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    args = _run(tmp_path)
    args[args.index("--db") + 1] = "/etc/passwd/x.sqlite"
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "/etc/passwd/x.sqlite" in err and "not a folder" in err
    assert fake_env.request_count == 0


def test_twin_of_failed_request_gets_a_row(tmp_path: Path, fake_env: FakeAnthropic,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    # The repro: every answer malformed, --model makes variants send one request.
    fake_env.add_rule("malformed")
    args = _run(tmp_path, "--model", "sonnet")
    args[1:3] = ["--agents", str(AGENTS)]
    assert main(args) == 1
    out = capsys.readouterr().out
    planned = len(list(AGENTS.glob("*.md")))
    assert f"complete; {planned} cells, {planned} errors" in out
    assert fake_env.request_count < planned, "identical requests were sent once"
    with sqlite3.connect(tmp_path / "r.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM results").fetchone()[0] == planned


def test_unknown_model_is_reported_once(tmp_path: Path) -> None:
    with FakeAnthropic(strict_models=True) as fake:
        env = {**os.environ, "ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": fake.base_url}
        args = _run(tmp_path, "--model", "gpt-4-typo", "--repeats", "4", "--concurrency", "1")
        proc = subprocess.run([sys.executable, "-m", "agentlab.cli", *args], env=env,
                              capture_output=True, text=True, timeout=120)
        assert fake.request_count == 1
    assert proc.returncode == 1
    assert proc.stderr.count("was not found") == 1, proc.stderr
    assert "404" in proc.stderr and "gpt-4-typo" in proc.stderr
    assert "4 cells, 4 errors" in proc.stdout


@pytest.mark.parametrize(("extra", "fragment"), [
    (["--repeats", "-3"], "repeats must be a whole number of at least 1, not -3"),
    (["--model", "gpt-4-typo"], "unknown model 'gpt-4-typo'"),
    (["--output-tokens", "-1"], "output_tokens must be"),
])
def test_bad_estimates_exit_1(capsys: pytest.CaptureFixture[str], extra: list[str],
                              fragment: str) -> None:
    assert main(["estimate", "--agents", str(AGENTS), "--tasks", str(TASKS), *extra]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and fragment in captured.err
    assert "-$" not in captured.out and "unknown" not in captured.out


def test_read_only_commands_do_not_create_a_database(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "new" / "dir" / "x.sqlite"
    for argv in (["runs"], ["export", "run-1"], ["report", "run-1"]):
        assert main([*argv, "--db", str(target)]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "there is no results database here" in err
    assert not (tmp_path / "new").exists()


def test_export_to_a_folder_is_refused_first(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "run-1", "-o", str(tmp_path), "--db", str(tmp_path / "x.sqlite")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "-o" in err and "is a folder, not a file" in err
