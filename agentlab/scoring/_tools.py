"""Run ruff and mypy on a piece of Python source in a subprocess, with caching.

The tools only read the text they are given: nothing is imported or executed.
Reports are cached in memory by content, tool version and options; mypy's are also
cached on disk (see :func:`default_cache_dir`), since a strict check takes seconds.
The graders built on these (``ruff_clean``, ``mypy_strict``) are in
:mod:`agentlab.scoring._code`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from agentlab.errors import MissingDependencyError

__all__ = [
    "DEFAULT_MYPY_FLAGS", "DEFAULT_RUFF_IGNORE", "DEFAULT_RUFF_SELECT", "Finding", "ToolReport",
    "default_cache_dir", "run_mypy", "run_ruff",
]


@dataclass(frozen=True)
class Finding:
    """One diagnostic from ruff or mypy.

    Attributes:
        line: Line in the joined code.
        code: Rule or error code.
        message: The tool's message.
    """

    line: int
    code: str
    message: str


@dataclass(frozen=True)
class ToolReport:
    """What a tool said about one piece of code.

    Attributes:
        findings: The diagnostics (errors only for mypy).
        failure: Why the tool gave no verdict (timeout, crash); ``None`` when it did.
    """

    findings: tuple[Finding, ...] = ()
    failure: str | None = None


_MEMORY: dict[str, ToolReport] = {}
_LOCK = threading.Lock()


def _require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError(module)


# Unchanged from when this code lived in codecheck, so existing caches stay valid.
_KEY_VERSION = "codecheck-1"


def _key(tool: str, args: Sequence[str], code: str) -> str:
    try:
        version = metadata.version(tool)
    except metadata.PackageNotFoundError:
        version = "?"
    # sys.prefix: the installed packages (fastapi stubs or not) change mypy's verdict.
    text = json.dumps([_KEY_VERSION, tool, version, sys.prefix, sys.version_info[:2], list(args),
                       code])
    return hashlib.sha256(text.encode()).hexdigest()


DEFAULT_RUFF_SELECT = ("E", "W", "F", "B", "UP", "SIM", "C4")
DEFAULT_RUFF_IGNORE = ("E402", "E501", "B008")  # joined blocks; long lines; FastAPI Depends()


def run_ruff(code: str, *, select: Sequence[str] = DEFAULT_RUFF_SELECT,
             ignore: Sequence[str] = DEFAULT_RUFF_IGNORE, timeout: float = 30.0) -> ToolReport:
    """Lint ``code`` with ``ruff check --isolated`` (the text goes in on stdin).

    Args:
        code: Python source.
        select: Rule codes to enable.
        ignore: Rule codes to disable.
        timeout: Seconds before giving up.

    Returns:
        The findings (cached in memory by content and options).

    Raises:
        MissingDependencyError: ruff is not installed.
    """
    _require("ruff")
    args = ["check", "--isolated", "--no-cache", "--output-format", "json",
            "--target-version", "py311", "--select", ",".join(select),
            *(["--ignore", ",".join(ignore)] if ignore else []), "--stdin-filename", "answer.py",
            "-"]
    key = _key("ruff", args, code)
    if (hit := _MEMORY.get(key)) is not None:
        return hit
    try:
        proc = subprocess.run([sys.executable, "-m", "ruff", *args], input=code, text=True,
                              capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return ToolReport(failure=f"timed out after {timeout:g} s")
    if proc.returncode not in (0, 1):
        return ToolReport(failure=(proc.stderr.strip().splitlines() or ["no output"])[-1])
    findings = tuple(
        Finding(int(d["location"]["row"]), str(d["code"]), str(d["message"]))
        for d in json.loads(proc.stdout or "[]")
    )
    report = ToolReport(findings)
    with _LOCK:
        _MEMORY[key] = report
    return report


# Missing third-party stubs turn decorators and base classes into Any; these two flags
# keep that environment problem from counting against the answer.
DEFAULT_MYPY_FLAGS = ("--strict", "--ignore-missing-imports", "--allow-untyped-decorators",
                      "--allow-subclassing-any")
_MYPY_LINE = re.compile(r"^[^:\n]+:(\d+):(?:\d+:)? error: (.*?)(?:  \[([\w-]+)\])?$")


def default_cache_dir() -> Path:
    """Where mypy results are cached: ``$AGENTLAB_CACHE_DIR/mypy``, else ``~/.cache/agentlab/mypy``.

    Returns:
        The directory (not created).
    """
    root = os.environ.get("AGENTLAB_CACHE_DIR")
    if root:
        return Path(root) / "mypy"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "agentlab" / "mypy"


def _read_cache(path: Path) -> ToolReport | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ToolReport(tuple(Finding(int(f[0]), str(f[1]), str(f[2])) for f in data))
    except (OSError, ValueError, TypeError, IndexError):
        return None


def _write_cache(path: Path, report: ToolReport) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps([[f.line, f.code, f.message] for f in report.findings]))
        os.replace(tmp, path)  # atomic, so a concurrent reader never sees half a file
    except OSError:
        pass  # an unwritable cache only costs time


def run_mypy(code: str, *, timeout: float = 30.0, cache_dir: Path | str | None = None,
             flags: Sequence[str] = DEFAULT_MYPY_FLAGS) -> ToolReport:
    """Type-check ``code`` with mypy in a subprocess, caching by content.

    Results are cached in memory and as JSON files in ``cache_dir`` (keyed by code,
    flags, mypy and Python versions); mypy's own incremental cache lives there too.
    Timeouts and crashes are reported, not cached.

    Args:
        code: Python source.
        timeout: Seconds before the check is abandoned.
        cache_dir: Cache directory; defaults to :func:`default_cache_dir`.
        flags: mypy flags.

    Returns:
        The errors mypy reported (notes are dropped).

    Raises:
        MissingDependencyError: mypy is not installed.
    """
    _require("mypy")
    key = _key("mypy", flags, code)
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if (hit := _MEMORY.get(key)) is not None:
        return hit
    report = _read_cache(root / f"{key}.json") or _mypy_subprocess(code, key, root, timeout, flags)
    if report.failure is None:
        _write_cache(root / f"{key}.json", report)
        with _LOCK:
            _MEMORY[key] = report
    return report


def _mypy_subprocess(code: str, key: str, root: Path, timeout: float,
                     flags: Sequence[str]) -> ToolReport:
    with tempfile.TemporaryDirectory(prefix="agentlab-mypy-") as tmp:
        # A unique module name keeps concurrent checks apart in mypy's shared cache.
        source = Path(tmp) / f"answer_{key[:16]}.py"
        source.write_text(code, encoding="utf-8")
        cmd = [sys.executable, "-m", "mypy", *flags, "--config-file=", "--no-error-summary",
               "--show-error-codes", "--no-color-output", "--hide-error-context", "--no-pretty",
               "--cache-dir", str(root / "incremental"), source.name]
        env = {k: v for k, v in os.environ.items() if k != "MYPYPATH"}
        try:
            proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return ToolReport(failure=f"timed out after {timeout:g} s")
    if proc.returncode not in (0, 1):
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        return ToolReport(failure=lines[-1] if lines else f"exit code {proc.returncode}")
    found = (_MYPY_LINE.match(line) for line in proc.stdout.splitlines())
    return ToolReport(tuple(Finding(int(m[1]), m[3] or "", m[2]) for m in found if m))
