"""Threat models: where the perturbation may live and how a step moves in it.

As in MadryLab's ``robustness``, a threat model is a tiny object with three
methods, and one attack loop serves them all:

* ``random_init(x, gen)`` — a random point of the ball around ``x``;
* ``step(x_adv, grad, alpha)`` — the steepest-ascent step of size ``alpha``;
* ``project(x_adv, x)`` — back into the ball of radius ``eps`` and into [0, 1].

``max_step`` is the largest step size accepted. Chapter 1 teaches both balls.
"""
from __future__ import annotations

import math

import torch

from ..core import checks


class Linf:
    """The L∞ ball (chapter 1): every pixel may move by at most ``eps``; steps follow sign(∇)."""
    name = "linf"
    max_step = 1.0  # a step of 1 already takes every pixel to the edge of [0, 1] and of the ball

    def __init__(self, eps: float):
        self.eps = checks.number(eps, "eps", 0.0, 1.0)

    def check(self, x: torch.Tensor) -> None:
        pass

    def random_init(self, x, gen):
        noise = torch.rand(x.shape, generator=gen, device=x.device, dtype=x.dtype)
        return (x + (2 * noise - 1) * self.eps).clamp(0, 1)

    def step(self, x_adv, grad, alpha):
        return x_adv + alpha * grad.sign()

    def project(self, x_adv, x):
        return torch.max(torch.min(x_adv, x + self.eps), x - self.eps).clamp(0, 1)


class L2:
    """The L2 ball (chapter 1): the perturbation's Euclidean norm is at most ``eps``;
    steps follow ∇/‖∇‖₂."""
    name = "l2"
    max_step = 1e4  # the largest step accepted (longer than the diagonal of any image up to 10⁸ pixels)

    def __init__(self, eps: float):
        self.eps = checks.number(eps, "eps", 0.0, 1e4)

    def check(self, x: torch.Tensor) -> None:
        # the diameter of the unit cube [0, 1]^d is sqrt(d): a larger eps is no constraint at all
        d = x[0].numel()
        if self.eps > math.sqrt(d):
            raise ValueError(f"eps={self.eps:g} exceeds the L2 diameter sqrt({d})={math.sqrt(d):.3g} "
                             f"of images this size; accepted: 0 <= eps <= {math.sqrt(d):.3g}")

    @staticmethod
    def _unit(v):
        norms = v.flatten(1).norm(dim=1).clamp_min(1e-12)
        return v / norms.view(-1, *([1] * (v.dim() - 1)))

    def random_init(self, x, gen):
        direction = self._unit(torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype))
        radius = torch.rand(x.shape[0], generator=gen, device=x.device, dtype=x.dtype) * self.eps
        return self.project(x + direction * radius.view(-1, 1, 1, 1), x)

    def step(self, x_adv, grad, alpha):
        return x_adv + alpha * self._unit(grad)

    def project(self, x_adv, x):
        delta = x_adv - x
        norms = delta.flatten(1).norm(dim=1).clamp_min(1e-12)
        factor = (self.eps / norms).clamp(max=1.0).view(-1, 1, 1, 1)
        # clamping into [0, 1] only moves pixels toward x, so the norm stays <= eps
        return (x + delta * factor).clamp(0, 1)


THREATS = {"linf": Linf, "l2": L2}


def make(norm: str, eps: float):
    checks.choice(norm, "norm", THREATS)
    return THREATS[norm](eps)
