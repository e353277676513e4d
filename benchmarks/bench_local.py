"""Benchmark the embedded local model on the sample experiment's cells: naive loops vs agentlab.

Three ways over the same cells (the ``make run`` sample, read from the Makefile's
``SAMPLE_VARIANTS`` × ``SAMPLE_TASKS``: the runner's own requests and per-repeat seeds, same
sampling and ``max_tokens``; requests that duplicate another variant's are dropped), on the
same loaded model, in one process:

- ``naive-cold``: one ``Llama.create_chat_completion`` per cell after ``Llama.reset()``, so
  every answer is independent of the cells before it (what agentlab did before it reused
  prefixes: each cell evaluates its whole prompt);
- ``naive-plain``: the same loop without ``reset()``, in the runner's variant-major order,
  where llama-cpp-python reuses the common prefix of the *previous* call only (answers then
  depend on which cell ran before; this column shows what that reuse alone gives);
- ``agentlab``: ``agentlab.run`` on a ``LocalProvider`` (saved system-prompt states).

For each: prompt tokens evaluated (llama.cpp's own ``llama_perf_context`` counters) against
prompt tokens in total, generated tokens, wall time and tokens/s. Targets, against
``naive-cold``: agentlab wall <= 0.5x and prompt tokens evaluated <= 25%.

``--contention`` measures prompt and generation tokens/s quiet and beside one busy
``python -c 'while True: pass'`` for thread counts and OpenMP wait policies, each in a fresh
process (OpenMP reads ``OMP_WAIT_POLICY`` when llama.cpp loads). ``--batched`` measures
multi-sequence decoding through llama.cpp's batch API (B sequences per ``llama_decode``) and
whether a sequence's logits stay bit-identical to decoding it alone.

The machine is shared: every figure is printed with the 1-minute load average beside it.

Run: ``python benchmarks/bench_local.py [--cells N] [--max-tokens 768] [--skip-naive-plain]
[--contention] [--batched]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import agentlab as al
from agentlab.providers.base import GenerationOptions, Request
from agentlab.providers.local import (
    DEFAULT_TEMPERATURE,
    DEFAULT_TOP_K,
    DEFAULT_TOP_P,
    LocalProvider,
    _import_llama_cpp,
    resolve_local_model,
)
from agentlab.runs._cells import Cell, plan
from agentlab.runs._runner import execute_async, run_sync

ROOT = Path(__file__).resolve().parent.parent


def makefile_list(name: str) -> tuple[str, ...]:
    """A ``NAME ?= a b \\`` list from the Makefile: the bench runs make run's own sample."""
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    match = re.search(rf"^{name}\s*\?=(.*)$", text, flags=re.MULTILINE)
    if match is None:
        raise SystemExit(f"Makefile: no {name}")
    return tuple(match.group(1).split())


SAMPLE_VARIANTS = makefile_list("SAMPLE_VARIANTS")
SAMPLE_TASKS = makefile_list("SAMPLE_TASKS")


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


@dataclass(frozen=True)
class Column:
    name: str
    cells: int
    prompt_total: int
    prompt_evaluated: int
    generated: int
    wall_s: float
    load_before: float
    load_after: float


def sample_cells(args: argparse.Namespace, provider: LocalProvider) -> list[Cell]:
    agents = [a for a in al.load_agents(ROOT / "data" / "agents") if a.name in SAMPLE_VARIANTS]
    tasks = [t for t in al.load_tasks(ROOT / "data" / "tasks" / "backend.yaml")
             if t.id in SAMPLE_TASKS]
    cells = plan(agents, tasks, repeats=args.repeats, model=provider.model,
                 default_model=provider.model,
                 options=GenerationOptions(max_tokens=args.max_tokens),
                 namespace=provider.cache_namespace, table=al.ModelTable())
    return cells[: args.cells] if args.cells else cells


def perf(llm: Any) -> tuple[int, int]:
    import llama_cpp

    data = llama_cpp.llama_perf_context(llm.ctx)  # one sequence: exact
    return int(data.n_p_eval), int(data.n_eval)


