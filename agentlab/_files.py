"""Reading files named by users, and checking where results will be written.

Every file agentlab reads because a user named it (an agent file, a task file, a task's
context file) goes through :func:`read_regular_file`: only a regular file, its size checked
before reading, opened without blocking, so ``/dev/zero``, a FIFO or a ``/proc`` file is
refused instead of being read without end or waited on for ever. A path written *inside* a
user file goes through :func:`resolve_inside` first: after following symlinks it must stay in
an allowed folder. Output locations (``--out``, ``--db``, ``-o``) are checked with
:func:`check_output_dir` and :func:`check_output_file` before any money is spent.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from agentlab.errors import ConfigError

MAX_AGENT_FILE_BYTES = 2 * 1024 * 1024
"""Largest agent file read (2 MiB: far beyond any model's context as a system prompt)."""
MAX_TASK_FILE_BYTES = 32 * 1024 * 1024
"""Largest task file read (32 MiB)."""
MAX_CONTEXT_BYTES = 2 * 1024 * 1024
"""Largest context file read (2 MiB, about half a million tokens)."""


class FileRefused(Exception):
    """A file was not read; the message says why in a few words (no path)."""


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB" if n >= 1024 * 1024 else f"{n:,} bytes"


def read_regular_file(path: Path, *, limit: int, follow_symlinks: bool = True) -> bytes:
    """Read a whole regular file of at most ``limit`` bytes.

    The file is opened non-blocking (a FIFO does not wait for a writer), checked with
    ``fstat`` on the open descriptor (no swap between check and read), and read to at most
    one byte past its reported size, so neither a pseudo-file nor a file growing while it
    is read can exhaust memory.

    Args:
        path: The file.
        limit: Largest size accepted, in bytes.
        follow_symlinks: ``False`` refuses a path whose last part is a symlink (for paths
            already resolved by :func:`resolve_inside`, so it cannot be swapped for one).

    Returns:
        The file's bytes.

    Raises:
        FileRefused: Missing, unreadable, not a regular file, or larger than ``limit``.
    """
    try:
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        if not follow_symlinks:
            flags |= getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags)
    except OSError as exc:
        raise FileRefused(describe_os_error(exc)) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise FileRefused("is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused("is not a regular file (a device, FIFO or socket); "
                              "only regular files are read")
        if info.st_size > limit:
            raise FileRefused(f"is {_size(info.st_size)}, more than the {_size(limit)} allowed")
        # Read one byte past the reported size: a /proc or /sys file reports 0 bytes and
        # yields more, and so does a file still being written. Neither is read.
        chunks: list[bytes] = []
        total, want = 0, info.st_size + 1
        while total < want:
            chunk = os.read(fd, min(1 << 20, want - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > info.st_size:
            raise FileRefused(f"yields more than the {info.st_size} bytes it reports (a /proc "
                              "or /sys file, or a file still being written); not read")
        return b"".join(chunks)
    except OSError as exc:
        raise FileRefused(describe_os_error(exc)) from None
    finally:
        os.close(fd)


def describe_os_error(exc: OSError) -> str:
    """A few words for an OS error (``does not exist``, ``permission denied``...), no path."""
    reasons = {errno.ENOENT: "does not exist", errno.EACCES: "permission denied",
               errno.EPERM: "permission denied", errno.EISDIR: "is a folder, not a file",
               errno.ENOTDIR: "a part of the path is a file, not a folder",
               errno.ELOOP: "is a symlink loop, or became a symlink after it was checked"}
    return reasons.get(exc.errno or 0, exc.strerror or type(exc).__name__)


def resolve_inside(base: Path, value: str, roots: Sequence[Path]) -> Path:
    """Resolve a path written in a user file, and keep it inside the allowed folders.

    Args:
        base: The folder a relative ``value`` is relative to (the user file's folder).
        value: The path as written (relative, or absolute).
        roots: Folders the resolved path must lie in (after following symlinks).

    Returns:
        The resolved path.

    Raises:
        FileRefused: The path is empty, does not exist, or resolves outside every root.
    """
    if not value.strip() or "\x00" in value:
        raise FileRefused("is empty" if not value.strip() else "contains a NUL byte")
    # Containment first, existence second: a path outside the allowed folders is refused
    # as such whether or not it exists, so a task file cannot probe the machine's files.
    try:
        target = (base / value).resolve(strict=False)
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop on older Pythons
        raise FileRefused(describe_os_error(exc) if isinstance(exc, OSError)
                          else "has a symlink loop") from None
    allowed = [r.resolve() for r in roots]
    if not any(target.is_relative_to(root) for root in allowed):
        where = " or ".join(str(r) for r in allowed)
        raise FileRefused(f"resolves to {target}, outside {where}; keep context files beside "
                          "the task file (or pass context_roots=)")
    try:
        return target.resolve(strict=True)
    except FileNotFoundError:
        raise FileRefused("does not exist") from None
    except (OSError, RuntimeError) as exc:
        raise FileRefused(describe_os_error(exc) if isinstance(exc, OSError)
                          else "has a symlink loop") from None


def _nearest_existing(path: Path) -> Path:
    probe = path
    while not os.path.lexists(probe) and probe != probe.parent:
        probe = probe.parent
    return probe


def folder_problem(target: Path) -> str | None:
    """Why files cannot be written in folder ``target`` (created if need be), or ``None``."""
    probe = _nearest_existing(target)
    if not probe.is_dir():
        return ("is a file, not a folder" if probe == target
                else f"cannot be created: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"cannot be written: folder {probe} is not writable (permission denied)"
    return None


def check_output_dir(path: Path | str, what: str = "output folder") -> Path:
    """Check that a folder can be created (or already exists) and written to.

    Args:
        path: The folder results will be written to.
        what: How to name it in the error (``"--out"``).

    Returns:
        The path, unchanged.

    Raises:
        ConfigError: The path, or a folder it would be created under, is a file; or the
            nearest existing folder is not writable.
    """
    target = Path(path)
    problem = folder_problem(target)
    if problem is not None:
        raise ConfigError(f"{what} {target}: {problem}; choose another folder")
    return target


def check_output_file(path: Path | str, what: str = "output file") -> Path:
    """Check that a file can be written: it is not a folder, and its folder can be used.

    Args:
        path: The file results will be written to.
        what: How to name it in the error (``"-o"``).

    Returns:
        The path, unchanged.

    Raises:
        ConfigError: The path is a folder, is not writable, or its folder cannot be created
            or written to.
    """
    target = Path(path)
    if target.is_dir():
        raise ConfigError(f"{what} {target}: is a folder, not a file; name a file")
    if os.path.lexists(target) and not os.access(target, os.W_OK):
        raise ConfigError(f"{what} {target}: not writable (permission denied)")
    problem = folder_problem(target.parent)
    if problem is not None:
        raise ConfigError(f"{what} {target}: its folder {target.parent} {problem}")
    return target
