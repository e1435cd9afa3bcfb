#!/usr/bin/env bash
# Chapter 2's ranking over three training runs per head: trains the seed-1 and seed-2 heads from
# their recipes (advlab/zoo/recipes/ch02.py), one after the other, skipping those already in the
# manifest; each resumes from its checkpoint. Needs the CIFAR-10 training set (ADVLAB_DATASETS).
# About 65 minutes on a 2-core CPU. Then `python -m advlab.studies.ch02_maps` adds them to the record.
set -euo pipefail
cd "$(dirname "$0")/.."
for name in cifar_resnet8 cifar_attention_pool cifar_protopnet; do
  for seed in 1 2; do
    model="${name}_seed${seed}"
    if .venv/bin/python -c "import sys, advlab as al; sys.exit(0 if '$model' in al.zoo.manifest() else 1)"; then
      echo "$model: in the manifest already, skipped"
      continue
    fi
    .venv/bin/python -m advlab.zoo train "$model"
  done
done
