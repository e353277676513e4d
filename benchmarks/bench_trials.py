"""What an agentic trial costs in tokens and time, measured on the fake, beside a chat cell.

For each sample trial task (``data/workspaces/tasks.yaml``) the base agent runs (a) as an
agentic trial in the real Claude Code CLI, scripted by ``data/workspaces/fake-script.json``
(read, fix, run the check, finish), in both modes (in ``as_subagent`` the main agent is
scripted to delegate to the variant, which then follows the same script), and (b) as an
ordinary chat cell
(``agentlab.run``: one Messages API call with the task's prompt) on the same fake. The fake
counts about four characters a token, so the *input* side is the CLI's real prompts (system
prompt, tool definitions, the growing transcript); the *output* side is the script's, much
shorter than a real model's, so an assumed realistic output per request is priced too.

Two prices per trial. "as recorded": the tokens Claude Code reported from the fake, whose
prompt cache only hits at the exact breakpoints of the request (it re-writes the part of the
conversation before the new breakpoint every turn, so it over-counts cache writes).
"API caching": the recorded request bodies re-priced the way the API caches Claude Code's
append-only conversation (each request reads the previous request's prompt from the cache,
the 20-block lookback, and writes only the new tail; the first request of each conversation
writes everything, which is the cold-cache, upper-bound case).

Run: ``python benchmarks/bench_trials.py [--tasks ws-pagination-bug ws-mypy-error]
[--output-per-turn 600]``. Prints per-trial means and dollar figures at the table's sonnet
price; check them against Anthropic's current prices.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import agentlab as al
from agentlab.agentic import Connection
from agentlab.agentic._trialcell import Mode
from agentlab.providers.anthropic import AnthropicProvider
from agentlab.testing import FakeAnthropic, call, load_script_file, say, scripted_fake
from agentlab.testing._replies import count_input_tokens
from agentlab.testing._stream import Script, opening_text

ROOT = Path(__file__).parents[1]
MODEL = "claude-sonnet-5-5"


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def _trials(fake_url: str, tasks: list[al.Task], agent: al.Agent, mode: Mode,
            db: Path) -> tuple[list[dict[str, float]], float]:
    started = time.monotonic()
    run = al.trial([agent], tasks, mode=mode, db=db, progress=False,
                   connection=Connection("bench-key", fake_url), refresh=True)
    wall = time.monotonic() - started
    df = run.to_dataframe()
    assert run.errors == 0 and bool(df["check_passed"].all()), df[["task_id", "error"]]
    rows = [{k: float(r[k]) for k in ("input_tokens", "cache_write_tokens", "cache_read_tokens",
                                       "output_tokens", "turns", "cost_usd", "latency_s")}
            for _, r in df.iterrows()]
    return rows, wall


def _conversations(bodies: list[dict[str, Any]]) -> list[list[int]]:
    """Prompt sizes (tokens) of each conversation's requests, in order.

    A conversation is one session's requests with one system prompt (a subagent's are its
    own conversation inside the session).
    """
    convs: dict[tuple[str, str], list[int]] = {}
    for body in bodies:
        meta = json.loads(str((body.get("metadata") or {}).get("user_id", "{}")))
        key = (str(meta.get("session_id")), json.dumps(body.get("system"))[-2000:])
        convs.setdefault(key, []).append(count_input_tokens(body))
    return list(convs.values())


def _api_caching_cost(bodies: list[dict[str, Any]], price: al.Price,
                      output_per_request: int) -> float:
    """What the requests would cost with the API's caching of an append-only conversation."""
    total = 0.0
    for sizes in _conversations(bodies):
        previous = 0
        for size in sizes:
            read = min(previous, size)
            total += ((size - read) * price.cache_write + read * price.cache_read
                      + output_per_request * price.output) / 1e6
            previous = size + output_per_request
    return total


