#!/usr/bin/env bash
# Install the kit (into ./.venv) and run the demo: a sample plate served over authenticated
# HTTP on 127.0.0.1, opened as a remote user would, browsed, previewed to PNG files.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh parquet   # every table backend of the sample, parquet included
exec .venv/bin/ngff-kit demo "$@"
