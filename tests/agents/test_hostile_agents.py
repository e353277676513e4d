"""Agent files written by a hostile or careless hand: each gives one clear AgentFileError."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import agentlab as al
from agentlab.errors import AgentFileError

ROOT = Path(__file__).resolve().parents[2]
BODY = "You are a test agent.\n"


def write(tmp_path: Path, text: str | bytes, name: str = "agent.md") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def load_error(path: Path) -> AgentFileError:
    with pytest.raises(AgentFileError) as info:
        al.load_agent(path)
    assert "\n" not in str(info.value)
    return info.value


def test_duplicate_key_in_strict_yaml_is_refused(tmp_path: Path) -> None:
    # Strict YAML used to keep the second value silently; the lenient reader refused already.
    text = f"---\nname: first\ndescription: d\nname: second\n---\n{BODY}"
    err = load_error(write(tmp_path, text))
    assert err.line == 4 and err.field == "name" and "appears twice" in str(err)


def test_billion_laughs_is_refused_at_the_first_anchor(tmp_path: Path) -> None:
    lines = ["---", "name: lol", "description: d", "hooks:", '  a: &a ["lol","lol","lol"]']
    lines += [f"  {c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]"
              for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
    err = load_error(write(tmp_path, "\n".join([*lines, "---", BODY])))
    assert err.line == 5 and "anchor (&) is not allowed" in str(err)


@pytest.mark.parametrize("hooks", ["[" * 3000 + "]" * 3000,
                                   "\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(60))
                                   + "  " * 61 + "v: 1"])
def test_deep_nesting_is_one_line_not_recursion_error(tmp_path: Path, hooks: str) -> None:
    err = load_error(write(tmp_path, f"---\nname: a\ndescription: d\nhooks: {hooks}\n---\n{BODY}"))
    assert err.line is not None and "nest" in str(err)


@pytest.mark.parametrize(("name", "fragment"), [
    ("a" * 10_000, "is 10,000 characters long; use at most 64"),
    ('"abc\\n"', "'abc\\\\n' is not a valid agent name"),
    ('"ab\\ncd"', "is not a valid agent name"),
    ('"a\\u200bb"', "is not a valid agent name"),
])
def test_names_are_capped_and_printable(tmp_path: Path, name: str, fragment: str) -> None:
    err = load_error(write(tmp_path, f"---\nname: {name}\ndescription: d\n---\n{BODY}"))
    assert err.field == "name" and err.line == 2 and fragment in str(err), str(err)


def test_names_built_in_code_are_validated_too() -> None:
    with pytest.raises(AgentFileError, match="characters long"):
        al.Agent(name="x" * 65, description="d", body=BODY)
    with pytest.raises(AgentFileError, match="not a valid agent name"):
        al.Agent(name="bad\nname", description="d", body=BODY)
    base = al.Agent(name="base", description="d", body=BODY)
    with pytest.raises(AgentFileError, match="invalid variant name"):
        base.renamed("y" * 100)
    assert base.renamed("y" * 64).name == "y" * 64


def test_byte_order_mark_loads(tmp_path: Path) -> None:
    agent = al.load_agent(write(tmp_path, f"\ufeff---\nname: bom\ndescription: d\n---\n{BODY}"))
    assert agent.name == "bom" and agent.parse_mode == "strict"


def test_special_and_oversized_files_are_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    assert "not a regular file" in str(load_error(fifo))
    assert "not a regular file" in str(load_error(Path("/dev/zero")))
    assert "is a folder" in str(load_error(tmp_path))
    big = tmp_path / "big.md"
    with big.open("wb") as out:
        out.truncate(3 * 1024 * 1024)
    assert "more than the 2.0 MiB allowed" in str(load_error(big))


def test_lenient_values_cannot_expand(tmp_path: Path) -> None:
    # Not strict YAML ("x: y" in the description), so each line is read on its own; a value
    # that is an alias is kept as text, never expanded.
    agent = al.load_agent(write(tmp_path, "---\nname: a\ndescription: Use it: now\n"
                                          "color: *boom\n---\n" + BODY))
    assert agent.parse_mode == "lenient" and agent.color == "*boom"


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agentlab.cli", *argv], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


def test_unknown_field_is_warned_once_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, f"---\nname: minty\ndescription: d\nflavour: mint\n---\n{BODY}")
    listing = _cli("agents", str(path))
    assert listing.returncode == 0, listing.stderr
    assert listing.stderr.count("flavour") == 1, listing.stderr
    assert "warnings.warn" not in listing.stderr and "UnknownFieldWarning" not in listing.stderr
    # Commands that load agents along the way warn through the warnings module: one line too.
    tasks = _cli("tasks", "--examples", "--agents", str(path), "--tasks",
                 str(ROOT / "data" / "tasks" / "backend.yaml"))
    assert tasks.returncode == 0, tasks.stderr
    noted = [line for line in tasks.stderr.splitlines() if "flavour" in line]
    assert len(noted) == 1 and noted[0].startswith("agentlab: warning: "), tasks.stderr
    assert "warnings.warn" not in tasks.stderr
