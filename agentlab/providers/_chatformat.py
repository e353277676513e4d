"""Prompt formatting for local chat models: the GGUF's own chat template, system prompt kept.

A GGUF normally carries its chat template (``tokenizer.chat_template``); the default model,
Qwen2.5-Coder-Instruct, has ChatML with a real system role. :func:`format_prompt` renders it
the way Hugging Face does (sandboxed Jinja2, ``add_generation_prompt``) with the system
message first, and checks that the system text survived: a template that refuses or drops a
system role gets the system text at the head of the first user turn instead, since the
system prompt is the very thing an agent variant changes. A GGUF without a template gets
ChatML (:data:`CHATML`), the most common instruct format, and stops on :data:`CHATML_END`.

:func:`prefix_probe` gives two renderings of a system prompt with different user turns;
their common tokens are the prefix every call with that system prompt shares, which is what
the provider evaluates once and reuses.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any, Final

from agentlab.errors import ConfigError
from agentlab.providers.base import Message

CHATML: Final = (
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
"""The template used for a GGUF that has none."""
CHATML_END: Final = "<|im_end|>"
"""Stop string added when :data:`CHATML` stands in for a missing template."""

# Two user turns that differ at their first character, for prefix_probe.
_PROBES: Final = ("A", "Z")


def format_prompt(
    system: str,
    messages: tuple[Message, ...] | list[Message],
    template: str | None = None,
    *,
    bos_token: str = "",
    eos_token: str = "",
) -> str:
    """Render a conversation into the raw prompt text the model reads.

    The system message goes in as a ``system`` role; if the template rejects it or drops
    it, the system text is merged into the first user turn instead. The prompt ends with an
    open assistant turn.

    Args:
        system: The system prompt ('' for none: the template's default applies).
        messages: The conversation, ending with a user turn.
        template: A Jinja2 chat template (a GGUF's ``tokenizer.chat_template``), or
            ``None`` for :data:`CHATML`.
        bos_token: Value of ``bos_token`` in the template.
        eos_token: Value of ``eos_token`` in the template.

    Returns:
        The prompt text, special tokens written out (``<|im_start|>`` ...).

    Raises:
        ConfigError: No messages, the last one is not a user turn, or the template
            cannot be rendered.
    """
    if not messages or messages[-1].role != "user":
        raise ConfigError("local model: the conversation must end with a user turn")
    return _template_prompt(system, messages, template or CHATML, bos_token, eos_token)


def prefix_probe(system: str, template: str | None = None, *, bos_token: str = "",
                 eos_token: str = "") -> tuple[str, str]:
    """Two prompts with ``system`` and one-letter user turns that differ at once.

    Their longest common token prefix is the part of the prompt that every conversation
    with this system prompt starts with.

    Args:
        system: The system prompt.
        template: As for :func:`format_prompt`.
        bos_token: As for :func:`format_prompt`.
        eos_token: As for :func:`format_prompt`.

    Returns:
        The two prompt texts.

    Raises:
        ConfigError: The template cannot be rendered.
    """
    first, second = (format_prompt(system, (Message("user", probe),), template,
                                   bos_token=bos_token, eos_token=eos_token)
                     for probe in _PROBES)
    return first, second


class _TemplateRaised(Exception):
    """A chat template called ``raise_exception`` (e.g. 'system role not supported')."""


@lru_cache(maxsize=8)
def _compile_template(template: str) -> Any:
    import jinja2.ext
    import jinja2.sandbox

    def raise_exception(message: str) -> None:
        raise _TemplateRaised(message)

    # The settings Hugging Face uses for chat templates, so templates render as intended.
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols]
    )
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: time.strftime(fmt)
    return env.from_string(template)


def _template_prompt(
    system: str,
    messages: tuple[Message, ...] | list[Message],
    template: str,
    bos_token: str,
    eos_token: str,
) -> str:
    import jinja2

    chat = [{"role": m.role, "content": m.content} for m in messages]

    def render(turns: list[dict[str, str]]) -> str:
        text: str = _compile_template(template).render(
            messages=turns, add_generation_prompt=True, bos_token=bos_token, eos_token=eos_token
        )
        return text

    try:
        if not system.strip():
            return render(chat)
        try:
            text = render([{"role": "system", "content": system}, *chat])
            if system.strip() in text:
                return text
        except _TemplateRaised:
            pass
        first = next(i for i, t in enumerate(chat) if t["role"] == "user")
        merged = [dict(t) for t in chat]
        merged[first]["content"] = f"{system.strip()}\n\n{merged[first]['content']}"
        return render(merged)
    except (jinja2.TemplateError, _TemplateRaised) as exc:
        raise ConfigError(
            f"local model: the GGUF chat template failed to render ({exc}); "
            "use a GGUF with a standard chat template"
        ) from exc
