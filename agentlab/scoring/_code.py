"""Code-answer graders: read the Python in a response, never run it.

Python blocks are fenced blocks tagged ``python``/``py`` (kept even when they do
not parse, so ``code_parses`` can fail them) and untagged fenced blocks that parse
as Python. The AST graders look at each parsed block; ``ruff_clean`` and
``mypy_strict`` run the tools (through :mod:`agentlab.scoring._tools`, whose names are
re-exported here) on the parseable blocks joined into one module (so a later block
may use names from an earlier one). The tools only read the text: nothing the
model wrote is imported or executed.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass

from agentlab._fences import CodeBlock, extract_code_blocks
from agentlab.scoring._registry import (
    Grade,
    GradeContext,
    Grader,
    grade,
    register_grader,
    spec_error,
)
from agentlab.scoring._tools import (
    DEFAULT_MYPY_FLAGS,
    DEFAULT_RUFF_IGNORE,
    DEFAULT_RUFF_SELECT,
    Finding,
    ToolReport,
    default_cache_dir,
    run_mypy,
    run_ruff,
)

__all__ = [
    "DEFAULT_MYPY_FLAGS", "DEFAULT_RUFF_IGNORE", "DEFAULT_RUFF_SELECT", "AnnotationCounts",
    "CodeBlock", "Finding", "ToolReport", "annotation_counts", "any_count", "default_cache_dir",
    "extract_code_blocks", "model_classes", "python_blocks", "run_mypy", "run_ruff",
]

_PYTHON_TAGS = frozenset({"python", "py", "python3", "py3"})
NO_CODE = "no Python code block"


def _parse(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError):  # ValueError: null bytes in the source
        return None


def python_blocks(text: str) -> list[CodeBlock]:
    """The Python blocks of a response: tagged ones, and untagged ones that parse.

    Args:
        text: A response.

    Returns:
        The blocks, in order.
    """
    return [
        b for b in extract_code_blocks(text)
        if b.lang in _PYTHON_TAGS or (b.lang == "" and b.code.strip() and _parse(b.code))
    ]


def _trees(response: str) -> list[ast.Module] | Grade:
    """The parsed Python blocks, or a zero grade saying why there are none."""
    blocks = python_blocks(response)
    if not blocks:
        return grade(0.0, NO_CODE)
    trees = [t for t in (_parse(b.code) for b in blocks) if t is not None]
    return trees or grade(0.0, "no parseable Python code block")


# -- AST graders -------------------------------------------------------------------


@register_grader("code_parses", label="code parses")
def code_parses() -> Grader:
    """Check that every Python block parses (score: the fraction that do).

    Returns:
        The grader.
    """

    def check(response: str, task: GradeContext) -> Grade:
        blocks = python_blocks(response)
        if not blocks:
            return grade(0.0, NO_CODE)
        failures = []
        for b in blocks:
            try:
                ast.parse(b.code)
            except SyntaxError as exc:
                failures.append(f"block {b.index} line {exc.lineno}: {exc.msg}")
            except ValueError as exc:
                failures.append(f"block {b.index}: {exc}")
        ok = len(blocks) - len(failures)
        reason = failures[0] if failures else f"{ok} block(s) parse"
        return grade(ok / len(blocks), reason)

    return check


@dataclass(frozen=True)
class AnnotationCounts:
    """How many annotation slots (parameters and returns) are filled.

    Attributes:
        annotated: Filled slots.
        total: All slots.
        missing: ``function:parameter`` (or ``function:return``) of unfilled slots.
    """

    annotated: int
    total: int
    missing: tuple[str, ...]


def annotation_counts(tree: ast.AST) -> AnnotationCounts:
    """Count annotated parameters and returns of every function in ``tree``.

    ``self``/``cls`` as a first parameter is not counted; ``*args``/``**kwargs`` are.

    Args:
        tree: A parsed module.

    Returns:
        The counts.
    """
    annotated, total, missing = 0, 0, []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        a = node.args
        params = [*a.posonlyargs, *a.args]
        if params and params[0].arg in ("self", "cls", "mcs"):
            params = params[1:]
        params += [*a.kwonlyargs, *(p for p in (a.vararg, a.kwarg) if p is not None)]
        slots = [(p.arg, p.annotation) for p in params] + [("return", node.returns)]
        for label, ann in slots:
            total += 1
            if ann is None:
                missing.append(f"{node.name}:{label}")
            else:
                annotated += 1
    return AnnotationCounts(annotated, total, tuple(missing))


@register_grader("type_coverage", label="type coverage")
def type_coverage() -> Grader:
    """Score the fraction of parameters and returns that are annotated.

    Passes at full coverage by default (set ``threshold`` to relax). Code without
    functions scores 1.

    Returns:
        The grader.
    """

    def check(response: str, task: GradeContext) -> Grade:
        trees = _trees(response)
        if isinstance(trees, Grade):
            return trees
        counts = [annotation_counts(t) for t in trees]
        done, total = sum(c.annotated for c in counts), sum(c.total for c in counts)
        if total == 0:
            return grade(1.0, "no functions to annotate")
        missing = [m for c in counts for m in c.missing]
        reason = f"{done}/{total} annotated" + (f"; missing {', '.join(missing[:3])}"
                                                 if missing else "")
        return grade(done / total, reason)

    return check


_TYPING_MODULES = frozenset({"typing", "typing_extensions"})


def any_count(tree: ast.AST) -> int:
    """Count uses of ``typing.Any`` (bare, aliased, qualified, or in string annotations).

    Args:
        tree: A parsed module.

    Returns:
        The number of uses (the import itself is not counted).
    """
    names, modules = {"Any"}, set(_TYPING_MODULES)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in _TYPING_MODULES:
            names |= {a.asname for a in node.names if a.name == "Any" and a.asname}
        elif isinstance(node, ast.Import):
            modules |= {a.asname for a in node.names if a.name in _TYPING_MODULES and a.asname}
    return _count_any(tree, names, modules)


def _annotation(node: ast.AST) -> ast.expr | None:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return node.returns
    return node.annotation if isinstance(node, ast.arg | ast.AnnAssign) else None


def _count_any(tree: ast.AST, names: set[str], modules: set[str]) -> int:
    count = 0
    for node in ast.walk(tree):
        bare = isinstance(node, ast.Name) and node.id in names
        qualified = (isinstance(node, ast.Attribute) and node.attr == "Any"
                     and isinstance(node.value, ast.Name) and node.value.id in modules)
        count += bare or qualified
        ann = _annotation(node)
        if isinstance(ann, ast.Constant) and isinstance(ann.value, str):  # "dict[str, Any]"
            inner = _parse_expr(ann.value)
            count += _count_any(inner, names, modules) if inner else 0
    return count


def _parse_expr(text: str) -> ast.Expression | None:
    try:
        return ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):
        return None


@register_grader("no_any", label="no Any")
def no_any(penalty: float = 0.25) -> Grader:
    """Score 1 when the code never uses ``Any``, less for each use.

    Args:
        penalty: Score lost per use (``1 - penalty * uses``, floored at 0).

    Returns:
        The grader.

    Raises:
        ConfigError: ``penalty`` outside (0, 1].
    """
    _check_penalty("no_any", penalty)

    def check(response: str, task: GradeContext) -> Grade:
        trees = _trees(response)
        if isinstance(trees, Grade):
            return trees
        uses = sum(any_count(t) for t in trees)
        return grade(1 - penalty * uses, f"{uses} use(s) of Any" if uses else "no Any")

    return check


_MODEL_BASES = frozenset({"BaseModel", "RootModel", "SQLModel"})


def _base_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Subscript):  # RootModel[list[int]], generic models
        node = node.value
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def model_classes(trees: Sequence[ast.AST]) -> list[str]:
    """Names of classes deriving (directly or through each other) from a pydantic model.

    Args:
        trees: Parsed modules, searched together.

    Returns:
        The class names, in no particular order.
    """
    classes = [n for t in trees for n in ast.walk(t) if isinstance(n, ast.ClassDef)]
    models: set[str] = set()
    grew = True
    while grew:  # a fixpoint, so `class B(A)` counts once A is known to be a model
        grew = False
        for c in classes:
            bases = {_base_name(b) for b in c.bases}
            if c.name not in models and bases & (_MODEL_BASES | models):
                models.add(c.name)
                grew = True
    return sorted(models)


@register_grader("pydantic_models", label="pydantic models")
def pydantic_models(min_count: int = 1) -> Grader:
    """Check that the code defines pydantic models (``BaseModel`` subclasses).

    Only meaningful for tasks that ask for structured data; include it in those
    tasks' checks.

    Args:
        min_count: Models needed for full score (score is found / min_count).

    Returns:
        The grader.
    """
    if min_count < 1:
        raise spec_error("pydantic_models", "min_count", f"must be at least 1, got {min_count}")

    def check(response: str, task: GradeContext) -> Grade:
        trees = _trees(response)
        if isinstance(trees, Grade):
            return trees
        found = model_classes(trees)
        reason = f"models: {', '.join(found[:5])}" if found else "no BaseModel subclass"
        return grade(len(found) / min_count, reason)

    return check


# -- tool graders (ruff, mypy in a subprocess) -----------------------------------


def _code(response: str) -> str | Grade:
    """The parseable Python blocks joined into one module, or a zero grade."""
    trees = _trees(response)
    if isinstance(trees, Grade):
        return trees
    blocks = [b.code for b in python_blocks(response) if _parse(b.code) is not None]
    return "\n\n".join(blocks).rstrip() + "\n"


def _check_penalty(kind: str, penalty: float) -> None:
    if not 0 < penalty <= 1:
        raise spec_error(kind, "penalty", f"must be in (0, 1], got {penalty}")


def _tool_grade(name: str, report: ToolReport, penalty: float) -> Grade:
    if report.failure is not None:
        return grade(0.0, f"{name} failed: {report.failure}")
    n = len(report.findings)
    if n == 0:
        return grade(1.0, f"{name}: clean")
    first = report.findings[0]
    return grade(1 - penalty * n, f"{n} finding(s); line {first.line}: {first.message[:100]}"
                 f" [{first.code}]")


@register_grader("ruff_clean", slow=True, label="ruff clean")
def ruff_clean(select: list[str] | None = None, ignore: list[str] | None = None,
               penalty: float = 0.1) -> Grader:
    """Lint the code with ruff; score ``1 - penalty * findings``.

    Args:
        select: Rule codes (default ``E W F B UP SIM C4``).
        ignore: Rule codes to skip (default ``E402 E501 B008``).
        penalty: Score lost per finding.

    Returns:
        The grader.
    """
    _check_penalty("ruff_clean", penalty)
    chosen = tuple(select) if select is not None else DEFAULT_RUFF_SELECT
    skipped = tuple(ignore) if ignore is not None else DEFAULT_RUFF_IGNORE

    def check(response: str, task: GradeContext) -> Grade:
        code = _code(response)
        if isinstance(code, Grade):
            return code
        return _tool_grade("ruff", run_ruff(code, select=chosen, ignore=skipped), penalty)

    return check


@register_grader("mypy_strict", slow=True, label="mypy --strict clean")
def mypy_strict(timeout: float = 30.0, cache_dir: str | None = None,
                penalty: float = 0.2) -> Grader:
    """Type-check the code with ``mypy --strict``; score ``1 - penalty * errors``.

    Args:
        timeout: Seconds per response before giving up (scores 0, not cached).
        cache_dir: Result cache; defaults to ``$AGENTLAB_CACHE_DIR/mypy`` or
            ``~/.cache/agentlab/mypy``.
        penalty: Score lost per error.

    Returns:
        The grader.
    """
    _check_penalty("mypy_strict", penalty)
    if timeout <= 0:
        raise spec_error("mypy_strict", "timeout", f"must be positive, got {timeout}")

    def check(response: str, task: GradeContext) -> Grade:
        code = _code(response)
        if isinstance(code, Grade):
            return code
        report = run_mypy(code, timeout=timeout, cache_dir=cache_dir)
        return _tool_grade("mypy", report, penalty)

    return check
