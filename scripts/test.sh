#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite: the lint and type gate (ruff, mypy), unit and
# contract tests, evaluation sanity tests on the zoo, the book build (which executes every notebook
# once: a failing cell fails it) and the headless-browser check of the built pages.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Offline dataset copies (used by the data tests when present); the book and tests need none.
if [ -z "${ADVLAB_DATASETS:-}" ] && [ -d ../shared/datasets ]; then export ADVLAB_DATASETS="$(cd ../shared/datasets && pwd)"; fi
gate() {  # run one check of the gate; on failure stop here, saying which and how to reproduce it
  local name=$1; shift
  echo "test: $name"
  if ! "$@"; then
    echo "test: FAILED: $name — fix the findings above (reproduce with: $*); pytest was not run" >&2
    exit 1
  fi
}
gate "ruff (lint, pyproject.toml [tool.ruff])" .venv/bin/ruff check .
gate "mypy (types of advlab/, pyproject.toml [tool.mypy])" .venv/bin/mypy
extra=()
[ "${ADVLAB_NO_BROWSER:-0}" = 1 ] && extra+=(-m "not browser")
exec .venv/bin/python -m pytest tests "${extra[@]}" "$@"
