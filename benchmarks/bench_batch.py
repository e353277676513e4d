"""Measure a batch run's client-side overhead against a direct run, and the store's write rate.

The loopback fake (``python -m agentlab.testing --batch-delay D``) runs in its own process, so
its CPU is not the client's. In this process, after a warm-up run (imports, SDK client), each
round runs the same 2,000 cells (2 variants x 100 tasks x 10 repeats) twice, in alternating
order, each time into a fresh results database:

(a) direct: ``agentlab.run(..., concurrency=32)``, one Messages call per cell (the baseline);
(b) batch: ``agentlab.run(..., batch=BatchOptions(...))``: one ``batches.create`` of 2,000
    requests, polling, then the results streamed and committed one by one.

Printed (medians and minimums over the rounds): wall and CPU seconds of each run (CPU: this
process, user + system), the batch run split into submit (``run(..., wait=False)``) and
``open_run(id).collect()``, as a notebook would do it, and the collection's write rate:
results parsed, converted and committed per second, timed from the progress callback. Then the
store alone, as a baseline for that rate: 2,000 results with one commit each (what collection
does) and in one transaction.

Run: ``python benchmarks/bench_batch.py [--cells-scale 1] [--rounds 2] [--batch-delay 2]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

KEY = "bench"


def start_fake(batch_delay: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "agentlab.testing", "--port", "0",
                             "--batch-delay", str(batch_delay)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def experiment(tasks: int) -> tuple[list[Any], list[Any]]:
    import agentlab as al

    body = "You are a senior Python backend engineer. " + " ".join(
        f"Rule {i}: keep functions small, typed and tested." for i in range(30))
    variants = [al.Agent(name="base", description="bench", body=body, model="sonnet"),
                al.Agent(name="brief", description="bench", body=body + " Be brief.",
                         model="sonnet")]
    task_list = [al.Task(id=f"t{i:03d}", prompt=f"Task {i}: parse record #{i} of a CSV "
                         "export and validate its fields.") for i in range(tasks)]
    return variants, task_list


def one_run(url: str, db: Path, tasks: int, repeats: int, batch: bool) -> dict[str, float]:
    """One run into ``db``; a batch run is timed as submit (``wait=False``) + ``collect()``."""
    import agentlab as al
    from agentlab.providers.anthropic import AnthropicProvider

    variants, task_list = experiment(tasks)
    stamps: list[float] = []
    options = al.BatchOptions(first_poll=0.05, max_poll=0.2)
    out: dict[str, float] = {}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    run = al.run(variants, task_list, repeats=repeats, db=db, concurrency=32,
                 batch=options if batch else False, wait=False,
                 provider=AnthropicProvider(api_key=KEY, base_url=url), progress=False)
    if batch:
        out["submit_cpu_s"], out["submit_s"] = (time.process_time() - cpu0,
                                                time.perf_counter() - wall0)
        run = al.open_run(run.id, db).collect(
            batch=options, progress=lambda done, total: stamps.append(time.perf_counter()))
    out["wall_s"], out["cpu_s"] = time.perf_counter() - wall0, time.process_time() - cpu0
    n = len(variants) * tasks * repeats
    if run.status != "complete" or run.errors or len(run.results) != n:
        raise SystemExit(f"run incomplete: {run.status}, {run.errors} errors")
    if batch:  # the callback fires once at the start, then once per committed result
        if len(stamps) < 3:
            raise SystemExit("the batch ended before submit returned, so collect() had nothing "
                             "to time: raise --batch-delay")
        collect = stamps[-1] - stamps[1]
        out["collect_s"], out["rate"] = collect, (n - 1) / collect if collect > 0 else 0.0
    return out


def store_rates(folder: Path, n: int) -> dict[str, float]:
    from agentlab.runs._store import CellResult, Store

    rows = [CellResult(variant="v", variant_hash="h", task_id=f"t{i}", repeat=0,
                       cache_key=f"{i:064x}", model="claude-sonnet-5-5", provider="anthropic",
                       text="word " * 60, input_tokens=100, output_tokens=60,
                       batch_id="msgbatch_x") for i in range(n)]
    out = {}
    for name, many in (("one_commit_each", False), ("one_transaction", True)):
        with Store(folder / f"{name}.sqlite") as store:
            store.begin_run("run-bench", None, {}, [], [])
            start = time.perf_counter()
            if many:
                store.put_many("run-bench", rows)
            else:
                for row in rows:
                    store.put("run-bench", row)
            out[name] = n / (time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells-scale", type=float, default=1.0, help="1 = 2,000 cells")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-delay", type=float, default=2.0,
                        help="seconds the fake takes per batch (longer than the submit)")
    args = parser.parse_args()
    tasks, repeats = 100, max(1, round(10 * args.cells_scale))
    cells = 2 * tasks * repeats
    fake, url = start_fake(args.batch_delay)
    os.environ["ANTHROPIC_API_KEY"] = KEY  # collect() makes its own provider (fake accepts any)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            one_run(url, folder / "warm.sqlite", 2, 1, batch=False)  # imports, SDK client
            one_run(url, folder / "warmb.sqlite", 2, 1, batch=True)
            results: dict[str, list[dict[str, float]]] = {"direct": [], "batch": []}
            for r in range(args.rounds):
                order = ["direct", "batch"] if r % 2 == 0 else ["batch", "direct"]
                for kind in order:
                    db = folder / f"{kind}{r}.sqlite"
                    results[kind].append(one_run(url, db, tasks, repeats, kind == "batch"))
            rates = store_rates(folder, cells)
    finally:
        fake.terminate()
        fake.wait()
    report(cells, args.batch_delay, results, rates)


def report(cells: int, delay: float, results: dict[str, list[dict[str, float]]],
           rates: dict[str, float]) -> None:
    def med(kind: str, key: str) -> str:
        values = [r[key] for r in results[kind]]
        return f"median {statistics.median(values):7.2f}  min {min(values):7.2f}"

    print(f"{cells} cells on the loopback fake (batch processing delay {delay} s), "
          f"{len(results['direct'])} rounds")
    print(f"  direct run (baseline)   wall s  {med('direct', 'wall_s')}")
    print(f"                          CPU s   {med('direct', 'cpu_s')}")
    print(f"  batch run               wall s  {med('batch', 'wall_s')}")
    print(f"                          CPU s   {med('batch', 'cpu_s')}")
    print(f"    submit (wait=False)   wall s  {med('batch', 'submit_s')}")
    print(f"    submit (wait=False)   CPU s   {med('batch', 'submit_cpu_s')}")
    print(f"    collection            wall s  {med('batch', 'collect_s')}")
    ratio = (statistics.median(r["cpu_s"] for r in results["batch"])
             / statistics.median(r["cpu_s"] for r in results["direct"]))
    print(f"  batch CPU / direct CPU          {ratio:.2f}x")
    print(f"  collection write rate   results/s {med('batch', 'rate')}")
    print(f"  store alone, one commit each      {rates['one_commit_each']:9.0f} results/s")
    print(f"  store alone, one transaction      {rates['one_transaction']:9.0f} results/s")


if __name__ == "__main__":
    main()
