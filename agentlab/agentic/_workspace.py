"""Workspaces: a task's fixture folder, copied for each trial, hashed, and diffed afterwards.

What counts as the workspace's content is defined here once: every file under the folder
except caches a run leaves behind (``__pycache__``, ``.pytest_cache``, ``.mypy_cache``,
``.ruff_cache``, ``*.pyc``). The content hash (part of a trial's cache key) and the diff
both use that definition, so a test run that writes ``__pycache__`` changes neither.

Claude Code's bash sandbox leaves empty placeholder files in the working folder (the mount
points for the files it protects: ``.env*``, ``package.json``, ``.npmrc``... and empty
``node_modules/`` and ``.claude/`` trees). :func:`drop_sandbox_artifacts` removes those
that were not in the original, so they never appear in a diff.
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agentlab.errors import ConfigError

__all__ = ["FileChange", "WorkspaceDiff", "content_hash", "copy_workspace", "diff_snapshots",
           "drop_sandbox_artifacts", "outside_scope", "snapshot"]

IGNORED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
IGNORED_SUFFIXES = (".pyc", ".pyo")
MAX_FILES = 2000
MAX_FILE_BYTES = 2 * 1024 * 1024
# Claude Code (2.1.x) protects these paths in the working folder from sandboxed commands;
# where they do not exist its bubblewrap creates them empty, and leaves them behind.
SANDBOX_PLACEHOLDERS = frozenset({
    ".env", ".env.local", ".env.development", ".env.development.local", ".env.test",
    ".env.test.local", ".env.production", ".env.production.local", "bunfig.toml",
    "package.json", ".npmrc", ".yarnrc", ".yarnrc.yml", ".gitmodules", "package-lock.json",
    "yarn.lock", "pnpm-lock.yaml"})
SANDBOX_PLACEHOLDER_DIRS = frozenset({"node_modules", ".claude"})

Snapshot = Mapping[str, bytes]
"""A workspace's files: POSIX relative path -> content (a symlink: its target, as bytes)."""


def _ignored(rel: str) -> bool:
    parts = rel.split("/")
    return any(p in IGNORED_DIRS for p in parts) or rel.endswith(IGNORED_SUFFIXES)


