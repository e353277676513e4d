#!/usr/bin/env bash
# Install the system Chromium that tests/test_browser.py drives through Playwright
# (the Python package from the dev extras; `playwright install` is never needed).
# Idempotent: does nothing when Chromium is already there. About 30 s and 480 MB on
# Debian 12. Ubuntu's "chromium" package is a snap wrapper that does not run in
# containers; use a Debian-based image, or point AGENTLAB_CHROMIUM at another binary.
set -euo pipefail

CHROMIUM="${AGENTLAB_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
    echo "chromium already installed: $CHROMIUM"
else
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "install-browser: not root and no sudo" >&2; exit 1; }
        SUDO="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq chromium >/dev/null
fi

# Prove it starts headless (the version line alone can come from a wrapper script).
"$CHROMIUM" --headless --no-sandbox --disable-gpu --dump-dom about:blank >/dev/null 2>&1 \
    || { echo "install-browser: $CHROMIUM does not start headless" >&2; exit 1; }
"$CHROMIUM" --version 2>/dev/null | grep -i chromium
