"""Training: one loop (:func:`fit`) and the objectives it minimises (``OBJECTIVES``).

The zoo (``python -m advlab.zoo train NAME``) builds a model and an objective from a recipe and
calls :func:`fit`; chapters may call it directly on their own models and tensors::

    result = al.train.fit(model, (x, y), al.train.make("pgd_at", eps=0.3, steps=7, alpha=0.1),
                          epochs=8, batch_size=128, lr=1e-3, optimizer="adam")

Several GPUs or machines: launch the same command under ``torchrun`` (:mod:`advlab.train.ddp`).
"""
from . import ddp
from .augment import AUGMENTS, crop_flip
from .loop import OPTIMIZERS, SCHEDULES, FitResult, fit
from .objectives import (
                         FGSMRS,
                         OBJECTIVES,
                         PGDAT,
                         TRADES,
                         Context,
                         CrossEntropy,
                         Objective,
                         ProtoPNetLoss,
                         from_recipe,
                         make,
)

__all__ = ["fit", "FitResult", "OBJECTIVES", "Objective", "Context", "make", "from_recipe", "CrossEntropy",
           "PGDAT", "FGSMRS", "TRADES", "ProtoPNetLoss", "AUGMENTS", "crop_flip", "OPTIMIZERS", "SCHEDULES",
           "ddp"]
