from __future__ import annotations

import ast
import importlib.util
import subprocess
import time
from pathlib import Path

import pytest

from agentlab.scoring import _tools as toolcheck
from agentlab.scoring._code import (
    annotation_counts,
    any_count,
    extract_code_blocks,
    model_classes,
    python_blocks,
    run_mypy,
)
from agentlab.scoring._score import GradeContext, make_grader

CTX = GradeContext(task_id="t1", prompt="Write an endpoint")

GOOD = '''Here is the endpoint.

```python
from fastapi import Depends, FastAPI
from pydantic import BaseModel


class Item(BaseModel):
    name: str
    price: float


class PricedItem(Item):
    currency: str = "EUR"


app = FastAPI()


def get_store() -> dict[str, Item]:
    return {}


@app.get("/items/{name}")
async def read_item(name: str, store: dict[str, Item] = Depends(get_store)) -> Item:
    return store[name]
```

Run it with `uvicorn main:app`.
'''

WITH_ANY = '''```py
import typing as t
from typing import Any
from typing import Any as Whatever


def load(raw: Any, *args: t.Any, **kw: Whatever) -> "dict[str, Any]":
    return {}
```
'''

UNTYPED = '''```python
class Repo:
    def get(self, key, default=None):
        return default

    @classmethod
    def make(cls) -> "Repo":
        return cls()
```
'''

BROKEN = '''```python
def broken(:
    pass
```
'''

TYPE_ERROR = '''```python
def total(prices: list[float]) -> int:
    return sum(prices)
```
'''

needs_ruff = pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff missing")
needs_mypy = pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy missing")


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One cache for the module: mypy's incremental cache warms up once (~1.5 s).
    return tmp_path_factory.mktemp("mypy-cache")


def grade(spec: str | dict[str, object], text: str) -> tuple[float, str, bool]:
    g = make_grader(spec)(text, CTX)
    return g.score, g.reason, g.passed


def test_extract_blocks_tags_and_fences() -> None:
    text = ("```Python\nx = 1\n```\n\n~~~bash\nls -l\n~~~\n\n```\ny = 2\n```\n\n"
            "```\nnot python at all (\n```\n\n```json\n{}\n```")
    blocks = extract_code_blocks(text)
    assert [b.lang for b in blocks] == ["python", "bash", "", "", "json"]
    assert [b.index for b in python_blocks(text)] == [1, 3]
    assert python_blocks("no fences here") == []
    listed = "1. Add the model:\n\n   ```python\n   class A:\n       x: int\n   ```\n"
    assert python_blocks(listed)[0].code == "class A:\n    x: int\n"
    assert grade("code_parses", listed)[2]


def test_code_parses() -> None:
    assert grade("code_parses", GOOD) == (1.0, "1 block(s) parse", True)
    score, reason, passed = grade("code_parses", BROKEN)
    assert (score, passed) == (0.0, False)
    assert reason.startswith("block 1 line 1")
    assert grade("code_parses", GOOD + BROKEN)[0] == 0.5
    assert grade("code_parses", "Just prose, no code.") == (0.0, "no Python code block", False)


def test_annotation_counts_skip_self_and_cls() -> None:
    counts = annotation_counts(ast.parse(UNTYPED.split("\n", 1)[1].rsplit("```", 1)[0]))
    # get: key, default, return (self skipped); make: return (cls skipped)
    assert (counts.annotated, counts.total) == (1, 4)
    assert counts.missing == ("get:key", "get:default", "get:return")


def test_type_coverage() -> None:
    assert grade("type_coverage", GOOD)[0] == 1.0
    score, reason, passed = grade("type_coverage", UNTYPED)
    assert score == 0.25 and not passed and "missing get:key" in reason
    assert grade({"type": "type_coverage", "threshold": 0.2}, UNTYPED)[2] is True
    assert grade("type_coverage", "```python\nX = 1\n```")[:2] == (1.0, "no functions to annotate")
    assert grade("type_coverage", BROKEN)[:2] == (0.0, "no parseable Python code block")


def test_any_count_forms() -> None:
    code = WITH_ANY.split("\n", 1)[1].rsplit("```", 1)[0]
    # raw: Any, *args: t.Any, **kw: Whatever, and Any inside the string return annotation
    assert any_count(ast.parse(code)) == 4
    assert any_count(ast.parse("from typing import Any\nx: int = 1\n")) == 0


