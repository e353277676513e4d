"""Saved KV states of prompt prefixes, through llama.cpp's per-sequence state API.

Every cell of a variant starts with the same system-prompt tokens (about 1,100 for the seed
agent: some 13 s of prompt processing on 2 cores). The engine evaluates such a prefix once,
saves that sequence's KV cells with ``llama_state_seq_get_data`` and keeps the bytes here,
per prefix, under a byte limit (least recently used first out). Later calls with the same
prefix restore them into whichever sequence they run on with ``llama_state_seq_set_data``
(a few milliseconds), however many other prefixes ran in between.

llama-cpp-python's own ``save_state``/``LlamaRAMCache`` are not used: with
``logits_all=False`` each of its states also copies the logits buffer (``n_batch`` × vocab
floats, about 311 MB for Qwen's 151,936-token vocabulary) while the cache's byte limit counts
only the KV bytes, and it saves a whole context rather than one sequence.
"""

from __future__ import annotations

import collections
import ctypes
from collections.abc import Sequence
from typing import Any, Final

# A prefix this short is not worth a saved state; it is evaluated with the rest.
MIN_PREFIX_TOKENS: Final = 32


class PrefixStates:
    """Saved KV states per prompt prefix, for one loaded model, kept under a byte limit.

    Not thread-safe: only the model's engine thread uses it.

    Attributes:
        limit_bytes: Most bytes of saved state kept; the least recently used go first.
        hits: Lookups that found a saved prefix.
        misses: Lookups that did not.
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

    def get(self, prefix: Sequence[int]) -> Any:
        """The saved state of ``prefix`` (marked recently used), or ``None``."""
        key = tuple(prefix)
        state = self._states.get(key)
        if state is None:
            self.misses += 1
            return None
        self._states.move_to_end(key)
        self.hits += 1
        return state

    def put(self, prefix: Sequence[int], state: Any) -> None:
        """Keep ``state`` for ``prefix``, dropping the least recently used over the limit."""
        size = ctypes.sizeof(state)
        if size > self.limit_bytes:
            return
        key = tuple(prefix)
        old = self._states.pop(key, None)
        if old is not None:
            self._bytes -= ctypes.sizeof(old)
        self._states[key] = state
        self._bytes += size
        while self._bytes > self.limit_bytes:
            _, dropped = self._states.popitem(last=False)
            self._bytes -= ctypes.sizeof(dropped)


def clear_seq(ctx: Any, seq: int) -> None:
    """Remove every KV cell of sequence ``seq``."""
    import llama_cpp

    llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(ctx), seq, -1, -1)


def save_seq(ctx: Any, seq: int) -> Any:
    """A copy of sequence ``seq``'s KV cells (a ctypes byte array).

    Raises:
        RuntimeError: llama.cpp saved nothing.
    """
    import llama_cpp

    size = llama_cpp.llama_state_seq_get_size(ctx, seq)
    buf = (ctypes.c_uint8 * size)()
    written = llama_cpp.llama_state_seq_get_data(ctx, buf, size, seq)
    if written == 0 or written > size:
        raise RuntimeError(f"llama_state_seq_get_data saved {written} of {size} bytes")
    if written == size:
        return buf
    small = (ctypes.c_uint8 * written)()
    ctypes.memmove(small, buf, written)
    return small


def restore_seq(ctx: Any, seq: int, state: Any) -> None:
    """Load a state from :func:`save_seq` into the (cleared) sequence ``seq``.

    Raises:
        RuntimeError: llama.cpp could not restore it.
    """
    import llama_cpp

    size = ctypes.sizeof(state)
    if llama_cpp.llama_state_seq_set_data(ctx, state, size, seq) != size:
        raise RuntimeError("llama_state_seq_set_data could not restore a saved prefix")
