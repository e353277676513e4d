"""Measure the embedded local model: load time, and generation speed through agentlab.

Compares ``LocalProvider.complete`` with a bare ``Llama.create_completion`` on the
same loaded model, the same prompt text, the same sampling and seed and the same
``max_tokens``, so both generate the same tokens; the ratio is agentlab's overhead
(target: at least 0.9x the raw speed). Also measures prompt processing on the seed
agent's system prompt, with and without ``reuse_prefix``.

Run: ``python benchmarks/bench_local.py [--rounds 5] [--max-tokens 128] [--threads N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from agentlab.agents._agent import load_agent
from agentlab.providers.base import GenerationOptions, Message, Request, Response
from agentlab.providers.local import DEFAULT_TOP_K, LocalProvider, resolve_local_model

ROOT = Path(__file__).resolve().parent.parent
SEED_AGENT = ROOT / "data" / "agents" / "python-pro-backend.md"
RAW, OURS = "raw Llama.create_completion", "agentlab LocalProvider"
TASK = "Write a Python function that parses an ISO 8601 date and explain it step by step."


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_generation(provider: LocalProvider, rounds: int, max_tokens: int) -> None:
    opts = GenerationOptions(max_tokens=max_tokens, seed=1)
    req = Request(system="You are a helpful assistant.", messages=(Message("user", TASK),),
                  model=provider.model, options=opts)
    prompt = provider.format_request(req)
    llm = provider.llama
    times: dict[str, list[tuple[float, float]]] = {RAW: [], OURS: []}
    tokens = {RAW: 0, OURS: 0}
    for _ in range(rounds):  # interleaved, so drift in machine load hits both alike
        llm.reset()
        wall, cpu = time.perf_counter(), time.process_time()
        out = llm.create_completion(prompt, max_tokens=max_tokens, temperature=1.0, top_p=0.95,
                                    top_k=DEFAULT_TOP_K, min_p=0.0, seed=1, stop=["<end_of_turn>"])
        times[RAW].append((time.perf_counter() - wall, time.process_time() - cpu))
        tokens[RAW] = out["usage"]["completion_tokens"]
        wall, cpu = time.perf_counter(), time.process_time()
        resp: Response = asyncio.run(provider.complete(req))
        times[OURS].append((time.perf_counter() - wall, time.process_time() - cpu))
        tokens[OURS] = resp.output_tokens
    print(f"generation, max_tokens={max_tokens}, {rounds} interleaved rounds; wall and CPU "
          "seconds per call (best = least disturbed by other processes on the machine):")
    speed = {}
    for label in (RAW, OURS):
        walls, cpus = [w for w, _ in times[label]], [c for _, c in times[label]]
        n = tokens[label]
        speed[label] = (n / min(walls), n / statistics.median(walls), n / min(cpus))
        print(f"  {label:28s}: {n} tokens; wall best {min(walls):6.3f} s = {speed[label][0]:5.1f} "
              f"tok/s, median {statistics.median(walls):6.3f} s = {speed[label][1]:5.1f} tok/s; "
              f"CPU best {min(cpus):6.3f} s")
    ratios = [o / r for o, r in zip(speed[OURS], speed[RAW], strict=True)]
    print(f"  same tokens generated: {tokens[RAW] == tokens[OURS]}; agentlab/raw speed ratio: "
          f"wall best {ratios[0]:.3f}, wall median {ratios[1]:.3f}, CPU best {ratios[2]:.3f}")


def bench_prompt(provider: LocalProvider, rounds: int) -> None:
    system = load_agent(SEED_AGENT).body
    reqs = [Request(system=system, messages=(Message("user", f"Task {i}: {TASK}"),),
                    model=provider.model, options=GenerationOptions(max_tokens=1))
            for i in range(rounds + 1)]
    n_prompt = len(provider.prompt_tokens(reqs[0]))
    cold = [asyncio.run(provider.complete(r)).latency_s for r in reqs]
    warm_provider = LocalProvider(provider.model, n_ctx=provider.n_ctx,
                                  n_threads=provider.n_threads, reuse_prefix=True)
    warm = [asyncio.run(warm_provider.complete(r)).latency_s for r in reqs][1:]
    print(f"prompt processing, seed agent system prompt + task = {n_prompt} tokens:")
    print(f"  from scratch (default)   : {statistics.median(cold):6.3f} s "
          f"= {n_prompt / statistics.median(cold):6.0f} tokens/s")
    print(f"  reuse_prefix=True        : {statistics.median(warm):6.3f} s "
          "(system prompt kept from the previous call)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--model", default="local")
    parser.add_argument("--threads", type=int, default=None, help="default: all cores")
    args = parser.parse_args()
    import llama_cpp

    print(f"llama-cpp-python {llama_cpp.__version__}, Python {platform.python_version()}, "
          f"{platform.machine()}")
    print(llama_cpp.llama_print_system_info().decode().strip())
    resolve_seconds = timed(lambda: resolve_local_model(args.model))
    provider = LocalProvider(args.model, n_threads=args.threads)
    print(f"model file resolved (assemble/verify sha256) in {resolve_seconds:.2f} s")
    print(f"model load (Llama(), n_ctx={provider.n_ctx}, threads={provider.n_threads}): "
          f"{provider.load():.2f} s")
    bench_generation(provider, args.rounds, args.max_tokens)
    bench_prompt(provider, args.rounds)


if __name__ == "__main__":
    main()