def reset_perf(llm: Any) -> None:
    import llama_cpp

    llama_cpp.llama_perf_context_reset(llm.ctx)


def naive_llama(provider: LocalProvider) -> Any:
    """A plain ``llama_cpp.Llama`` on the same GGUF file, context and threads."""
    import llama_cpp

    return llama_cpp.Llama(str(resolve_local_model(provider.model)), n_ctx=provider.n_ctx,
                           n_threads=provider.n_threads, n_threads_batch=provider.n_threads,
                           verbose=False)


def naive(name: str, cells: list[Cell], provider: LocalProvider, llm: Any, cold: bool
          ) -> Column:
    llm.reset()
    reset_perf(llm)
    before, start = os.getloadavg()[0], time.perf_counter()
    generated = 0
    for cell in cells:
        req = cell.request
        if cold:
            llm.reset()
        out = llm.create_chat_completion(
            messages=[{"role": "system", "content": req.system},
                      *({"role": m.role, "content": m.content} for m in req.messages)],
            max_tokens=req.options.max_tokens, temperature=DEFAULT_TEMPERATURE,
            top_p=DEFAULT_TOP_P, top_k=DEFAULT_TOP_K, min_p=0.0, seed=req.options.seed)
        generated += int(out["usage"]["completion_tokens"])
    wall = time.perf_counter() - start
    evaluated, _ = perf(llm)
    return Column(name, len(cells), prompt_total(cells, provider), evaluated, generated, wall,
                  before, os.getloadavg()[0])


def prompt_total(cells: list[Cell], provider: LocalProvider) -> int:
    return sum(len(provider.prompt_tokens(c.request)) for c in cells)


def agentlab_run(cells: list[Cell], provider: LocalProvider) -> Column:
    provider.prefix_states.clear()
    engine = provider.engine
    evaluated_before = engine.prompt_tokens_evaluated
    before, start = os.getloadavg()[0], time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        run = run_sync(lambda: execute_async(cells, provider=provider, progress=False,
                                             db=Path(tmp) / "bench.sqlite", refresh=True))
    wall = time.perf_counter() - start
    # Counted by the engine at llama_decode; llama_perf_context would also count two-row
    # decode steps as prompt tokens.
    evaluated = engine.prompt_tokens_evaluated - evaluated_before
    assert run.errors == 0, [r.error for r in run.results if not r.ok]
    return Column("agentlab", len(cells), prompt_total(cells, provider), evaluated,
                  sum(r.output_tokens for r in run.results), wall, before, os.getloadavg()[0])


def report(columns: list[Column]) -> None:
    base = columns[0]
    print(f"\n{'':12s} {'cells':>5s} {'prompt evaluated / total':>26s} {'generated':>9s} "
          f"{'wall s':>8s} {'tok/s':>6s}  load before/after")
    for c in columns:
        tps = (c.prompt_evaluated + c.generated) / c.wall_s
        print(f"{c.name:12s} {c.cells:5d} {c.prompt_evaluated:>9,d} / {c.prompt_total:<9,d} "
              f"({c.prompt_evaluated / c.prompt_total:4.0%}) {c.generated:9,d} {c.wall_s:8.1f} "
              f"{tps:6.1f}  {c.load_before:.2f}/{c.load_after:.2f}")
    ours = next(c for c in columns if c.name == "agentlab")
    print(f"\nagentlab vs {base.name}: wall {ours.wall_s / base.wall_s:.2f}x (target <= 0.5), "
          f"prompt tokens evaluated {ours.prompt_evaluated / base.prompt_evaluated:.0%} "
          "(target <= 25%)")
    print("tok/s = (prompt tokens evaluated + generated) / wall; the generated totals differ "
          "a little because the loops sample their own answers.")


# --------------------------------------------------------------------------- contention

