#!/usr/bin/env bash
# Set up (idempotent) and build the executed book into _build/html (offline).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export ADVLAB_BOOK=1
start=$(date +%s)
# --all: every page re-read, so every notebook is re-executed (an incremental build skips unchanged ones)
.venv/bin/jupyter-book build . --all -W -n --keep-going
echo "book: built in $(( $(date +%s) - start )) s; open $(pwd)/_build/html/index.html"
