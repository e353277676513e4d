"""Playground and results browser, headless, against the loopback fake of the Messages API."""

from __future__ import annotations

import asyncio
import re
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import agentlab as al
from agentlab.providers.anthropic import AnthropicProvider
from agentlab.testing._server import FakeAnthropic
from agentlab.views import widgets
from agentlab.views._html import diff_html, is_safe_html, message_html, response_html, summary_html

BODY = "You are the base agent.\nAnswer the task."
XSS = ("Here: <script>alert(1)</script> and <img src=x onerror=alert(1)> "
       "and [x](javascript:alert(1)) and [y](JaVaScRiPt:alert(2)) "
       "[d](data:text/html;base64,PHNjcmlwdD4=) [v](vbscript:msgbox(1))\n\n"
       "```html\n<script>alert(3)</script>\n```\n")


class Tags(HTMLParser):
    """Collects the real tags and attributes of an HTML string."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def assert_inert(markup: str) -> None:
    """No live script, no event-handler attribute, no script-scheme link in ``markup``."""
    lowered = markup.lower()
    assert "<script" not in lowered
    assert not re.search(r"<[^>]*\bonerror\s*=", lowered)
    assert 'href="javascript:' not in lowered
    for tag, attrs in Tags(markup).tags:
        assert tag not in ("script", "img", "iframe", "svg", "object"), tag
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        href = attrs.get("href", "").strip().lower()
        assert not href.startswith(("javascript:", "data:", "vbscript:")), href


def reply(body: dict[str, Any]) -> str:
    system = body["system"][0]["text"]
    task = body["messages"][0]["content"]
    task = task if isinstance(task, str) else task[0]["text"]
    style = "BRIEF" if "brief" in system else "PLAIN"
    return f"{style} answer to {task.split()[-1]}: ok\n\n```python\nx: int = 1\n```"


def make_tasks() -> list[al.Task]:
    checks = ({"type": "contains", "value": ["BRIEF"]},)
    return [al.Task(id=f"t{i}", prompt=f"Solve task <b>{i}</b> number{i}", checks=checks)
            for i in range(4)]


def make_playground(fake: FakeAnthropic, tmp_path: Path, **kw: Any) -> widgets.Playground:
    base = al.Agent(name="base", description="A test agent.", body=BODY, model="sonnet")
    provider = AnthropicProvider(api_key="test", base_url=fake.base_url)
    return widgets.playground([base], make_tasks(), db=tmp_path / "r.sqlite", provider=provider,
                              agents_dir=tmp_path / "agents", **kw)


def run_and_wait(pg: widgets.Playground) -> al.Run | None:
    pg.run_button.click()
    return pg.wait(timeout=30)


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def pg(fake_api: FakeAnthropic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
       ) -> widgets.Playground:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    fake_api.reply = reply
    return make_playground(fake_api, tmp_path)


def test_layout_defaults_and_display(pg: widgets.Playground) -> None:
    assert pg.editor.value == BODY and pg.editor.rows == 25
    assert "cannot be empty" in pg.editor.placeholder
    assert "System prompt of <code>base-edited</code>" in pg.editor_label.value
    assert pg.task_select.value == ("t0", "t1", "t2")
    assert pg.model_text.placeholder == "default"
    assert not pg.judge_box.value and pg.judge_note.value == ""  # the judge is opt-in
    assert pg.stop_button.disabled and not pg.run_button.disabled
    bundle = pg._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == pg.widget.model_id
    assert "no changes" in pg.diff.value


def test_task_list_cuts_long_prompts_and_marks_the_chosen(fake_api: FakeAnthropic,
                                                          tmp_path: Path) -> None:
    long = "Refactor the order service so that " + "every repository call is typed " * 6
    tasks = [al.Task(id="short", prompt="Fix the bug."), al.Task(id="long", prompt=long)]
    picker = widgets.TaskPicker(tasks, ["long"])
    short_box, long_box = picker.boxes["short"], picker.boxes["long"]
    assert short_box.description == "short — Fix the bug." and "…" not in short_box.description
    assert long_box.description.endswith("…") and len(long_box.description) <= 88
    assert long_box.tooltip == f"long: {' '.join(long.split())}"  # the whole prompt
    assert long_box.style.background and not short_box.style.background
    assert "al-chosen" in long_box._dom_classes and "1 of 2 chosen" in picker.count.value
    picker.value = ("short",)
    assert picker.value == ("short",) and short_box.style.background
    assert not long_box.style.background and "al-chosen" not in long_box._dom_classes


def test_diff_follows_the_editor(pg: widgets.Playground) -> None:
    pg.editor.value = BODY.replace("Answer", "Briefly answer") + "\nBe brief. <script>x</script>"
    assert "Be brief." in pg.diff.value
    assert "<ins>Briefly answer</ins>" in pg.diff.value or "<ins>Briefly" in pg.diff.value
    assert ">+2</span>" in pg.diff.value and ">−1</span>" in pg.diff.value
    assert_inert(pg.diff.value)
    pg.reset_button.click()
    assert pg.editor.value == BODY and "no changes" in pg.diff.value


def test_run_shows_both_side_by_side_and_reuses_the_cache(
        pg: widgets.Playground, fake_api: FakeAnthropic) -> None:
    from matplotlib._pylab_helpers import Gcf

    pg.editor.value = BODY + "\nBe brief."
    run = run_and_wait(pg)
    assert run is not None and fake_api.request_count == 6, pg.message
    assert "sent 6 requests, 0 cells from cache" in pg.message
    assert pg.progress_row.layout.display == "none"  # hidden again once the run ended
    assert "6/6 cells" in pg.progress_text.value
    assert not pg.run_button.disabled and pg.stop_button.disabled
    html = pg.responses.value
    assert html.index(">base</b>") < html.index(">base-edited</b>")
    for i in range(3):  # one row per task, base's cell before the edited one
        row = html.index(f"<b>t{i}</b>")
        assert row < html.index(f"PLAIN answer to number{i}", row) < html.index(
            f"BRIEF answer to number{i}", row)
    assert "Solve task &lt;b&gt;0&lt;/b&gt;" in html  # prompts are escaped too
    assert "quality 1.00 pass" in html and "quality 0.00 fail" in html
    assert "contains: BRIEF 1.00" in html and "contains: BRIEF 0.00" in html  # readable checks
    assert "words" in html and "tokens" in html and '<pre><code class="language-python">' in html
    scores = pg.scores.value
    assert "quality" in scores and "base-edited" in scores
    for header in ("<th>output tokens</th>", "<th>cost ($)</th>", "<th>p</th>",
                   "<th>pass rate</th>"):
        assert header in scores
    assert "output_tokens" not in scores and "cost_usd" not in scores
    assert "data:image" not in pg.charts.value  # drawn only when the tab is opened
    pg.tabs.selected_index = 2
    assert pg.charts.value.count("data:image/png;base64,") >= 3
    pg.tabs.selected_index = 0
    assert Gcf.get_num_fig_managers() == 0  # no pyplot figures left behind
    assert pg.results is not None and set(pg.results["variant"]) == {"base", "base-edited"}
    runs = al.list_runs(pg.db)  # a default name, and the variants' names in the table
    assert runs["name"].tolist() == ["playground: base vs base-edited"]
    assert runs["variant_names"].tolist() == ["base, base-edited"]

    run_and_wait(pg)  # no edit: everything from the cache
    assert fake_api.request_count == 6
    assert "sent 0 requests, 6 cells from cache" in pg.message

    pg.editor.value = BODY + "\nBe brief and exact."
    run_and_wait(pg)  # only the edited variant's cells are new
    assert fake_api.request_count == 9
    assert "sent 3 requests, 3 cells from cache" in pg.message
    sent = [b["system"][0]["text"] for b in fake_api.bodies()[6:]]
    assert all(s.endswith("Be brief and exact.") for s in sent)


def test_repeats_fold_into_one_card_per_task_and_variant(
        pg: widgets.Playground, fake_api: FakeAnthropic) -> None:
    pg.task_select.value = ("t2", "t3")
    pg.repeats.value = 3
    pg.model_text.value = "opus"
    pg.editor.value = BODY + "\nBe brief."
    run = run_and_wait(pg)
    assert run is not None and len(run.results) == 12
    assert {b["model"] for b in fake_api.bodies()} == {"claude-opus-5-5"}
    html = pg.responses.value
    assert html.count('class="al-card al-group"') == 4  # 2 tasks × 2 variants, not 12 cards
    assert html.count("3 repeats") == 4 and html.count("show the 3 answers</summary>") == 4
    assert html.count("passed 3/3") == 2 and html.count("passed 0/3") == 2
    assert html.count('class="al-dot al-dot-pass"') == 6  # a square per repeat
    assert "repeat 3" in html  # the answers themselves, folded


def test_filters_by_task_and_verdict(fake_api: FakeAnthropic, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    fake_api.reply = reply
    tasks = [al.Task(id="split", prompt="a", checks=({"type": "contains", "value": "BRIEF"},)),
             al.Task(id="same", prompt="b", checks=({"type": "contains", "value": "answer"},))]
    base = al.Agent(name="base", description="A test agent.", body=BODY)
    pg = widgets.Playground([base], tasks, db=tmp_path / "r.sqlite",
                            provider=AnthropicProvider(api_key="test", base_url=fake_api.base_url))
    pg.editor.value = BODY + "\nBe brief."
    run_and_wait(pg)
    assert [v for _, v in pg.task_filter.options] == ["", "split", "same"]

    def rows() -> list[str]:
        return re.findall(r'class="al-rowhead"><b>([^<]+)</b>', pg.responses.value)

    assert rows() == ["split", "same"]
    pg.verdict_filter.value = "disagree"
    assert rows() == ["split"]
    pg.verdict_filter.value = "agree"
    assert rows() == ["same"]
    pg.verdict_filter.value = "errors"
    assert rows() == [] and "No task matches the filter." in pg.responses.value
    pg.verdict_filter.value, pg.task_filter.value = "all", "same"
    assert rows() == ["same"]


def test_the_run_goes_in_the_background_and_streams_in(
        pg: widgets.Playground, fake_api: FakeAnthropic) -> None:
    fake_api.latency = 0.25
    pg.concurrency = 1
    pg.editor.value = BODY + "\nBe brief."
    handle = pg.on_run()
    assert handle is not None and not handle.done  # on_run returned while the run goes
    assert pg.run_button.disabled and pg.run_button.description == "Running…"
    assert not pg.stop_button.disabled and pg.progress.layout.visibility == "visible"
    pg.editor.value = BODY + "\nBe brief. Typed during the run."  # the kernel is free
    assert "Typed during the run." in pg.diff.value
    wait_for(lambda: "PLAIN answer to number0" in pg.responses.value)
    assert not handle.done and "waiting for the answer…" in pg.responses.value
    assert "cells/s" in pg.progress_text.value
    run = pg.wait(timeout=30)
    assert run is not None and run.status == "complete"
    assert "waiting for the answer…" not in pg.responses.value
    sent = {b["system"][0]["text"] for b in fake_api.bodies()}
    assert not any("Typed during the run." in s for s in sent)  # the run kept its prompt


def test_stop_keeps_the_finished_cells(pg: widgets.Playground, fake_api: FakeAnthropic) -> None:
    fake_api.latency = 0.3
    pg.concurrency = 1
    pg.repeats.value = 2
    pg.editor.value = BODY + "\nBe brief."
    handle = pg.on_run()
    assert handle is not None
    wait_for(lambda: handle.progress.done >= 2)
    pg.stop_button.click()
    assert pg.stop_button.disabled and "stopping" in pg.message
    run = pg.wait(timeout=30)
    assert run is not None and pg.last_run is run
    saved = len(run.results)
    assert 2 <= saved < 12
    assert run.status == f"stopped: {saved} of 12 cells saved"
    assert pg.message.startswith(f"stopped: {saved} of 12 cells saved")
    assert pg.responses.value.count("answer to number") == saved
    assert "not run (stopped before it)" in pg.responses.value
    assert ("1 of 2 repeats" in pg.responses.value) == (saved % 2 == 1)
    assert not pg.run_button.disabled and pg.progress.layout.visibility == "hidden"
    fake_api.latency = 0.0
    again = run_and_wait(pg)  # Run again: the saved cells come from the cache
    assert again is not None and again.status == "complete"
    assert f"sent {12 - saved} requests, {saved} cells from cache" in pg.message


def test_a_double_click_starts_one_run(pg: widgets.Playground, fake_api: FakeAnthropic) -> None:
    fake_api.latency = 0.2
    pg.editor.value = BODY + "\nBe brief."
    pg.run_button.click()
    pg.run_button.click()  # while the first run goes: ignored
    assert pg.wait(timeout=30) is not None
    assert fake_api.request_count == 6 and len(al.list_runs(pg.db)) == 1


def test_run_inside_a_running_loop(pg: widgets.Playground, fake_api: FakeAnthropic) -> None:
    pg.editor.value = BODY + "\nBe brief."
    pg.task_select.value = ("t0",)

    async def notebook_cell() -> al.RunHandle | None:  # Jupyter runs handlers inside its loop
        return pg.on_run()

    handle = asyncio.run(notebook_cell())
    run = pg.wait(timeout=30)
    assert handle is not None and run is not None
    assert run.status == "complete" and fake_api.request_count == 2


def test_save_keeps_the_edit_and_makes_it_the_base(fake_api: FakeAnthropic,
                                                   tmp_path: Path) -> None:
    folder = tmp_path / "agents"
    body = "You are the base agent.\n\n## Style\nBe brief.\n\n## Extra\nMention tests."
    al.Agent(name="base", description="A test agent.", body=body).save(folder)
    al.Agent(name="base-alt", description="Another.", body="Other prompt.").save(folder)
    fake_api.reply = reply
    provider = AnthropicProvider(api_key="test", base_url=fake_api.base_url)
    pg = widgets.Playground(folder, make_tasks(), db=tmp_path / "r.sqlite", provider=provider,
                            agents_dir=folder, base="base")
    edited = "\n" + body.replace("\n\n## Extra\nMention tests.", "") + "\n\n"  # a section gone
    pg.editor.value = edited
    pg.save_name.value = "base-short"
    pg.save_button.click()
    path = folder / "base-short.md"
    assert path.exists(), pg.message
    loaded = al.load_agent(path)
    assert loaded.body == edited.strip() and loaded.description == "A test agent."
    assert pg.editor.value == edited  # the edit survives the save (it used to revert)
    assert pg.base_dropdown.value == "base-short" and "base-short" in pg.base_dropdown.options
    assert "no changes" in pg.diff.value and pg.save_name.value == ""
    assert "<b>base-short</b> (base) with <b>base-short-edited</b>" in pg.run_names.value
    assert "base-short" in pg.message and "now the base" in pg.message
    run = run_and_wait(pg)  # the saved prompt runs under its own name
    assert run is not None and [v.name for v in run.variants] == ["base-short",
                                                                  "base-short-edited"]
    assert {b["system"][0]["text"] for b in fake_api.bodies()} == {edited.strip()}
    pg.save_name.value = "base"
    assert pg.on_save() is None and "already exists" in pg.message  # no silent overwrite
    assert (folder / "base.md").read_text().count("Mention tests.") == 1
    pg.base_dropdown.value = "base-alt"  # a real change of base still loads its prompt
    assert pg.editor.value == "Other prompt."


@pytest.mark.parametrize(("name", "body", "expected"), [
    ("Bad Name!", BODY, "invalid variant name"),
    ("", BODY, "type a name"),
    ("ok-name", "   \n ", "cannot be empty"),
    ("base", BODY, "other than its base"),
])
def test_save_errors_are_one_line(pg: widgets.Playground, tmp_path: Path, name: str, body: str,
                                  expected: str) -> None:
    pg.editor.value, pg.save_name.value = body, name
    assert pg.on_save() is None
    assert expected in pg.message and "\n" not in pg.message
    assert "Traceback" not in pg.status.value and "al-error" in pg.status.value
    assert not (tmp_path / "agents").exists()


def test_library_errors_are_one_line(pg: widgets.Playground, fake_api: FakeAnthropic) -> None:
    pg.editor.value = "  "
    assert pg.on_run() is None and "cannot be empty" in pg.message
    pg.editor.value = BODY + "\nBe brief."
    pg.task_select.value = ()
    assert pg.on_run() is None and "select at least one task" in pg.message
    assert not pg.running and not pg.run_button.disabled
    pg.task_select.value = ("t0",)
    fake_api.add_rule("auth")
    assert run_and_wait(pg) is None
    assert "401" in pg.message and "\n" not in pg.message
    assert not pg.run_button.disabled and pg.run_button.description == "Run"
    pg.provider = "no-such-provider"
    assert run_and_wait(pg) is None and "unknown provider" in pg.message


def test_results_of_an_earlier_run_are_marked_stale_after_a_failure(
        pg: widgets.Playground, fake_api: FakeAnthropic) -> None:
    pg.editor.value = BODY + "\nBe brief."
    first = run_and_wait(pg)
    assert first is not None and pg.stale.layout.display == "none"
    pg.editor.value = BODY + "\nBe brief, really."
    fake_api.add_rule("auth")
    assert run_and_wait(pg) is None
    assert pg.stale.layout.display != "none"
    assert f"from the previous run ({first.id})" in pg.stale.value
    assert "BRIEF answer" in pg.responses.value  # still shown, but marked
    fake_api.clear_faults()
    assert run_and_wait(pg) is not None and pg.stale.layout.display == "none"


def test_llm_judge_is_opt_in_priced_first_and_refuses_offline(
        pg: widgets.Playground, fake_api: FakeAnthropic) -> None:
    pg.editor.value = BODY + "\nBe brief."
    pg.judge_box.value = True  # no key and no judge provider: the judge refuses
    assert "LLM judge" in pg.judge_note.value and "ANTHROPIC_API_KEY" in pg.judge_note.value
    assert pg.on_run() is None and "untick it to run without the judge" in pg.message
    assert fake_api.request_count == 0  # refused before anything was sent

    pg.judge_provider = AnthropicProvider(api_key="test", base_url=fake_api.base_url)
    pg.update_judge_note()
    note = pg.judge_note.value
    assert "6 calls to claude-opus" in note and "at most $" in note
    pg.task_select.value = ("t0",)
    assert "2 calls to claude-opus" in pg.judge_note.value  # follows the choices
    run = run_and_wait(pg)
    assert run is not None, pg.message
    judged = [b for b in fake_api.bodies() if b.get("tools")]
    assert len(judged) == 2 and judged[0]["tool_choice"]["name"] == "record_grade"
    assert pg.results is not None and pg.results["judge_score"].notna().all()
    assert "LLM judge (quality = (score − 1) / 4)" in pg.scores.value


def test_model_output_is_rendered_inert(pg: widgets.Playground, fake_api: FakeAnthropic) -> None:
    fake_api.reply = XSS
    pg.editor.value = BODY + "\nBe brief."
    pg.task_select.value = ("t0",)
    run_and_wait(pg)
    html = pg.responses.value
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown, as text
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in html  # fenced code, escaped
    assert_inert(html)
    browser = widgets.results_browser(pg.results)  # type: ignore[arg-type]
    assert "&lt;script&gt;" in browser.grid.value
    assert_inert(browser.grid.value)


@pytest.mark.parametrize("text", [
    XSS, "<svg onload=alert(1)>", '<a href="javascript:alert(1)">x</a>', "<javascript:alert(1)>",
    "[x](&#x6A;avascript:alert(1))", "[x](%6Aavascript:alert(1))", "[x](  javascript:alert(1))",
    "[x][r]\n\n[r]: javascript:alert(1)", "![x](javascript:alert(1))",
    "![t](https://tracker.example/p.png)", '```"><script>alert(1)</script>\nx\n```',
    "| a |\n|---|\n| <script>x</script> [y](javascript:1) |", "<!-- c --><style>*{}</style>",
    '[x](http://a "t\\" onmouseover=alert(1)")',
])
def test_response_html_neutralises(text: str) -> None:
    html = response_html(text)
    assert_inert(html)
    assert is_safe_html(html)
    assert "<img" not in html and "<style" not in html and "<!--" not in html


def test_response_html_keeps_markdown() -> None:
    html = response_html("# Title\n\n**bold** `a<b`\n\n- item\n\n[docs](https://example.com)"
                         "\n\n```python\nif a < b:\n    pass\n```")
    assert "<h1>Title</h1>" in html and "<strong>bold</strong>" in html
    assert "<code>a&lt;b</code>" in html and "<li>item</li>" in html
    assert '<a href="https://example.com" target="_blank"' in html
    assert '<pre><code class="language-python">if a &lt; b:' in html


@pytest.mark.parametrize("markup", [
    "<p><script>x</script></p>", '<p><a href="javascript:x">a</a></p>',
    '<p><a href="java\tscript:x">a</a></p>', '<p onclick="x">a</p>', "<img src=x>",
    '<code class="x y">a</code>', '<td style="background:url(x)">a</td>', "<!-- x -->",
])
def test_allowlist_rejects(markup: str) -> None:
    assert not is_safe_html(markup)


def test_diff_and_message_escape() -> None:
    assert "no changes" in diff_html("a\nb", "a\nb")
    out = diff_html("keep\n<b>old</b> line", "keep\n<b>new</b> line", from_name="<x>")
    assert "&lt;x&gt;" in out and "<b>" not in out
    assert "<del>old</del>" in out and "<ins>new</ins>" in out
    assert "&lt;script&gt;" in message_html("bad <script>\nline")
    table = pd.DataFrame({"n": [2], "quality": [0.5], "quality_ci_low": [0.25],
                          "quality_ci_high": [0.75], "verdict": ["<b>x</b>"]},
                         index=pd.Index(["<script>v</script>"], name="variant"))
    out = summary_html(table)
    assert "0.50 [0.25, 0.75]" in out and "&lt;b&gt;x" in out
    assert_inert(out)


def results_frame() -> pd.DataFrame:
    rows = []
    plan: dict[str, dict[str, list[tuple[bool, float] | None]]] = {
        # task -> variant -> [(passed, quality)] per repeat; None = error
        "agree": {"a": [(True, 1.0), (True, 0.9)], "b": [(True, 0.9), (True, 1.0)]},
        "pass-differs": {"a": [(True, 0.8), (True, 0.8)], "b": [(False, 0.7), (True, 0.8)]},
        "quality-gap": {"a": [(True, 1.0), (True, 1.0)], "b": [(True, 0.6), (True, 0.7)]},
        "errors": {"a": [(True, 1.0), (True, 1.0)], "b": [None, None]},
    }
    for task, per_variant in plan.items():
        for variant, cells in per_variant.items():
            for rep, cell in enumerate(cells):
                text = f"{variant} says <script>{task}</script> #{rep}" if cell else ""
                rows.append({"variant": variant, "task_id": task, "repeat": rep, "text": text,
                             "error": None if cell else "boom", "error_kind": None,
                             "words": len(text.split()), "output_tokens": 7,
                             "quality": cell[1] if cell else float("nan"),
                             "passed": cell[0] if cell else pd.NA,
                             "score_contains": cell[1] if cell else float("nan")})
    df = pd.DataFrame(rows)
    df["passed"] = df["passed"].astype("boolean")
    return df


def test_disagreement_rule() -> None:
    assert widgets.disagreements(results_frame()) == ["pass-differs", "quality-gap", "errors"]
    assert widgets.disagreements(results_frame(), quality_gap=0.5) == ["pass-differs", "errors"]


def test_results_browser_switches_and_filters() -> None:
    browser = widgets.ResultsBrowser(results_frame())
    assert browser.task_dropdown.value == "agree"
    grid = browser.grid.value
    assert grid.index(">a</b>") < grid.index(">b</b>")
    assert "a says &lt;script&gt;agree&lt;/script&gt; #0" in grid and "#1" in grid
    assert "repeat 2" in grid and "contains 1.00" in grid and "7 tokens" in grid
    assert_inert(grid)
    browser.show("errors")
    assert "error: boom" in browser.grid.value and "variants disagree" in browser.header.value
    browser.only_disagreements.value = True
    assert [v for _, v in browser.task_dropdown.options] == [
        "pass-differs", "quality-gap", "errors"]
    assert browser.task_dropdown.value == "pass-differs"
    assert "b says &lt;script&gt;pass-differs" in browser.grid.value
    browser.only_disagreements.value = False
    assert len(browser.task_dropdown.options) == 4


def test_results_browser_unscored_and_from_run(fake_api: FakeAnthropic, tmp_path: Path) -> None:
    plain = results_frame().drop(columns=["quality", "passed", "score_contains"])
    browser = widgets.results_browser(plain)
    assert browser.only_disagreements.disabled and "quality" not in browser.grid.value
    fake_api.reply = reply
    base = al.Agent(name="base", description="d", body=BODY)
    run = al.run([base, base.append("Be brief.", name="brief")], make_tasks()[:2],
                 provider=AnthropicProvider(api_key="test", base_url=fake_api.base_url),
                 db=tmp_path / "r.sqlite", progress=False)
    browser = widgets.results_browser(run)  # scored with the run's own tasks
    assert browser.disagreeing == ["t0", "t1"]
    assert "Solve task &lt;b&gt;0&lt;/b&gt;" in browser.header.value
    assert "quality 1.00 pass" in browser.grid.value


def test_playground_starts_from_the_base_the_others_extend(tmp_path: Path) -> None:
    folder = Path(__file__).resolve().parents[2] / "data" / "agents"
    tasks = [al.Task(id="t0", prompt="x")]
    default = widgets.Playground(folder, tasks, db=tmp_path / "r.sqlite")
    assert default.base.name == "python-pro-backend"
    chosen = widgets.Playground(folder, tasks, db=tmp_path / "r.sqlite",
                                base="python-pro-backend-concise")
    assert chosen.editor.value == chosen.base.body and chosen.base.name.endswith("concise")
    with pytest.raises(al.ConfigError, match="no variant named 'nope'"):
        widgets.Playground(folder, tasks, db=tmp_path / "r.sqlite", base="nope")


def test_check_labels_name_what_each_check_looks_for() -> None:
    from agentlab.scoring import check_labels

    labels = check_labels([
        {"type": "contains", "value": ["Depends(get_session)"], "weight": 2},
        {"type": "contains", "value": ["OrderStatus", "Enum"]},
        {"type": "regex", "pattern": r"CREATE\s+INDEX", "flags": "i"},
        {"type": "word_count", "max": 600},
        {"type": "regex", "pattern": "x", "name": "my_check"},
        "code_parses",
    ])
    assert labels == {"score_contains": "contains: Depends(get_session)",
                      "score_contains_2": "contains: OrderStatus, Enum",
                      "score_regex": r"regex: CREATE\s+INDEX",
                      "score_word_count": "word count: max 600",
                      "score_my_check": "my_check", "score_code_parses": "code parses"}
    assert set(check_labels([])) == {"score_code_parses", "score_type_coverage", "score_no_any",
                                     "score_ruff_clean"}  # the defaults, as scoring uses them


def test_preview_is_a_readable_subset_with_short_text() -> None:
    from agentlab.views import report

    df = results_frame().assign(text="word " * 40 + "\nsecond line", model="m", latency_s=1.0)
    shown = report.preview(df, rows=3, width=30)
    assert list(shown.columns) == ["variant", "task_id", "repeat", "quality", "passed", "words",
                                   "output_tokens", "error", "text"]
    assert len(shown) == 3 and all(len(t) == 30 and t.endswith("…") for t in shown["text"])
    assert "\n" not in "".join(shown["text"])
