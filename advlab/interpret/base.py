"""The interpreter base: one verb, ``attribute(x, target) -> maps`` (N×H×W)."""
from __future__ import annotations

import torch

from .. import _validate
from ..attacks.base import chunks, frozen_eval, model_labels


class Interpreter:
    """Base of all interpreters.

    ``attribute(x, target)`` (also ``interpreter(x, target)``) validates ``x``
    (N×C×H×W in [0, 1]) and ``target`` (class indices, an int or a tensor),
    runs the method with the model in eval mode and its parameters frozen,
    restores the model, and returns raw maps of shape N×H×W at the input's
    resolution. Use :func:`advlab.interpret.normalize` to scale them to [0, 1].
    """

    name = "interpreter"

    def __init__(self, model):
        self.model = _validate.model(model)

    def attribute(self, x: torch.Tensor, target, batch_size: int | None = None) -> torch.Tensor:
        """Maps of ``x`` for classes ``target``; ``batch_size`` bounds how many images go
        through the method at once (SmoothGrad and IG multiply a batch by their samples or
        steps, so large batches need a lot of memory)."""
        _validate.images(x)
        with frozen_eval(self.model):
            target = model_labels(self.model, target, x, "target")
            if batch_size is not None:
                batch_size = _validate.number(batch_size, "batch_size", 1, 10**9, integer=True)
            maps = torch.cat([self._attribute(x[i].detach().clone().requires_grad_(True), target[i])
                              for i in chunks(len(x), batch_size)])
        return maps.detach()

    __call__ = attribute

    def _attribute(self, x, target):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


def reduce_channels(attr: torch.Tensor, how: str) -> torch.Tensor:
    """N×C×H×W attributions to N×H×W maps: ``max_abs`` (Simonyan et al.),
    ``sum_abs`` or ``sum`` (signed: keeps Integrated Gradients' completeness)."""
    if how == "max_abs":
        return attr.abs().amax(1)
    if how == "sum_abs":
        return attr.abs().sum(1)
    if how == "sum":
        return attr.sum(1)
    raise ValueError(f"unknown channel reduction {how!r}; accepted values: max_abs, sum_abs, sum")


def normalize(maps: torch.Tensor) -> torch.Tensor:
    """Min-max scale each map to [0, 1] (a constant map becomes all zeros)."""
    if not isinstance(maps, torch.Tensor) or maps.dim() not in (2, 3):
        raise ValueError(f"maps must be a tensor of shape N×H×W or H×W, got "
                         f"{tuple(maps.shape) if isinstance(maps, torch.Tensor) else type(maps).__name__}")
    m = maps.unsqueeze(0) if maps.dim() == 2 else maps
    flat = m.flatten(1)
    lo, hi = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    out = ((flat - lo) / (hi - lo).clamp_min(1e-12)).view_as(m)
    return out[0] if maps.dim() == 2 else out