def _files(root: Path) -> Iterable[tuple[str, Path]]:
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED_DIRS)
        for name in sorted(files) + [d for d in dirs if (Path(folder) / d).is_symlink()]:
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            if not _ignored(rel):
                yield rel, path


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of a workspace (caches excluded), by relative path.

    Raises:
        ConfigError: More than :data:`MAX_FILES` files, or a file over
            :data:`MAX_FILE_BYTES` (a fixture should be small; name the file).
    """
    out: dict[str, bytes] = {}
    for rel, path in _files(root):
        if len(out) >= MAX_FILES:
            raise ConfigError(f"{root}: more than {MAX_FILES} files; a workspace fixture "
                              "should be a small repository")
        if path.is_symlink():
            out[rel] = b"symlink:" + os.readlink(path).encode()
            continue
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError(f"{path}: larger than {MAX_FILE_BYTES // 1024 // 1024} MiB; "
                              "keep workspace fixtures small")
        out[rel] = path.read_bytes()
    return out


def content_hash(files: Snapshot) -> str:
    """A SHA-256 of a snapshot: paths and contents, order-independent."""
    digest = hashlib.sha256(b"agentlab-workspace-v1\n")
    for rel in sorted(files):
        digest.update(rel.encode() + b"\0" + hashlib.sha256(files[rel]).digest())
    return digest.hexdigest()


def copy_workspace(source: Path, dest: Path) -> None:
    """Copy a workspace (symlinks kept as links, caches left out) to a new folder."""
    shutil.copytree(source, dest, symlinks=True,
                    ignore=shutil.ignore_patterns(*IGNORED_DIRS, *(f"*{s}" for s in
                                                                   IGNORED_SUFFIXES)))


def _has_content(path: Path) -> bool:
    return any(p.is_file() and p.stat().st_size > 0 for p in path.rglob("*"))


def drop_sandbox_artifacts(root: Path, original: Snapshot) -> list[str]:
    """Remove the empty placeholders Claude Code's sandbox left in a workspace.

    Only paths absent from ``original`` are touched: an empty file named in
    :data:`SANDBOX_PLACEHOLDERS`, or a folder named in :data:`SANDBOX_PLACEHOLDER_DIRS`
    with no non-empty file inside.

    Returns:
        The relative paths removed.
    """
    before_dirs = {rel.split("/")[0] for rel in original}
    removed: list[str] = []
    for name in sorted(SANDBOX_PLACEHOLDERS):
        path = root / name
        if name not in original and path.is_file() and not path.is_symlink() \
                and path.stat().st_size == 0:
            path.unlink()
            removed.append(name)
    for name in sorted(SANDBOX_PLACEHOLDER_DIRS):
        path = root / name
        if name not in before_dirs and path.is_dir() and not path.is_symlink() \
                and not _has_content(path):
            shutil.rmtree(path)
            removed.append(name + "/")
    return removed


@dataclass(frozen=True)
class FileChange:
    """One changed file.

    Attributes:
        path: Relative POSIX path.
        status: ``added``, ``modified`` or ``deleted``.
        added: Lines added.
        removed: Lines removed.
        binary: The file is not UTF-8 text (counted, not diffed).
    """

    path: str
    status: Literal["added", "modified", "deleted"]
    added: int
    removed: int
    binary: bool = False


@dataclass(frozen=True)
class WorkspaceDiff:
    """What a trial changed in its workspace.

    Attributes:
        text: The unified diff (``a/`` and ``b/`` prefixes, as git writes them).
        files: Each changed file, sorted by path.
    """

    text: str
    files: tuple[FileChange, ...]

    @property
    def lines_added(self) -> int:
        """Lines added over all files."""
        return sum(f.added for f in self.files)

    @property
    def lines_removed(self) -> int:
        """Lines removed over all files."""
        return sum(f.removed for f in self.files)


def _text(data: bytes | None) -> list[str] | None:
    if data is None:
        return []
    try:
        return data.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return None


def _one(rel: str, old: bytes | None, new: bytes | None) -> tuple[FileChange, str]:
    status: Literal["added", "modified", "deleted"] = (
        "added" if old is None else "deleted" if new is None else "modified")
    a, b = _text(old), _text(new)
    if a is None or b is None:
        return FileChange(rel, status, 0, 0, binary=True), f"Binary file {rel} {status}\n"
    lines = list(difflib.unified_diff(a, b, "/dev/null" if old is None else f"a/{rel}",
                                      "/dev/null" if new is None else f"b/{rel}", n=3))
    body = "".join(ln if ln.endswith("\n") else ln + "\n\\ No newline at end of file\n"
                   for ln in lines)
    added = sum(1 for ln in lines[2:] if ln.startswith("+"))
    removed = sum(1 for ln in lines[2:] if ln.startswith("-"))
    return FileChange(rel, status, added, removed), body


def diff_snapshots(before: Snapshot, after: Snapshot) -> WorkspaceDiff:
    """The unified diff from ``before`` to ``after``, and per-file line counts."""
    changes: list[FileChange] = []
    parts: list[str] = []
    for rel in sorted(set(before) | set(after)):
        old, new = before.get(rel), after.get(rel)
        if old == new:
            continue
        change, body = _one(rel, old, new)
        changes.append(change)
        parts.append(body)
    return WorkspaceDiff("".join(parts), tuple(changes))


def outside_scope(paths: Sequence[str], prompt: str, scope: Sequence[str] = ()) -> tuple[str, ...]:
    """Changed paths the task did not mention.

    A path is in scope when it matches one of the task's ``scope`` globs or, for a task
    without ``scope``, when the prompt mentions its path or its file name.

    Args:
        paths: Changed relative paths.
        prompt: The task's prompt.
        scope: Glob patterns (``fnmatch``, on the relative POSIX path).

    Returns:
        The out-of-scope paths, in input order.
    """
    def inside(rel: str) -> bool:
        if scope:
            return any(fnmatch.fnmatch(rel, pattern) for pattern in scope)
        return rel in prompt or rel.rsplit("/", 1)[-1] in prompt

    return tuple(rel for rel in paths if not inside(rel))
