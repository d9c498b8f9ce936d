#!/usr/bin/env bash
# Install everything ngff-kit needs into ./.venv, from scratch. Usage: bash scripts/install.sh [extras]
#   extras: "" for the kit alone (the demo), "test" for the test suite (adds Debian chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
PY="${PYTHON:-python3}"

if [ "$extras" = "test" ] && [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = "0" ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "note: /usr/bin/chromium is missing and we are not root: browser tests will be skipped" >&2
    fi
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ -n "$extras" ]; then
    .venv/bin/python -m pip install -q -e ".[$extras]"
else
    .venv/bin/python -m pip install -q -e .
fi

# Azurite (Azure Blob emulator) for the object-store tests: npm into a cache folder, never global.
if [ "$extras" = "test" ]; then
    if command -v npm >/dev/null; then
        AZ="${NGFF_KIT_AZURITE:-$HOME/.cache/ngff-kit/azurite}"
        [ -x "$AZ/node_modules/.bin/azurite-blob" ] || npm install --no-audit --no-fund --prefix "$AZ" azurite >/dev/null
    else
        echo "note: npm is missing: the Azure (Azurite) tests will be skipped" >&2
    fi
fi
