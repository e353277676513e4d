"""The three notebooks, executed end to end by the papermill CLI, as a user runs them.

The Anthropic runs go to a loopback :class:`~agentlab.testing.FakeAnthropic` (real SDK,
real HTTP, nothing leaves 127.0.0.1); one batch run uses the embedded local model to
prove the no-key path. The kernel is the interpreter running pytest: papermill is
started with ``sys.executable`` and Jupyter's user paths are moved to a temporary
folder, so the ``python3`` kernelspec found is this environment's own.
"""

from __future__ import annotations

import csv
import importlib.util
import itertools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentlab.testing._server import FakeAnthropic

pytest.importorskip("papermill")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
NAMES = ("01_prompt_playground.ipynb", "02_compare_variants.ipynb", "03_explore_results.ipynb")
# A distinctive key: the fake accepts any, and it must never appear in an output notebook.
KEY = "sk-ant-notebook-test-7f3c9e1d"
SEED = ROOT / "data" / "agents" / "python-pro-backend.md"
CONCISE = ROOT / "data" / "agents" / "python-pro-backend-concise.md"
TASK_IDS = ["orders-slow-query", "pagination-bug", "typed-settings"]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
CHARTS = {"quality_by_variant", "paired_differences", "heatmap", "length_by_variant",
          "quality_vs_length", "cost_latency"}


def varied_reply() -> Any:
    """Replies that differ by call (length, code or not), so scores and lengths vary."""
    counter = itertools.count()

    def reply(body: dict[str, Any]) -> str:
        n = next(counter)
        words = " ".join(["detail"] * (12 + 9 * (n % 4)))
        code = (f"```python\ndef page_size(limit: int) -> int:\n    return min(limit, {n})\n```"
                if n % 3 else "CREATE INDEX CONCURRENTLY ix_orders ON orders (created_at);")
        return f"Answer {n}: {words}\n\n{code}\n"

    return reply


def jupyter_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The environment for papermill and its kernel: isolated Jupyter dirs, no real key."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANTHROPIC_", "JUPYTER_", "JPY_"))}
    env.update(JUPYTER_DATA_DIR=str(tmp / "jupyter-data"),
               JUPYTER_CONFIG_DIR=str(tmp / "jupyter-config"),
               JUPYTER_RUNTIME_DIR=str(tmp / "jupyter-runtime"),
               PYDEVD_DISABLE_FILE_VALIDATION="1", **extra)
    return env


@dataclass(frozen=True)
class Executed:
    """An executed notebook: its path, parsed JSON and raw text."""

    path: Path
    nb: dict[str, Any]
    text: str

    def cell(self, cell_id: str) -> dict[str, Any]:
        return next(c for c in self.nb["cells"] if c.get("id") == cell_id)

    def outputs(self, cell_id: str) -> list[dict[str, Any]]:
        outputs: list[dict[str, Any]] = self.cell(cell_id)["outputs"]
        return outputs

    def shown(self, cell_id: str, mime: str = "text/plain") -> str:
        """Everything a cell displayed as ``mime`` (notebook JSON splits text into lines)."""
        parts = [o["data"][mime] for o in self.outputs(cell_id) if mime in o.get("data", {})]
        return "".join("".join(p) if isinstance(p, list) else p if isinstance(p, str)
                       else json.dumps(p) for p in parts)


def papermill(name: str, out: Path, params: dict[str, Any], env: dict[str, str], *,
              cwd: Path = ROOT, timeout: float = 240) -> Executed:
    """Run ``papermill <notebook> <out> -f params.yaml`` and check what it wrote."""
    params_file = out.with_suffix(".params.yaml")
    params_file.write_text(yaml.safe_dump(params), encoding="utf-8")
    cmd = [sys.executable, "-m", "papermill", str(NOTEBOOKS / name), str(out),
           "-f", str(params_file), "-k", "python3", "--cwd", str(cwd),
           "--execution-timeout", str(int(timeout)), "--no-progress-bar", "--log-level", "ERROR"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout + 60,
                          check=False)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stderr[-4000:]}"
    text = out.read_text(encoding="utf-8")
    executed = Executed(out, json.loads(text), text)
    errors = [o for c in executed.nb["cells"] for o in c.get("outputs", ())
              if o["output_type"] == "error"]
    assert errors == []
    assert KEY not in text
    return executed


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


# -- fixtures -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("notebooks")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(latency=0.01, reply=varied_reply()) as server:
        yield server


@pytest.fixture(scope="module")
def fake_env(workdir: Path, fake: FakeAnthropic) -> dict[str, str]:
    env = jupyter_env(workdir, ANTHROPIC_BASE_URL=fake.base_url, ANTHROPIC_API_KEY=KEY)
    specs = subprocess.run([sys.executable, "-m", "jupyter", "kernelspec", "list", "--json"],
                           env=env, capture_output=True, text=True, check=True, timeout=60)
    python3 = json.loads(specs.stdout)["kernelspecs"]["python3"]
    # The kernel must be this interpreter: its spec comes from this environment, and the
    # spec's "python" is replaced by the launching interpreter (sys.executable).
    assert Path(python3["resource_dir"]).resolve().is_relative_to(Path(sys.prefix).resolve())
    assert python3["spec"]["argv"][0] in ("python", "python3", sys.executable)
    return env


