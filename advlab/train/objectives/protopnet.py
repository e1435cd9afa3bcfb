"""ProtoPNet's own objective (Chen et al. 2019), chapter 2."""
from __future__ import annotations

from ...core import checks
from .base import Context, Objective


def _protopnet(model):
    if not (hasattr(model, "loss") and hasattr(model, "finalize")):
        raise ValueError(f"model must be a ProtoPNet (with loss() and finalize()) for objective "
                         f"'protopnet', got {type(model).__name__}")
    return model


class ProtoPNetLoss(Objective):
    """ProtoPNet's objective (Chen et al. 2019), chapter 2: cross-entropy + ``cluster``·(distance
    to the nearest own-class prototype) − ``separation``·(distance to the nearest other-class
    prototype), trained jointly; after the
    last epoch ``finalize`` pushes every prototype onto its nearest training patch and fine-tunes
    the last layer (L1 on the other classes' weights) for ``last_layer_epochs`` epochs. The model
    must be a ProtoPNet (``advlab.models.ProtoPNet``).

    >>> ProtoPNetLoss(cluster=0.8, separation=0.08, last_layer_epochs=20)
    """

    name = "protopnet"
    requires = "finalize"

    def __init__(self, label_smoothing: float = 0.0, cluster: float = 0.8, separation: float = 0.08,
                 last_layer_epochs: int = 20):
        self.label_smoothing = float(label_smoothing)
        self.cluster = float(cluster)
        self.separation = float(separation)
        self.last_layer_epochs = checks.number(last_layer_epochs, "last_layer_epochs", 0, 10_000, integer=True)

    def loss(self, model, x, y, context: Context):
        return _protopnet(model).loss(x, y, label_smoothing=self.label_smoothing,
                                      cluster=self.cluster, separation=self.separation)

    def finalize(self, model, train_x, train_y):
        _protopnet(model).finalize(train_x, train_y, last_layer_epochs=self.last_layer_epochs)

    @classmethod
    def from_recipe(cls, recipe: dict) -> ProtoPNetLoss:
        return cls(label_smoothing=recipe.get("label_smoothing", 0.0), **(recipe.get("finalize") or {}))
