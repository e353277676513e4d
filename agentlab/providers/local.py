"""The embedded local model: a GGUF file run in-process by llama.cpp (llama-cpp-python).

The default model is Qwen2.5-Coder-0.5B-Instruct (Q4_K_M, Apache-2.0), shipped on PyPI as
six chunk packages that :mod:`agentlab.providers._gguf` joins and checks by sha256 before
first use. Model names: ``"local"`` or ``"local:qwen2.5-coder-0.5b"`` for it, or
``"local:/path/to/model.gguf"`` for any other GGUF. The prompt is the GGUF's own chat
template (:mod:`agentlab.providers._chatformat`), system prompt included.

Generation runs on :class:`~agentlab.providers._engine.Engine`: every call restores its
system prompt's evaluated KV state (the tokens every cell of a variant shares, saved the
first time, :mod:`agentlab.providers._kvcache`) and evaluates only the rest, and two calls
in flight are decoded together in one llama.cpp batch; neither changes any answer.
:meth:`LocalProvider.order_requests` runs a variant's cells together. Contention: llama.cpp's
OpenMP threads are told to sleep, not spin, while they wait (``OMP_WAIT_POLICY=PASSIVE``,
set before llama.cpp loads unless the user set it), so a busy core elsewhere slows a run
down instead of stalling it.

One model per (file, context size) per process, loaded lazily and shared by every provider
using it (each call applies its provider's thread count); its engine runs calls on one
thread, off the event loop. llama.cpp's own log lines go to the ``agentlab.providers.local``
logger at DEBUG level instead of stderr.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import ctypes
import hashlib
import logging
import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from agentlab.errors import ConfigError, MissingDependencyError
from agentlab.providers._chatformat import CHATML_END, format_prompt, prefix_probe
from agentlab.providers._engine import Engine, Job
from agentlab.providers._gguf import (
    DEFAULT_ALIASES,
    DEFAULT_MODEL_ID,
    local_model_id,
    resolve_local_model,
)
from agentlab.providers._kvcache import PrefixStates
from agentlab.providers.base import BaseProvider, CallError, Request, Response
from agentlab.providers.models import is_local

if TYPE_CHECKING:
    from llama_cpp import Llama

__all__ = ["DEFAULT_ALIASES", "DEFAULT_MODEL", "DEFAULT_MODEL_ID", "DEFAULT_N_CTX",
           "DEFAULT_TEMPERATURE", "DEFAULT_TOP_K", "DEFAULT_TOP_P", "LocalProvider",
           "clear_local_models", "local_model_id", "resolve_local_model"]

log = logging.getLogger("agentlab.providers.local")

DEFAULT_MODEL: Final = "local"
# 8K holds the ~1.1K-token seed prompt, a task with its context file and a long answer;
# Qwen2.5's KV cache is 12 KB a token, so about 100 MB.
DEFAULT_N_CTX: Final = 8192
DEFAULT_SEED: Final = 0
# Used when GenerationOptions.temperature/top_p are None: Qwen2.5's recommended sampling.
DEFAULT_TEMPERATURE: Final = 0.7
DEFAULT_TOP_P: Final = 0.8
DEFAULT_TOP_K: Final = 20
# Saved system-prompt states kept per model: about 13 MB each for the seed agent.
DEFAULT_PREFIX_CACHE_BYTES: Final = 512 * 2**20
# Part of the cache namespace: how a prompt is split into evaluation steps, and the sampler,
# change the floating-point work, so answers from another scheme are not reused.
_EVAL_SCHEME: Final = "engine/1"
# The Llama object only tokenizes; generation has its own context (the engine's).
_TOKENIZER_N_CTX: Final = 64


# --------------------------------------------------------------------------- llama.cpp


_recent_llama_logs: collections.deque[str] = collections.deque(maxlen=8)
_log_sink: Any = None  # the ctypes callback; kept referenced so it is never freed


def _on_llama_log(level: int, text: bytes | None, user_data: Any) -> None:
    try:
        line = (text or b"").decode("utf-8", "replace").rstrip()
        if line:
            _recent_llama_logs.append(line)
            log.debug("llama.cpp: %s", line)
    except Exception:  # a C callback must never raise, also at interpreter shutdown
        pass


def _import_llama_cpp() -> Any:
    """Import llama_cpp (threads sleep while waiting) and route its C-level logs away."""
    global _log_sink
    if "llama_cpp" not in sys.modules:
        # OpenMP reads this once, when llama.cpp's CPU backend loads: spinning threads
        # stall a whole run when another process holds a core (measured in the README).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import llama_cpp
    except ImportError as exc:
        raise MissingDependencyError("llama-cpp-python", "local") from exc
    if _log_sink is None:
        # verbose=False still lets warnings through to stderr (llama-cpp-python maps
        # llama.cpp's WARN level to ERROR); replacing the callback silences all of it.
        _log_sink = llama_cpp.llama_log_callback(_on_llama_log)
        llama_cpp.llama_log_set(_log_sink, ctypes.c_void_p(0))
    return llama_cpp


@dataclass(frozen=True)
class _Loaded:
    """One loaded model, shared by every provider using the same file and context."""

    llm: Llama  # weights, tokenizer and metadata; its own context is minimal, unused
    lock: threading.Lock  # guards the tokenizer
    engine: Engine  # generation: one context, one thread, calls in arrival order
    load_time_s: float
    template: str | None
    bos_token: str
    eos_token: str
    prefix: tuple[int, ...]


_models: dict[tuple[Path, int], _Loaded] = {}
_models_lock = threading.Lock()


def _shared_model(path: Path, n_ctx: int, n_threads: int) -> _Loaded:
    key = (path, n_ctx)
    loaded = _models.get(key)
    if loaded is not None:
        return loaded
    with _models_lock:
        loaded = _models.get(key)
        if loaded is None:
            loaded = _load(path, n_ctx, n_threads)
            _models[key] = loaded
        return loaded


def _load(path: Path, n_ctx: int, n_threads: int) -> _Loaded:
    llama_cpp = _import_llama_cpp()
    _recent_llama_logs.clear()
    start = time.perf_counter()
    lock = threading.Lock()
    try:
        llm = llama_cpp.Llama(model_path=str(path), n_ctx=_TOKENIZER_N_CTX, n_threads=n_threads,
                              n_threads_batch=n_threads, seed=DEFAULT_SEED, verbose=False)
        engine = Engine(llm, n_ctx, n_threads, DEFAULT_PREFIX_CACHE_BYTES, lock)
    except (ValueError, RuntimeError) as exc:
        detail = "; ".join(_recent_llama_logs) or str(exc)
        raise ConfigError(f"{path}: llama.cpp cannot load this model ({detail})") from exc
    elapsed = time.perf_counter() - start
    log.info("agentlab: loaded %s (n_ctx=%d, decoding %d at a time) in %.2f s", path.name,
             n_ctx, engine.width, elapsed)
    return _Loaded(
        llm=llm,
        lock=lock,
        engine=engine,
        load_time_s=elapsed,
        template=llm.metadata.get("tokenizer.chat_template") or None,
        bos_token=_token_text(llm, llm.token_bos()),
        eos_token=_token_text(llm, llm.token_eos()),
        # Tokenizing '' with add_bos tells whether this model wants a BOS token.
        prefix=tuple(llm.tokenize(b"", add_bos=True, special=True)),
    )


def _token_text(llm: Llama, token: int) -> str:
    if token < 0:
        return ""
    return bytes(llm.detokenize([token], special=True)).decode("utf-8", "replace")


@atexit.register
def _close_at_exit() -> None:
    # Close models while the interpreter is whole: Llama.__del__ at teardown finds its
    # module globals gone and prints an ignored TypeError.
    with _models_lock:
        for loaded in _models.values():
            loaded.engine.close()
            loaded.llm.close()
        _models.clear()


def clear_local_models() -> None:
    """Unload every local model and its saved prefixes (waits for calls in flight)."""
    with _models_lock:
        loaded = list(_models.values())
        _models.clear()
    for model in loaded:
        model.engine.close()  # finishes queued calls, then frees the context
        model.llm.close()


def _prompt_tokens(loaded: _Loaded, prompt: str) -> list[int]:
    """Tokenize with special tokens parsed and exactly one BOS where the model wants one."""
    tokens: list[int] = loaded.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
    prefix = list(loaded.prefix)
    # A chat template may already have written the BOS token out; never send it twice.
    return tokens if tokens[: len(prefix)] == prefix else prefix + tokens


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _shared_prefix(loaded: _Loaded, system: str, tokens: Sequence[int]) -> int:
    """How many leading tokens of ``tokens`` every prompt with ``system`` shares."""
    first, second = (_prompt_tokens(loaded, p) for p in prefix_probe(
        system, loaded.template, bos_token=loaded.bos_token, eos_token=loaded.eos_token))
    # Keep at least one token to evaluate: its logits choose the first answer token.
    return min(_common(first, second), _common(first, tokens), len(tokens) - 1)


def _fit(n_prompt: int, max_tokens: int, n_ctx: int, model_id: str) -> int:
    """Max tokens clamped to the room left in the context; overflow is a per-cell error."""
    if max_tokens < 1:
        raise CallError("invalid_request", f"{model_id}: max_tokens must be at least 1")
    if n_prompt >= n_ctx:
        raise CallError(
            "context_overflow",
            f"{model_id}: the prompt is {n_prompt} tokens but the context holds {n_ctx}; "
            "shorten the prompt or raise LocalProvider(n_ctx=...)",
        )
    return min(max_tokens, n_ctx - n_prompt)


class LocalProvider(BaseProvider):
    """The embedded llama.cpp model behind the :class:`~agentlab.providers.base.Provider` protocol.

    Sampling: ``temperature``/``top_p`` of ``None`` mean Qwen2.5's recommended 0.7/0.8
    (with top-k 20); ``temperature=0`` is greedy. A ``seed`` of ``None`` means the
    provider's seed, so identical requests give identical answers, also across processes.

    Prefix reuse: each call restores the evaluated state of its system prompt (saved the
    first time, kept in memory per prefix) and evaluates only the rest of the prompt; the
    reused tokens are reported as ``cache_read_tokens`` (``cache_write_tokens`` when the
    prefix was evaluated and saved), ``input_tokens`` being the tokens evaluated after it,
    as with Anthropic's prompt caching. Answers are the same with reuse on or off.

    Context: a prompt that does not fit in ``n_ctx`` fails with a ``context_overflow``
    :class:`~agentlab.providers.base.CallError`; a prompt that fits but leaves less room
    than ``max_tokens`` has ``max_tokens`` clamped to the room left (the answer then
    stops with ``max_tokens``), as a call that cannot finish its answer is still data.

    Attributes:
        name: Always ``"local"``.
        default_max_tokens: 768: room for the typed code answers this model writes
            (see the README's local-model section for the measured lengths).
        model: The local model name (``"local"`` or ``"local:/path/model.gguf"``).
        model_id: The id reported in responses.
        n_ctx: Context size in tokens (prompt plus answer).
        n_threads: CPU threads for llama.cpp.
        seed: Seed used when a request sets none.
        reuse_prefix: Restore saved system-prompt states (``False`` evaluates every
            prefix afresh; the answers are the same, only slower).
    """

    name: str = "local"
    default_max_tokens: int = 768

    def __init__(self, model: str = DEFAULT_MODEL, *, n_ctx: int = DEFAULT_N_CTX,
                 n_threads: int | None = None, seed: int = DEFAULT_SEED,
                 reuse_prefix: bool = True) -> None:
        """Configure the provider; the model loads on first use (or :meth:`load`).

        Args:
            model: ``"local"``, ``"local:qwen2.5-coder-0.5b"`` or ``"local:/path/to/model.gguf"``.
            n_ctx: Context size in tokens.
            n_threads: CPU threads (default: all cores).
            seed: Seed used when a request sets none.
            reuse_prefix: See the class docstring.

        Raises:
            ConfigError: A bad model name or setting, or a model file that is missing.
        """
        if model.strip() not in DEFAULT_ALIASES:
            resolve_local_model(model)  # a wrong name or path fails here, not on first call
        if n_ctx < 64:
            raise ConfigError(f"LocalProvider: n_ctx={n_ctx} is too small; use at least 64")
        threads = n_threads if n_threads is not None else (os.cpu_count() or 1)
        if threads < 1:
            raise ConfigError(f"LocalProvider: n_threads={n_threads} must be at least 1")
        self.model = model.strip()
        self.model_id = local_model_id(self.model)
        self.n_ctx = n_ctx
        self.n_threads = threads
        self.seed = seed
        self.reuse_prefix = reuse_prefix
        self._own: _Loaded | None = None

    def __repr__(self) -> str:
        return f"LocalProvider(model={self.model!r}, n_ctx={self.n_ctx})"

    def run_model(self, model: str | None) -> str | None:
        """This provider serves its own model: a run's non-local model name means it."""
        return model if model is not None and is_local(model) else self.model

    def order_requests(self, requests: Sequence[Request]) -> list[int]:
        """Run each system prompt's requests together, in order of first appearance.

        Saved prefixes make any order correct; grouping keeps the one in use hot and lets
        the least recently used go first when the byte limit is reached.
        """
        first: dict[tuple[str, str], int] = {}
        for i, r in enumerate(requests):
            first.setdefault((r.model, r.system), i)
        return sorted(range(len(requests)),
                      key=lambda i: first[(requests[i].model, requests[i].system)])

    @property
    def cache_namespace(self) -> str:
        """Identity for result-cache keys: the model, the llama.cpp build, the eval scheme.

        The same seed gives other text on another build (a native and a portable
        compile differ), so cached answers are only reused from the same build.
        """
        llama_cpp = _import_llama_cpp()
        info = llama_cpp.llama_print_system_info()
        build = hashlib.sha256(f"{llama_cpp.__version__}|{info!r}|{_EVAL_SCHEME}".encode())
        return f"{self.model_id}@{build.hexdigest()[:10]}"

    def _shared(self, model: str | None = None) -> _Loaded:
        name = (model or "").strip()
        if not name or name in (self.model, self.model_id):
            name = self.model
        loaded = _shared_model(resolve_local_model(name), self.n_ctx, self.n_threads)
        if name == self.model:
            self._own = loaded
        return loaded

    def _ready(self, model: str) -> _Loaded | None:
        """This provider's own model if it is loaded (and not cleared since), else ``None``."""
        own = self._own
        if own is None or model.strip() not in ("", self.model, self.model_id):
            return None
        return own if own in _models.values() else None

    def load(self) -> float:
        """Load the model now (it is shared by providers with the same file and ``n_ctx``).

        Returns:
            Seconds the load took (the original load's time if it was already loaded).

        Raises:
            ConfigError: The file is missing, altered, or llama.cpp cannot load it.
            MissingDependencyError: llama-cpp-python (or the default model) is missing.
        """
        return self._shared().load_time_s

    @property
    def load_time_s(self) -> float | None:
        """Seconds the model took to load, or ``None`` before it is loaded."""
        loaded = _models.get((resolve_local_model(self.model), self.n_ctx))
        return loaded.load_time_s if loaded is not None else None

    @property
    def llama(self) -> Llama:
        """The shared ``llama_cpp.Llama`` (loads it): weights, tokenizer and metadata.

        Its own context is minimal (generation runs on :attr:`engine`); tokenizing with it
        while calls run is safe only under the provider's lock, as :meth:`prompt_tokens` does.
        """
        return self._shared().llm

    @property
    def engine(self) -> Engine:
        """The engine that generates for this provider's model (loads it)."""
        return self._shared().engine

    @property
    def prefix_states(self) -> PrefixStates:
        """The saved system-prompt states of this provider's model (loads it)."""
        return self._shared().engine.states

    def format_request(self, request: Request) -> str:
        """The exact prompt text the model reads for ``request`` (loads the model).

        Raises:
            ConfigError: The conversation does not end with a user turn.
        """
        loaded = self._shared(request.model)
        return format_prompt(request.system, request.messages, loaded.template,
                             bos_token=loaded.bos_token, eos_token=loaded.eos_token)

    def prompt_tokens(self, request: Request) -> list[int]:
        """The token ids sent to the model for ``request`` (loads the model)."""
        loaded = self._shared(request.model)
        prompt = self.format_request(request)
        with loaded.lock:
            return _prompt_tokens(loaded, prompt)

    async def complete(self, request: Request) -> Response:
        """Answer one request; the model's engine runs calls in arrival order, two at once.

        Raises:
            CallError: ``context_overflow``, ``invalid_request`` (tools, a conversation
                not ending with a user turn, max_tokens < 1) or ``other``.
            ConfigError: The model file is missing, altered or cannot be loaded.
            MissingDependencyError: llama-cpp-python (or the default model) is missing.
        """
        if request.tools or request.force_tool:
            raise CallError("invalid_request", f"{self.model_id}: the local model has no tool use")
        loaded = self._ready(request.model)
        if loaded is None:
            loaded = await asyncio.to_thread(self._shared, request.model)  # may load: off the loop
        # Prepared here, on the loop's thread, so calls reach the engine in the order sent.
        job = self._job(loaded, request)
        outcome = await asyncio.wrap_future(loaded.engine.submit(job))
        reused = outcome.prefix_tokens if self.reuse_prefix else 0
        return Response(
            text=outcome.text,
            model=local_model_id(request.model) if request.model.strip() else self.model_id,
            input_tokens=len(job.tokens) - reused,
            output_tokens=outcome.generated,
            stop_reason=outcome.finish,
            latency_s=outcome.latency_s,
            cache_read_tokens=reused if outcome.reused else 0,
            cache_write_tokens=0 if outcome.reused else reused,
        )

    def _job(self, loaded: _Loaded, request: Request) -> Job:
        model_id = local_model_id(request.model) if request.model.strip() else self.model_id
        try:
            prompt = format_prompt(request.system, request.messages, loaded.template,
                                   bos_token=loaded.bos_token, eos_token=loaded.eos_token)
        except ConfigError as exc:
            raise CallError("invalid_request", str(exc)) from exc
        opts = request.options
        with loaded.lock:
            tokens = _prompt_tokens(loaded, prompt)
            n_prefix = _shared_prefix(loaded, request.system, tokens)
        seed = self.seed if opts.seed is None else opts.seed
        return Job(
            tokens=tuple(tokens),
            prefix_len=n_prefix,
            max_tokens=_fit(len(tokens), opts.max_tokens, self.n_ctx, model_id),
            temperature=DEFAULT_TEMPERATURE if opts.temperature is None else opts.temperature,
            top_p=DEFAULT_TOP_P if opts.top_p is None else opts.top_p,
            top_k=DEFAULT_TOP_K,
            # llama.cpp reads seed 0xFFFFFFFF as "random"; keep every seed fixed.
            seed=seed % 0xFFFFFFFF,
            stops=(*opts.stop, *((CHATML_END,) if loaded.template is None else ())),
            n_threads=self.n_threads,
            reuse=self.reuse_prefix,
        )
