"""Generation on one llama.cpp context: saved prefixes and up to two calls decoded together.

Generation of a 0.5B model on 2 CPU cores is bound by memory bandwidth: decoding two
sequences in one ``llama_decode`` (llama.cpp's multi-sequence batch) reads the weights once
for both, and measured 1.48x the tokens/s of one (README, ``benchmarks/bench_local.py
--batched``). Calls therefore queue here and run in a continuous batch of :data:`WIDTH`
sequences on one engine thread: a call that arrives while another is generating has its
prompt evaluated on its own, then joins the next decode step.

Answers must not depend on which call shared a batch, or on whether a prefix was reused,
since cached results are keyed by the request alone. So every prompt is evaluated alone and
in the same steps (the saved prefix restored from bytes, then the rest), and two-row decode
steps are used only if they give bit-identical logits to one-row steps: :func:`_invariant`
checks that when the engine starts (true on this build: llama.cpp's CPU kernels switch to a
blocked path from four rows on, which does change the last bits, so wider batches are never
used), otherwise the engine decodes one sequence at a time.
"""

from __future__ import annotations

import collections
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from agentlab.providers._kvcache import (
    MIN_PREFIX_TOKENS,
    PrefixStates,
    clear_seq,
    restore_seq,
    save_seq,
)

WIDTH: Final = 2
_N_BATCH: Final = 512
Finish = Literal["end_turn", "max_tokens", "stop_sequence"]


@dataclass(frozen=True)
class Job:
    """One generation: the prompt, how much of it is the shared prefix, and sampling."""

    tokens: tuple[int, ...]
    prefix_len: int
    max_tokens: int
    temperature: float
    top_p: float
    top_k: int
    seed: int
    stops: tuple[str, ...]
    n_threads: int
    reuse: bool


@dataclass(frozen=True)
class Outcome:
    """What a :class:`Job` produced."""

    text: str
    generated: int
    finish: Finish
    prefix_tokens: int
    reused: bool
    latency_s: float


@dataclass
class _Active:
    """A job being generated on sequence ``seq`` (mutable, engine thread only)."""

    job: Job
    future: Future[Outcome]
    seq: int
    sampler: Any = None
    pos: int = 0
    last: int = 0
    tokens: list[int] = field(default_factory=list)
    start: float = field(default_factory=time.perf_counter)
    prefix: int = 0
    reused: bool = False
    done: Finish | None = None
    text: str = ""


