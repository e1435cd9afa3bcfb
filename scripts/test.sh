#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite: unit and contract tests, evaluation sanity
# tests on the zoo, every notebook under nbmake, the book build and the headless-browser check.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Offline dataset copies (used by the data tests when present); the book and tests need none.
if [ -z "${ADVLAB_DATASETS:-}" ] && [ -d ../shared/datasets ]; then export ADVLAB_DATASETS="$(cd ../shared/datasets && pwd)"; fi
extra=()
[ "${ADVLAB_NO_BROWSER:-0}" = 1 ] && extra+=(-m "not browser")
exec .venv/bin/python -m pytest tests notebooks --nbmake --nbmake-timeout=600 "${extra[@]}" "$@"
