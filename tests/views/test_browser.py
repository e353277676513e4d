"""The prompt playground in real JupyterLab, in headless Chromium, clicked like a user.

One JupyterLab server and one loopback :class:`~agentlab.testing.FakeAnthropic` serve the
module (the server's environment points every kernel at the fake); each test opens its own
temporary copy of ``notebooks/01_prompt_playground.ipynb`` (parameters pointed at temporary
paths), runs all cells, and then uses the widget as a person would:

- edit, Run, read the side-by-side answers, the scores and the charts (screenshots saved to
  ``$AGENTLAB_ARTIFACTS``, default ``out/artifacts``);
- delete a section, Save as a variant: the editor keeps the edit, the saved variant becomes
  the base, and the next Run sends the edited prompt under its new name;
- Stop a slow run: the partial run comes back, and another notebook cell executes while the
  run is going (the kernel is not blocked);
- double-click Run: one run.

Needs ``playwright`` (the Python package; its browsers are never downloaded) and a system
Chromium (``.ci/install-browser.sh``); skipped cleanly without either. Run with
``pytest -m browser``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agentlab.testing._server import FakeAnthropic, prompt_text

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "01_prompt_playground.ipynb"
CHROMIUM = os.environ.get("AGENTLAB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("AGENTLAB_ARTIFACTS", ROOT / "out" / "artifacts"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
KEY = "sk-ant-browser-test-0b5e2a"
EDIT = "Keep every answer under 120 words."
SECTION = "**Collaboration with Next.js:**"  # a section of the seed prompt the save test deletes
KERNEL_IDLE = """() => {
    const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = w && w.sessionContext && w.sessionContext.session
        && w.sessionContext.session.kernel;
    return !!kernel && kernel.status === 'idle';
}"""
# Adds a code cell at the end of the open notebook and runs it, as a user would.
RUN_NEW_CELL = """async (code) => {
    const nb = window.jupyterapp.shell.currentWidget.content;
    nb.model.sharedModel.insertCell(nb.model.cells.length, {cell_type: 'code', source: code});
    nb.activeCellIndex = nb.model.cells.length - 1;
    await window.jupyterapp.commands.execute('notebook:run-cell');
}"""
# The text a cell printed (from the notebook model, so off-screen cells count too).
CELL_TEXT = """(index) => {
    const nb = window.jupyterapp.shell.currentWidget.content;
    const cell = nb.model.cells.get(index < 0 ? nb.model.cells.length + index : index);
    return cell.outputs.toJSON().map(o => [].concat(o.text || '').join('')).join('');
}"""


def reply(body: dict[str, Any]) -> str:
    """A Markdown answer with code, shorter for the edited ("under 120 words") prompt."""
    brief = EDIT in prompt_text(body)
    words = " ".join(["Validate", "inputs", "and", "reuse", "the", "existing", "session."] *
                     (2 if brief else 8))
    return (f"**Plan** ({'brief' if brief else 'full'} answer): {words}\n\n"
            "```python\nasync def list_orders(status: OrderStatus, limit: int = 50) -> "
            "list[OrderOut]:\n    return await repo.orders(status=status, limit=limit)\n```\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_settings(settings: Path) -> None:
    """No kernel dialog, no news toast (see the notes on JupyterLab in Chromium)."""
    for plugin, values in {
        "@jupyterlab/notebook-extension/tracker": {"autoStartDefaultKernel": True},
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"},
    }.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")


def notebook_copy(folder: Path, **overrides: Any) -> Path:
    """The playground notebook with a parameters cell injected after its own, as papermill
    does, so it reads the repository's data and writes only into ``folder``."""
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    # The playground offers every variant in agents_dir and saves new ones there: a copy.
    shutil.copytree(ROOT / "data" / "agents", folder / "agents")
    params = {"seed_agent": str(ROOT / "data/agents/python-pro-backend.md"),
              "agents_dir": str(folder / "agents"),
              "tasks_file": str(ROOT / "data/tasks/backend.yaml"),
              "provider": "anthropic", "db": str(folder / "results.sqlite"), "max_tokens": 256,
              **overrides}
    index = next(i for i, c in enumerate(nb["cells"])
                 if "parameters" in c["metadata"].get("tags", []))
    nb["cells"].insert(index + 1, {
        "cell_type": "code", "execution_count": None, "id": "injected-parameters",
        "metadata": {"tags": ["injected-parameters"]}, "outputs": [],
        "source": "\n".join(f"{k} = {v!r}" for k, v in params.items())})
    path = folder / NOTEBOOK.name
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab: its address, its root folder, and the fake its kernels use."""

    url: str
    root: Path
    fake: FakeAnthropic


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"jupyter lab exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/status", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.25)
    pytest.fail(f"jupyter lab did not answer in {timeout:.0f}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}; run .ci/install-browser.sh")
    pytest.importorskip("playwright.sync_api")
    pytest.importorskip("jupyterlab")
    root = tmp_path_factory.mktemp("lab")
    home = root / "jupyter"
    write_settings(home / "settings")
    port = free_port()
    log = root / "jupyterlab.log"
    with FakeAnthropic(latency=0.05, reply=reply) as fake:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("ANTHROPIC_", "JUPYTER", "JPY_"))}
        # The kernel inherits the server's environment: that is how it finds the fake.
        env.update(ANTHROPIC_BASE_URL=fake.base_url, ANTHROPIC_API_KEY=KEY,
                   JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
                   JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
                   JUPYTER_RUNTIME_DIR=str(home / "runtime"),
                   JUPYTER_CONFIG_DIR=str(home / "config"),
                   JUPYTER_DATA_DIR=str(home / "data"))
        cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip", "127.0.0.1",
               "--port", str(port), "--ServerApp.token=", "--ServerApp.password=",
               "--ServerApp.disable_check_xsrf=True", "--allow-root",
               "--LabApp.expose_app_in_browser=True", f"--ServerApp.root_dir={root}"]
        with log.open("wb") as out:
            proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_ready(url, proc, log)
            yield Lab(url, root, fake)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@dataclass
class Session:
    """An open playground notebook: the page, its folder, and widget locators."""

    page: Any
    folder: Path
    lab: Lab

    @property
    def output(self) -> Any:
        return self.page.locator(".jp-OutputArea")

    def button(self, name: str) -> Any:
        """A widget button by its exact label (its icon is no part of the match)."""
        label = re.compile(rf"^\s*{re.escape(name)}\s*$")
        return self.output.locator("button.jupyter-button").filter(has_text=label)

    @property
    def editor(self) -> Any:
        return self.output.locator(".widget-textarea textarea")

    def status(self, text: str) -> Any:
        return self.output.locator(".al-msg", has_text=text)

    def run_cell(self, code: str, expect_text: str, timeout: float = 30) -> str:
        """Add a cell at the end, run it, and return what it printed."""
        self.page.evaluate(RUN_NEW_CELL, code)
        self.page.wait_for_function(f"() => ({CELL_TEXT})(-1).includes({expect_text!r})",
                                    timeout=timeout * 1000)
        return str(self.page.evaluate(CELL_TEXT, -1))

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        # The playground's own top first: JupyterLab scrolls inside its panel, so a page
        # screenshot shows only what is scrolled to.
        self.page.evaluate("() => document.querySelector('.jp-OutputArea .widget-vbox')"
                           ".scrollIntoView({block: 'start'})")
        self.page.wait_for_timeout(300)  # let the scrolled panel paint
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture
def open_playground(lab: Lab, tmp_path: Path) -> Iterator[Any]:
    """Open a fresh copy of the notebook (with ``overrides`` as parameters) and run it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)

        def opener(name: str, **overrides: Any) -> Session:
            folder = lab.root / name
            folder.mkdir()
            notebook_copy(folder, **overrides)
            page = browser.new_page(viewport={"width": 1400, "height": 2300})
            page.goto(f"{lab.url}/lab/tree/{name}/{NOTEBOOK.name}?reset")
            # The toolbar says "idle" before a kernel exists; wait for the kernel itself.
            page.wait_for_function(KERNEL_IDLE, timeout=90_000)
            page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            session = Session(page, folder, lab)
            session.editor.wait_for(timeout=120_000)  # imports, loading, building the widget
            return session

        try:
            yield opener
        finally:
            browser.close()
            # Each test's kernel would otherwise live on until the server stops.
            request = urllib.request.Request(f"{lab.url}/api/sessions")
            with urllib.request.urlopen(request, timeout=10) as response:
                sessions = json.loads(response.read())
            for s in sessions:
                urllib.request.urlopen(urllib.request.Request(
                    f"{lab.url}/api/sessions/{s['id']}", method="DELETE"), timeout=10).close()