class Engine:
    """A context with :data:`WIDTH` sequences, a queue of jobs, and one thread running them."""

    def __init__(self, llm: Any, n_ctx: int, n_threads: int, cache_bytes: int,
                 tokenizer_lock: threading.Lock) -> None:
        import llama_cpp as lc

        self._lc, self._llm, self._tokenizer_lock = lc, llm, tokenizer_lock
        self.batched_steps = 0  # decode steps that carried more than one sequence
        self.prompt_tokens_evaluated = 0  # prompt tokens sent through llama_decode
        params = lc.llama_context_default_params()
        params.n_ctx, params.n_seq_max = n_ctx * WIDTH, WIDTH  # n_ctx tokens per sequence
        params.n_batch = params.n_ubatch = _N_BATCH
        params.n_threads = params.n_threads_batch = n_threads
        params.kv_unified = False  # each sequence its own KV stream, laid out alone
        self._ctx = lc.llama_init_from_model(llm.model, params)
        if self._ctx is None:
            raise RuntimeError("llama.cpp could not create a context")
        self._batch = lc.llama_batch_init(_N_BATCH, 0, WIDTH)
        self._vocab = lc.llama_model_get_vocab(llm.model)
        self.states = PrefixStates(cache_bytes)
        self._queue: collections.deque[tuple[Job, Future[Outcome]]] = collections.deque()
        self._lock = threading.Lock()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agentlab-llama")
        self.width = WIDTH if self._thread.submit(self._invariant, n_threads).result() else 1

    @property
    def ctx(self) -> Any:
        """The llama.cpp context (e.g. for ``llama_perf_context``); use it only while idle."""
        return self._ctx

    def submit(self, job: Job) -> Future[Outcome]:
        """Queue ``job``; its future resolves when it is generated."""
        future: Future[Outcome] = Future()
        with self._lock:
            self._queue.append((job, future))
        self._thread.submit(self._drain)
        return future

    def close(self) -> None:
        """Finish queued work, then free the context (the engine is unusable after)."""
        self._thread.shutdown(wait=True)
        self._lc.llama_batch_free(self._batch)
        self._lc.llama_free(self._ctx)

    # ------------------------------------------------------------------ engine thread

    def _drain(self) -> None:
        active: list[_Active] = []
        while True:
            self._admit(active)
            if not active:
                return
            try:
                self._decode([a for a in active if a.done is None])
            except Exception as exc:  # a failed decode fails every job in it
                for a in active:
                    a.done = a.done or "end_turn"
                    self._release(a, exc)
                active.clear()
                continue
            for a in [a for a in active if a.done is not None]:
                active.remove(a)
                self._release(a, None)

    def _admit(self, active: list[_Active]) -> None:
        while len(active) < self.width:
            with self._lock:
                if not self._queue:
                    return
                job, future = self._queue.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            free = min(set(range(self.width)) - {a.seq for a in active})
            a = _Active(job, future, free)
            try:
                self._start(a)
            except Exception as exc:
                self._release(a, exc)
                continue
            if a.done is not None:
                self._release(a, None)
            else:
                active.append(a)

    def _start(self, a: _Active) -> None:
        """Restore or evaluate the prefix, evaluate the rest alone, sample the first token."""
        job, lc = a.job, self._lc
        lc.llama_set_n_threads(self._ctx, job.n_threads, job.n_threads)
        clear_seq(self._ctx, a.seq)
        prefix = job.tokens[: job.prefix_len] if job.prefix_len >= MIN_PREFIX_TOKENS else ()
        if prefix:
            state = self.states.get(prefix) if job.reuse else None
            a.reused = state is not None
            if state is None:
                self._eval(a.seq, prefix, 0)
                state = save_seq(self._ctx, a.seq)
                if job.reuse:
                    self.states.put(prefix, state)
                clear_seq(self._ctx, a.seq)
            # Hit or miss, the rest starts from the same restored bytes: the same answer.
            restore_seq(self._ctx, a.seq, state)
        a.prefix = len(prefix)
        a.sampler = self._sampler(job)
        row = self._eval(a.seq, job.tokens[a.prefix :], a.prefix)
        a.pos = len(job.tokens)
        self._accept(a, lc.llama_sampler_sample(a.sampler, self._ctx, row))

    def _eval(self, seq: int, tokens: tuple[int, ...], pos: int) -> int:
        """Evaluate ``tokens`` of one sequence from ``pos``; the output row of the last one."""
        last = 0
        self.prompt_tokens_evaluated += len(tokens)
        for begin in range(0, len(tokens), _N_BATCH):
            chunk = tokens[begin : begin + _N_BATCH]
            is_last = begin + _N_BATCH >= len(tokens)
            self._fill([(t, pos + begin + i, seq, is_last and i == len(chunk) - 1)
                        for i, t in enumerate(chunk)])
            last = len(chunk) - 1
        return last

    def _decode(self, active: list[_Active]) -> None:
        """One step: every active sequence's last token in one batch, then one sample each."""
        self._fill([(a.last, a.pos, a.seq, True) for a in active])
        self.batched_steps += len(active) > 1
        for row, a in enumerate(active):
            a.pos += 1
            self._accept(a, self._lc.llama_sampler_sample(a.sampler, self._ctx, row))

    def _fill(self, rows: list[tuple[int, int, int, bool]]) -> None:
        batch = self._batch
        for j, (token, pos, seq, logits) in enumerate(rows):
            batch.token[j], batch.pos[j], batch.n_seq_id[j] = token, pos, 1
            batch.seq_id[j][0], batch.logits[j] = seq, logits
        batch.n_tokens = len(rows)
        status = self._lc.llama_decode(self._ctx, batch)
        if status != 0:
            raise RuntimeError(f"llama_decode returned {status}")

    def _accept(self, a: _Active, token: int) -> None:
        if self._lc.llama_vocab_is_eog(self._vocab, token):
            a.done = "end_turn"
            return
        a.tokens.append(token)
        a.last = token
        if a.job.stops:
            text = self._text(a)
            cut = min((i for i in (text.find(s) for s in a.job.stops) if i >= 0), default=-1)
            if cut >= 0:
                a.text, a.done = text[:cut], "stop_sequence"
                return
        if len(a.tokens) >= a.job.max_tokens:
            a.done = "max_tokens"

    def _text(self, a: _Active) -> str:
        with self._tokenizer_lock:
            raw = self._llm.detokenize(a.tokens, prev_tokens=list(a.job.tokens))
        return bytes(raw).decode("utf-8", errors="ignore")

    def _sampler(self, job: Job) -> Any:
        lc = self._lc
        chain = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
        if job.temperature <= 0:
            lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_greedy())
            return chain
        for sampler in (lc.llama_sampler_init_top_k(job.top_k),
                        lc.llama_sampler_init_top_p(job.top_p, 1),
                        lc.llama_sampler_init_temp(job.temperature),
                        lc.llama_sampler_init_dist(job.seed)):
            lc.llama_sampler_chain_add(chain, sampler)
        return chain

    def _release(self, a: _Active, error: BaseException | None) -> None:
        if a.sampler is not None:
            self._lc.llama_sampler_free(a.sampler)
            a.sampler = None
        try:
            clear_seq(self._ctx, a.seq)
            if error is None:
                text = a.text if a.done == "stop_sequence" else self._text(a)
                a.future.set_result(Outcome(text, len(a.tokens), a.done or "end_turn",
                                            a.prefix, a.reused, time.perf_counter() - a.start))
        except Exception as exc:  # the caller must hear back, whatever failed here
            error = exc
        if error is not None:
            a.future.set_exception(error)

    def _invariant(self, n_threads: int) -> bool:
        """Whether a two-row decode step gives sequence 0 the logits a one-row step does."""
        import numpy as np

        lc, n_vocab = self._lc, self._llm.n_vocab()
        lc.llama_set_n_threads(self._ctx, n_threads, n_threads)
        with self._tokenizer_lock:
            probe = tuple(self._llm.tokenize(b"def add(a: int, b: int) -> int:", add_bos=False))
        rows = []
        for width in (1, 2):
            for seq in range(width):
                clear_seq(self._ctx, seq)
                self._eval(seq, probe[: len(probe) - seq], 0)
            self._fill([(probe[-1], len(probe) - seq, seq, True) for seq in range(width)])
            rows.append(np.ctypeslib.as_array(lc.llama_get_logits_ith(self._ctx, 0),
                                              shape=(n_vocab,)).copy())
        for seq in range(2):
            clear_seq(self._ctx, seq)
        return bool(np.array_equal(rows[0], rows[1]))
