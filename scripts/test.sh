#!/usr/bin/env bash
# Install (into ./.venv), lint and type check (scripts/lint.sh; LINT_STRICT=0 makes it
# report-only), then run the whole test suite. Extra arguments go to pytest,
# e.g. `bash scripts/test.sh -m "not slow and not browser"` for the quick inner loop.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh test
bash scripts/lint.sh
exec .venv/bin/python -m pytest -ra "$@"
