"""Reuse of a system prompt's evaluated KV state across calls, through llama.cpp's state API.

Every cell of a variant starts with the same system-prompt tokens (about 1,100 for the seed
agent: some 13 s of prompt processing on 2 cores). :class:`PrefixStates` evaluates such a
prefix once, saves that sequence's KV cells with ``llama_state_seq_get_data`` and keeps the
bytes in memory, per prefix, under a byte limit (least recently used first out). Later calls
with the same prefix restore them with ``llama_state_seq_set_data`` (a few milliseconds)
however many other prefixes ran in between, and evaluate only the rest of their prompt.

Answers do not depend on whether the prefix was reused: every call, hit or miss or with
reuse off, evaluates its prompt in the same two steps (the prefix, then the rest) and starts
the rest from a KV cache restored from the same saved bytes. So the floating-point work is
the same, and a seeded cell gives the same text as a cold run of it (a test checks this).

llama-cpp-python's own ``save_state``/``LlamaRAMCache`` are not used: with
``logits_all=False`` each saved state also copies the logits buffer (``n_batch`` × vocab
floats, about 311 MB for Qwen's 151,936-token vocabulary) while the cache's byte limit
counts only the KV bytes.
"""

from __future__ import annotations

import collections
import ctypes
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

# A prefix this short is not worth a saved state; it is evaluated with the rest.
MIN_PREFIX_TOKENS: Final = 32
_SEQ: Final = 0  # every call uses sequence 0


@dataclass(frozen=True)
class Primed:
    """What :meth:`PrefixStates.prime` did: how many prompt tokens it left evaluated."""

    prefix_tokens: int
    reused: bool


class PrefixStates:
    """Saved KV states per prompt prefix, for one loaded model, kept under a byte limit.

    Not thread-safe: the caller holds the model's lock.

    Attributes:
        limit_bytes: Most bytes of saved state kept; the least recently used go first.
        hits: Calls that restored a saved prefix.
        misses: Calls that had to evaluate their prefix.
    """

    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        self.hits = 0
        self.misses = 0
        self._states: collections.OrderedDict[tuple[int, ...], Any] = collections.OrderedDict()
        self._bytes = 0

    @property
    def stored_bytes(self) -> int:
        """Bytes of saved state currently kept."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._states)

    def clear(self) -> None:
        """Forget every saved state."""
        self._states.clear()
        self._bytes = 0

    def prime(self, llm: Any, prefix: Sequence[int], *, reuse: bool = True) -> Primed:
        """Leave ``llm`` with exactly ``prefix`` evaluated, restored from saved bytes.

        Args:
            llm: A ``llama_cpp.Llama``; its KV cache is replaced.
            prefix: The prompt tokens shared by every call with this prefix.
            reuse: Keep and look up saved states; ``False`` evaluates the prefix afresh
                (and keeps nothing), going through the same steps.

        Returns:
            How many tokens are evaluated, and whether they came from a saved state.

        Raises:
            RuntimeError: llama.cpp refused to save or restore the state.
        """
        key = tuple(prefix)
        _clear(llm)
        if len(key) < MIN_PREFIX_TOKENS:
            llm.reset()
            return Primed(0, False)
        state = self._states.get(key) if reuse else None
        hit = state is not None
        if hit:
            self._states.move_to_end(key)
            self.hits += 1
        else:
            llm.reset()
            llm.eval(key)
            state = _save(llm)
            if reuse:
                self.misses += 1
                self._keep(key, state)
            _clear(llm)
        _restore(llm, key, state)
        return Primed(len(key), hit)

    def _keep(self, key: tuple[int, ...], state: Any) -> None:
        size = ctypes.sizeof(state)
        if size > self.limit_bytes:
            return
        self._states[key] = state
        self._bytes += size
        while self._bytes > self.limit_bytes:
            _, old = self._states.popitem(last=False)
            self._bytes -= ctypes.sizeof(old)


def _memory(llm: Any) -> Any:
    import llama_cpp

    return llama_cpp.llama_get_memory(llm.ctx)


def _clear(llm: Any) -> None:
    import llama_cpp

    llama_cpp.llama_memory_clear(_memory(llm), True)
    llm.n_tokens = 0


def _save(llm: Any) -> Any:
    import llama_cpp

    size = llama_cpp.llama_state_seq_get_size(llm.ctx, _SEQ)
    buf = (ctypes.c_uint8 * size)()
    written = llama_cpp.llama_state_seq_get_data(llm.ctx, buf, size, _SEQ)
    if written == 0 or written > size:
        raise RuntimeError(f"llama_state_seq_get_data saved {written} of {size} bytes")
    if written < size:
        small = (ctypes.c_uint8 * written)()
        ctypes.memmove(small, buf, written)
        return small
    return buf


def _restore(llm: Any, prefix: tuple[int, ...], state: Any) -> None:
    import llama_cpp

    size = ctypes.sizeof(state)
    if llama_cpp.llama_state_seq_set_data(llm.ctx, state, size, _SEQ) != size:
        raise RuntimeError("llama_state_seq_set_data could not restore a saved prefix")
    # What Llama.load_state does for its own states: the tokens the KV cache now holds.
    llm.input_ids[: len(prefix)] = prefix
    llm.n_tokens = len(prefix)
