"""Fenced code blocks in Markdown text: the one parser every module uses.

Length metrics, the code graders and the JSON grader all read responses through
:func:`extract_code_blocks`, so "a code block" means the same everywhere: a ``` or ~~~
fence (three or more), optionally indented (inside a list item), closed by the same fence.
An unclosed fence is not a block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n(?P<body>.*?)"
    r"^(?P=indent)(?P=fence)[`~]*[ \t]*$",
    re.DOTALL | re.MULTILINE,
)

@dataclass(frozen=True)
class CodeBlock:
    """One fenced block of a response.

    Attributes:
        lang: The fence's language tag, lower-cased (``""`` when untagged).
        code: The block's text.
        index: 1-based position among the response's fenced blocks.
    """

    lang: str
    code: str
    index: int


def extract_code_blocks(text: str) -> list[CodeBlock]:
    """Every fenced (``` or ~~~) block of a Markdown text, in order.

    Args:
        text: A response.

    Returns:
        The blocks.
    """
    blocks = []
    for n, m in enumerate(_FENCE.finditer(text), 1):
        info = m.group("info").strip().split()
        lang = info[0].lower().lstrip("{.").rstrip("}") if info else ""
        indent = m.group("indent")
        # A fence inside a list item is indented; its code lines carry the same indent.
        lines = m.group("body").splitlines(keepends=True)
        body = "".join(line.removeprefix(indent) for line in lines)
        blocks.append(CodeBlock(lang, body, n))
    return blocks
