"""Standard training: cross-entropy on the clean images (every chapter's baseline models)."""
from __future__ import annotations

import torch.nn.functional as F

from .base import Context, Objective


class CrossEntropy(Objective):
    """Cross-entropy on clean images, optionally label-smoothed (Szegedy et al. 2016): the
    standard training of every chapter's baseline models (chapter 1 onwards).

    >>> fit(model, train_set, CrossEntropy(label_smoothing=0.1), epochs=20, batch_size=128, lr=0.1)
    """

    name = "ce"

    def __init__(self, label_smoothing: float = 0.0):
        self.label_smoothing = float(label_smoothing)

    def loss(self, model, x, y, context: Context):
        return F.cross_entropy(model(x), y, label_smoothing=self.label_smoothing)

    @classmethod
    def from_recipe(cls, recipe: dict) -> CrossEntropy:
        return cls(label_smoothing=recipe.get("label_smoothing", 0.0))
