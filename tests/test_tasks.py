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
