#!/usr/bin/env bash
# Train every model of the zoo from its recipe (offline, once). Resumable: rerun after an interruption.
# Usage: ADVLAB_DATASETS=../shared/datasets bash scripts/train_zoo.sh [NAME ...]
#        NPROC=4 bash scripts/train_zoo.sh [NAME ...]   # data-parallel over 4 processes (GPUs) with torchrun
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
names=("$@")
[ ${#names[@]} -gt 0 ] || names=($($PY -c "from advlab.zoo import RECIPES; print(*RECIPES)"))
for n in "${names[@]}"; do
  if [ -n "${NPROC:-}" ]; then
    $PY -m torch.distributed.run --standalone --nproc_per_node "$NPROC" -m advlab.zoo train "$n"
  else
    $PY -m advlab.zoo train "$n"
  fi
done
