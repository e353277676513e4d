"""Testing: a loopback fake of the Anthropic Messages API, importable by users' own tests.

:class:`FakeAnthropic` serves real HTTP on 127.0.0.1, so the real ``anthropic`` SDK (and Claude
Code) talks to it unchanged: answers, token counts, model lists, injected faults and latency.
``_replies`` holds the pure functions that build its answers from request JSON; ``_batches`` its
Message Batches endpoints (:class:`FakeBatches`, reached as ``fake.batches``); ``_router`` a
toy keyword router that scripts Claude Code's delegation decisions for offline routing runs;
``_stream`` streams answers (SSE) and serves *scripted* turns (:func:`call`, :func:`say`,
:func:`scripted_fake`), so the real Claude Code CLI can run whole sessions against the fake.
"""

from agentlab.testing._batches import BatchFate, FakeBatches
from agentlab.testing._replies import Fault, minimal_instance, prompt_text
from agentlab.testing._router import script_keyword_router
from agentlab.testing._server import FakeAnthropic, RecordedRequest
from agentlab.testing._stream import (
    Script,
    ToolUse,
    Turn,
    call,
    load_script_file,
    say,
    scripted_fake,
)

__all__ = ["BatchFate", "FakeAnthropic", "FakeBatches", "Fault", "RecordedRequest", "Script",
           "ToolUse", "Turn", "call", "load_script_file", "minimal_instance", "prompt_text",
           "say", "script_keyword_router", "scripted_fake"]
