"""Gradient-based maps (chapter 1), computed by captum (we only choose settings and reduce
channels); the differentiable saliency of chapter 4 is written here, tested against captum's.

* Saliency (Simonyan et al., 2014): |∂ logit_target / ∂x|, max over channels.
* SmoothGrad (Smilkov et al., 2017): saliency averaged over ``n_samples`` noisy
  copies of x, noise std ``sigma`` (in pixel units, the image range being 1).
* Integrated Gradients (Sundararajan et al., 2017): (x − x′) · the mean gradient
  on the straight path from the baseline x′ (black by default) to x.
"""
from __future__ import annotations

import torch

from ..core import checks
from ..core.maps import check_reduction, reduce_channels
from .base import Interpreter


class Saliency(Interpreter):
    """Vanilla gradient map (chapter 1).  >>> maps = Saliency(model)(x, target=y)

    With ``differentiable=True`` (chapter 4) the gradient is taken with ``create_graph=True``,
    so the map itself can be differentiated (w.r.t. x or the parameters): captum's Saliency
    cannot. The model needs non-zero second derivatives for that to carry information (ReLU
    networks have none almost everywhere; Softplus does)."""
    name = "saliency"
    differentiable = True

    def __init__(self, model, reduce: str = "max_abs"):
        super().__init__(model)
        self.reduce = check_reduction(reduce)

    def _attribute(self, x, target):
        from captum.attr import Saliency as _Saliency
        attr = _Saliency(self.model).attribute(x, target=target, abs=False)
        return reduce_channels(attr, self.reduce)

    def _attribute_graph(self, x, target):
        score = self.model(x).gather(1, target.view(-1, 1)).sum()
        (grad,) = torch.autograd.grad(score, x, create_graph=True)
        return reduce_channels(grad, self.reduce)


class SmoothGrad(Interpreter):
    """SmoothGrad (chapter 1) through captum's ``NoiseTunnel``; seeded, so maps repeat.

    >>> maps = SmoothGrad(model, n_samples=25, sigma=0.15)(x, target=y)
    """
    name = "smoothgrad"

    def __init__(self, model, n_samples: int = 25, sigma: float = 0.15, seed: int = 0,
                 reduce: str = "max_abs"):
        super().__init__(model)
        self.n_samples = checks.number(n_samples, "n_samples", 1, 10_000, integer=True)
        self.sigma = checks.number(sigma, "sigma", 0.0, 10.0)
        self.seed, self.reduce = checks.seed(seed), check_reduction(reduce)

    def _attribute(self, x, target):
        from captum.attr import NoiseTunnel
        from captum.attr import Saliency as _Saliency
        with torch.random.fork_rng(devices=[x.device] if x.device.type == "cuda" else []):
            torch.manual_seed(self.seed)
            attr = NoiseTunnel(_Saliency(self.model)).attribute(
                x, nt_type="smoothgrad", nt_samples=self.n_samples, stdevs=self.sigma,
                nt_samples_batch_size=self.n_samples, target=target, abs=False)
        # SmoothGrad averages the gradients, then we take magnitudes
        return reduce_channels(attr, self.reduce)


class IntegratedGradients(Interpreter):
    """Integrated Gradients (chapter 1) through captum, black baseline by default.

    With ``reduce="sum"`` the map is signed and sums to f(x) − f(baseline)
    (completeness); the default ``"sum_abs"`` shows magnitudes.
    """
    name = "integrated_gradients"

    def __init__(self, model, n_steps: int = 50, baseline: float = 0.0, reduce: str = "sum_abs",
                 internal_batch_size: int | None = None):
        super().__init__(model)
        self.n_steps = checks.number(n_steps, "n_steps", 1, 10_000, integer=True)
        self.baseline = checks.number(baseline, "baseline", 0.0, 1.0)
        self.reduce = check_reduction(reduce)
        self.internal_batch_size = checks.optional_number(internal_batch_size, "internal_batch_size", 1, 10**9,
                                                          integer=True)

    def _attribute(self, x, target):
        from captum.attr import IntegratedGradients as _IG
        attr = _IG(self.model).attribute(x, baselines=torch.full_like(x, self.baseline), target=target,
                                         n_steps=self.n_steps, internal_batch_size=self.internal_batch_size)
        return reduce_channels(attr, self.reduce)
