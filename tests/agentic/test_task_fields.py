"""The task schema's agentic fields: workspace (inside the task file's folder), check, limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentlab.errors import TaskFileError
from agentlab.runs._history import _task as task_from_snapshot
from agentlab.tasks import load_tasks


def _write(folder: Path, body: str) -> Path:
    path = folder / "tasks.yaml"
    path.write_text(body)
    return path


def test_workspace_fields_load_and_round_trip(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    path = _write(tmp_path, "- id: t\n  prompt: fix it\n  workspace: repo\n"
                            "  check: python -m unittest -q\n  max_turns: 7\n  timeout_s: 90\n"
                            "  max_budget_usd: 0.5\n  scope: ['*.py']\n")
    (task,) = load_tasks(path)
    assert task.workspace == (tmp_path / "repo").resolve()
    assert (task.check, task.max_turns, task.timeout_s, task.max_budget_usd, task.scope) == (
        "python -m unittest -q", 7, 90.0, 0.5, ("*.py",))
    again = task_from_snapshot(task.snapshot())
    assert (again.workspace, again.check, again.scope) == (task.workspace, task.check,
                                                           task.scope)


def test_chat_tasks_are_unchanged(tmp_path: Path) -> None:
    (task,) = load_tasks(_write(tmp_path, "- id: t\n  prompt: hello\n"))
    assert task.workspace is None and task.check is None
    assert "workspace" not in task.snapshot()


@pytest.mark.parametrize(("body", "message"), [
    ("  workspace: ../elsewhere\n", "outside the task file's folder"),
    ("  workspace: missing\n", "does not exist"),
    ("  workspace: file.txt\n", "is not a folder"),
    ("  check: make test\n", "needs 'workspace:'"),
    ("  workspace: repo\n  max_turns: 0\n", "greater than or equal to 1"),
    ("  workspace: repo\n  timeout: 5\n", "Extra inputs are not permitted"),
])
def test_bad_agentic_fields_name_the_file_task_and_field(tmp_path: Path, body: str,
                                                        message: str) -> None:
    folder = tmp_path / "tasks"
    (folder / "repo").mkdir(parents=True)
    (folder / "file.txt").write_text("x")
    (tmp_path / "elsewhere").mkdir()
    path = _write(folder, "- id: t1\n  prompt: fix it\n" + body)
    with pytest.raises(TaskFileError, match=message) as caught:
        load_tasks(path)
    text = str(caught.value)
    assert str(path) in text and "task 't1'" in text


def test_a_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = tmp_path / "tasks"
    folder.mkdir()
    (folder / "repo").symlink_to(outside)
    with pytest.raises(TaskFileError, match="outside the task file's folder"):
        load_tasks(_write(folder, "- id: t\n  prompt: p\n  workspace: repo\n"))


def test_the_sample_trial_tasks_load() -> None:
    tasks = load_tasks(Path(__file__).parents[2] / "data" / "workspaces" / "tasks.yaml")
    assert len(tasks) >= 6
    assert all(t.workspace is not None and t.workspace.is_dir() and t.check for t in tasks)
