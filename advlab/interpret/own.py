"""Maps that a model computes itself (chapter 2): attention (Girdhar & Ramanan, 2017) and
prototype similarity (ProtoPNet, Chen et al., 2019). No gradients: the map is
part of the forward pass, which is what makes these models "interpretable by design"
(and the attention map differentiable as it stands, chapter 4).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..core import checks
from ..core.maps import upsample
from .base import Interpreter
from .predicted import top_prototypes


class AttentionMap(Interpreter):
    """Attention of an :class:`advlab.models.AttentionPoolNet` for class ``target``.

    ``kind="product"`` (default): ReLU(t_k · b), the positions whose pooled product
    raises the class score; ``"bottom_up"``: the class-agnostic b; ``"top_down"``: t_k.
    """
    name = "attention"
    requires = "attention_maps"
    differentiable = True
    KINDS = ("product", "bottom_up", "top_down")

    def __init__(self, model, kind: str = "product"):
        super().__init__(model)
        if not hasattr(model, "attention_maps"):
            raise ValueError("model must be an attention-pooling model (with attention_maps), "
                             f"got {type(model).__name__}")
        self.kind = checks.choice(kind, "kind", self.KINDS)

    def _attribute(self, x, target):
        with torch.no_grad():
            return self._attribute_graph(x, target)

    def _attribute_graph(self, x, target):
        b, t = self.model.attention_maps(x)
        tk = t[torch.arange(len(x)), target]
        m = {"product": F.relu(tk * b), "bottom_up": b, "top_down": tk}[self.kind]
        return upsample(m, x.shape[-2:])


class PrototypeMap(Interpreter):
    """Similarity map of a :class:`advlab.models.ProtoPNet` prototype of class ``target``:
    the ``rank``-th most activated one (0: the best match), upsampled to the image."""
    name = "prototype"
    requires = "similarity_maps"

    def __init__(self, model, rank: int = 0):
        super().__init__(model)
        if not hasattr(model, "similarity_maps"):
            raise ValueError(f"model must be a ProtoPNet (with similarity_maps), got {type(model).__name__}")
        self.rank = checks.number(rank, "rank", 0, 10_000, integer=True)

    def _attribute(self, x, target):
        own = int((self.model.prototype_class[None] == target[:, None]).sum(1).min())
        if self.rank >= own:
            raise ValueError(f"rank={self.rank} but classes have {own} prototypes")
        j = top_prototypes(self.model, x.detach(), self.rank + 1, of_class=target)[0][:, self.rank]
        with torch.no_grad():
            m = self.model.similarity_maps(x)[torch.arange(len(x)), j]
        return upsample(m, x.shape[-2:])
