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


@torch.no_grad()
def margin_along(model, x, y, directions: dict, radius: float, n: int = 25) -> tuple[torch.Tensor, dict]:
    """The logit margin z_y − max_{j≠y} z_j of ``clip(x + t·d)`` for t on ``n`` points of
    [0, ``radius``], along each direction ``d`` of ``directions`` (name → tensor shaped like ``x``):
    Goodfellow et al.'s linearity argument is about these logits, not the loss (chapter 1). The
    margin is positive while the image is classified as ``y``. Returns ``(t, {name: n×N})``."""
    checks.images(x, model=checks.model(model))
    radius = checks.number(radius, "radius", 0.0, 1.0)
    n = checks.number(n, "n", 2, 1001, integer=True)
    if not isinstance(directions, dict) or not directions:
        raise ValueError(f"directions must be a non-empty dict name -> direction, got {type(directions).__name__}")
    ds = {str(k): _direction(d, x, f"directions[{k!r}]") for k, d in directions.items()}
    t = torch.linspace(0, radius, n)
    out = {}
    with frozen_eval(model):
        y = checks.model_labels(model, y, x, "y")
        rows = torch.arange(len(y))
        for name, d in ds.items():
            m = torch.empty(n, len(y))
            for i, a in enumerate(t):
                z = model((x + a * d).clamp(0, 1))
                other = z.clone()
                other[rows, y] = float("-inf")
                m[i] = z[rows, y] - other.max(1).values
            out[name] = m
    return t, out
