"""The CAM family (chapter 2): one base, each method overrides only how channel weights are computed.

All of them build a map from the feature maps A (N×K×h×w) of a convolutional
layer, read through :class:`advlab.core.LayerProbe`, and per-channel weights w (N×K):
``map = ReLU(Σ_k w_k A_k)``, upsampled bilinearly to the input size.

* CAM (Zhou et al., 2016): w = the last linear layer's weights of the target
  class; needs a global-average-pooling + linear head.
* Grad-CAM (Selvaraju et al., 2017): w = spatial mean of ∂y_c/∂A.
* Grad-CAM++ (Chattopadhyay et al., 2018): w = Σ_ij α_ij ReLU(∂y_c/∂A_ij), with
  α from second- and third-order terms (closed form for an exponential score).
* Score-CAM (Wang et al., 2020): w = the softmax score of the target class when
  the input is masked by each upsampled, [0, 1]-scaled activation map.

Chapter 4 (Boopathy et al.) uses two options of the base: ``relu=False`` keeps the signed map,
and ``upsample=False`` returns it at the feature map's resolution (N×h×w). For a GAP + linear
head the raw CAM (both options) averaged over positions is the class logit minus its bias:
``mean_ij Σ_k w_ck A_kij = Σ_k w_ck GAP(A_k) = y_c − b_c`` (completeness). CAM, Grad-CAM and
Grad-CAM++ are differentiable (``attribute(..., differentiable=True)``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..core import checks
from ..core.probe import LayerProbe, resolve_layer
from .base import Interpreter


class BaseCAM(Interpreter):
    """Shared machinery: capture A (and ∂score/∂A), ask ``weights``, combine, ReLU, upsample.

    ``relu=False`` keeps negative evidence; ``upsample=False`` returns N×h×w maps at the layer's
    resolution instead of the input's."""

    name = "basecam"
    uses_gradients = True
    differentiable = True

    def __init__(self, model, layer=None, *, relu: bool = True, upsample: bool = True):
        super().__init__(model)
        self.layer = resolve_layer(model, layer)
        self.relu, self.upsample = checks.flag(relu, "relu"), checks.flag(upsample, "upsample")

    def activations_and_grads(self, x, target, create_graph: bool = False):
        """A (N×K×h×w), ∂score/∂A (``None`` for gradient-free methods) and the logits
        (``None`` for gradient-free methods, whose forward pass ends at the layer). Detached
        unless ``create_graph`` (the differentiable path)."""
        with LayerProbe(self.model, [self.layer], stop_at=None if self.uses_gradients else True) as probe, \
                torch.set_grad_enabled(self.uses_gradients or create_graph):
            logits = probe.run(x)
        (A,) = probe.outputs.values()
        if A.dim() != 4:
            raise ValueError(f"layer must output N×K×h×w feature maps, got shape {tuple(A.shape)}")
        grads = None
        if self.uses_gradients:
            score = logits.gather(1, target.view(-1, 1)).sum()
            (grads,) = probe.gradients(score, create_graph=create_graph)
        if create_graph:
            return A, grads, logits
        return A.detach(), (grads.detach() if grads is not None else None), \
            (logits.detach() if logits is not None else None)

    def weights(self, A, grads, x, target) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _cam(self, x, target, create_graph: bool):
        A, grads, _ = self.activations_and_grads(x, target, create_graph)
        w = self.weights(A, grads, x, target)
        cam = (w[:, :, None, None] * A).sum(1, keepdim=True)
        if self.relu:
            cam = F.relu(cam)
        if not self.upsample:
            return cam[:, 0]
        return F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]

    def _attribute(self, x, target):
        return self._cam(x, target, False)

    def _attribute_graph(self, x, target):
        return self._cam(x, target, True)

    def __repr__(self):
        return f"{type(self).__name__}(layer={type(self.layer).__name__}, relu={self.relu}, upsample={self.upsample})"


class CAM(BaseCAM):
    """Class Activation Mapping: weights of the target class in the final linear layer.

    >>> raw = CAM(model, relu=False, upsample=False)(x, y)   # N×h×w; raw.mean((1, 2)) = y_c − b_c"""
    name = "cam"
    uses_gradients = False

    def __init__(self, model, layer=None, fc="fc", **options):
        super().__init__(model, layer, **options)
        fc_mod = getattr(model, fc, None) if isinstance(fc, str) else fc
        if not isinstance(fc_mod, torch.nn.Linear):
            raise ValueError(f"fc={fc!r}: CAM needs a global-average-pooling head followed by a linear "
                             f"layer (model.{fc}); use GradCAM for other architectures")
        self.fc = fc_mod

    def weights(self, A, grads, x, target):
        if A.shape[1] != self.fc.in_features:
            raise ValueError(f"layer has {A.shape[1]} channels but fc expects {self.fc.in_features}")
        return self.fc.weight[target]  # frozen on the default path; live when differentiable


class GradCAM(BaseCAM):
    """Grad-CAM: channel weights are the spatially averaged gradients."""
    name = "gradcam"

    def weights(self, A, grads, x, target):
        return grads.mean(dim=(2, 3))


class GradCAMPlusPlus(BaseCAM):
    """Grad-CAM++: pixel-wise weighted positive gradients."""
    name = "gradcam++"

    def weights(self, A, grads, x, target):
        g2, g3 = grads.pow(2), grads.pow(3)
        denom = 2 * g2 + A.sum(dim=(2, 3), keepdim=True) * g3
        alpha = g2 / torch.where(denom != 0, denom, torch.ones_like(denom))
        return (alpha * F.relu(grads)).sum(dim=(2, 3))


class ScoreCAM(BaseCAM):
    """Score-CAM: gradient-free; each channel is weighted by the target's softmax
    score on the input masked with that channel's upsampled, normalised map."""
    name = "scorecam"
    uses_gradients = False
    differentiable = False

    def __init__(self, model, layer=None, batch_size: int = 256, **options):
        super().__init__(model, layer, **options)
        self.batch_size = checks.number(batch_size, "batch_size", 1, 1 << 16, integer=True)

    @torch.no_grad()
    def weights(self, A, grads, x, target):
        n, k = A.shape[:2]
        up = F.interpolate(A, size=x.shape[-2:], mode="bilinear", align_corners=False)
        flat = up.flatten(2)
        lo, hi = flat.min(2, keepdim=True).values, flat.max(2, keepdim=True).values
        masks = ((flat - lo) / torch.where(hi > lo, hi - lo, torch.ones_like(hi))).view_as(up)
        out = torch.empty(n, k, device=x.device)
        for i in range(n):
            masked = x[i:i + 1] * masks[i].unsqueeze(1)  # K×C×H×W
            scores = torch.cat([self.model(masked[j:j + self.batch_size]).softmax(1)
                                for j in range(0, k, self.batch_size)])
            out[i] = scores[:, target[i]]
        return out


class RandomMap(Interpreter):
    """A sanity-check baseline (chapter 2): uniform random maps, seeded."""
    name = "random"

    def __init__(self, model, seed: int = 0):
        super().__init__(model)
        self.seed = checks.seed(seed)

    def _attribute(self, x, target):
        gen = torch.Generator(device=x.device).manual_seed(self.seed)
        return torch.rand((x.shape[0], *x.shape[-2:]), generator=gen, device=x.device)