def test_no_any() -> None:
    assert grade("no_any", GOOD) == (1.0, "no Any", True)
    assert grade("no_any", WITH_ANY) == (0.0, "4 use(s) of Any", False)
    assert grade({"type": "no_any", "penalty": 0.1}, WITH_ANY)[0] == pytest.approx(0.6)
    assert grade("no_any", "no code")[1] == "no Python code block"


def test_pydantic_models() -> None:
    assert model_classes([ast.parse("class A(BaseModel): pass\nclass B(A): pass\n"
                                    "class C: pass\nclass D(pydantic.RootModel[int]): pass")]) \
        == ["A", "B", "D"]
    assert grade("pydantic_models", GOOD) == (1.0, "models: Item, PricedItem", True)
    assert grade({"type": "pydantic_models", "min_count": 4}, GOOD)[0] == 0.5
    assert grade("pydantic_models", TYPE_ERROR)[:2] == (0.0, "no BaseModel subclass")


@needs_ruff
def test_ruff_clean_and_findings() -> None:
    assert grade("ruff_clean", GOOD) == (1.0, "ruff: clean", True)
    messy = "```python\nimport os\nfrom typing import List\n\n\ndef f(x: List[int]) -> int:\n" \
            "    return x[0]\n```"
    score, reason, passed = grade("ruff_clean", messy)
    # F401 unused os; UP035 typing.List import; UP006 List[int] annotation
    assert not passed and score == pytest.approx(0.7)
    assert "[F401]" in reason
    assert grade({"type": "ruff_clean", "select": ["F"]}, messy)[0] == pytest.approx(0.9)
    assert grade("ruff_clean", "none")[1] == "no Python code block"


@needs_mypy
def test_mypy_strict_good_and_bad(mypy_cache: Path) -> None:
    spec = {"type": "mypy_strict", "cache_dir": str(mypy_cache)}
    assert grade(spec, GOOD) == (1.0, "mypy: clean", True)
    score, reason, passed = grade(spec, TYPE_ERROR)
    assert not passed and score == pytest.approx(0.8)
    assert "line 2" in reason and "[arg-type]" in reason  # sum() of floats is not an int
    score, reason, _ = grade(spec, UNTYPED)
    assert "[no-untyped-def]" in reason
    assert grade(spec, "prose only") == (0.0, "no Python code block", False)


@needs_mypy
def test_mypy_cache_memory_and_disk(mypy_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = "def half(x: int) -> float:\n    return x / 2\n"
    first = run_mypy(code, cache_dir=mypy_cache)
    assert first.failure is None and first.findings == ()
    assert len(list(mypy_cache.glob("*.json"))) >= 1

    def no_subprocess(*args: object, **kwargs: object) -> None:
        raise AssertionError("mypy ran again instead of using the cache")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    start = time.perf_counter()
    assert run_mypy(code, cache_dir=mypy_cache) == first  # in memory
    assert time.perf_counter() - start < 0.05
    monkeypatch.setattr(toolcheck, "_MEMORY", {})
    assert run_mypy(code, cache_dir=mypy_cache) == first  # from the JSON file on disk


@needs_mypy
def test_mypy_timeout_is_reported_not_cached(tmp_path: Path) -> None:
    report = run_mypy("x: int = 1\n", timeout=0.001, cache_dir=tmp_path)
    assert report.failure is not None and "timed out" in report.failure
    assert list(tmp_path.glob("*.json")) == []
    g = make_grader({"type": "mypy_strict", "timeout": 0.001, "cache_dir": str(tmp_path)})
    result = g("```python\ny: str = 'a'\n```", CTX)
    assert result.score == 0.0 and "timed out" in result.reason


@needs_mypy
@needs_ruff
def test_graders_never_execute_code(tmp_path: Path, mypy_cache: Path) -> None:
    sentinel = tmp_path / "executed"
    text = f"```python\nfrom pathlib import Path\nPath({str(sentinel)!r}).write_text('x')\n```"
    for spec in ("code_parses", "type_coverage", "no_any", "pydantic_models", "ruff_clean",
                 {"type": "mypy_strict", "cache_dir": str(mypy_cache)}):
        make_grader(spec)(text, CTX)
    assert not sentinel.exists()
