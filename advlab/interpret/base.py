"""The interpreter base: one verb, ``attribute(x, target) -> maps`` (N×H×W)."""
from __future__ import annotations

import torch

from ..core import checks
from ..core import chunks, frozen_eval, model_labels
from ..core.maps import normalize, reduce_channels  # noqa: F401  (re-exported by advlab.interpret)


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
        self.model = checks.model(model)

    def attribute(self, x: torch.Tensor, target, batch_size: int | None = None) -> torch.Tensor:
        """Maps of ``x`` for classes ``target``; ``batch_size`` bounds how many images go
        through the method at once (SmoothGrad and IG multiply a batch by their samples or
        steps, so large batches need a lot of memory)."""
        checks.images(x)
        with frozen_eval(self.model):
            target = model_labels(self.model, target, x, "target")
            if batch_size is not None:
                batch_size = checks.number(batch_size, "batch_size", 1, 10**9, integer=True)
            maps = torch.cat([self._attribute(x[i].detach().clone().requires_grad_(True), target[i])
                              for i in chunks(len(x), batch_size)])
        return maps.detach()

    __call__ = attribute

    def _attribute(self, x, target):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"
