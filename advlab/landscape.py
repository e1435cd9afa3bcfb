"""The loss around an input, along chosen directions (why one gradient step works)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .core import checks, frozen_eval


def gradient_sign(model, x, y) -> torch.Tensor:
    """sign(∇ₓ loss): FGSM's direction, one per image."""
    checks.images(x, model=checks.model(model))
    with frozen_eval(model):
        y = checks.model_labels(model, y, x, "y")
        xr = x.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(F.cross_entropy(model(xr), y, reduction="sum"), xr)
    return g.sign()


def random_sign(x, seed: int = 0) -> torch.Tensor:
    """A random ±1 direction of the same L∞ size as the gradient sign (seeded)."""
    checks.images(x)
    seed = checks.seed(seed)
    gen = torch.Generator(device=x.device).manual_seed(seed)
    return torch.randint(0, 2, x.shape, generator=gen, device=x.device).to(x.dtype) * 2 - 1


def _direction(d, x, name):
    if not isinstance(d, torch.Tensor) or d.shape != x.shape:
        got = tuple(d.shape) if isinstance(d, torch.Tensor) else type(d).__name__
        raise ValueError(f"{name} must be a tensor of the shape of x {tuple(x.shape)}, got {got}")
    if not torch.isfinite(d).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return d.to(x)


@torch.no_grad()
def loss_surface(model, x, y, d1, d2, radius: float, n: int = 21) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of ``clip(x + a·d1 + b·d2)`` on an n×n grid of (a, b) in [-radius, radius]².

    Returns ``(grid, losses)`` with ``losses`` of shape n×n×N (one surface per image).
    """
    checks.images(x, model=checks.model(model))
    d1, d2 = _direction(d1, x, "d1"), _direction(d2, x, "d2")
    radius = checks.number(radius, "radius", 0.0, 1.0)
    n = checks.number(n, "n", 2, 201, integer=True)
    grid = torch.linspace(-radius, radius, n)
    out = torch.empty(n, n, x.shape[0])
    with frozen_eval(model):
        y = checks.model_labels(model, y, x, "y")
        for i, a in enumerate(grid):
            for j, b in enumerate(grid):
                xp = (x + a * d1 + b * d2).clamp(0, 1)
                out[i, j] = F.cross_entropy(model(xp), y, reduction="none")
    return grid, out
