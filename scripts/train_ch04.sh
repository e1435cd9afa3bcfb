#!/usr/bin/env bash
# Chapter 4's zoo: train the six small MNIST models in parallel (one process each; they share a GPU
# when there is one) and record each one's full-test-set robustness table in the manifest.
# Usage: ADVLAB_DATASETS=../shared/datasets bash scripts/train_ch04.sh     (logs in logs/ch04/)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
mkdir -p logs/ch04
names=$($PY -c "from advlab.studies.ch04_robust_interpretation import MODELS; print(*MODELS.values())")
pids=()
for n in $names; do
  ( $PY -m advlab.zoo train "$n" && $PY -m advlab.studies.ch04_robust_interpretation evaluate "$n" ) \
    > "logs/ch04/$n.log" 2>&1 &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
tail -n 12 logs/ch04/*.log
exit $status
