"""Hostile and broken inputs: each malformed file in tests/data/bad/ through the CLI.

Every file must give exit code 1 and exactly one line on stderr that names the file and a line
or a field, with no traceback, no hang and no blow-up. Each file runs in its own process
under ``resource.setrlimit`` (20 s of CPU, 512 MiB of address space) and a 30 s wall clock.
Starting Python afresh for each of ~100 files would take minutes on a 2-core machine, so one
driver process imports the CLI once and forks a child per file (children inherit the imports,
not each other's state); a few files also go through ``python -m agentlab.cli`` end to end.
"""

from __future__ import annotations

import json
import math
import os
import resource
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import agentlab.cli as cli
from agentlab.errors import ConfigError
from agentlab.providers.base import GenerationOptions

BAD = Path(__file__).resolve().parent / "data" / "bad"
CPU_SECONDS = 20
MEMORY_BYTES = 512 * 1024 * 1024
WALL_SECONDS = 30


def _expected() -> list[tuple[str, str]]:
    rows = (line.split("\t") for line in (BAD / "EXPECTED.tsv").read_text("utf-8").splitlines()
            if line and not line.startswith("#"))
    return [(name, fragment) for name, fragment in rows]


EXPECTED = _expected()

DRIVER = r"""
import io, json, os, resource, sys, time, traceback
import agentlab.cli as cli

cpu, memory, wall = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
jobs = json.loads(sys.argv[1])
warm = json.loads(sys.argv[5])
saved = sys.stdout, sys.stderr
sys.stdout = sys.stderr = io.StringIO()
for argv in warm:  # import what each command imports lazily, once, before forking
    cli.main(argv)
sys.stdout, sys.stderr = saved
out = {}
for name, argv in jobs:
    sys.stdout.flush(); sys.stderr.flush()
    r_err, w_err = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: limits, then the CLI's own entry point
        os.close(r_err)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(w_err, 2)
        code = 99
        try:
            code = cli.main(argv)
        except BaseException:
            traceback.print_exc()
        sys.stdout.flush(); sys.stderr.flush()
        os._exit(code)
    os.close(w_err)
    os.set_blocking(r_err, False)
    chunks, status, killed = [], None, False
    while status is None:
        try:
            chunk = os.read(r_err, 65536)
            if chunk:
                chunks.append(chunk)
        except BlockingIOError:
            pass
        done, raw = os.waitpid(pid, os.WNOHANG)
        if done:
            status = raw
        elif time.monotonic() - started > wall:
            os.kill(pid, 9); killed = True
            status = os.waitpid(pid, 0)[1]
        else:
            time.sleep(0.005)
    os.set_blocking(r_err, True)
    while chunk := os.read(r_err, 65536):
        chunks.append(chunk)
    os.close(r_err)
    out[name] = {"rc": os.waitstatus_to_exitcode(status), "killed": killed,
                 "stderr": b"".join(chunks).decode("utf-8", "replace"),
                 "seconds": round(time.monotonic() - started, 3)}
print(json.dumps(out))
"""


def _argv(name: str) -> list[str]:
    path = str(BAD / name)
    return ["agents", path] if name.startswith("agents/") else ["tasks", "--tasks", path]


@pytest.fixture(scope="module")
def outcomes() -> dict[str, dict[str, Any]]:
    jobs = [(name, _argv(name)) for name, _ in EXPECTED]
    good = BAD.parents[2]  # the repository: warm up on the sample agent and tasks
    warm = [["agents", str(good / "data" / "agents" / "python-pro-backend.md")],
            ["tasks", "--tasks", str(good / "data" / "tasks" / "backend.yaml")]]
    proc = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(jobs), str(CPU_SECONDS),
                           str(MEMORY_BYTES), str(WALL_SECONDS), json.dumps(warm)],
                          capture_output=True, text=True, timeout=600, cwd=BAD.parent)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result: dict[str, dict[str, Any]] = json.loads(proc.stdout)
    return result


def test_the_corpus_is_large_and_listed() -> None:
    listed = {name for name, _ in EXPECTED}
    on_disk = {f"{kind}/{p.name}" for kind in ("agents", "tasks")
               for p in (BAD / kind).iterdir() if p.is_file()}
    assert len(listed) >= 60
    assert listed == on_disk, "every bad file is listed in EXPECTED.tsv, and only those"
    assert sum(n.startswith("agents/") for n in listed) >= 30
    assert sum(n.startswith("tasks/") for n in listed) >= 30


