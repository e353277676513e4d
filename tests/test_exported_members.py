"""The public API: ``__all__``, the lazy map and the type-checking imports agree."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import agentlab

INIT = Path(agentlab.__file__)
SUBPACKAGES = ["agentic", "agents", "providers", "runs", "scoring", "stats", "testing", "views"]


def _type_checking_names() -> set[str]:
    tree = ast.parse(INIT.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom):
                    names |= {a.asname or a.name for a in stmt.names}
    return names


def test_all_lazy_and_type_checking_agree() -> None:
    errors = {n for n in agentlab.__all__ if n.endswith("Error") or n.endswith("Errors")}
    lazy = set(agentlab._LAZY) | set(agentlab._SUBMODULES)
    assert set(agentlab.__all__) == lazy | errors | {"__version__"}
    assert _type_checking_names() == lazy
    assert agentlab.__all__ == sorted(agentlab.__all__)


@pytest.mark.parametrize("name", agentlab.__all__)
def test_every_exported_name_resolves(name: str) -> None:
    assert getattr(agentlab, name) is not None


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_subpackages_state_their_job_and_export_what_they_list(package: str) -> None:
    module = importlib.import_module(f"agentlab.{package}")
    assert module.__doc__ and len(module.__doc__.split()) > 20
    for name in getattr(module, "__all__", []):
        assert getattr(module, name) is not None, f"agentlab.{package}.{name}"


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        agentlab.nope  # noqa: B018


def test_import_stays_light() -> None:
    code = ("import sys, agentlab; heavy = {'pandas', 'matplotlib', 'anthropic', 'llama_cpp',"
            " 'ipywidgets', 'scipy', 'pydantic', 'claude_agent_sdk'};"
            " print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _is_module(parent: str, name: str) -> bool:
    return importlib.util.find_spec(f"{parent}.{name}") is not None


def test_no_module_imports_another_modules_private_names() -> None:
    """``from x import _helper`` across modules is the coupling the layout rules out.

    Private *modules* (``from agentlab.views import _html``) are the package's own
    structure; private *names* inside a module belong to that module alone.
    """
    offenders = []
    for path in Path(agentlab.__file__).parent.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and \
                    node.module.startswith("agentlab"):
                offenders += [f"{path.name}: {node.module}.{a.name}" for a in node.names
                              if a.name.startswith("_")
                              and not _is_module(node.module, a.name)]
    assert offenders == []


FRESH_IMPORTS = """
import importlib, sys
heavy = {"pandas", "numpy", "scipy", "matplotlib", "anthropic", "llama_cpp", "ipywidgets",
         "claude_agent_sdk"}
for name in sys.argv[1:]:
    for key in [k for k in sys.modules if k.split(".")[0] == "agentlab"]:
        del sys.modules[key]
    importlib.import_module(name)
    loaded = heavy & set(sys.modules)
    if loaded:
        print(name, sorted(loaded))
"""


def test_every_module_imports_first_without_cycles_or_heavy_dependencies() -> None:
    root = Path(agentlab.__file__).parent
    names = sorted(
        ".".join(("agentlab", *p.relative_to(root).with_suffix("").parts)).removesuffix(
            ".__init__") for p in root.rglob("*.py") if p.name != "__main__.py")
    proc = subprocess.run([sys.executable, "-c", FRESH_IMPORTS, *names], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout == ""
