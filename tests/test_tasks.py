from __future__ import annotations

import json
from pathlib import Path

import pytest

import agentlab as al
from agentlab.errors import TaskFileError

ROOT = Path(__file__).resolve().parents[1]
BACKEND = ROOT / "data" / "tasks" / "backend.yaml"


def test_sample_suite() -> None:
    tasks = al.load_tasks(BACKEND)
    assert len(tasks) >= 12
    assert len({t.id for t in tasks}) == len(tasks)
    with_context = [t for t in tasks if t.context]
    assert len(with_context) >= 4
    assert all(t.checks and t.rubric for t in tasks), "every task carries checks and a rubric"
    first = tasks[0]
    assert first.context_name == "orders_api.py"
    message = first.user_message()
    assert message.startswith("Existing code, `orders_api.py`:\n\n```python\n")
    assert message.endswith(first.prompt)
    assert "router = APIRouter" in message


def test_examples_become_tasks() -> None:
    base = al.load_agent(ROOT / "data" / "agents" / "python-pro-backend.md")
    tasks = al.tasks_from_examples(base)
    assert [t.id for t in tasks] == [f"python-pro-backend-example-{n}" for n in (1, 2, 3)]
    assert tasks[2].prompt == "We need to add JWT token validation to our FastAPI endpoints"
    combined = al.load_tasks(BACKEND) + tasks
    assert len(combined) == len(al.load_tasks(BACKEND)) + 3


