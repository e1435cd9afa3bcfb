"""Interpretability-aware robust training (Boopathy et al., ICML 2020; chapter 4).

The training loss adds γ times the smoothed interpretation discrepancy D̃ between the CAMs of a
clean image x and a perturbed x′ (``advlab.interpret.discrepancy``):

    min_θ  E [ f_train(θ; x, y) + γ · D̃(x, x′) ]

The three variants differ in where x′ comes from and what f_train is:

* **Int**: x′ maximises D̃ itself (PGD on ``loss="worst_discrepancy"``); f_train = CE(f(x), y).
* **Int2**: x′ is PGD's misclassification point (maximises CE), cheaper to find; f_train = CE(f(x), y).
* **Int2-Adv**: the same x′, and f_train = CE(f(x′), y), adversarial training plus the discrepancy.

Both maps of D̃ stay on the graph, so the parameters learn to keep the interpretation still.
The model must be CAM-ready (``features``, global average pooling, linear ``fc``).
"""
from __future__ import annotations

import torch.nn.functional as F

from ...core import checks
from ...interpret import discrepancy as D
from .adversarial import _Adversarial
from .base import Context


class _Interpretability(_Adversarial):
    attack = "pgd"
    attack_loss = "ce"          # what PGD ascends to find x′
    adversarial_ce = False      # f_train at x′ (True) or at x (False)

    def __init__(self, eps=0.3, norm: str = "linf", steps: int = 10, alpha=None, gamma: float = 0.5,
                 random_start: bool = True, ramp_epochs: float = 0, label_smoothing: float = 0.0):
        super().__init__(eps, norm, steps, alpha, random_start, ramp_epochs, label_smoothing)
        self.gamma = checks.number(gamma, "gamma", 0.0, 1e6)

    def loss(self, model, x, y, context: Context):
        x_adv = self.make_attack(model, context, loss=self.attack_loss)(x, y)
        logits, maps = D.class_maps(model, x)
        logits_adv, maps_adv = D.class_maps(model, x_adv)
        fit_on = logits_adv if self.adversarial_ce else logits
        ce = F.cross_entropy(fit_on, y, label_smoothing=self.label_smoothing)
        return ce + self.gamma * D.smoothed_discrepancy(maps, maps_adv, logits_adv, y).mean()


class Int(_Interpretability):
    """Int (chapter 4): CE on clean images + γ·D̃ at the worst-case discrepancy (PGD on D̃).

    >>> Int(eps=0.3, steps=10, alpha=0.04, gamma=0.5, ramp_epochs=4)
    """

    name = "int"
    attack_loss = "worst_discrepancy"


class Int2(_Interpretability):
    """Int2 (chapter 4): CE on clean images + γ·D̃ at PGD's misclassification point.

    >>> Int2(eps=0.3, steps=10, alpha=0.04, gamma=0.5, ramp_epochs=4)
    """

    name = "int2"


class Int2Adv(_Interpretability):
    """Int2-Adv (chapter 4): CE at PGD's misclassification point (adversarial training) + γ·D̃ there.

    >>> Int2Adv(eps=0.3, steps=10, alpha=0.04, gamma=0.5, ramp_epochs=4)
    """

    name = "int2_adv"
    adversarial_ce = True
