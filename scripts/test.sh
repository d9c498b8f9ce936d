#!/usr/bin/env bash
# Install (into ./.venv) and run the whole test suite. Extra arguments go to pytest,
# e.g. `bash scripts/test.sh -m "not slow and not browser"` for the quick inner loop.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh test
exec .venv/bin/python -m pytest -ra "$@"
