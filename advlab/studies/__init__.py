"""The chapters' experiments, one module per chapter with the paper's numbers written once
(``ch01_attacks``, ``ch02_maps``, ``ch03_texture``, ``ch04_robust_interpretation``,
``ch05_under_fire``, ``ch06_promotion``, ``ch07_layers``, ``ch08_pathways``), on top of the shared experiments of
``common`` (re-exported here).

>>> rows, table = al.studies.ch01_attacks.seminar_table(model, x, y)
"""
from . import (
    ch01_attacks,
    ch02_maps,
    ch03_texture,
    ch04_robust_interpretation,
    ch05_under_fire,
    ch06_promotion,
    ch07_layers,
    ch08_pathways,
    common,
)
from .common import (
                     accuracy_vs_eps,
                     attack_table,
                     manifest_rates,
                     prototype_changes,
                     random_sign_noise,
                     rates,
                     stratified_sample,
                     transform_outcomes,
                     zoo_table,
)

__all__ = [
                     "accuracy_vs_eps",
                     "attack_table",
                     "ch01_attacks",
                     "ch02_maps",
                     "ch03_texture",
                     "ch04_robust_interpretation",
                     "ch05_under_fire",
                     "ch06_promotion",
                     "ch07_layers",
                     "ch08_pathways",
                     "common",
                     "manifest_rates",
                     "prototype_changes",
                     "random_sign_noise",
                     "rates",
                     "stratified_sample",
                     "transform_outcomes",
                     "zoo_table",
]
