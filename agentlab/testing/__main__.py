"""Serve the loopback fake: ``python -m agentlab.testing --port 8765``."""

from agentlab.testing._server import main

if __name__ == "__main__":
    raise SystemExit(main())
