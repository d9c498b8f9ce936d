#!/usr/bin/env bash
# Debian's chromium for the real-browser widget tests (tests/test_browser.py, -m browser).
# Playwright's own browser downloads cannot work on these machines; the tests launch
# /usr/bin/chromium through executable_path. Idempotent: does nothing when it is installed.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium

if [ ! -x /usr/bin/chromium ]; then
    echo "chromium was installed but /usr/bin/chromium is missing" >&2
    exit 1
fi
echo "installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
