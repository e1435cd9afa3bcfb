"""Training recipes of the zoo, one module per chapter: every named model, what kind of model it is,
how it is trained (its ``objective``, see ``advlab.train.OBJECTIVES``) and how it is evaluated.

A recipe is data, so the manifest records it verbatim and ``python -m advlab.zoo train NAME``
can rebuild any model from it. Keys: ``kind`` (classifier | explainer | generator), ``parent``
(optional: the zoo model it depends on, e.g. the classifier an explainer explains), ``objective``,
``arch``/``arch_kwargs``, ``dataset``, the loop's hyper-parameters (``epochs``, ``batch_size``,
``seed``, ``optimizer``, ``lr``, ``weight_decay``, ``schedule``, ``augment``), the objective's
(``label_smoothing``, ``adversarial``, ``finalize``), and ``robust_eval`` for classifiers.
"""
from __future__ import annotations

from ..store import check_lineage
from . import ch01, ch02, ch03, ch04, ch05, ch07

CHAPTERS = (ch01, ch02, ch03, ch04, ch05, ch07)


def merge(*chapters) -> dict:
    """One dictionary of the chapters' recipes; a name defined twice, an unknown kind or a
    missing parent raises ``ValueError``."""
    out: dict = {}
    where: dict = {}
    for module in chapters:
        for name, recipe in module.RECIPES.items():
            if name in out:
                raise ValueError(f"recipe {name!r} is defined in both {where[name]} and {module.__name__}")
            out[name], where[name] = recipe, module.__name__
    for name in out:
        check_lineage(name, out, "recipe")
    return out


RECIPES = merge(*CHAPTERS)

__all__ = ["RECIPES", "CHAPTERS", "merge"]