def test_edit_run_and_read_the_results(open_playground: Any, lab: Lab) -> None:
    from playwright.sync_api import expect

    lab.fake.latency, before = 0.05, lab.fake.request_count
    pg = open_playground("run", repeats=2)
    assert "Python Pro Backend Developer" in pg.editor.input_value()
    expect(pg.output.locator(".widget-checkbox", has_text="orders-filter-endpoint")).to_be_visible()
    pg.editor.click()
    pg.editor.press("Control+End")
    pg.editor.press_sequentially(f"\n\n{EDIT}")
    expect(pg.output.locator(".al-diff").first).to_contain_text(EDIT, timeout=30_000)
    names = pg.output.locator("span.al-dimtext", has_text="Next Run compares")
    expect(names).to_contain_text("python-pro-backend-edited")
    pg.button("Run").click()
    expect(pg.status("complete")).to_be_visible(timeout=120_000)
    cards = pg.output.locator(".al-grid .al-group")
    expect(cards).to_have_count(6)  # 3 tasks × (base, edited), each folding its 2 repeats
    expect(pg.output.locator(".al-colhead", has_text="python-pro-backend-edited")).to_be_visible()
    expect(cards.nth(0)).to_contain_text("2 repeats")
    expect(pg.output.locator(".al-chip", has_text="contains: OrderStatus").first).to_be_visible()
    verdicts = pg.output.locator(".widget-dropdown", has_text="Show").locator("select")
    verdicts.select_option(label="variants disagree")
    # Both variants pass and fail the same checks here: no task where they disagree.
    expect(pg.output.locator(".al-rowhead")).to_have_text(["No task matches the filter."])
    verdicts.select_option(label="all tasks")
    expect(pg.output.locator(".al-rowhead")).to_have_count(3)
    assert "full answer" not in cards.nth(0).inner_text()  # the answers start folded
    cards.nth(0).locator("summary", has_text="show the").click()
    expect(cards.nth(0)).to_contain_text("full answer")
    cards.nth(1).locator("summary", has_text="show the").click()
    expect(cards.nth(1)).to_contain_text("brief answer")
    shot = pg.screenshot("playground.png")
    widget_shot = ARTIFACTS / "playground-widget.png"  # the widget alone, for docs/
    pg.output.locator(".widget-vbox").first.screenshot(path=str(widget_shot))

    pg.output.locator(".lm-TabBar-tab", has_text="Scores").click()
    table = pg.output.locator("table.al-table")
    expect(table).to_contain_text("python-pro-backend-edited")
    expect(table.locator("th", has_text="output tokens")).to_be_visible()
    pg.output.locator(".lm-TabBar-tab", has_text="Charts").click()
    figures = pg.output.locator("img.al-fig")
    expect(figures.first).to_be_visible(timeout=60_000)
    assert figures.count() >= 4
    figures.first.scroll_into_view_if_needed()
    charts_shot = ARTIFACTS / "playground-charts.png"
    pg.page.screenshot(path=str(charts_shot))
    assert lab.fake.request_count - before == 12  # the kernel reached the fake
    assert shot.stat().st_size > 20_000 and charts_shot.stat().st_size > 20_000