@pytest.mark.parametrize(("name", "fragment"), EXPECTED, ids=[n for n, _ in EXPECTED])
def test_bad_file_is_one_line_error(outcomes: dict[str, dict[str, Any]], name: str,
                                    fragment: str) -> None:
    got = outcomes[name]
    assert not got["killed"], f"hung: killed after {WALL_SECONDS} s"
    lines = got["stderr"].splitlines()
    assert "Traceback" not in got["stderr"], got["stderr"][-1500:]
    assert got["rc"] == 1, got
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith(f"agentlab: error: {BAD / name}"), line
    rest = line[len(f"agentlab: error: {BAD / name}"):]
    assert rest.startswith(":") and (rest[1:].split(":", 1)[0].isdigit() or "field '" in rest), (
        f"names neither a line nor a field: {line}")
    assert fragment in line, line
    assert len(line) < 600, "a one-line error stays readable (no echoed file content)"


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))


@pytest.mark.parametrize("name", ["agents/a15_billion_laughs.md", "tasks/t16_deep_block.yaml",
                                  "tasks/t19_context_environ.yaml"])
def test_end_to_end_through_python_m(name: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "agentlab.cli", *_argv(name)],
                          capture_output=True, text=True, timeout=WALL_SECONDS,
                          preexec_fn=_limits)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and str(BAD / name) in proc.stderr
    assert "Traceback" not in proc.stderr


def test_special_files_are_refused_without_reading(tmp_path: Path) -> None:
    # A FIFO would block for ever, /dev/zero would be read without end.
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    (tmp_path / "t.yaml").write_text("- id: a\n  prompt: x\n  context: {path: pipe.md}\n",
                                     encoding="utf-8")
    for argv in (["agents", str(fifo)], ["agents", "/dev/zero"],
                 ["tasks", "--tasks", str(tmp_path / "t.yaml")], ["tasks", "--tasks", str(fifo)],
                 ["tasks", "--tasks", "/proc/self/environ"]):
        proc = subprocess.run([sys.executable, "-m", "agentlab.cli", *argv],
                              capture_output=True, text=True, timeout=WALL_SECONDS,
                              preexec_fn=_limits)
        assert proc.returncode == 1, (argv, proc.stderr)
        assert proc.stderr.count("\n") == 1, (argv, proc.stderr)
        assert "not a regular file" in proc.stderr or "reports" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


def test_oversized_files_are_refused_before_parsing(tmp_path: Path) -> None:
    from agentlab._files import MAX_AGENT_FILE_BYTES

    big = tmp_path / "big.md"
    with big.open("wb") as out:
        out.write(b"---\nname: a\ndescription: d\n---\n")
        out.truncate(MAX_AGENT_FILE_BYTES + 1)  # sparse: no real disk use
    proc = subprocess.run([sys.executable, "-m", "agentlab.cli", "agents", str(big)],
                          capture_output=True, text=True, timeout=WALL_SECONDS,
                          preexec_fn=_limits)
    assert proc.returncode == 1 and "more than the 2.0 MiB allowed" in proc.stderr


# -- generation options (item 8): refused in the library, before anything is sent ------------


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"max_tokens": 0}, "max_tokens must be a whole number of at least 1"),
        ({"max_tokens": -5}, "max_tokens must be"),
        ({"max_tokens": True}, "max_tokens must be"),
        ({"max_tokens": 2.5}, "max_tokens must be"),
        ({"temperature": 99}, "temperature must be between 0 and 1"),
        ({"temperature": -0.1}, "temperature must be"),
        ({"temperature": math.nan}, "temperature must be"),
        ({"top_p": 1.5}, "top_p must be between 0 and 1"),
        ({"seed": 1.5}, "seed must be a whole number"),
        ({"stop": "STOP"}, "stop must be a list"),
        ({"stop": ("ok", "  ")}, "non-whitespace"),
    ],
)
def test_generation_options_are_validated(options: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        GenerationOptions(**options)


def test_generation_options_accept_the_documented_range() -> None:
    edge = GenerationOptions(max_tokens=1, temperature=0, top_p=1.0, seed=0,
                             stop=["END"])  # type: ignore[arg-type]
    assert edge.stop == ("END",) and edge.temperature == 0


# -- the CLI's safety net (item 6): OS and SQLite errors are one line too -----------------


@pytest.mark.parametrize(
    "error",
    [PermissionError(13, "Permission denied", "/x/out.csv"),
     NotADirectoryError(20, "Not a directory", "/etc/passwd/sub"),
     FileExistsError(17, "File exists", "/x/y"),
     FileNotFoundError(2, "No such file or directory", "/x/z"),
     sqlite3.DatabaseError("database disk image is malformed")],
    ids=lambda e: type(e).__name__,
)
def test_os_and_sqlite_errors_become_one_line(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str],
                                              error: Exception) -> None:
    def failing(_args: object) -> int:
        raise error

    monkeypatch.setattr(cli, "cmd_runs", failing)  # our own command, not an SDK internal
    assert cli.main(["runs"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("agentlab: error: ")
    assert (getattr(error, "filename", None) or "malformed") in err
