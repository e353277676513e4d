"""What stopping at the decision saves: a routing trial vs the same session run to the end.

Both modes run the real Claude Code CLI (bundled in claude-agent-sdk) against the loopback
fake, which scripts the same conversation: the main agent calls ``Agent`` for
``python-pro-backend``; the subagent (if it starts) reads a file, edits it and answers; the
main agent then answers.

(a) routing: ``stop_when`` denies the ``Agent`` call and ends the session (what
    ``agentlab.routing`` does);
(b) baseline: the same session without ``stop_when``: the subagent does its work.

Printed per mode: requests to the API, the CLI's own cost estimate, wall seconds (median over
rounds; the modes alternate which goes first). Run:
``python benchmarks/bench_routing.py [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from agentlab.agentic._harness import Connection, SessionSpec, Subagent, run_session
from agentlab.agentic._routing_record import is_delegation
from agentlab.testing._server import FakeAnthropic
from agentlab.testing._stream import call, say

QUERY = "Add a FastAPI endpoint that lists orders by status (bench query)"
SUBTASK = "SUBTASK-7: add the orders endpoint"


def _script(fake: FakeAnthropic, ws: Path) -> None:
    # The subagent's conversation first: its first user message is the Agent call's prompt.
    fake.script(call("Read", file_path=str(ws / "app.py")),
                call("Edit", file_path=str(ws / "app.py"), old_string="pass",
                     new_string="return []"),
                say("Added the endpoint."), match=SUBTASK)
    fake.script(call("Agent", description="orders endpoint", prompt=SUBTASK,
                     subagent_type="python-pro-backend"),
                say("The backend agent added the endpoint."), match=QUERY)


async def _one(stop: bool) -> tuple[int, float, float]:
    with FakeAnthropic() as fake, tempfile.TemporaryDirectory() as folder:
        ws = Path(folder)
        (ws / "app.py").write_text("def list_orders():\n    pass\n")
        _script(fake, ws)
        spec = SessionSpec(
            prompt=QUERY, cwd=ws, stop_when=is_delegation if stop else None,
            agents={"python-pro-backend": Subagent("Python backend work: FastAPI, PostgreSQL.",
                                                   "You are a backend engineer.")})
        start = time.monotonic()
        result = await run_session(spec, Connection("bench-key-0123456789", fake.base_url))
        wall = time.monotonic() - start
        return fake.request_count, result.cost_usd or 0.0, wall


def main() -> None:
    """Run both modes ``--rounds`` times and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    results: dict[str, list[tuple[int, float, float]]] = {"routing": [], "baseline": []}
    for n in range(rounds):
        order = ("routing", "baseline") if n % 2 == 0 else ("baseline", "routing")
        for mode in order:
            results[mode].append(asyncio.run(_one(mode == "routing")))
    print(f"{'mode':<10} {'requests':>8} {'cost (CLI estimate)':>20} {'wall s (median)':>16}")
    for mode, rows in results.items():
        requests = statistics.median(r[0] for r in rows)
        cost = statistics.median(r[1] for r in rows)
        wall = statistics.median(r[2] for r in rows)
        print(f"{mode:<10} {requests:>8.0f} {f'${cost:.4f}':>20} {wall:>16.2f}")


if __name__ == "__main__":
    main()