def test_save_keeps_the_edit_and_the_next_run_sends_it(open_playground: Any, lab: Lab) -> None:
    from playwright.sync_api import expect

    lab.fake.latency = 0.05
    pg = open_playground("save")
    original = pg.editor.input_value()
    start = original.index(SECTION)
    end = original.index("\n\n", start) + 2
    edited = original[:start] + original[end:]  # the whole section deleted
    pg.editor.fill(edited)
    expect(pg.output.locator(".al-diff").first).to_contain_text("lines", timeout=30_000)
    pg.output.locator("input[placeholder='new-variant-name']").fill("pro-no-protocol")
    pg.button("Save as variant").click()
    expect(pg.status("saved")).to_be_visible(timeout=30_000)
    pg.page.wait_for_timeout(1000)  # any echo of the base list from the browser has landed
    assert pg.editor.input_value() == edited  # the edit survived the save
    expect(pg.output.locator(".al-diff").first).to_contain_text("no changes")
    base = pg.output.locator(".widget-dropdown", has_text="Base").locator("select")
    assert base.evaluate("s => s.options[s.selectedIndex].text") == "pro-no-protocol"
    names = pg.output.locator("span.al-dimtext", has_text="Next Run compares")
    expect(names).to_contain_text("pro-no-protocol-edited")
    saved = (pg.folder / "agents" / "pro-no-protocol.md").read_text(encoding="utf-8")
    assert SECTION not in saved and "Python Pro Backend Developer" in saved

    before = len(lab.fake.bodies())
    pg.button("Run").click()
    expect(pg.status("complete")).to_be_visible(timeout=120_000)
    expect(pg.output.locator(".al-colhead", has_text="pro-no-protocol-edited")).to_be_visible()
    sent = {b["system"][0]["text"] for b in lab.fake.bodies()[before:]}
    assert sent == {edited.strip()}  # both variants now carry the edit; the base was not run
    pg.screenshot("playground-saved.png")


