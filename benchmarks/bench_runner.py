"""Measure the runner's overhead against a bare SDK loop, and cached reloads.

(a) ``agentlab.run`` and (b) a bare ``AsyncAnthropic`` + one semaphore + ``gather`` loop send
the same requests (same system blocks, messages, model and ``max_tokens``) to the loopback
fake (``python -m agentlab.testing``, its own process, so its CPU is not the client's). Each
run is a fresh child process: wall and CPU seconds cover imports and start-up. Rounds
alternate which goes first. Target: agentlab <= 1.15x the bare loop, wall and CPU.

(c) Cache reload: a 1,000-cell run is stored (fake with no latency), then a fresh process
runs the identical experiment again (every cell from the store, zero requests) and builds
the DataFrame, and ``open_run(id).to_dataframe()``. Target: <= 0.5 s for the cached run.

Run: ``python benchmarks/bench_runner.py [--requests-scale 1] [--rounds 3] [--latency 0.2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

MODEL = "claude-sonnet-5-5"  # what the variants' ``model: sonnet`` resolves to
MAX_TOKENS = 1024  # GenerationOptions' default
KEY = "bench"
VARIANT_BODIES = {
    "base": "You are a senior Python backend engineer. " + " ".join(
        f"Rule {i}: keep functions small, typed and tested, and explain trade-offs briefly."
        for i in range(30)),
    "brief": "You are a senior Python backend engineer. Answer in at most five sentences. "
             + " ".join(f"Guideline {i}: prefer the standard library and clear names."
                        for i in range(30)),
}


def sizes(scale: float, tasks: int, repeats: int) -> tuple[int, int]:
    """Tasks and repeats for a workload scaled by ``scale`` (repeats scale, tasks stay)."""
    return tasks, max(1, round(repeats * scale))


def task_prompts(n: int) -> list[tuple[str, str]]:
    return [(f"t{i:02d}", f"Task {i}: write a function that parses record #{i} of a CSV "
             "export and validates its fields; show the code and a test.") for i in range(n)]


# -- children (each runs in its own process) ---------------------------------------------

def child_agentlab(url: str, db: str, tasks: int, repeats: int, concurrency: int) -> dict[str, Any]:
    start = time.perf_counter()
    import anthropic  # noqa: F401  imported here so "work" compares like with like

    import agentlab as al
    from agentlab.providers.anthropic import AnthropicProvider

    variants = [al.Agent(name=n, description="bench", body=b, model="sonnet")
                for n, b in VARIANT_BODIES.items()]
    task_list = [al.Task(id=i, prompt=p) for i, p in task_prompts(tasks)]
    imported, cpu0 = time.perf_counter(), time.process_time()
    run = al.run(variants, task_list, repeats=repeats, concurrency=concurrency, db=db,
                 provider=AnthropicProvider(api_key=KEY, base_url=url), progress=False)
    end = time.perf_counter()
    n = len(variants) * tasks * repeats
    if run.status != "complete" or run.errors or len(run.results) != n or run.requests_sent != n:
        raise SystemExit(f"agentlab run incomplete: {run.status}, {run.errors} errors")
    return {"import_s": imported - start, "work_s": end - imported,
            "work_cpu_s": time.process_time() - cpu0}


def child_bare(url: str, tasks: int, repeats: int, concurrency: int) -> dict[str, Any]:
    start = time.perf_counter()
    import asyncio

    from anthropic import AsyncAnthropic

    imported, cpu0 = time.perf_counter(), time.process_time()

    async def main() -> list[Any]:
        client = AsyncAnthropic(api_key=KEY, base_url=url)
        gate = asyncio.Semaphore(concurrency)

        async def one(system: str, user: str) -> Any:
            async with gate:
                return await client.messages.create(
                    model=MODEL, max_tokens=MAX_TOKENS,
                    messages=[{"role": "user", "content": user}],
                    system=[{"type": "text", "text": system,
                             "cache_control": {"type": "ephemeral"}}])

        jobs = [one(body, prompt) for body in VARIANT_BODIES.values()
                for _, prompt in task_prompts(tasks) for _ in range(repeats)]
        try:
            return await asyncio.gather(*jobs)
        finally:
            await client.close()

    replies = asyncio.run(main())
    end = time.perf_counter()
    if not all(r.content for r in replies):
        raise SystemExit("bare loop: empty reply")
    return {"import_s": imported - start, "work_s": end - imported,
            "work_cpu_s": time.process_time() - cpu0}


def child_cached(url: str, db: str, tasks: int, repeats: int, copy_id: str) -> dict[str, Any]:
    """Re-run a stored experiment (all from the store); ``fill`` when copy_id is empty."""
    import agentlab as al
    from agentlab.providers.anthropic import AnthropicProvider

    variants = [al.Agent(name=n, description="bench", body=b, model="sonnet")
                for n, b in VARIANT_BODIES.items()]
    task_list = [al.Task(id=i, prompt=p) for i, p in task_prompts(tasks)]

    def again(**kw: Any) -> al.Run:
        return al.run(variants, task_list, repeats=repeats, concurrency=32, db=db,
                      provider=AnthropicProvider(api_key=KEY, base_url=url), progress=False, **kw)

    if copy_id == "fill":
        run = again()
        return {"run_id": run.id, "sent": run.requests_sent, "cells": len(run.results)}
    out: dict[str, Any] = {}
    t = time.perf_counter()
    run = again()
    out["rerun_s"], out["sent"] = time.perf_counter() - t, run.requests_sent
    out["cached"] = sum(r.cached for r in run.results)
    out["rerun_warm_s"] = timed(again)
    out["import_pandas_s"] = timed(lambda: __import__("pandas"))
    out["dataframe_s"] = timed(run.to_dataframe)
    out["open_run_dataframe_s"] = timed(lambda: al.open_run(run.id, db).to_dataframe())
    t = time.perf_counter()
    copy = again(run_id=copy_id)  # another run id: every cell copied from the cache
    out["copy_s"], out["copy_cached"] = time.perf_counter() - t, sum(r.cached for r in copy.results)
    out["cells"] = len(run.results)
    return out


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def child_main(argv: Sequence[str]) -> None:
    mode, url, db, tasks, repeats, conc, extra = argv
    if mode == "agentlab":
        out = child_agentlab(url, db, int(tasks), int(repeats), int(conc))
    elif mode == "bare":
        out = child_bare(url, int(tasks), int(repeats), int(conc))
    else:
        out = child_cached(url, db, int(tasks), int(repeats), extra)
    out["cpu_s"] = time.process_time()
    print(json.dumps(out), flush=True)


# -- parent -------------------------------------------------------------------------------

def spawn(mode: str, url: str, db: str, tasks: int, repeats: int, conc: int,
          extra: str = "-") -> dict[str, Any]:
    """Run one child; add whole-process wall and CPU (user + system, from wait4)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", mode, url, db, str(tasks), str(repeats), str(conc),
         extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{mode} child failed ({proc.returncode}):\n{stderr}{stdout}")
    out: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    out["wall_s"], out["proc_cpu_s"] = wall, usage.ru_utime + usage.ru_stime
    return out


