#!/usr/bin/env bash
# Set up (idempotent) and open the chapter notebooks in JupyterLab, with live widgets.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# As root (containers, classroom VMs) JupyterLab refuses to start unless told it may.
root=()
[ "$(id -u)" = 0 ] && root=(--allow-root)
exec .venv/bin/jupyter lab notebooks/ "${root[@]}" "$@"
