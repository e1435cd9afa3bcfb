#!/usr/bin/env bash
# Chapter 7's zoo, one model after another (resumable: a model already in the manifest is kept):
# the natural classifier and its seven explanation generators, the two TRADES classifiers (max and
# average pooling), the TRADES max-pooling model's generators. About an hour on 2 CPU cores.
# Usage: ADVLAB_DATASETS=../shared/datasets bash scripts/train_ch07.sh      (log in logs/ch07/)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
mkdir -p logs/ch07
layers=$($PY -c "from advlab.models import LAYERED_CNN_LAYERS as L; print(*L)")
order="mnist_layered"
for l in $layers; do order="$order mnist_layered_gen_$l"; done
order="$order mnist_layered_trades mnist_layered_trades_avg"
for l in $layers; do order="$order mnist_layered_trades_gen_$l"; done
for n in $order; do
  if $PY -c "import sys, advlab as al; sys.exit(0 if '$n' in al.zoo.names() else 1)"; then
    echo "$n: in the manifest, kept"; continue
  fi
  $PY -m advlab.zoo train "$n" 2>&1 | tee -a "logs/ch07/$n.log" | grep -v "it/s" || exit 1
done
