"""The results browser's view of an agentic trial: transcript, diff and check output.

:func:`trial_html` turns a trial record (the results column ``trial``, JSON) into an HTML
fragment for a response card: chips for the check before and after, the diff size and the
turns; the transcript with each tool call folded (its input and the head of its output);
the unified diff, coloured by line; and the check's output tail. Everything in a trial came
from a model or from commands it ran, so every piece of text is escaped here, and only the
fixed tags and classes of :mod:`agentlab.views._html`'s stylesheet are used.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentlab.agentic._check import CheckResult
    from agentlab.agentic._record import TrialRecord
    from agentlab.agentic._session import ToolCall

__all__ = ["trial_html"]

_STATUS_CLASS = {"ok": "", "error": "al-fail", "denied": "al-warnchip", "stopped": "al-warnchip",
                 "pending": "al-dim"}
_DIFF_LINES = 400  # lines of diff shown before "... more"


def _chip(text: str, kind: str = "") -> str:
    return f'<span class="al-chip {kind}">{html.escape(text)}</span>'


def _check_chip(label: str, check: CheckResult | None) -> str:
    if check is None:
        return _chip(f"{label}: no check", "al-dim")
    how = "timed out" if check.timed_out else f"exit {check.exit_code}"
    return _chip(f"{label}: {'pass' if check.passed else 'fail'} ({how})",
                 "al-pass" if check.passed else "al-fail")


def _chips(rec: TrialRecord) -> str:
    chips = [_check_chip("check before", rec.check_before),
             _check_chip("check after", rec.check_after),
             _chip(f"+{rec.diff.lines_added} -{rec.diff.lines_removed} in "
                   f"{len(rec.diff.files)} files"),
             _chip(f"{rec.num_turns} turns, {len(rec.calls)} tool calls")]
    if rec.outside_scope:
        chips.append(_chip(f"{len(rec.outside_scope)} outside scope", "al-warnchip"))
    if not rec.sandbox:
        chips.append(_chip("no sandbox", "al-fail"))
    return f'<div class="al-chips">{"".join(chips)}</div>'


def _call(call: ToolCall) -> str:
    who = " (subagent)" if call.parent else ""
    head = (f"{_chip(call.name, 'al-cap')} {_chip(call.status, _STATUS_CLASS.get(call.status, ''))}"
            f"{html.escape(who)} <code>{html.escape(call.summary)}</code>")
    args = json.dumps(dict(call.input), indent=1, ensure_ascii=False, default=str)
    body = (f'<div class="al-raw">{html.escape(args)}</div>'
            f'<div class="al-raw">{html.escape(call.output)}</div>')
    return f"<details><summary>{head}</summary>{body}</details>"


def _transcript(rec: TrialRecord) -> str:
    parts = []
    for step in rec.steps:
        if step.kind == "text":
            who = "subagent: " if step.parent else ""
            parts.append(f'<div class="al-dimtext">{html.escape(who + step.text)}</div>')
        elif 0 <= step.call < len(rec.calls):
            parts.append(_call(rec.calls[step.call]))
    inner = "".join(parts) or '<div class="al-dimtext">(no steps)</div>'
    return (f"<details><summary>transcript ({len(rec.calls)} tool calls)</summary>{inner}"
            "</details>")


def _diff_line(line: str) -> str:
    kind = ("al-dsum" if line.startswith(("--- ", "+++ ")) else "al-hunk" if line.startswith("@@")
            else "al-add" if line.startswith("+") else "al-del" if line.startswith("-") else "")
    return f'<div class="al-dl {kind}">{html.escape(line)}</div>'


def _diff(rec: TrialRecord) -> str:
    if not rec.diff.text:
        return '<div class="al-dimtext">(no change to the workspace)</div>'
    lines = rec.diff.text.splitlines()
    shown = "".join(_diff_line(ln) for ln in lines[:_DIFF_LINES])
    more = (f'<div class="al-dimtext">… {len(lines) - _DIFF_LINES} more lines</div>'
            if len(lines) > _DIFF_LINES else "")
    return (f'<details open><summary>diff</summary><div class="al-diff">{shown}{more}</div>'
            "</details>")


def _check_output(rec: TrialRecord) -> str:
    if rec.check_after is None:
        return ""
    return (f"<details><summary>check output: <code>{html.escape(rec.check or '')}</code>"
            f'</summary><div class="al-raw">{html.escape(rec.check_after.output)}</div>'
            "</details>")


def trial_html(record: str) -> str:
    """A trial's transcript (tool calls folded), diff and check output, all escaped.

    Args:
        record: The trial record's JSON (the ``trial`` column of a results table).

    Returns:
        An HTML fragment for a response card; empty for an empty record.
    """
    from agentlab.agentic._record import TrialRecord

    if not record:
        return ""
    try:
        rec = TrialRecord.from_json(record)
    except (ValueError, TypeError, KeyError):
        return '<div class="al-dimtext">(unreadable trial record)</div>'
    return (f'<div class="al-trial">{_chips(rec)}{_transcript(rec)}{_diff(rec)}'
            f"{_check_output(rec)}</div>")