_PROBE = r"""
import json, os, sys, time
import llama_cpp
sink = llama_cpp.llama_log_callback(lambda level, text, data: None)
llama_cpp.llama_log_set(sink, None)
threads, path, system = int(sys.argv[1]), sys.argv[2], sys.argv[3]
llm = llama_cpp.Llama(path, n_ctx=2048, n_threads=threads, n_threads_batch=threads,
                      verbose=False)
prompt = (f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n"
          "Write a typed FastAPI endpoint.<|im_end|>\n<|im_start|>assistant\n")
tokens = llm.tokenize(prompt.encode(), add_bos=False, special=True)[:400]
start = time.perf_counter(); llm.reset(); llm.eval(tokens); pp = time.perf_counter() - start
start, n = time.perf_counter(), 0
for _ in llm.generate(tokens, temp=0.0, top_k=1):
    n += 1
    if n == 48:
        break
tg = time.perf_counter() - start
print(json.dumps({"pp": len(tokens) / pp, "tg": n / tg}))
"""


def probe(threads: int, wait: str, system: str, model: Path) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if wait != "default":
        env["OMP_WAIT_POLICY"] = wait
    out = subprocess.run([sys.executable, "-c", _PROBE, str(threads), str(model), system],
                         env=env, capture_output=True, text=True, check=True, timeout=900)
    result: dict[str, float] = json.loads(out.stdout)
    return result


def bench_contention(rounds: int, model: Path, system: str) -> None:
    configs = [(2, "default"), (2, "PASSIVE"), (1, "default"), (1, "PASSIVE")]
    results: dict[tuple[int, str, bool], list[dict[str, float]]] = {}
    for rnd in range(rounds):
        for busy in (False, True):
            hog = (subprocess.Popen([sys.executable, "-c", "while True: pass"])
                   if busy else None)
            try:
                for threads, wait in configs:
                    r = probe(threads, wait, system, model)
                    results.setdefault((threads, wait, busy), []).append(r)
                    print(f"  round {rnd} threads={threads} wait={wait:8s} "
                          f"{'competitor' if busy else 'quiet':10s}: prompt {r['pp']:6.1f} "
                          f"tok/s, generation {r['tg']:5.1f} tok/s ({load()})", flush=True)
            finally:
                if hog is not None:
                    hog.kill()
                    hog.wait()
    print("\ncontention, medians (slowdown = quiet / with one busy competitor):")
    for threads, wait in configs:
        calm, loaded = results[(threads, wait, False)], results[(threads, wait, True)]
        line = [f"threads={threads} wait={wait:8s}"]
        for key, label in (("pp", "prompt"), ("tg", "generation")):
            q = statistics.median(x[key] for x in calm)
            b = statistics.median(x[key] for x in loaded)
            line.append(f"{label} {q:5.1f} -> {b:5.1f} tok/s ({q / b:4.1f}x)")
        print("  " + "; ".join(line))


# --------------------------------------------------------------------------- batched decoding


def _decode_batched(llm: Any, prompts: list[list[int]], steps: int) -> tuple[float, Any]:
    """Greedy-decode len(prompts) sequences together; tokens/s and sequence 0's logits."""
    import llama_cpp as lc
    import numpy as np

    width, n_vocab = len(prompts), llm.n_vocab()
    params = lc.llama_context_default_params()
    params.n_ctx, params.n_batch, params.n_ubatch, params.n_seq_max = 2048, 512, 512, width
    params.n_threads = params.n_threads_batch = os.cpu_count() or 1
    ctx = lc.llama_init_from_model(llm.model, params)
    batch = lc.llama_batch_init(512, 0, width)
    try:
        def logits(i: int) -> Any:
            return np.ctypeslib.as_array(lc.llama_get_logits_ith(ctx, i), shape=(n_vocab,))

        def put(rows: list[tuple[int, int, int, bool]]) -> None:
            for j, (token, pos, seq, out) in enumerate(rows):
                batch.token[j], batch.pos[j], batch.n_seq_id[j] = token, pos, 1
                batch.seq_id[j][0], batch.logits[j] = seq, out
            batch.n_tokens = len(rows)
            if lc.llama_decode(ctx, batch) != 0:
                raise RuntimeError("llama_decode failed")

        last = []
        for s, p in enumerate(prompts):  # each prompt evaluated on its own
            put([(t, i, s, i == len(p) - 1) for i, t in enumerate(p)])
            last.append(int(np.argmax(logits(len(p) - 1))))
        seen, start = [], time.perf_counter()
        for step in range(steps):
            put([(last[s], len(p) + step, s, True) for s, p in enumerate(prompts)])
            seen.append(logits(0).copy())
            last = [int(np.argmax(logits(s))) for s in range(width)]
        return width * steps / (time.perf_counter() - start), np.stack(seen)
    finally:
        lc.llama_batch_free(batch)
        lc.llama_free(ctx)


