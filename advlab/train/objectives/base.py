"""What every training objective shares: the step's context and the objective's contract.

An objective is a small object with one verb, ``loss(model, x, y, context) -> scalar`` (the
mean loss of the batch, with gradients to the model's parameters), and an optional
``finalize(model, train_x, train_y)`` run once after the last epoch. ``from_recipe(recipe)``
builds it from a zoo recipe (plain data), so the recipe, not the loop, says how a model is trained.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Context:
    """Where the loop stands when it asks for a loss.

    ``step`` counts optimiser steps from the start of training (``epoch * steps_per_epoch + it``),
    so ramps and seeds do not depend on where a run was resumed. Under data-parallel training each
    rank gets its ``rank`` and the ``world_size``. ``parent`` is the model an objective depends on
    (e.g. the classifier an explainer or a generator is trained against), or None.
    """

    epoch: int = 0
    step: int = 0
    steps_per_epoch: int = 1
    epochs: int = 1
    seed: int = 0
    rank: int = 0
    world_size: int = 1
    parent: torch.nn.Module | None = None

    def ramp(self, epochs: float) -> float:
        """Linear warm-up factor in (0, 1]: reaches 1 after ``epochs`` epochs (1 if ``epochs`` is 0)."""
        if not epochs:
            return 1.0
        return min(1.0, (self.step + 1) / (epochs * self.steps_per_epoch))

    @property
    def attack_seed(self) -> int:
        """Seed of this step's random starts, different every step (and on every rank)."""
        return self.seed * 10**6 + self.step + self.rank * 10**12


class Objective:
    """Base of the training objectives (see ``advlab.train.OBJECTIVES``).

    Subclasses set ``name`` and implement ``loss``; ``finalize`` is a no-op by default.
    ``requires`` names a method the model must have (None: any classifier).
    Objectives with state of their own (a discriminator, say) may add ``state_dict`` and
    ``load_state_dict``: the loop checkpoints them with the model.
    """

    name = "objective"
    requires: str | None = None

    def loss(self, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, context: Context) -> torch.Tensor:
        raise NotImplementedError

    def finalize(self, model: torch.nn.Module, train_x: torch.Tensor, train_y: torch.Tensor) -> None:
        """Run once after the last epoch (e.g. ProtoPNet's push); nothing by default."""

    @classmethod
    def from_recipe(cls, recipe: dict) -> Objective:
        """Build the objective from a zoo recipe's keys (``label_smoothing``, ``adversarial``, ...)."""
        return cls()

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"
