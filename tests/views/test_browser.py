"""The prompt playground in real JupyterLab, in headless Chromium, clicked like a user.

Opens a temporary copy of ``notebooks/01_prompt_playground.ipynb`` (parameters pointed
at temporary paths; the server's environment points the kernel at a loopback
:class:`~agentlab.testing.FakeAnthropic`), runs all cells, edits the prompt, clicks
Run, waits for the side-by-side responses and saves a screenshot to
``$AGENTLAB_ARTIFACTS`` (default ``out/artifacts``) as ``playground.png``.

Needs ``playwright`` (the Python package; its browsers are never downloaded) and a
system Chromium (``.ci/install-browser.sh``); skipped cleanly without either. Run with
``pytest -m browser``.
"""

from __future__ import annotations

import json
import os
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
KERNEL_IDLE = """() => {
    const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = w && w.sessionContext && w.sessionContext.session
        && w.sessionContext.session.kernel;
    return !!kernel && kernel.status === 'idle';
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


def notebook_copy(folder: Path) -> Path:
    """The playground notebook with a parameters cell injected after its own, as papermill
    does, so it reads the repository's data and writes only into ``folder``."""
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    # The playground offers every variant in agents_dir and saves new ones there: a copy.
    shutil.copytree(ROOT / "data" / "agents", folder / "agents")
    params = {"seed_agent": str(ROOT / "data/agents/python-pro-backend.md"),
              "agents_dir": str(folder / "agents"),
              "tasks_file": str(ROOT / "data/tasks/backend.yaml"),
              "provider": "anthropic", "db": str(folder / "results.sqlite"), "max_tokens": 256}
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
    """A running JupyterLab: where to open the notebook, and its log."""

    url: str
    log: Path
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


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}; run .ci/install-browser.sh")
    pytest.importorskip("playwright.sync_api")
    pytest.importorskip("jupyterlab")
    notebook = notebook_copy(tmp_path)
    home = tmp_path / "jupyter"
    write_settings(home / "settings")
    port = free_port()
    log = tmp_path / "jupyterlab.log"
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
               "--LabApp.expose_app_in_browser=True", f"--ServerApp.root_dir={tmp_path}"]
        with log.open("wb") as out:
            proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_ready(url, proc, log)
            yield Lab(f"{url}/lab/tree/{notebook.name}?reset", log, fake)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_playground_runs_base_vs_edited_in_jupyterlab(lab: Lab) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot, charts_shot = ARTIFACTS / "playground.png", ARTIFACTS / "playground-charts.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2300})
            page.goto(lab.url)
            # The toolbar says "idle" before a kernel exists; wait for the kernel itself.
            page.wait_for_function(KERNEL_IDLE, timeout=90_000)
            page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            output = page.locator(".jp-OutputArea")
            editor = output.locator(".widget-textarea textarea")
            run = output.locator("button.jupyter-button", has_text="Run").first
            editor.wait_for(timeout=120_000)  # imports, loading, building the widget
            assert "Python Pro Backend Developer" in editor.input_value()
            expect(run).to_be_visible()

            editor.click()
            editor.press("Control+End")
            editor.press_sequentially(f"\n\n{EDIT}")
            expect(output.locator(".al-diff").first).to_contain_text(EDIT, timeout=30_000)
            run.click()
            status = output.locator(".al-msg", has_text="complete")
            expect(status).to_be_visible(timeout=180_000)
            cards = output.locator(".al-grid .al-card")
            expect(cards).to_have_count(6)  # 3 tasks × (base, edited)
            expect(output.locator(".al-colhead", has_text="python-pro-backend-edited")) \
                .to_be_visible()
            assert "brief answer" in cards.nth(1).inner_text()
            assert "full answer" in cards.nth(0).inner_text()
            # The playground's own top (Base, Model, Tasks) first: JupyterLab scrolls
            # inside its panel, so a page screenshot shows only what is scrolled to.
            page.evaluate("() => document.querySelector('.jp-OutputArea .widget-vbox')"
                          ".scrollIntoView({block: 'start'})")
            page.wait_for_timeout(300)  # let the scrolled panel paint
            page.screenshot(path=str(shot))

            output.locator(".lm-TabBar-tab", has_text="Scores").click()
            expect(output.locator("table.al-table")).to_contain_text("python-pro-backend-edited")
            output.locator(".lm-TabBar-tab", has_text="Charts").click()
            figures = output.locator("img.al-fig")
            expect(figures.first).to_be_visible()
            assert figures.count() >= 4
            figures.first.scroll_into_view_if_needed()
            page.screenshot(path=str(charts_shot))
        finally:
            browser.close()
    assert lab.fake.request_count == 6  # the kernel reached the fake: 3 tasks × 2 variants
    assert shot.stat().st_size > 20_000 and charts_shot.stat().st_size > 20_000
    print(f"screenshots: {shot} {charts_shot}")
