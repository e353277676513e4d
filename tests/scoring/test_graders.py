from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest

from agentlab.errors import ConfigError
from agentlab.scoring import _code as codecheck
from agentlab.scoring import _registry as gradebase
from agentlab.scoring import _text as textcheck
from agentlab.scoring import _tools as toolcheck
from agentlab.scoring._score import (
    Grade,
    GradeContext,
    Grader,
    NamedGrader,
    default_code_graders,
    grade,
    grader_names,
    make_grader,
    register_grader,
    score_dataframe,
)

CTX = GradeContext(task_id="t1", prompt="p")
ANSWER = "Use `Depends(get_db)` with a Pydantic BaseModel.\n\nThat is all."


def run(spec: str | Mapping[str, Any], text: str = ANSWER) -> Grade:
    return make_grader(spec)(text, CTX)


def test_registry_has_all_types() -> None:
    assert set(grader_names()) >= {
        "contains", "not_contains", "regex", "word_count", "exact", "json_valid",
        "code_parses", "type_coverage", "no_any", "pydantic_models", "ruff_clean", "mypy_strict",
    }


# Each module imported first in a fresh package: an import cycle fails here, and so
# does a module that pulls pandas or numpy into `import agentlab`.
FRESH_IMPORTS = """
import importlib, sys
for name in sys.argv[1:]:
    for key in [k for k in sys.modules if k == "agentlab" or k.startswith("agentlab.")]:
        del sys.modules[key]
    importlib.import_module("agentlab." + name)
print(sorted({"pandas", "numpy", "scipy", "matplotlib"} & set(sys.modules)))
"""


