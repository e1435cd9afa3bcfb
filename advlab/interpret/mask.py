"""MASK, the meaningful-perturbation interpreter (Fong & Vedaldi, 2017; chapter 5).

The map is the smallest, smoothest region whose deletion removes the class: a mask m in [0, 1]
(1 = deleted) blends the image with a blurred copy, ``x·(1 − m) + blur(x)·m``, and minimises

    λ₁·mean(m) + λ₂·TV_β(m) + softmax_c(x·(1 − m) + blur(x)·m)

(``l1`` = λ₁, ``tv`` = λ₂, TV_β = mean |Δm|^β over horizontal and vertical neighbours, β =
``tv_beta``; blur: a Gaussian of standard deviation ``sigma`` pixels, 2 by default: a
32×32 CIFAR image keeps its layout and loses its texture). The mask is a ``size``×``size``
grid of logits θ, m = bilinear upsampling of sigmoid(θ) to the image: the sigmoid keeps every
entry in (0, 1) with a non-zero derivative, which the attack on the map (chapter 5's ADV²)
needs. θ starts from seeded noise around 0 (m ≈ ½, the same start for every image) and takes
``steps`` Adam steps; the images of a batch are optimised together but independently.

``differentiable=True`` keeps the map on the autograd graph by unrolling the optimisation with
``create_graph=True``. From the seeded start that is every Adam step (exact, but the graph holds
``steps`` forward and backward passes). ADV² (Zhang et al., 2020, Algorithm 1) instead starts
from a warm mask, ``init`` (e.g. the clean image's mask, or the previous iterate), and unrolls
only ``lookahead`` plain gradient steps of size ``xi`` on θ: ∂map/∂x through a few steps, the
warm mask held constant. The default path with ``init`` takes the same look-ahead steps, so the
two paths return the same maps.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..core import checks
from ..core.maps import upsample
from .base import Interpreter

# a warm mask is clipped to [CLIP, 1 − CLIP] before its logit, so look-ahead steps can move it
CLIP = 0.01
_BETA1, _BETA2, _EPS = 0.9, 0.999, 1e-8  # Adam's defaults


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of N×C×H×W images, standard deviation ``sigma`` pixels, kernel cut at 3σ
    (or at the image's size less one), borders reflected; differentiable w.r.t. ``x``
    (chapter 5: MASK's deletion)."""
    radius = min(math.ceil(3 * sigma), min(x.shape[-2:]) - 1)
    if radius < 1:
        return x
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-t.pow(2) / (2 * sigma ** 2))
    k = k / k.sum()
    c = x.shape[1]
    out = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="reflect"), k.view(1, 1, 1, -1).expand(c, 1, 1, -1),
                   groups=c)
    return F.conv2d(F.pad(out, (0, 0, radius, radius), mode="reflect"), k.view(1, 1, -1, 1).expand(c, 1, -1, 1),
                    groups=c)


def _upsampling_matrix(s: int, n: int, like: torch.Tensor) -> torch.Tensor:
    """The n×s matrix of 1-D bilinear upsampling (align_corners=False), as ``upsample`` does it."""
    eye = torch.eye(s, dtype=like.dtype, device=like.device).view(s, 1, s, 1)
    return F.interpolate(eye, size=(n, 1), mode="bilinear", align_corners=False).view(s, n).T