def proc_cpu(pid: int) -> float:
    """CPU seconds a running process has used so far (Linux /proc), or NaN."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_fake(latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "agentlab.testing", "--port", "0",
                             "--latency", str(latency)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def stats(values: list[float]) -> str:
    return f"median {statistics.median(values):6.2f}  min {min(values):6.2f}"


def bench_overhead(args: argparse.Namespace, tmp: Path) -> None:
    tasks, repeats = sizes(args.requests_scale, 20, 10)
    n = 2 * tasks * repeats
    ideal = n * args.latency / args.concurrency
    print(f"(a/b) {n} requests = {tasks} tasks x 2 variants x {repeats} repeats, concurrency "
          f"{args.concurrency}, fake latency {args.latency:g} s (fake in its own process); "
          f"{args.rounds} rounds alternating; ideal wall N x latency / concurrency = {ideal:.2f} s")
    fake, url = start_fake(args.latency)
    got: dict[str, list[dict[str, Any]]] = {"agentlab": [], "bare": []}
    fake_cpu: dict[str, list[float]] = {"agentlab": [], "bare": []}
    try:
        for rnd in range(args.rounds):
            order = ["agentlab", "bare"] if rnd % 2 == 0 else ["bare", "agentlab"]
            for mode in order:
                db = str(tmp / f"overhead-{rnd}.sqlite")  # fresh store: nothing cached
                before = proc_cpu(fake.pid)
                got[mode].append(spawn(mode, url, db, tasks, repeats, args.concurrency))
                fake_cpu[mode].append(proc_cpu(fake.pid) - before)
    finally:
        fake.terminate()
        fake.wait()
    print(f"  {'':9s} {'whole process wall s':>28s}   {'whole process CPU s':>28s}   "
          f"{'work wall s':>12s} {'work CPU s':>11s} {'import s':>9s}  wall/ideal")
    for mode, rows in got.items():
        med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        print(f"  {mode:9s} {stats([r['wall_s'] for r in rows]):>28s}   "
              f"{stats([r['proc_cpu_s'] for r in rows]):>28s}   {med['work_s']:12.2f} "
              f"{med['work_cpu_s']:11.2f} {med['import_s']:9.2f}  "
              f"{med['wall_s'] / ideal:5.2f}x (work {med['work_s'] / ideal:.2f}x)")
    ratio = {k: statistics.median(a[k] for a in got["agentlab"])
             / statistics.median(b[k] for b in got["bare"])
             for k in ("wall_s", "proc_cpu_s", "work_s", "work_cpu_s")}
    best = {k: min(a[k] for a in got["agentlab"]) / min(b[k] for b in got["bare"])
            for k in ("wall_s", "proc_cpu_s")}
    verdict = "OK" if max(ratio["wall_s"], ratio["proc_cpu_s"]) <= 1.15 else "MISSED"
    print(f"  agentlab / bare (medians): wall {ratio['wall_s']:.3f}x, CPU "
          f"{ratio['proc_cpu_s']:.3f}x; work phase only: wall {ratio['work_s']:.3f}x, CPU "
          f"{ratio['work_cpu_s']:.3f}x   [target <= 1.15x: {verdict}]")
    print(f"  agentlab / bare (minimums): wall {best['wall_s']:.3f}x, CPU "
          f"{best['proc_cpu_s']:.3f}x")
    per_req = {m: 1000 * statistics.median(r["work_cpu_s"] for r in rows) / n
               for m, rows in got.items()}
    print(f"  client CPU per request (work phase): agentlab {per_req['agentlab']:.2f} ms, "
          f"bare {per_req['bare']:.2f} ms; fake server CPU per run: agentlab "
          f"{statistics.median(fake_cpu['agentlab']):.2f} s, bare "
          f"{statistics.median(fake_cpu['bare']):.2f} s")


def canonical(body: object) -> str:
    return json.dumps(body, sort_keys=True)


def bench_cache(args: argparse.Namespace, tmp: Path) -> None:
    from agentlab.testing._server import FakeAnthropic

    tasks, repeats = sizes(args.requests_scale, 25, 20)
    n = 2 * tasks * repeats
    db = str(tmp / "cache.sqlite")
    # In this process (in a thread) so its request counter can be read between children.
    with FakeAnthropic(latency=0.0) as fake:
        fill = spawn("cached", fake.base_url, db, tasks, repeats, 32, "fill")
        stored, agentlab_bodies = fake.request_count, {canonical(b) for b in fake.bodies()}
        spawn("bare", fake.base_url, "-", tasks, 1, 32)
        bare_bodies = [canonical(b) for b in fake.bodies()[stored:]]
        same = len(bare_bodies) == 2 * tasks and set(bare_bodies) == agentlab_bodies
        sent = fake.request_count
        print(f"(c) cache reload: stored {fill['cells']} cells ({tasks} tasks x 2 variants x "
              f"{repeats} repeats) in {fill['wall_s']:.2f} s (fake: {stored} requests)")
        rounds = []
        for rnd in range(args.rounds):
            rounds.append(spawn("cached", fake.base_url, db, tasks, repeats, 32, f"copy-{rnd}"))
        new = fake.request_count - sent
    # A same-id re-run returns the run's own stored rows (cached=False: this run made
    # them); a new run id copies them from the cache (cached=True). Neither may send.
    ok = new == 0 and all(r["sent"] == 0 and r["copy_cached"] == n and r["cells"] == n
                          for r in rounds)
    print(f"  request bodies: the bare loop sends exactly what agentlab sends: {same}")
    print(f"  fake received {new} new requests during {args.rounds} cached re-runs "
          f"({'ZERO, as required' if ok else 'NOT ZERO: cache broken'})")

    def line(label: str, key: str, target: float | None = None) -> None:
        values = [r[key] for r in rounds]
        mark = ""
        if target is not None:
            mark = f"   [target <= {target:g} s: "
            mark += "OK]" if statistics.median(values) <= target else "MISSED]"
        print(f"  {label:58s} {stats(values)} s{mark}")

    line(f"agentlab.run, {n} cells all cached, fresh process", "rerun_s", 0.5)
    line("agentlab.run again, same process (warm)", "rerun_warm_s")
    line("import pandas (first DataFrame pays it)", "import_pandas_s")
    line("Run.to_dataframe() (pandas already imported)", "dataframe_s")
    line("open_run(id, db).to_dataframe()", "open_run_dataframe_s")
    line(f"agentlab.run, new run id ({n} cells copied from cache)", "copy_s")
    line("whole child process (imports + all of the above)", "wall_s")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests-scale", type=float, default=1.0,
                        help="multiply the repeats of both workloads (default 1: 400 and 1,000)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.2, help="fake latency, seconds")
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    import anthropic

    print(f"Python {sys.version.split()[0]}, anthropic {anthropic.__version__}, "
          f"{os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="bench-runner-") as tmp:
        bench_overhead(args, Path(tmp))
        bench_cache(args, Path(tmp))


if __name__ == "__main__":
    main()