def fresh_import(*modules: str) -> str:
    proc = subprocess.run([sys.executable, "-c", FRESH_IMPORTS, *modules], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_grader_modules_import_alone_without_cycles_or_heavy_deps() -> None:
    assert fresh_import("scoring._registry", "scoring._text", "scoring._tools", "scoring._code",
                        "scoring") == "[]"


def test_graders_re_exports_the_split_modules() -> None:
    import agentlab.scoring as graders

    for name in ("Grade", "GradeContext", "grader_names", "register_grader"):
        assert getattr(graders, name) is getattr(gradebase, name)
    for kind in ("contains", "not_contains", "regex", "word_count", "exact", "json_valid"):
        assert gradebase.grader_type(kind).factory is getattr(textcheck, kind)
    for name in ("Finding", "ToolReport", "run_mypy", "run_ruff", "default_cache_dir"):
        assert getattr(codecheck, name) is getattr(toolcheck, name)


def test_grade_clamps_and_thresholds() -> None:
    assert grade(1.7, "x") == Grade(1.0, "x", True)
    assert grade(-2, "x") == Grade(0.0, "x", False)
    assert grade(0.5, "x", threshold=0.5).passed


@pytest.mark.parametrize(
    ("spec", "score", "passed"),
    [
        ({"type": "contains", "value": ["BaseModel", "Depends"]}, 1.0, True),
        ({"type": "contains", "value": ["basemodel", "Depends"]}, 0.5, False),
        ({"type": "contains", "value": ["basemodel", "depends"], "case": False}, 1.0, True),
        ({"type": "contains", "value": ["Field", "Depends"], "mode": "any"}, 1.0, True),
        ({"type": "contains", "value": ["Field", "Annotated"], "mode": "any"}, 0.0, False),
        ({"type": "contains", "value": "Depends"}, 1.0, True),
        ({"type": "not_contains", "value": ["Any", "TODO"]}, 1.0, True),
        ({"type": "not_contains", "value": ["BaseModel", "TODO"]}, 0.5, False),
        ({"type": "not_contains", "value": ["BaseModel", "TODO"], "mode": "any"}, 1.0, True),
        ({"type": "not_contains", "value": "pydantic", "case": False}, 0.0, False),
    ],
)
def test_contains_family(spec: dict[str, Any], score: float, passed: bool) -> None:
    result = run(spec)
    assert (result.score, result.passed) == (score, passed)


def test_contains_reason_names_missing() -> None:
    assert run({"type": "contains", "value": ["Depends", "Field"]}).reason == "missing 'Field'"
    assert run({"type": "contains", "value": ["Field", "Depends"], "mode": "any"}).reason \
        == "found 'Depends'"


def test_regex_hit_miss_flags() -> None:
    hit = run({"type": "regex", "pattern": r"Depends\(\w+\)"})
    assert hit.passed and hit.reason == "matched 'Depends(get_db)'"
    assert not run({"type": "regex", "pattern": r"depends\("}).passed
    assert run({"type": "regex", "pattern": r"depends\(", "flags": "i"}).passed
    assert run({"type": "regex", "pattern": r"^That", "flags": "m"}).passed
    assert run({"type": "regex", "pattern": r"print\(", "must_match": False}).score == 1.0
    assert run({"type": "regex", "pattern": r"Depends", "must_match": False}).score == 0.0


def test_word_count_bounds() -> None:
    words = len(ANSWER.split())
    assert words == 9
    assert run({"type": "word_count", "min": 5, "max": 20}) == Grade(1.0, f"{words} words", True)
    low = run({"type": "word_count", "min": 18})
    assert low.score == pytest.approx(0.5) and not low.passed
    high = run({"type": "word_count", "max": 5})
    assert high.score == pytest.approx(5 / 9) and high.reason == "9 words, above 5"
    assert run({"type": "word_count", "max": 5, "threshold": 0.5}).passed


def test_exact() -> None:
    assert run({"type": "exact", "equals": "42"}, "  42\n").passed
    assert not run({"type": "exact", "equals": "42", "strip": False}, "  42\n").passed
    assert run({"type": "exact", "equals": "YES", "case": False}, "yes").passed
    assert not run({"type": "exact", "equals": "YES"}, "yes").passed


def test_json_valid() -> None:
    assert run("json_valid", '{"a": [1, 2]}').passed
    bad = run("json_valid", '{"a": [1, 2}')
    assert not bad.passed and bad.reason.startswith("invalid JSON")
    assert run("json_valid", 'Here:\n```json\n{"a": 1}\n```\n').reason == "1 valid JSON block(s)"
    assert not run("json_valid", 'Here:\n```json\n{"a": }\n```\n').passed
    assert not run({"type": "json_valid", "fenced": False}, '```json\n{"a": 1}\n```').passed


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "contans", "value": "x"}, "unknown grader type 'contans'; did you mean"),
        ({"value": "x"}, "has no 'type'"),
        ({"type": "contains", "vlaue": "x"}, "grader 'contains', field 'vlaue': unknown field; "
                                             "did you mean 'value'?"),
        ({"type": "contains"}, "grader 'contains', field 'value': required field is missing"),
        ({"type": "contains", "value": "x", "mode": "most"}, "field 'mode': Input should be"),
        ({"type": "contains", "value": []}, "field 'value': give at least one string"),
        ({"type": "contains", "value": "x", "weight": -1}, "field 'weight'"),
        ({"type": "regex", "pattern": "("}, "field 'pattern': invalid regular expression"),
        ({"type": "regex", "pattern": "a", "flags": "iq"}, "field 'flags': unknown flag(s) 'q'"),
        ({"type": "word_count"}, "give min, max or both"),
        ({"type": "word_count", "min": 10, "max": 5}, "field 'min'"),
        ({"type": "no_any", "penalty": 0}, "field 'penalty'"),
        ({"type": "code_parses", "strict": True}, "field 'strict': unknown field"),
    ],
)
def test_spec_errors_name_type_and_field(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_grader(spec)
    assert message in str(info.value)


def test_named_grader_fields() -> None:
    g = make_grader({"type": "contains", "value": "x", "name": "has_x", "weight": 2})
    assert (g.name, g.type, g.weight, g.threshold, g.slow) == ("has_x", "contains", 2.0, None,
                                                                False)
    assert make_grader("ruff_clean").slow
    # The key identifies what is computed, not how the result is named or weighted.
    assert make_grader({"type": "contains", "value": "x", "weight": 5}).key == g.key
    assert make_grader({"type": "contains", "value": "y"}).key != g.key


def test_register_custom_grader() -> None:
    @register_grader("test_mentions_prompt")
    def mentions_prompt(min_overlap: int = 1) -> Grader:
        def check(response: str, task: GradeContext) -> Grade:
            shared = set(task.prompt.split()) & set(response.split())
            return grade(min(1.0, len(shared) / min_overlap), f"{len(shared)} shared words")
        return check

    assert "test_mentions_prompt" in grader_names()
    g = make_grader({"type": "test_mentions_prompt", "min_overlap": 2})
    assert g("add an endpoint", GradeContext(prompt="an endpoint please")).passed
    with pytest.raises(ConfigError, match="field 'min_overlap'"):
        make_grader({"type": "test_mentions_prompt", "min_overlap": "lots"})


def test_register_rejects_reserved_parameter() -> None:
    def factory(weight: int) -> Grader:
        raise NotImplementedError

    with pytest.raises(ConfigError, match="reserved"):
        register_grader("test_reserved")(factory)


def test_default_code_graders_are_fresh_valid_specs() -> None:
    specs = default_code_graders()
    assert [s["type"] for s in specs] == ["code_parses", "type_coverage", "no_any", "ruff_clean"]
    specs.clear()
    assert len(default_code_graders()) == 4
    assert all(isinstance(make_grader(s), NamedGrader) for s in default_code_graders())


# -- score_dataframe ---------------------------------------------------------------------


@dataclass(frozen=True)
class FakeTask:
    id: str
    checks: tuple[Mapping[str, Any], ...]
    prompt: str = ""


def results(*rows: tuple[str, str, str | None]) -> pd.DataFrame:
    return pd.DataFrame({
        "variant": ["a"] * len(rows),
        "task_id": [r[0] for r in rows],
        "repeat": list(range(len(rows))),
        "text": [r[1] for r in rows],
        "error": [r[2] for r in rows],
    })


def test_score_dataframe_weights_passed_and_errors() -> None:
    tasks = {"t1": [{"type": "contains", "value": "alpha", "weight": 3},
                    {"type": "contains", "value": "beta", "name": "beta"}]}
    df = results(("t1", "alpha beta", None), ("t1", "alpha", None), ("t1", "", "rate_limit"))
    out = score_dataframe(df, tasks, defaults=())
    assert list(out["score_contains"][:2]) == [1.0, 1.0]
    assert list(out["score_beta"][:2]) == [1.0, 0.0]
    assert out["quality"][1] == pytest.approx(0.75)
    assert out["passed"].tolist()[:2] == [True, False]
    assert math.isnan(out["quality"][2]) and out["passed"].isna()[2]
    assert math.isnan(out["score_beta"][2])
    assert out["grade_reasons"][1] == "contains: all 1 found; beta: missing 'beta'"
    assert "quality" not in df.columns  # the input is not modified


def test_score_dataframe_tasks_as_objects_and_run_wide_graders() -> None:
    tasks = [FakeTask("t1", ({"type": "contains", "value": "x"},)),
             FakeTask("t2", ({"type": "contains", "value": "y"}, {"type": "contains",
                                                                 "value": "z"}))]
    seen: list[str] = []

    def short(response: str, task: GradeContext) -> bool:
        seen.append(task.task_id)
        return len(response) < 5

    df = results(("t1", "x", None), ("t2", "y z", None), ("t2", "y only", None))
    out = score_dataframe(df, tasks, graders=[short], defaults=())
    assert list(out["score_contains"]) == [1.0, 1.0, 1.0]
    assert list(out["score_contains_2"].isna()) == [True, False, False]  # only t2 has two
    assert list(out["score_short"]) == [1.0, 1.0, 0.0]
    assert sorted(seen) == ["t1", "t2", "t2"]


def test_score_dataframe_grades_each_distinct_pair_once() -> None:
    calls: list[str] = []
    lock = threading.Lock()

    def counted(response: str, task: GradeContext) -> float:
        with lock:
            calls.append(response)
        return 0.5

    df = results(*[("t1", "same answer", None)] * 6, ("t1", "other", None))
    out = score_dataframe(df, graders=[counted], defaults=())
    assert sorted(calls) == ["other", "same answer"]
    assert out["quality"].tolist() == [0.5] * 7
    assert not out["passed"].any()


def test_score_dataframe_uses_defaults_for_tasks_without_checks() -> None:
    df = results(("t1", "```python\ndef f(x: int) -> int:\n    return x\n```", None),
                 ("t9", "no code here", None))
    specs = [s for s in default_code_graders() if s["type"] != "ruff_clean"]
    out = score_dataframe(df, {"t1": []}, defaults=specs)
    assert out["quality"].tolist() == [1.0, 0.0]
    assert "no Python code block" in out["grade_reasons"][1]


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff missing")
def test_score_dataframe_default_code_graders_in_thread_pool() -> None:
    good = "```python\ndef f(x: int) -> int:\n    return x\n```"
    df = results(("t1", good, None), ("t1", good + "\n```python\nimport os\n```", None))
    out = score_dataframe(df, max_workers=2)
    assert {c for c in out.columns if c.startswith("score_")} == {
        "score_code_parses", "score_type_coverage", "score_no_any", "score_ruff_clean"}
    assert out["score_ruff_clean"].tolist() == [1.0, pytest.approx(0.9)]
    assert out["passed"].tolist() == [True, False]


def test_score_dataframe_replaces_old_scores_and_rejects_bad_specs() -> None:
    df = results(("t1", "x", None))
    df["score_old"] = [0.1]
    df["quality"] = [0.1]
    out = score_dataframe(df, graders=[{"type": "exact", "equals": "x"}], defaults=())
    assert "score_old" not in out.columns and out["quality"][0] == 1.0
    with pytest.raises(ConfigError, match="unknown grader type"):
        score_dataframe(df, {"t1": [{"type": "nope"}]})