class MeaningfulPerturbation(Interpreter):
    """MASK (Fong & Vedaldi, 2017; chapter 5): the blur mask that deletes the class.

    >>> masks = MeaningfulPerturbation(model)(x, y)            # N×H×W in [0, 1], 1 = evidence
    >>> warm = MeaningfulPerturbation(model)(x_adv, c, init=masks, differentiable=True)  # ADV² look-ahead

    ``steps`` Adam steps of learning rate ``lr`` on a ``size``×``size`` logit grid (capped at
    the image size); ``l1``, ``tv``, ``tv_beta`` weight and shape the penalties; ``sigma`` is the
    blur in pixels; ``seed`` fixes the start. With ``init`` (N×H×W masks in [0, 1]) the mask
    starts there instead and takes ``lookahead`` gradient steps of size ``xi``.
    """
    name = "mask"
    differentiable = True
    slow = True  # an optimisation per map (about 0.3 s a CIFAR image on one CPU thread)

    def __init__(self, model, steps: int = 150, lr: float = 0.1, l1: float = 0.05, tv: float = 0.2,
                 tv_beta: float = 3.0, sigma: float = 2.0, size: int = 8, lookahead: int = 5,
                 xi: float = 50.0, seed: int = 0):
        super().__init__(model)
        self.steps = checks.number(steps, "steps", 1, 100_000, integer=True)
        self.lr = checks.number(lr, "lr", 1e-6, 100.0)
        self.l1 = checks.number(l1, "l1", 0.0, 1e3)
        self.tv = checks.number(tv, "tv", 0.0, 1e3)
        self.tv_beta = checks.number(tv_beta, "tv_beta", 1.0, 10.0)
        self.sigma = checks.number(sigma, "sigma", 0.1, 100.0)
        self.size = checks.number(size, "size", 1, 4096, integer=True)
        self.lookahead = checks.number(lookahead, "lookahead", 1, 10_000, integer=True)
        self.xi = checks.number(xi, "xi", 0.0, 1e6)
        self.seed = checks.seed(seed)

    def attribute(self, x: torch.Tensor, target, batch_size: int | None = None,
                  differentiable: bool = False, init: torch.Tensor | None = None) -> torch.Tensor:
        """Masks of ``x`` for classes ``target`` (N×H×W in [0, 1]); ``init``: warm masks to
        refine by ``lookahead`` steps instead of ``steps`` from the seeded start (ADV²)."""
        if init is None:
            return self._attribute_batches(x, target, batch_size, differentiable)
        if not isinstance(init, torch.Tensor) or not isinstance(x, torch.Tensor) or x.dim() != 4 \
                or init.shape != (x.shape[0], *x.shape[-2:]):
            want = f"N×H×W = {(x.shape[0], *x.shape[-2:])}" if isinstance(x, torch.Tensor) and x.dim() == 4 \
                else "N×H×W, one mask per image of x"
            got = tuple(init.shape) if isinstance(init, torch.Tensor) else type(init).__name__
            raise ValueError(f"init must be a tensor of masks of shape {want}, got {got}")
        if not init.is_floating_point() or not torch.isfinite(init).all() or init.min() < 0 or init.max() > 1:
            raise ValueError("init must hold finite floating-point masks with values in [0, 1]")
        init = init.detach().to(dtype=x.dtype, device=x.device)
        return self._attribute_batches(x, target, batch_size, differentiable, {"init": init})

    __call__ = attribute

    def _attribute(self, x, target, init=None):
        with torch.enable_grad():
            return self._optimise(x.detach(), target, init, create_graph=False)

    def _attribute_graph(self, x, target, init=None):
        return self._optimise(x, target, init, create_graph=True)

    def _grid(self, x) -> tuple[int, int]:
        return min(self.size, x.shape[-2]), min(self.size, x.shape[-1])

    def _start(self, x, init) -> torch.Tensor:
        """θ₀: seeded noise (the same for every image) or the logits of the warm masks."""
        n, (h, w) = len(x), self._grid(x)
        if init is None:
            gen = torch.Generator().manual_seed(self.seed)
            noise = 0.1 * torch.randn(1, 1, h, w, generator=gen, dtype=torch.float64)
            return noise.to(dtype=x.dtype, device=x.device).expand(n, 1, h, w).clone()
        # least-squares inverse of the bilinear upsampling (exact for a mask this class returned)
        ph = torch.linalg.pinv(_upsampling_matrix(h, x.shape[-2], x))
        pw = torch.linalg.pinv(_upsampling_matrix(w, x.shape[-1], x))
        low = (ph @ init @ pw.T).clamp(CLIP, 1 - CLIP)
        return torch.logit(low)[:, None]

    def objective(self, x, blurred, theta, target) -> torch.Tensor:
        """Per-image loss λ₁·mean(m) + λ₂·TV_β(m) + softmax_c(x·(1 − m) + blur(x)·m)."""
        m = upsample(torch.sigmoid(theta)[:, 0], x.shape[-2:])
        tv = ((m[:, 1:] - m[:, :-1]).abs().pow(self.tv_beta).flatten(1).mean(1)
              + (m[:, :, 1:] - m[:, :, :-1]).abs().pow(self.tv_beta).flatten(1).mean(1))
        mixed = x * (1 - m[:, None]) + blurred * m[:, None]
        prob = self.model(mixed).softmax(1).gather(1, target.view(-1, 1))[:, 0]
        return self.l1 * m.flatten(1).mean(1) + self.tv * tv + prob

    def _optimise(self, x, target, init, create_graph: bool) -> torch.Tensor:
        blurred = gaussian_blur(x, self.sigma)
        theta = self._start(x, init).requires_grad_(True)
        first, second = torch.zeros_like(theta), torch.zeros_like(theta)
        for t in range(1, (self.steps if init is None else self.lookahead) + 1):
            loss = self.objective(x, blurred, theta, target).sum()  # images are independent
            (g,) = torch.autograd.grad(loss, theta, create_graph=create_graph)
            if init is None:  # Adam, written out so that it can be differentiated
                first = _BETA1 * first + (1 - _BETA1) * g
                second = _BETA2 * second + (1 - _BETA2) * g * g
                step = self.lr * (first / (1 - _BETA1 ** t)) / (second / (1 - _BETA2 ** t) + _EPS ** 2).sqrt()
            else:  # the look-ahead: plain gradient steps (Zhang et al., Algorithm 1)
                step = self.xi * g
            theta = theta - step
            if not create_graph:
                theta = theta.detach().requires_grad_(True)
        return upsample(torch.sigmoid(theta)[:, 0], x.shape[-2:])

    def __repr__(self):
        return (f"MeaningfulPerturbation(steps={self.steps}, lr={self.lr}, l1={self.l1}, tv={self.tv}, "
                f"sigma={self.sigma}, size={self.size}, lookahead={self.lookahead}, xi={self.xi})")