def bench_batched(provider: LocalProvider, rounds: int, steps: int) -> None:
    import numpy as np

    llm: Any = provider.llama
    asks = ("Write a FastAPI endpoint that lists orders.", "Explain Python decorators.",
            "What is a B-tree index?", "Write a Redis cache helper.", "Explain asyncio.",
            "Write a Pydantic model for a user.", "What is an N+1 query?", "Explain JWT.")
    prompts = [provider.prompt_tokens(Request(system="You are a helpful Python assistant.",
                                              messages=(al.Message("user", a),), model="local"))
               for a in asks]
    speeds: dict[int, list[float]] = {}
    for rnd in range(rounds):
        alone: Any = None
        for width in (1, 2, 3, 4, 8):
            tps, seen = _decode_batched(llm, prompts[:width], steps)
            alone = seen if width == 1 else alone
            speeds.setdefault(width, []).append(tps)
            same = bool(np.array_equal(seen, alone))
            print(f"  round {rnd} B={width}: {tps:5.1f} generated tok/s in total; sequence 0's "
                  f"logits bit-identical to B=1: {same} ({load()})", flush=True)
    print("batched decoding, medians: " + ", ".join(
        f"B={w} {statistics.median(v):.1f} tok/s" for w, v in speeds.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=0, help="only the first N cells")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=LocalProvider.default_max_tokens)
    parser.add_argument("--skip-naive-plain", action="store_true")
    parser.add_argument("--skip-main", action="store_true", help="only the extra sections")
    parser.add_argument("--contention", action="store_true")
    parser.add_argument("--batched", action="store_true")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    # Through agentlab, so both loops get its OpenMP wait policy (set before llama.cpp loads).
    llama_cpp = _import_llama_cpp()

    print(f"llama-cpp-python {llama_cpp.__version__}, Python {platform.python_version()}, "
          f"{platform.machine()}, {os.cpu_count()} cores, OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY')}; {load()}")
    print(llama_cpp.llama_print_system_info().decode().strip())
    start = time.perf_counter()
    model = resolve_local_model("local")
    print(f"model file {model.name} joined/verified (size + sha256) in "
          f"{time.perf_counter() - start:.2f} s")
    provider = LocalProvider()
    print(f"model load: {provider.load():.2f} s, {provider.n_threads} threads")
    if not args.skip_main:
        cells = sample_cells(args, provider)
        unique = list({c.cache_key: c for c in cells}.values())
        print(f"{len(unique)} cells ({len(cells) - len(unique)} duplicate requests dropped), "
              f"max_tokens {args.max_tokens}")
        llm = naive_llama(provider)
        columns = []
        for name in ("naive-cold", "agentlab", "naive-plain"):
            if name == "naive-plain" and args.skip_naive_plain:
                continue
            columns.append(agentlab_run(unique, provider) if name == "agentlab" else
                           naive(name, unique, provider, llm, cold=name == "naive-cold"))
            c = columns[-1]
            print(f"  {name}: {c.wall_s:.1f} s, {c.prompt_evaluated:,} prompt tokens evaluated, "
                  f"{c.generated:,} generated ({load()})", flush=True)
        llm.close()
        report(columns)
    if args.contention:
        system = al.load_agent(ROOT / "data" / "agents" / "python-pro-backend.md").body
        print("\ncontention (each figure a fresh process):")
        bench_contention(args.rounds, model, system)
    if args.batched:
        print("\nbatched decoding (llama_batch with B sequences, greedy, 32 steps):")
        bench_batched(provider, args.rounds, 32)


if __name__ == "__main__":
    main()
