"""A toy router for the fake: scripts Claude Code's delegation from word overlap, offline.

Routing trials need the main agent to decide, per query, whether to delegate and to whom. On
the fake that decision must be scripted; :func:`script_keyword_router` scripts it the way a
crude router would: for each variant and query it counts the content words the query shares
with each installed agent's ``description`` and delegates to the best match when it shares at
least ``min_overlap`` words, else answers directly. Different descriptions therefore route
differently, so the notebook and the CLI show real comparisons without an API key.

It is a stand-in for exercising the pipeline, not a model of Claude: its precision and recall
say nothing about how Claude Code routes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from agentlab.testing._replies import prompt_text
from agentlab.testing._stream import Script, Turn, call, opening_text, say

if TYPE_CHECKING:
    from agentlab.agents._agent import Agent
    from agentlab.testing._replies import Json
    from agentlab.testing._server import FakeAnthropic

__all__ = ["STOPWORDS", "content_words", "keyword_pick", "script_keyword_router"]

STOPWORDS = frozenset({
    "a", "about", "after", "agent", "agents", "all", "also", "an", "and", "any", "are", "as",
    "assistant", "at", "be", "been", "but", "by", "can", "commentary", "context", "do", "does",
    "example", "examples", "for", "from", "get", "has", "have", "help", "how", "i", "i'll", "if",
    "in", "into", "is", "it", "it's", "its", "let", "make", "me", "more", "my", "need", "needs",
    "new", "not", "of", "on", "or", "our", "should", "so", "some", "sure", "than", "that", "the",
    "their", "them", "then", "there", "these", "they", "this", "to", "too", "up", "us", "use",
    "used", "user", "uses", "using", "want", "was", "we", "what", "when", "where", "which",
    "while", "who", "why", "will", "with", "would", "you", "your",
})
"""Words too common to say anything about which agent fits."""

_WORD = re.compile(r"[a-z][a-z0-9+#.]*[a-z0-9+#]|[a-z]")


def content_words(text: str) -> frozenset[str]:
    """The lowercase words of ``text`` of three or more letters, stop words left out."""
    return frozenset(w for w in _WORD.findall(text.casefold())
                     if len(w) >= 3 and w not in STOPWORDS)


def keyword_pick(query: str, agents: Mapping[str, str], *, min_overlap: int = 2) -> str:
    """The agent whose description shares most content words with ``query``, or ``none``.

    Ties go to the first name in sorted order; fewer than ``min_overlap`` shared words is
    ``none`` (answer directly).
    """
    words = content_words(query)
    scores = {name: len(words & content_words(desc)) for name, desc in sorted(agents.items())}
    if not scores:
        return "none"
    best = max(scores, key=lambda name: scores[name])
    return best if scores[best] >= min_overlap else "none"


def _normal(text: str) -> str:
    return " ".join(text.split())


def _matcher(query: str, description: str) -> Callable[[Json], bool]:
    marker = _normal(description)

    def matches(req: Json) -> bool:
        return query in opening_text(req) and marker in _normal(prompt_text(req))

    return matches


def _turn(pick: str) -> Turn:
    if pick == "none":
        return say("I can answer this directly without a specialised agent.")
    return call("Agent", description="delegate", prompt="Handle the user's request.",
                subagent_type=pick)


def script_keyword_router(
    fake: FakeAnthropic, variants: Iterable[Agent], queries: Iterable[str], *,
    roster: Iterable[Agent] = (), target: str, min_overlap: int = 2,
) -> dict[tuple[str, str], str]:
    """Script the fake to route every (variant, query) by keyword overlap.

    Args:
        fake: The fake to script.
        variants: The variants that will be installed under ``target``.
        queries: The query texts.
        roster: The distractor agents installed beside them.
        target: The name the variants are installed under.
        min_overlap: Shared content words needed to delegate at all.

    Returns:
        The scripted decision per ``(variant name, query)``: an agent name or ``none``.
    """
    others = {a.name: a.description for a in roster}
    texts = list(queries)
    decided: dict[tuple[str, str], str] = {}
    for variant in variants:
        agents = {target: variant.description, **others}
        for query in texts:
            pick = keyword_pick(query, agents, min_overlap=min_overlap)
            decided[(variant.name, query)] = pick
            fake.scripts.add(Script((_turn(pick), say("done")),
                                    _matcher(query, variant.description)))
    return decided
