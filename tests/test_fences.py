from __future__ import annotations

from agentlab._fences import extract_code_blocks


def test_fences_backticks_tildes_indented_and_unclosed() -> None:
    text = ("```python\na = 1\n```\n"
            "- item\n  ~~~json\n  {\"k\": 1}\n  ~~~\n"
            "````\nnested ``` inside\n````\n"
            "```\nnever closed\n")
    blocks = extract_code_blocks(text)
    assert [(b.lang, b.code, b.index) for b in blocks] == [
        ("python", "a = 1\n", 1), ("json", '{"k": 1}\n', 2), ("", "nested ``` inside\n", 3)]


def test_json_grader_reads_blocks_through_the_same_parser() -> None:
    from agentlab.scoring import GradeContext, make_grader

    grader = make_grader({"type": "json_valid"})
    ctx = GradeContext(task_id="t")
    assert grader("Here:\n~~~json\n{\"a\": 1}\n~~~\n", ctx).score == 1.0
    assert grader("Here:\n```json\n{bad}\n```\n", ctx).score == 0.0
