"""The sample workspaces: each check fails before the fix and passes after a reference fix.

The reference fixes are the ``Edit`` calls of ``data/workspaces/fake-script.json``, the
scripted turns the fake serves for offline trials. Applying them here proves each fixture is
solvable, that its tests measure the task (a fixture whose tests passed untouched would grade
nothing), and that the offline demo's trials really pass their checks.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agentlab.agentic._check import CheckLimits, run_check
from agentlab.agentic._workspace import copy_workspace
from agentlab.tasks import load_tasks
from agentlab.testing import ToolUse, load_script_file

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None,
                                reason="bubblewrap not installed (.ci/install-sandbox.sh)")

DATA = Path(__file__).parents[2] / "data" / "workspaces"
TASKS = {t.id: t for t in load_tasks(DATA / "tasks.yaml")}
SCRIPTS = load_script_file(DATA / "fake-script.json")


def _edits(task_id: str) -> list[ToolUse]:
    prompt = TASKS[task_id].prompt
    (script,) = [s for s in SCRIPTS if isinstance(s.match, str) and s.match in prompt]
    return [b for turn in script.turns for b in turn.blocks
            if isinstance(b, ToolUse) and b.name == "Edit"]


def test_every_sample_task_has_one_scripted_fix() -> None:
    assert len(TASKS) >= 6
    assert all(_edits(task_id) for task_id in TASKS)


@pytest.mark.parametrize("task_id", sorted(TASKS))
def test_check_fails_before_and_passes_after_the_fix(task_id: str, tmp_path: Path) -> None:
    task = TASKS[task_id]
    assert task.workspace is not None and task.check is not None
    copy = tmp_path / "workspace"
    copy_workspace(task.workspace, copy)
    limits = CheckLimits(timeout_s=60)
    before = run_check(task.check, copy, limits)
    assert not before.passed, before.output
    for edit in _edits(task_id):
        path = copy / str(edit.input["file_path"])
        text = path.read_text()
        old, new = str(edit.input["old_string"]), str(edit.input["new_string"])
        assert text.count(old) == 1, f"{task_id}: the fixture changed; update its fix"
        path.write_text(text.replace(old, new))
    # The tests alone (fast); mypy, slower, only where mypy is the point of the task.
    command = task.check if "mypy-error" in task_id else "python -m unittest -q"
    after = run_check(command, copy, limits)
    assert after.passed, after.output
    assert after.duration_s < 5 or "mypy" in command
