"""Prompt formatting for local chat models, keeping the system prompt.

The bundled Gemma 3 270M GGUF has no chat template: llama-cpp-python then silently
falls back to a Llama-2 format, and its built-in ``gemma`` format drops the system
message, which is the very thing an agent variant changes. :func:`format_prompt`
writes Gemma turns itself, with the system text at the head of the first user turn,
or renders a GGUF's own ``tokenizer.chat_template`` and checks the system text survived.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any, Final

from agentlab.errors import ConfigError
from agentlab.providers.base import Message

TURN_END: Final = "<end_of_turn>"


def format_prompt(
    system: str,
    messages: tuple[Message, ...] | list[Message],
    template: str | None = None,
    *,
    bos_token: str = "",
    eos_token: str = "",
) -> str:
    """Render a conversation into the raw prompt text the model reads.

    Without a template this is Gemma's turn format with the system text at the head
    of the first user turn (as Gemma's own template does); the prompt ends with an
    open model turn. With a template (a GGUF's ``tokenizer.chat_template``) the
    system message is passed as a ``system`` role; if the template rejects it or
    drops it, the system text is merged into the first user turn instead.

    Args:
        system: The system prompt ('' for none).
        messages: The conversation, ending with a user turn.
        template: A Jinja2 chat template, or ``None`` for Gemma's format.
        bos_token: Value of ``bos_token`` in the template.
        eos_token: Value of ``eos_token`` in the template.

    Returns:
        The prompt text, special tokens written out (``<start_of_turn>`` ...).

    Raises:
        ConfigError: No messages, the last one is not a user turn, or the template
            cannot be rendered.
    """
    if not messages or messages[-1].role != "user":
        raise ConfigError("local model: the conversation must end with a user turn")
    if template is None:
        return _gemma_prompt(system, messages)
    return _template_prompt(system, messages, template, bos_token, eos_token)


def _gemma_prompt(system: str, messages: tuple[Message, ...] | list[Message]) -> str:
    parts: list[str] = []
    head = system.strip()
    if head and messages[0].role != "user":
        # Gemma has no system role: a conversation opening with the model still needs it.
        parts.append(f"<start_of_turn>user\n{head}{TURN_END}\n")
        head = ""
    for m in messages:
        text = m.content.strip()
        if head and m.role == "user":
            text, head = f"{head}\n\n{text}", ""
        role = "user" if m.role == "user" else "model"
        parts.append(f"<start_of_turn>{role}\n{text}{TURN_END}\n")
    parts.append("<start_of_turn>model\n")
    return "".join(parts)


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


