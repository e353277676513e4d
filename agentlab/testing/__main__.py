"""Serve the loopback fake from a shell: ``python -m agentlab.testing --port 8765``.

For notebooks run by papermill, or any program pointed at it with ``ANTHROPIC_BASE_URL``.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Sequence

from agentlab.testing._replies import DEFAULT_MODELS, FAULT_KINDS
from agentlab.testing._server import FakeAnthropic
from agentlab.testing._stream import load_script_file


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the fake from the command line until SIGINT or SIGTERM.

    Prints one line, the base URL, once it is listening (so a parent process that
    passed ``--port 0`` can read the port).

    Args:
        argv: Command-line arguments (default ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    parser = argparse.ArgumentParser(
        prog="python -m agentlab.testing",
        description="Serve a fake Anthropic Messages API on the loopback interface.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    parser.add_argument("--batch-delay", type=float, default=0.0, help="seconds per batch")
    parser.add_argument("--reply", default="This is a reply from the fake Anthropic API.")
    parser.add_argument("--model", action="append", help="model id to list, newest first")
    parser.add_argument(
        "--fault", action="append", default=[], choices=FAULT_KINDS, help="queue a fault"
    )
    parser.add_argument("--script", action="append", default=[],
                        help="JSON file of scripted turns (Claude Code sessions), repeatable")
    args = parser.parse_args(argv)
    models = tuple(args.model or DEFAULT_MODELS)
    fake = FakeAnthropic(
        host=args.host, port=args.port, latency=args.latency, reply=args.reply, models=models,
        batch_delay=args.batch_delay
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    for path in args.script:
        for script in load_script_file(path):
            fake.scripts.add(script)
    with fake:
        fake.inject(*args.fault, retry_after=0.01)
        print(fake.base_url, flush=True)
        try:
            while not done.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
