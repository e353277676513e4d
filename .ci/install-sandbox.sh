#!/usr/bin/env bash
# Install what sandboxes model-written code: bubblewrap (Claude Code's Bash sandbox and the
# trial graders' check command) and socat (Claude Code's sandbox network proxy).
# Idempotent: does nothing when both are already there.
set -euo pipefail

if command -v bwrap >/dev/null && command -v socat >/dev/null; then
    echo "sandbox already installed: $(command -v bwrap), $(command -v socat)"
else
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "install-sandbox: not root and no sudo" >&2; exit 1; }
        SUDO="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq bubblewrap socat >/dev/null
fi

# Prove bubblewrap can build a sandbox here (it needs user namespaces or root).
bwrap --ro-bind / / --dev /dev --proc /proc --unshare-net true \
    || { echo "install-sandbox: bwrap cannot create a sandbox on this machine" >&2; exit 1; }
bwrap --version
