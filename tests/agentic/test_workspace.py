"""Workspaces: snapshot, content hash, diff, sandbox placeholders, scope."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentlab.agentic._workspace import (
    content_hash,
    copy_workspace,
    diff_snapshots,
    drop_sandbox_artifacts,
    outside_scope,
    snapshot,
)
from agentlab.errors import ConfigError


def _repo(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "app.py").write_text("a = 1\nb = 2\nc = 3\n")
    (root / "README.md").write_text("hello\n")
    (root / "pkg" / "__pycache__").mkdir()
    (root / "pkg" / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0junk")
    return root


def test_snapshot_leaves_out_caches_and_the_hash_follows_content(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    snap = snapshot(repo)
    assert sorted(snap) == ["README.md", "pkg/app.py"]
    h = content_hash(snap)
    (repo / ".mypy_cache").mkdir()
    (repo / ".mypy_cache" / "x.json").write_text("{}")
    assert content_hash(snapshot(repo)) == h  # a cache written by a test run changes nothing
    (repo / "README.md").write_text("hello!\n")
    assert content_hash(snapshot(repo)) != h
    renamed = {"README.txt" if k == "README.md" else k: v for k, v in snap.items()}
    assert content_hash(renamed) != h  # paths count, not only bytes


def test_copy_then_diff_counts_lines_and_files(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    before = snapshot(repo)
    copy = tmp_path / "copy"
    copy_workspace(repo, copy)
    assert not (copy / "pkg" / "__pycache__").exists()
    (copy / "pkg" / "app.py").write_text("a = 1\nb = 20\nc = 3\nd = 4\n")
    (copy / "README.md").unlink()
    (copy / "new.py").write_text("x = 1")  # no final newline
    (copy / "blob.bin").write_bytes(b"\xff\xfe\x00")
    diff = diff_snapshots(before, snapshot(copy))
    assert [(f.path, f.status, f.added, f.removed, f.binary) for f in diff.files] == [
        ("README.md", "deleted", 0, 1, False), ("blob.bin", "added", 0, 0, True),
        ("new.py", "added", 1, 0, False), ("pkg/app.py", "modified", 2, 1, False)]
    assert (diff.lines_added, diff.lines_removed) == (3, 2)
    assert "--- a/pkg/app.py\n+++ b/pkg/app.py\n" in diff.text
    assert "-b = 2\n+b = 20\n" in diff.text
    assert "+++ b/new.py\n@@ -0,0 +1 @@\n+x = 1\n\\ No newline at end of file\n" in diff.text
    assert "Binary file blob.bin added" in diff.text
    assert diff_snapshots(before, before).files == ()


def test_sandbox_placeholders_are_dropped_but_real_work_is_kept(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "package.json").write_text("")  # was there before: kept even though empty
    original = snapshot(repo)
    for name in (".env", ".npmrc", "yarn.lock"):
        (repo / name).write_text("")
    (repo / ".env.local").write_text("SECRET=1\n")  # not empty: the agent wrote it
    (repo / "node_modules" / ".bin").mkdir(parents=True)
    (repo / ".claude" / "agents").mkdir(parents=True)
    (repo / "__init__.py").write_text("")  # an empty file the agent may well create
    removed = drop_sandbox_artifacts(repo, original)
    assert removed == [".env", ".npmrc", "yarn.lock", ".claude/", "node_modules/"]
    assert sorted(p.name for p in repo.iterdir()) == [".env.local", "__init__.py",
                                                      "package.json"]


def test_outside_scope_uses_globs_or_the_prompt() -> None:
    changed = ["pagination.py", "tests/test_pagination.py", "pkg/util.py"]
    assert outside_scope(changed, "fix it", ["pagination.py", "pkg/*"]) == (
        "tests/test_pagination.py",)
    assert outside_scope(changed, "Fix pagination.py and util.py") == (
        "tests/test_pagination.py",)


def test_a_huge_workspace_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import agentlab.agentic._workspace as ws

    monkeypatch.setattr(ws, "MAX_FILES", 3)
    for i in range(5):
        (tmp_path / f"f{i}.txt").write_text("x")
    with pytest.raises(ConfigError, match="more than 3 files"):
        snapshot(tmp_path)