def test_jsonl_and_inline_context(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    rows = [{"id": "a", "prompt": "Do A", "context": "x = 1", "tags": ["t"]},
            {"id": 2, "prompt": "Do B", "checks": [{"type": "contains", "value": "B"}]}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    a, b = al.load_tasks(path)
    assert a.context == "x = 1" and a.tags == ("t",)
    assert "```\nx = 1\n```" in a.user_message()
    assert b.id == "2" and b.checks == ({"type": "contains", "value": "B"},)


@pytest.mark.parametrize(
    ("content", "suffix", "fragment"),
    [
        ("- id: a\n  prompt: x\n- id: a\n  prompt: y\n", ".yaml",
         "task 'a', field 'id': duplicate"),
        ("- id: a\n", ".yaml", "task 'a', field 'prompt': missing"),
        ("- id: a\n  prompt: x\n  context: {path: missing.py}\n", ".yaml",
         "task 'a', field 'context': context file 'missing.py' cannot be read"),
        ("- id: a\n  prompt: x\n  promt: typo\n", ".yaml", "field 'promt': Extra inputs"),
        ("- id: a\n  prompt: [unclosed\n", ".yaml", "invalid YAML"),
        ("just a string\n", ".yaml", "expected a list of tasks"),
        ('{"id": "a", "prompt": "x"}\n{broken\n', ".jsonl", "tasks.jsonl:2: invalid JSON"),
        ("[]\n", ".yaml", "no tasks found"),
        ("- id: a\n  prompt: x\n  checks: [{type: contans, value: x}]\n", ".yaml",
         "task 'a', field 'checks[0]': unknown grader type 'contans'"),
        ("- id: a\n  prompt: x\n  checks: [{type: regex, patern: x}]\n", ".yaml",
         "task 'a', field 'checks[0]': grader 'regex', field 'patern'"),
    ],
)
def test_task_file_errors(tmp_path: Path, content: str, suffix: str, fragment: str) -> None:
    path = tmp_path / f"tasks{suffix}"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TaskFileError) as info:
        al.load_tasks(path)
    assert fragment in str(info.value)
    assert str(path) in str(info.value)


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    one.write_text("- {id: a, prompt: x}\n", encoding="utf-8")
    two.write_text("tasks:\n  - {id: a, prompt: y}\n", encoding="utf-8")
    with pytest.raises(TaskFileError, match=r"duplicate id \(first in .*one.yaml\)"):
        al.load_tasks(one, two)


def test_select_tasks() -> None:
    tasks = al.load_tasks(BACKEND)
    context_tasks = al.select_tasks(tasks, tags=["context"])
    assert context_tasks and all("context" in t.tags for t in context_tasks)
    assert [t.id for t in al.select_tasks(tasks, ids=["pagination-bug"])] == ["pagination-bug"]


def test_load_tasks_accepts_lists_and_select_rejects_unknown_ids() -> None:
    assert len(al.load_tasks([BACKEND])) == len(al.load_tasks(str(BACKEND)))
    with pytest.raises(al.ConfigError, match="no task has id or tag 'paginaton-bug'"):
        al.select_tasks(al.load_tasks(BACKEND), ids=["paginaton-bug"])


# -- hardening (issue 10) --------------------------------------------------------------------

SECRET = "sk-ant-api03-NEVER-SEND-THIS-0123456789"


def _task_file(folder: Path, context_path: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tasks.yaml"
    path.write_text(f"- id: a\n  prompt: Review it.\n  context: {{path: '{context_path}'}}\n",
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("context_path", ["../outside.py", "/etc/passwd", "/proc/self/environ",
                                          "sub/../../outside.py"])
def test_context_must_stay_in_the_task_folder(tmp_path: Path, context_path: str) -> None:
    (tmp_path / "outside.py").write_text("secret = 1\n", encoding="utf-8")
    path = _task_file(tmp_path / "suite", context_path)
    (tmp_path / "suite" / "sub").mkdir()
    with pytest.raises(TaskFileError) as info:
        al.load_tasks(path)
    message = str(info.value)
    assert "task 'a', field 'context'" in message and "outside" in message
    assert str(path) in message and context_path in message


def test_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside.py").write_text("secret = 1\n", encoding="utf-8")
    suite = tmp_path / "suite"
    path = _task_file(suite, "link.py")
    (suite / "link.py").symlink_to(tmp_path / "outside.py")
    with pytest.raises(TaskFileError, match=r"resolves to .*outside\.py, outside"):
        al.load_tasks(path)
    # A symlink that stays inside the folder is fine, and so is an explicitly allowed root.
    (suite / "real.py").write_text("x: int = 1\n", encoding="utf-8")
    (suite / "link.py").unlink()
    (suite / "link.py").symlink_to(suite / "real.py")
    assert al.load_tasks(path)[0].context == "x: int = 1\n"
    shared = _task_file(tmp_path / "other", "../outside.py")
    assert al.load_tasks(shared, context_roots=[tmp_path])[0].context == "secret = 1\n"


def test_special_files_as_context_are_refused(tmp_path: Path) -> None:
    import os

    suite = tmp_path / "suite"
    path = _task_file(suite, "pipe.py")
    os.mkfifo(suite / "pipe.py")  # reading it would block for ever
    with pytest.raises(TaskFileError, match="not a regular file"):
        al.load_tasks(path)
    # Allowed roots do not make devices or pseudo-files readable.
    zero = _task_file(tmp_path / "z", "/dev/zero")
    with pytest.raises(TaskFileError, match="not a regular file"):
        al.load_tasks(zero, context_roots=["/dev"])
    environ = _task_file(tmp_path / "e", "/proc/self/environ")
    with pytest.raises(TaskFileError, match="a /proc or /sys file"):
        al.load_tasks(environ, context_roots=["/proc"])


def test_oversized_context_is_refused_before_reading(tmp_path: Path) -> None:
    from agentlab._files import MAX_CONTEXT_BYTES

    suite = tmp_path / "suite"
    path = _task_file(suite, "big.py")
    with (suite / "big.py").open("wb") as out:
        out.truncate(MAX_CONTEXT_BYTES + 1)
    with pytest.raises(TaskFileError, match=r"more than the 2\.0 MiB allowed"):
        al.load_tasks(path)


def test_environ_context_never_reaches_the_request_or_the_store(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from agentlab.cli import main
    from agentlab.testing._server import FakeAnthropic

    path = _task_file(tmp_path / "suite", "/proc/self/environ")
    db = tmp_path / "r.sqlite"
    with FakeAnthropic() as fake:
        monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        code = main(["run", "--agents", str(ROOT / "data" / "agents" / "python-pro-backend.md"),
                     "--tasks", str(path), "--db", str(db), "--no-progress"])
        assert fake.request_count == 0
    assert code == 1
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and "outside" in err
    assert SECRET not in out + err
    assert not db.exists()
    for file in tmp_path.rglob("*"):
        if file.is_file():
            assert SECRET.encode() not in file.read_bytes(), file


@pytest.mark.parametrize(
    ("content", "suffix", "fragment"),
    [
        ("- id: a\n  prompt: first\n  prompt: second\n", ".yaml",
         "tasks.yaml:3: invalid YAML: key 'prompt' appears twice"),
        ('{"id": "a", "prompt": "x", "prompt": "y"}\n', ".jsonl",
         "tasks.jsonl:1: invalid task line: key 'prompt' appears twice"),
        ("- id: &x a\n  prompt: *x\n", ".yaml", "tasks.yaml:1: invalid YAML: an anchor (&)"),
        ("- id: a\n  prompt: '  \t '\n", ".yaml", "field 'prompt': is empty or only whitespace"),
        ('- id: "a\\nb"\n  prompt: x\n', ".yaml", "unprintable character '\\n'"),
        ("- id: " + "x" * 129 + "\n  prompt: x\n", ".yaml", "is 129 characters long"),
        ("- id: a\n  prompt: x\n  context: {path: c.py, mode: r}\n", ".yaml",
         "field 'context.mode': Extra inputs"),
    ],
)
def test_hostile_task_files(tmp_path: Path, content: str, suffix: str, fragment: str) -> None:
    path = tmp_path / f"tasks{suffix}"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TaskFileError) as info:
        al.load_tasks(path)
    assert fragment in str(info.value)


def test_task_lines_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "tasks.yaml"
    path.write_text("tasks:\n  - id: a\n    prompt: x\n\n  - id: b\n", encoding="utf-8")
    with pytest.raises(TaskFileError) as info:
        al.load_tasks(path)
    assert info.value.line == 5 and str(info.value).startswith(f"{path}:5: task 'b'")


def test_byte_order_marks_are_accepted(tmp_path: Path) -> None:
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "a", "prompt": "x"}).encode() + b"\n")
    yml = tmp_path / "t.yaml"
    yml.write_bytes(b"\xef\xbb\xbf- {id: b, prompt: y}\n")
    assert [t.id for t in al.load_tasks(jsonl, yml)] == ["a", "b"]


def test_tasks_built_in_code_are_validated_too() -> None:
    with pytest.raises(TaskFileError, match="field 'prompt': is empty or only whitespace"):
        al.Task(id="a", prompt=" \n ")
    with pytest.raises(TaskFileError, match="field 'id': contains the unprintable"):
        al.Task(id="a\nb", prompt="x")

