"""RTS, the model-guided interpreter of chapter 5 (Zhang et al., 2020): a trained saliency model
(Dabkowski & Gal, 2017; ``advlab.models.SaliencyNet``, the zoo's ``cifar_rts``) draws the map."""
from __future__ import annotations

import torch

from ..core import checks, frozen_eval
from .base import Interpreter


class RTS(Interpreter):
    """Real-time saliency (chapter 5): the map of class ``target`` is the mask ``explainer(x, target)``
    (N×H×W in [0, 1]), one forward pass, differentiable in x (``differentiable=True``).

    It binds the classifier like every interpreter (inputs and targets are checked against it) and
    takes the explainer trained for it; not in ``REGISTRY``, whose members need only the model.

    >>> maps = RTS(al.zoo.load("cifar_resnet8"), explainer=al.zoo.load("cifar_rts"))(x, target=y)
    """

    name = "rts"
    differentiable = True

    def __init__(self, model, explainer):
        super().__init__(model)
        self.explainer = checks.model(explainer, "explainer")
        if not hasattr(explainer, "num_classes") or getattr(explainer, "zoo_kind", "explainer") != "explainer":
            raise ValueError(f"explainer must be a saliency model taking (x, class), e.g. "
                             f"advlab.zoo.load('cifar_rts'), got {type(explainer).__name__}")
        parent, name = getattr(explainer, "zoo_parent", None), getattr(model, "zoo_name", None)
        if parent is not None and name is not None and parent != name:
            raise ValueError(f"explainer was trained to explain {parent!r}, got model {name!r}")

    def attribute(self, x: torch.Tensor, target, batch_size: int | None = None,
                  differentiable: bool = False) -> torch.Tensor:
        """The masks of ``x`` for classes ``target`` (see ``Interpreter``); the explainer, like the
        model, runs in eval mode with frozen parameters unless ``differentiable=True``."""
        checks.images(x.detach(), model=self.model)
        checks.model_input(self.explainer, x.detach(), "x")
        if differentiable is False:
            with frozen_eval(self.explainer):
                return super().attribute(x, target, batch_size)
        return super().attribute(x, target, batch_size, differentiable)

    __call__ = attribute

    def _attribute(self, x, target):
        with torch.no_grad():
            return self.explainer(x.detach(), target)

    def _attribute_graph(self, x, target):
        return self.explainer(x, target)

    def __repr__(self):
        return f"RTS(explainer={type(self.explainer).__name__})"
