"""Training objectives, by name: ``OBJECTIVES[name](**params)`` or ``from_recipe(recipe)``.

=============  =======================================================  =======
name           objective                                                chapter
=============  =======================================================  =======
ce             cross-entropy (standard training)                        all
pgd_at         PGD adversarial training, L∞ or L2 (Madry et al. 2018)   1, 3
fgsm_rs        FGSM with random start (Wong et al. 2020)                3
protopnet      ProtoPNet's CE + cluster − separation, push, last layer  2
trades         CE + β·KL(f(x) ‖ f(x_adv)) (Zhang et al. 2019)           4
int            CE + γ·discrepancy at its worst (Boopathy et al. 2020)   4
int2           CE + γ·discrepancy at PGD's misclassification point      4
int2_adv       CE at PGD's point + γ·discrepancy there                  4
rts            real-time saliency masks (Dabkowski & Gal 2017)          5
interpret_gan  GAN + λ·E log f(ŷ|x̂), explanation generators (Zheng)    7
=============  =======================================================  =======

A new objective is a subclass of :class:`Objective` listed here; the contract tests
(``tests/test_train_objectives.py``) then cover it.
"""
from __future__ import annotations

from ...core import checks
from .adversarial import FGSMRS, PGDAT, TRADES
from .base import Context, Objective
from .gan import InterpretGANLoss
from .interpretability import Int, Int2, Int2Adv
from .protopnet import ProtoPNetLoss
from .saliency import RTSLoss
from .standard import CrossEntropy

OBJECTIVES = {cls.name: cls for cls in (CrossEntropy, PGDAT, FGSMRS, ProtoPNetLoss, TRADES,
                                             Int, Int2, Int2Adv, RTSLoss, InterpretGANLoss)}


def make(name: str, **params) -> Objective:
    """Build the objective called ``name`` (a key of ``OBJECTIVES``)."""
    checks.choice(name, "objective", OBJECTIVES)
    return OBJECTIVES[name](**params)


def from_recipe(recipe: dict) -> Objective:
    """The objective named by ``recipe["objective"]``, with its parameters read from the recipe."""
    name = checks.choice(recipe.get("objective"), "recipe['objective']", OBJECTIVES)
    return OBJECTIVES[name].from_recipe(recipe)


__all__ = ["OBJECTIVES", "Objective", "Context", "make", "from_recipe", "CrossEntropy", "PGDAT", "FGSMRS",
           "TRADES", "ProtoPNetLoss", "Int", "Int2", "Int2Adv", "RTSLoss", "InterpretGANLoss"]
