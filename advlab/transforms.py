"""Shape-vs-texture transforms (Zhang & Zhu, 2019), batched, with a strength parameter.

* :func:`saturate` pushes every pixel toward 0 or 1: with pixels mapped to
  v ∈ [−1, 1], ``sign(v)·|v|^(2/p)``; p = 2 is the original image, large p is
  nearly binary. Texture fades, shapes and edges stay.
* :func:`patch_shuffle` cuts each image into k×k patches and permutes them
  (seeded): local texture stays, global shape is destroyed. k = 1 is the identity.
* :func:`stylize` (from :mod:`advlab.stylize`) paints a texture over the image
  with neural style transfer: texture is replaced, shape stays. Strength 0 is the identity.

``TRANSFORMS`` lists each one with its strength parameter, the levels the book
uses (the first is the identity) and :func:`apply` calls any of them by name.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from .core import checks


def saturate(x: torch.Tensor, p: float) -> torch.Tensor:
    """Saturation of level ``p`` (2: identity; 8, 64, ...: ever closer to binary)."""
    checks.images(x)
    p = checks.number(p, "p", 2.0, 1e6)
    v = 2 * x - 1
    return ((torch.sign(v) * v.abs().pow(2.0 / p)) + 1) / 2


def patch_shuffle(x: torch.Tensor, k: int, seed: int = 0) -> torch.Tensor:
    """Split every image into a k×k grid of patches and permute them (one permutation per image)."""
    checks.images(x)
    seed = checks.seed(seed)
    n, c, h, w = x.shape
    k = checks.number(k, "k", 1, min(h, w), integer=True)
    if h % k or w % k:
        raise ValueError(f"k={k} must divide the image size {h}×{w}; accepted values: "
                         f"{[d for d in range(1, min(h, w) + 1) if h % d == 0 and w % d == 0]}")
    ph, pw = h // k, w // k
    patches = x.reshape(n, c, k, ph, k, pw).permute(0, 2, 4, 1, 3, 5).reshape(n, k * k, c, ph, pw)
    gen = torch.Generator().manual_seed(seed)
    order = torch.stack([torch.randperm(k * k, generator=gen) for _ in range(n)]).to(x.device)
    patches = patches[torch.arange(n, device=x.device)[:, None], order]
    return patches.reshape(n, k, k, c, ph, pw).permute(0, 3, 1, 4, 2, 5).reshape(n, c, h, w)


def stylize(x: torch.Tensor, strength: float, style: str = "random", seed: int = 0, **kwargs) -> torch.Tensor:
    """Neural style transfer with a scikit-image texture; see :func:`advlab.stylize.stylize`."""
    from .stylize import stylize as _stylize
    return _stylize(x, style=style, strength=strength, seed=seed, **kwargs)


TRANSFORMS: dict[str, tuple[Callable[..., torch.Tensor], str, tuple]] = {
    # name: (function, name of the strength parameter, levels; the first level is the identity)
    "saturate": (saturate, "p", (2, 4, 8, 16, 64, 256)),
    "patch_shuffle": (patch_shuffle, "k", (1, 2, 4, 8)),
    "stylize": (stylize, "strength", (0.0, 0.25, 0.5, 0.75, 1.0)),
}


def apply(name: str, x: torch.Tensor, level, seed: int = 0) -> torch.Tensor:
    """Apply the transform ``name`` of ``TRANSFORMS`` at strength ``level`` (seeded where random)."""
    checks.choice(name, "transform", TRANSFORMS)
    seed = checks.seed(seed)
    fn, _param, _levels = TRANSFORMS[name]
    return fn(x, level) if name == "saturate" else fn(x, level, seed=seed)
