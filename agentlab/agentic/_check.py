"""The task's ``check:`` command, run under bubblewrap: it runs model-written code.

:func:`run_check` runs the command in ``sh -c`` inside a bubblewrap sandbox invoked directly:

- the workspace is the only writable path (``/tmp`` is a private tmpfs); the system
  folders and this Python's installation are mounted read-only, nothing else is visible;
- no network (``--unshare-net``), and its own PID, IPC and UTS namespaces;
- an empty environment (``PATH``, ``HOME=/tmp``, ``LANG``): no API key can reach it;
- limits: CPU seconds, address space, file size and processes (``RLIMIT_*``), and a wall
  clock after which the whole sandbox is killed. As root the command runs as ``nobody``
  (``setpriv``), because the kernel does not apply the process limit to root.

The output kept is the tail (the end of a test run says what failed). With
``sandboxed=False`` (``sandbox="off"``) the command runs directly, with the same limits and
environment; the caller warns about it.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agentlab.errors import ConfigError

__all__ = ["CheckLimits", "CheckResult", "run_check"]

NOBODY = 65534
_TAIL = 4000  # characters of output kept


@dataclass(frozen=True)
class CheckLimits:
    """Resource limits for one check run.

    Attributes:
        timeout_s: Wall-clock seconds before the sandbox is killed.
        cpu_s: CPU seconds per process.
        memory_mb: Address space per process, in MiB.
        processes: Most processes at once (as ``nobody`` when run as root).
        file_mb: Largest file a process may write, in MiB.
    """

    timeout_s: float = 120.0
    cpu_s: int = 120
    memory_mb: int = 2048
    processes: int = 128
    file_mb: int = 256


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check run.

    Attributes:
        exit_code: The command's exit status (``-9`` when killed at the time limit).
        output: The tail of stdout and stderr, interleaved.
        duration_s: Wall-clock seconds.
        timed_out: Whether the time limit ended it.
        sandboxed: Whether it ran under bubblewrap.
    """

    exit_code: int
    output: str
    duration_s: float
    timed_out: bool = False
    sandboxed: bool = True

    @property
    def passed(self) -> bool:
        """Exit status 0 within the time limit."""
        return self.exit_code == 0 and not self.timed_out


def _dirs_to(path: Path) -> list[str]:
    """``--dir`` arguments creating each parent of ``path`` traversable (0755)."""
    args: list[str] = []
    for parent in reversed(path.parents):
        if str(parent) != "/":
            args += ["--perms", "0755", "--dir", str(parent)]
    return args


def _python_mounts() -> list[str]:
    """Read-only mounts of this interpreter's installation and virtual environment."""
    roots = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(),
             Path(sys.executable).resolve().parent.parent}
    system = (Path("/usr"), Path("/bin"), Path("/lib"), Path("/lib64"), Path("/etc"))
    args: list[str] = []
    for root in sorted(roots, key=lambda p: len(p.parts)):
        if not any(root == s or s in root.parents for s in system):
            args += [*_dirs_to(root), "--ro-bind", str(root), str(root)]
    return args


def _bwrap_args(workspace: Path, as_nobody: bool) -> list[str]:
    ws = str(workspace.resolve())
    bin_dir = str(Path(sys.executable).parent)
    args = ["bwrap", "--die-with-parent", "--new-session", "--unshare-net", "--unshare-pid",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--ro-bind", "/usr", "/usr", "--ro-bind-try", "/bin", "/bin",
            "--ro-bind-try", "/sbin", "/sbin", "--ro-bind-try", "/lib", "/lib",
            "--ro-bind-try", "/lib64", "/lib64", "--ro-bind", "/etc", "/etc",
            "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp",
            # After the private /tmp: an interpreter installed under /tmp stays visible.
            *_python_mounts(), *_dirs_to(workspace.resolve()), "--bind", ws, ws, "--chdir", ws,
            "--clearenv", "--setenv", "PATH", f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
            "--setenv", "HOME", "/tmp", "--setenv", "LANG", "C.UTF-8",
            "--setenv", "PYTHONDONTWRITEBYTECODE", "1", "--"]
    if as_nobody:
        args += ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                 "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    return args


def _process_limit(limits: CheckLimits, as_nobody: bool) -> int:
    """RLIMIT_NPROC counts every process of the user: leave room for the ones running."""
    if as_nobody or os.geteuid() == 0:
        return limits.processes
    mine = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            uid_line = next(ln for ln in status.read_text().splitlines() if ln.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        mine += uid_line.split()[1] == str(os.getuid())
    return mine + limits.processes


def _limiter(limits: CheckLimits, processes: int) -> Callable[[], None]:
    def apply() -> None:
        mib = 1024 * 1024
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 5))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb * mib,) * 2)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb * mib,) * 2)
        resource.setrlimit(resource.RLIMIT_NPROC, (processes,) * 2)

    return apply


def _own(workspace: Path, uid: int, gid: int) -> None:
    for folder, dirs, files in os.walk(workspace, followlinks=False):
        for name in (".", *dirs, *files):
            os.chown(os.path.join(folder, name), uid, gid, follow_symlinks=False)


def _tail(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace")
    return text if len(text) <= _TAIL else "…" + text[-_TAIL:]


def run_check(command: str, workspace: Path, limits: CheckLimits | None = None, *,
              sandboxed: bool = True) -> CheckResult:
    """Run ``command`` in ``workspace`` under bubblewrap, with limits.

    Args:
        command: A shell command line, e.g. ``python -m unittest -q``.
        workspace: The folder it runs in (the only writable one).
        limits: Time, CPU, memory, process and file-size limits.
        sandboxed: ``False`` runs without bubblewrap (``sandbox="off"``).

    Returns:
        The exit code, output tail and duration (never raises for the command failing).

    Raises:
        ConfigError: ``sandboxed`` but ``bwrap`` is not installed.
    """
    limits = limits or CheckLimits()
    if sandboxed and shutil.which("bwrap") is None:
        raise ConfigError("the check command runs under bubblewrap, which is not installed: "
                          "apt-get install -y bubblewrap (or .ci/install-sandbox.sh)")
    as_nobody = sandboxed and os.geteuid() == 0 and shutil.which("setpriv") is not None
    argv = [*(_bwrap_args(workspace, as_nobody) if sandboxed else []), "sh", "-c", command]
    env = None if sandboxed else {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
                                  "HOME": str(workspace), "LANG": "C.UTF-8"}
    if as_nobody:
        _own(workspace, NOBODY, NOBODY)
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=workspace, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True,
                            preexec_fn=_limiter(limits, _process_limit(limits, as_nobody)))
    try:
        out, _ = proc.communicate(timeout=limits.timeout_s)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # bwrap's PID namespace dies with it
        out, _ = proc.communicate()
        timed_out = True
    finally:
        if as_nobody:
            _own(workspace, os.getuid(), os.getgid())
    return CheckResult(-9 if timed_out else proc.returncode, _tail(out),
                       time.monotonic() - started, timed_out, sandboxed)
