"""The check command under bubblewrap: workspace-only writes, no network, limits, no key."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from agentlab.agentic._check import CheckLimits, run_check
from agentlab.errors import ConfigError

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None,
                                reason="bubblewrap not installed (.ci/install-sandbox.sh)")


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    folder = tmp_path / "trial" / "workspace"
    folder.mkdir(parents=True)
    (folder / "test_ok.py").write_text(
        "import unittest\n\nclass T(unittest.TestCase):\n"
        "    def test_x(self) -> None:\n        self.assertEqual(1 + 1, 2)\n")
    return folder


def test_passing_and_failing_commands(ws: Path) -> None:
    ok = run_check("python -m unittest -q", ws)
    assert ok.passed and ok.exit_code == 0 and ok.sandboxed
    assert "Ran 1 test" in ok.output
    bad = run_check("echo boom >&2; exit 3", ws)
    assert (bad.passed, bad.exit_code, bad.output.strip()) == (False, 3, "boom")


def test_only_the_workspace_is_writable(ws: Path, tmp_path: Path) -> None:
    out = run_check("echo hi > made.txt; touch ../escape.txt; touch /etc/agentlab-x; "
                    f"touch {tmp_path}/outside.txt; echo done", ws)
    assert out.passed, out.output
    assert (ws / "made.txt").read_text() == "hi\n"
    assert (ws / "made.txt").stat().st_uid == os.getuid()  # handed back after the run
    assert not (ws.parent / "escape.txt").exists()
    assert not (tmp_path / "outside.txt").exists()
    assert not Path("/etc/agentlab-x").exists()
    assert out.output.count("touch: cannot touch") == 3


def test_no_network_and_no_inherited_environment(ws: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-should-never-be-seen")
    out = run_check("env; python -c \"import socket; socket.create_connection(('1.1.1.1', 53), "
                    "timeout=3)\"", ws)
    assert "sk-ant-should-never-be-seen" not in out.output
    assert "ANTHROPIC" not in out.output
    assert "Network is unreachable" in out.output and not out.passed


def test_time_limit_kills_the_whole_sandbox(ws: Path) -> None:
    out = run_check("sleep 30 & sleep 30", ws, CheckLimits(timeout_s=1.0))
    assert out.timed_out and not out.passed and out.exit_code == -9
    assert out.duration_s < 10


def test_process_and_memory_limits(ws: Path) -> None:
    forks = ("python -c \"\nimport os, time\nn = 0\ntry:\n    for _ in range(200):\n"
             "        if os.fork() == 0:\n            time.sleep(2); os._exit(0)\n"
             "        n += 1\nexcept OSError:\n    print('stopped at', n)\n\"")
    out = run_check(forks, ws, CheckLimits(timeout_s=20, processes=16))
    assert "stopped at" in out.output, out.output
    assert int(out.output.split("stopped at")[1].split()[0]) < 16
    mem = run_check("python -c 'bytearray(1024 ** 3)'", ws, CheckLimits(memory_mb=256))
    assert "MemoryError" in mem.output and not mem.passed


def test_unsandboxed_runs_without_bwrap_and_missing_bwrap_is_a_clear_error(
        ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = run_check("echo plain", ws, sandboxed=False)
    assert out.passed and not out.sandboxed
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match="apt-get install -y bubblewrap"):
        run_check("true", ws)
