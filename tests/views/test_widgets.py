"""Playground and results browser, headless, against the loopback fake of the Messages API."""

from __future__ import annotations

import asyncio
import re
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


@pytest.fixture
def pg(fake_api: FakeAnthropic, tmp_path: Path) -> widgets.Playground:
    fake_api.reply = reply
    return make_playground(fake_api, tmp_path)


def test_layout_defaults_and_display(pg: widgets.Playground) -> None:
    assert pg.editor.value == BODY and pg.editor.rows == 25
    assert pg.task_select.value == ("t0", "t1", "t2")
    assert pg.model_text.placeholder == "default"
    bundle = pg._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == pg.widget.model_id
    assert "no changes" in pg.diff.value


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
    pg.run_button.click()
    assert fake_api.request_count == 6, pg.message
    assert "sent 6 requests, 0 cells from cache" in pg.message
    assert (pg.progress.value, pg.progress.max) == (6, 6)
    assert pg.progress.layout.visibility == "visible"
    html = pg.responses.value
    assert html.index(">base</b>") < html.index(">base-edited</b>")
    for i in range(3):  # one row per task, base's cell before the edited one
        row = html.index(f"<b>t{i}</b>")
        assert row < html.index(f"PLAIN answer to number{i}", row) < html.index(
            f"BRIEF answer to number{i}", row)
    assert "Solve task &lt;b&gt;0&lt;/b&gt;" in html  # prompts are escaped too
    assert "quality 1.00 pass" in html and "quality 0.00 fail" in html
    assert "words" in html and "tokens" in html and '<pre><code class="language-python">' in html
    assert "quality" in pg.scores.value and "base-edited" in pg.scores.value
    assert "data:image" not in pg.charts.value  # drawn only when the tab is opened
    pg.tabs.selected_index = 2
    assert pg.charts.value.count("data:image/png;base64,") >= 3
    pg.tabs.selected_index = 0
    assert Gcf.get_num_fig_managers() == 0  # no pyplot figures left behind
    assert pg.results is not None and set(pg.results["variant"]) == {"base", "base-edited"}

    pg.on_run()  # no edit: everything from the cache
    assert fake_api.request_count == 6
    assert "sent 0 requests, 6 cells from cache" in pg.message

    pg.editor.value = BODY + "\nBe brief and exact."
    pg.on_run()  # only the edited variant's cells are new
    assert fake_api.request_count == 9
    assert "sent 3 requests, 3 cells from cache" in pg.message
    sent = [b["system"][0]["text"] for b in fake_api.bodies()[6:]]
    assert all(s.endswith("Be brief and exact.") for s in sent)


def test_repeats_and_model_are_passed(pg: widgets.Playground, fake_api: FakeAnthropic) -> None:
    pg.task_select.value = ("t3",)
    pg.repeats.value = 2
    pg.model_text.value = "opus"
    pg.editor.value = BODY + "\nBe brief."
    run = pg.on_run()
    assert run is not None and len(run.results) == 4
    assert {b["model"] for b in fake_api.bodies()} == {"claude-opus-5-5"}
    assert "repeat 2" in pg.responses.value


def test_run_inside_a_running_loop(pg: widgets.Playground, fake_api: FakeAnthropic) -> None:
    pg.editor.value = BODY + "\nBe brief."
    pg.task_select.value = ("t0",)

    async def notebook_cell() -> al.Run | None:  # Jupyter runs handlers inside its loop
        return pg.on_run()

    run = asyncio.run(notebook_cell())
    assert run is not None and run.status == "complete" and fake_api.request_count == 2


def test_save_as_variant_writes_a_loadable_file(fake_api: FakeAnthropic, tmp_path: Path) -> None:
    folder = tmp_path / "agents"
    al.Agent(name="base", description="A test agent.", body=BODY).save(folder)
    provider = AnthropicProvider(api_key="test", base_url=fake_api.base_url)
    pg = widgets.Playground(folder, make_tasks(), db=tmp_path / "r.sqlite", provider=provider,
                            agents_dir=folder)
    pg.editor.value = "\n" + BODY + "\nBe brief.\n\n"
    pg.save_name.value = "base-brief"
    pg.save_button.click()
    path = folder / "base-brief.md"
    assert path.exists(), pg.message
    loaded = al.load_agent(path)
    assert loaded.body == BODY + "\nBe brief." and loaded.description == "A test agent."
    assert "base-brief" in pg.base_dropdown.options and pg.base_dropdown.value == "base"
    assert pg.editor.value == "\n" + BODY + "\nBe brief.\n\n"  # the edit survives the save
    assert pg.on_save() is None and "already exists" in pg.message  # no silent overwrite


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
    pg.task_select.value = ("t0",)
    fake_api.add_rule("auth")
    assert pg.on_run() is None
    assert "401" in pg.message and "\n" not in pg.message
    assert not pg.run_button.disabled and pg.run_button.description == "Run"
    pg.provider = "no-such-provider"
    assert pg.on_run() is None and "unknown provider" in pg.message


def test_model_output_is_rendered_inert(pg: widgets.Playground, fake_api: FakeAnthropic) -> None:
    fake_api.reply = XSS
    pg.editor.value = BODY + "\nBe brief."
    pg.task_select.value = ("t0",)
    pg.on_run()
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
    plan = {  # task -> variant -> [(passed, quality)] per repeat; None = error
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
