#!/usr/bin/env bash
# Chapter 2's ranking over three training runs per head: trains the seed-1 and seed-2 heads from
# their recipes (advlab/zoo/recipes/ch02.py), one after the other; each resumes from its checkpoint.
# Needs the CIFAR-10 training set (ADVLAB_DATASETS). About 65 minutes on a 2-core CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
for name in cifar_resnet8 cifar_attention_pool cifar_protopnet; do
  for seed in 1 2; do
    .venv/bin/python -m advlab.zoo train "${name}_seed${seed}"
  done
done