def _chat(fake_url: str, tasks: list[al.Task], agent: al.Agent, db: Path) -> list[float]:
    """Input-side tokens (uncached + cache write + cache read) of one chat cell per task."""
    provider = AnthropicProvider(api_key="bench-key", base_url=fake_url)
    run = al.run([agent], tasks, provider=provider, db=db, progress=False, refresh=True)
    df = run.to_dataframe()
    return [float(r["input_tokens"] + r["cache_write_tokens"] + r["cache_read_tokens"])
            for _, r in df.iterrows()]


def _delegating_fake(agent: al.Agent) -> FakeAnthropic:
    """The fake for as_subagent: the main agent delegates, the subagent follows the script."""
    fake = FakeAnthropic(cache_min_tokens=1024)
    scripts = load_script_file(ROOT / "data/workspaces/fake-script.json")
    for script in scripts:
        marker = str(script.match)

        def main_agent(req: dict[str, object], marker: str = marker) -> bool:
            text = opening_text(req)
            return "Delegate this task" in text and marker in text

        fake.scripts.add(Script((call("Agent", subagent_type=agent.name, description="the task",
                                      prompt=f"{marker}: do this task in the workspace."),
                                 say("The subagent did it.")), main_agent))
    for script in scripts:
        fake.scripts.add(script)
    return fake.start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*", help="task ids (default: all)")
    parser.add_argument("--output-per-turn", type=int, default=600,
                        help="assumed output tokens per request of a real model (600)")
    args = parser.parse_args()
    tasks = al.select_tasks(al.load_tasks(ROOT / "data/workspaces/tasks.yaml"),
                            ids=args.tasks or ())
    agent = al.load_agent(ROOT / "data/agents/python-pro-backend.md")
    price = al.ModelTable().price(MODEL)
    assert price is not None
    with tempfile.TemporaryDirectory() as tmp, \
            scripted_fake(ROOT / "data/workspaces/fake-script.json",
                          cache_min_tokens=1024) as fake:
        db = Path(tmp) / "bench.sqlite"
        chat = _chat(fake.base_url, tasks, agent, db)
        print(f"{len(tasks)} tasks, variant {agent.name}, model {MODEL} "
              f"(${price.input}/{price.output} per M in/out, cache write {price.cache_write}, "
              f"read {price.cache_read:.2f})")
        print(f"baseline, one chat cell: {_mean(chat):,.0f} input-side tokens (one request)")
        modes: tuple[Mode, ...] = ("as_main", "as_subagent")
        for mode in modes:
            if mode == "as_subagent":
                fake.stop()
                fake = _delegating_fake(agent)
            fake.reset()
            rows, wall = _trials(fake.base_url, tasks, agent, mode, db)
            requests = fake.request_count / len(rows)
            side = _mean([r["input_tokens"] + r["cache_write_tokens"] + r["cache_read_tokens"]
                          for r in rows])
            scripted = _mean([r["cost_usd"] for r in rows])
            extra = args.output_per_turn * requests - _mean([r["output_tokens"] for r in rows])
            real = scripted + max(0.0, extra) * price.output / 1e6
            print(f"\n{mode}: {len(rows)} trials, {requests:.1f} API requests per trial, wall "
                  f"{wall:.1f} s ({_mean([r['latency_s'] for r in rows]):.1f} s per session)")
            for key in ("turns", "input_tokens", "cache_write_tokens", "cache_read_tokens",
                        "output_tokens"):
                print(f"  mean {key:<19} {_mean([r[key] for r in rows]):>10,.0f}")
            print(f"  input-side tokens per trial  {side:>10,.0f}  ({side / _mean(chat):.0f}x a "
                  "chat cell)")
            api = _api_caching_cost(fake.bodies(), price, args.output_per_turn) / len(rows)
            print(f"  cost per trial, as recorded, scripted output      ${scripted:.4f}")
            print(f"  cost per trial, as recorded, {args.output_per_turn} output/request "
                  f"${real:.4f}")
            print(f"  cost per trial, API caching, {args.output_per_turn} output/request "
                  f"${api:.4f}")
        fake.stop()


if __name__ == "__main__":
    main()
