"""The playground's task list: one checkbox per task, its label cut short, chosen rows shaded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentlab.tasks import Task

__all__ = ["TaskPicker"]

_SELECTED = "#dbeafe"


def _ellipsis(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class TaskPicker:
    """The playground's task list: one checkbox per task, chosen rows shaded.

    A label ends in an ellipsis when the prompt is long; the whole prompt is its tooltip.

    Args:
        tasks: The tasks offered, in suite order.
        selected: Ids of the tasks ticked at first.
    """

    def __init__(self, tasks: Sequence[Task], selected: Sequence[str]) -> None:
        import ipywidgets as w

        self.tasks = list(tasks)
        self.boxes = {t.id: w.Checkbox(value=t.id in selected, indent=False,
                                       description=_ellipsis(f"{t.id} — {t.prompt}", 88),
                                       tooltip=f"{t.id}: {' '.join(t.prompt.split())}",
                                       layout=w.Layout(width="100%", margin="0"))
                      for t in self.tasks}
        self.count = w.HTML()
        self.widget = w.VBox([self.count, w.VBox(list(self.boxes.values()), layout=w.Layout(
            max_height="14em", overflow="auto", border="1px solid #ccc", padding="2px 6px"))])
        for box in self.boxes.values():
            box.observe(lambda _: self._restyle(), names="value")
        self._restyle()

    @property
    def value(self) -> tuple[str, ...]:
        """Ids of the ticked tasks, in suite order."""
        return tuple(t.id for t in self.tasks if self.boxes[t.id].value)

    @value.setter
    def value(self, ids: Sequence[str]) -> None:
        chosen = set(ids)
        for task_id, box in self.boxes.items():
            box.value = task_id in chosen

    def observe(self, handler: Any) -> None:
        """Call ``handler(change)`` whenever a task is ticked or unticked."""
        for box in self.boxes.values():
            box.observe(handler, names="value")

    def _restyle(self) -> None:
        for box in self.boxes.values():
            box.style.background = _SELECTED if box.value else ""
            (box.add_class if box.value else box.remove_class)("al-chosen")
        self.count.value = (f"<b>Tasks</b> — {len(self.value)} of {len(self.tasks)} chosen "
                            "<span style='opacity:.7'>(hover a task for its whole prompt)</span>")
