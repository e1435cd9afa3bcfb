"""The interpreter base: one verb, ``attribute(x, target) -> maps`` (N×H×W)."""
from __future__ import annotations

import torch

from ..core import checks, chunks, frozen_eval, model_labels
from ..core.maps import normalize, reduce_channels  # noqa: F401  (re-exported by advlab.interpret)


class Interpreter:
    """Base of all interpreters.

    ``attribute(x, target)`` (also ``interpreter(x, target)``) validates ``x``
    (N×C×H×W in [0, 1]) and ``target`` (class indices, an int or a tensor),
    runs the method with the model in eval mode and its parameters frozen,
    restores the model, and returns raw maps of shape N×H×W at the input's
    resolution, detached. Use :func:`advlab.interpret.normalize` to scale them to [0, 1].

    ``attribute(x, target, differentiable=True)`` (interpreters with ``differentiable = True``;
    chapter 4) returns the same maps still attached to the autograd graph, with respect to ``x``
    and to the model's parameters, so a map can enter a loss (an attack on the explanation, a
    training objective). In this mode the interpreter neither freezes parameters nor changes the
    model's mode: the caller decides (``model.eval()`` for maps as the default path computes them;
    batch-norm layers in training mode use batch statistics and update their running ones).
    """

    name = "interpreter"
    differentiable = False
    slow = False  # True: an optimisation per map (MASK), seconds per image; not for interactive panels

    def __init__(self, model):
        self.model = checks.model(model)

    def attribute(self, x: torch.Tensor, target, batch_size: int | None = None,
                  differentiable: bool = False) -> torch.Tensor:
        """Maps of ``x`` for classes ``target``; ``batch_size`` bounds how many images go
        through the method at once (SmoothGrad and IG multiply a batch by their samples or
        steps, so large batches need a lot of memory)."""
        return self._attribute_batches(x, target, batch_size, differentiable)

    def _attribute_batches(self, x, target, batch_size, differentiable, per_image=None) -> torch.Tensor:
        """``attribute``'s work; ``per_image`` (name → tensor with one row per image, already
        checked) is cut into the same batches and passed to ``_attribute`` / ``_attribute_graph``
        as keyword arguments (MASK's warm start, chapter 5)."""
        checks.images(x.detach(), model=self.model)
        if differentiable is not False:
            self._check_differentiable(differentiable)
        per_image = per_image or {}
        with frozen_eval(self.model):  # labels are checked on a no-grad probe, model restored
            target = model_labels(self.model, target, x, "target")
            if batch_size is not None:
                batch_size = checks.number(batch_size, "batch_size", 1, 10**9, integer=True)
            if not differentiable:
                maps = torch.cat([self._attribute(x[i].detach().clone().requires_grad_(True), target[i],
                                                  **{k: v[i] for k, v in per_image.items()})
                                  for i in chunks(len(x), batch_size)])
                return maps.detach()
        with torch.enable_grad():  # the caller's mode and parameters
            return torch.cat([self._attribute_graph(x[i] if x.requires_grad else x[i].detach().requires_grad_(True),
                                                    target[i], **{k: v[i] for k, v in per_image.items()})
                              for i in chunks(len(x), batch_size)])

    __call__ = attribute

    def _check_differentiable(self, differentiable) -> None:
        if differentiable is not True:
            raise ValueError(f"differentiable must be True or False, got {differentiable!r}")
        if not self.differentiable:
            from . import REGISTRY
            can = ", ".join(sorted(n for n, cls in REGISTRY.items() if cls.differentiable))
            raise ValueError(f"differentiable=True is available for the interpreters {can}; "
                             f"got {self.name!r}, whose maps are not differentiable")

    def _attribute(self, x, target):  # pragma: no cover - abstract
        raise NotImplementedError

    def _attribute_graph(self, x, target):  # pragma: no cover - differentiable interpreters only
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"