def test_stop_returns_a_partial_run_while_the_kernel_stays_free(open_playground: Any,
                                                                 lab: Lab) -> None:
    from playwright.sync_api import expect

    lab.fake.latency = 0.7
    pg = open_playground("stop", concurrency=1, repeats=2)  # 12 cells, one at a time: ~8 s
    pg.editor.click()
    pg.editor.press("Control+End")
    pg.editor.press_sequentially(f"\n\n{EDIT}")
    expect(pg.output.locator(".al-diff").first).to_contain_text(EDIT, timeout=30_000)
    pg.button("Run").click()
    expect(pg.output.locator(".al-card").first).to_be_visible(timeout=60_000)  # streaming
    # Another cell runs while the run goes: the kernel is not blocked.
    alive = pg.run_cell("print('alive', pg.handle.done, pg.handle.progress.done)", "alive")
    assert alive.startswith("alive False"), alive
    expect(pg.button("Running…")).to_be_disabled()
    pg.button("Stop").click()
    expect(pg.status("stopped:")).to_be_visible(timeout=30_000)
    message = pg.status("stopped:").inner_text()
    pg.screenshot("playground-stopped.png")
    report = pg.run_cell("run = pg.last_run; print('run', run.status, '|', len(run.results))",
                         "run ")
    status, saved = report.removeprefix("run ").strip().split(" | ")
    assert status.startswith("stopped: ") and status.endswith(" of 12 cells saved"), status
    assert 1 <= int(saved) < 12 and status == f"stopped: {saved} of 12 cells saved"
    assert message.startswith(status)
    expect(pg.button("Run")).to_be_enabled()
    expect(pg.output.locator(".widget-progress")).to_be_hidden()


def test_a_double_click_starts_one_run(open_playground: Any, lab: Lab) -> None:
    from playwright.sync_api import expect

    lab.fake.latency = 0.4
    pg = open_playground("double")
    pg.editor.click()
    pg.editor.press("Control+End")
    pg.editor.press_sequentially(f"\n\n{EDIT}")
    expect(pg.output.locator(".al-diff").first).to_contain_text(EDIT, timeout=30_000)
    before = lab.fake.request_count
    pg.button("Run").dblclick()
    expect(pg.status("complete")).to_be_visible(timeout=120_000)
    pg.page.wait_for_timeout(2000)  # a second, queued run would start now
    assert lab.fake.request_count - before == 6  # 3 tasks × 2 variants, sent once
    expect(pg.status("complete")).to_contain_text("sent 6 requests")
    runs = pg.run_cell("print('runs', len(al.list_runs(db)))", "runs")
    assert runs.strip() == "runs 1"
