#!/usr/bin/env bash
# Train every model of the zoo from its recipe (offline, once). Resumable: rerun after an interruption.
# Usage: ADVLAB_DATASETS=../shared/datasets bash scripts/train_zoo.sh [NAME ...]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
names=("$@")
[ ${#names[@]} -gt 0 ] || names=($($PY -c "from advlab.zoo.recipes import RECIPES; print(*RECIPES)"))
for n in "${names[@]}"; do
  $PY -m advlab.zoo train "$n"
done