@pytest.fixture(scope="module")
def batch(workdir: Path, fake_env: dict[str, str], fake: FakeAnthropic) -> Executed:
    """02 run once against the fake: 2 variants × 3 tasks × 2 repeats."""
    params = {"agents": [str(SEED), str(CONCISE)], "tasks": [str(ROOT / "data/tasks/backend.yaml")],
              "task_ids": TASK_IDS, "repeats": 2, "provider": "anthropic", "max_tokens": 256,
              "output_dir": str(workdir / "report"), "db": str(workdir / "results.sqlite")}
    before = fake.request_count
    executed = papermill("02_compare_variants.ipynb", workdir / "02.ipynb", params, fake_env)
    assert fake.request_count - before == 12
    return executed


# -- the committed notebooks ----------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_is_clean_and_parameterised(name: str) -> None:
    nb = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert nb["metadata"]["kernelspec"]["name"] == "python3"  # no kernel dialog in JupyterLab
    assert "parameters" in code[0]["metadata"].get("tags", [])
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert "widgets" not in nb["metadata"]
    assert len({c["id"] for c in nb["cells"]}) == len(nb["cells"])


# -- executed against the loopback fake -------------------------------------------------


def test_compare_variants_writes_the_report(batch: Executed, workdir: Path) -> None:
    report = workdir / "report"
    assert {"summary.md", "summary.csv", "results.csv"} <= {p.name for p in report.iterdir()}
    assert {p.stem for p in report.glob("*.png")} == CHARTS
    rows = read_csv(report / "results.csv")
    assert len(rows) == 12
    assert {r["variant"] for r in rows} == {"python-pro-backend", "python-pro-backend-concise"}
    assert {r["task_id"] for r in rows} == set(TASK_IDS)
    assert all(r["provider"] == "anthropic" and not r["error"] and r["quality"] for r in rows)
    summary = (report / "summary.md").read_text(encoding="utf-8")
    assert "python-pro-backend-concise" in summary and "vs baseline" in summary


def test_compare_variants_shows_summary_and_every_chart(batch: Executed) -> None:
    assert batch.shown("baseline") == "'python-pro-backend'"
    compact = batch.shown("summary", "text/html")
    assert "python-pro-backend-concise" in compact and "vs baseline" in compact
    assert "diff_ci_low" in batch.shown("summary-full", "text/html")
    images = [o for o in batch.outputs("charts") if "image/png" in o.get("data", {})]
    assert len(images) == len(CHARTS)


def test_explore_results_reopens_the_latest_run(batch: Executed, workdir: Path,
                                                fake_env: dict[str, str]) -> None:
    run_id = batch.shown("run").split("'")[1]
    executed = papermill("03_explore_results.ipynb", workdir / "03.ipynb",
                         {"db": str(workdir / "results.sqlite")}, fake_env)
    assert run_id in executed.shown("open-run")
    pivot = executed.shown("per-task")
    assert all(task in pivot for task in TASK_IDS)
    assert "python-pro-backend-concise" in executed.shown("pass-at-k")
    assert "n_tasks" in executed.shown("sample-size-options")
    assert executed.shown("browser", WIDGET_VIEW)
    state = executed.nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]
    assert any(m["model_name"] == "DropdownModel" for m in state["state"].values())


def test_prompt_playground_builds_the_widget_from_the_notebooks_folder(
        workdir: Path, fake_env: dict[str, str]) -> None:
    # Started in notebooks/ as JupyterLab does: the default relative paths must resolve.
    agents = shutil.copytree(ROOT / "data" / "agents", workdir / "agents")  # saves land here
    executed = papermill("01_prompt_playground.ipynb", workdir / "01.ipynb",
                         {"db": str(workdir / "playground.sqlite"), "agents_dir": str(agents)},
                         fake_env, cwd=NOTEBOOKS)
    assert "python-pro-backend" in executed.shown("load-seed")
    assert executed.shown("load-tasks") == "14"
    assert executed.shown("playground", WIDGET_VIEW)
    state = executed.nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]
    models = state["state"].values()
    buttons = {m["state"].get("description") for m in models if m["model_name"] == "ButtonModel"}
    assert "Run" in buttons
    editors = [m["state"]["value"] for m in models if m["model_name"] == "TextareaModel"]
    assert any("Python Pro Backend Developer" in value for value in editors)


# -- the embedded local model: no key, no network ------------------------------------


@pytest.mark.local
def test_compare_variants_runs_offline_on_the_local_model(tmp_path: Path) -> None:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed (pip install -e '.[local]')")
    # The two shortest prompts and a short task keep two generations to a few seconds.
    params = {"agents": [str(CONCISE), str(ROOT / "data/agents/python-pro-backend-refactor.md")],
              "task_ids": ["login-rate-limit"], "repeats": 1, "max_tokens": 24,
              "output_dir": str(tmp_path / "report"), "db": str(tmp_path / "results.sqlite")}
    executed = papermill("02_compare_variants.ipynb", tmp_path / "02.ipynb", params,
                         jupyter_env(tmp_path), timeout=300)
    assert "'local'" in executed.shown("run")
    rows = read_csv(tmp_path / "report" / "results.csv")
    assert len(rows) == 2
    assert all(r["provider"] == "local" and not r["error"] and r["text"] for r in rows)
    assert all(int(r["output_tokens"]) <= 24 for r in rows)
    assert (tmp_path / "report" / "summary.md").is_file()
