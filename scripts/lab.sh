#!/usr/bin/env bash
# Set up (idempotent) and open the chapter notebooks in JupyterLab, with live widgets.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/jupyter lab notebooks/ "$@"
