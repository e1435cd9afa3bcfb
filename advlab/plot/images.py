"""Images on axes: tensors to arrays, perturbations made visible, rows of images with titles,
heat maps over images (chapter 1; the widgets draw with the same helpers)."""
from __future__ import annotations

import numpy as np
import torch

from .legibility import FONT, WIDTH_IN


def to_hwc(img: torch.Tensor) -> np.ndarray:
    """One C×H×W image tensor in [0, 1] to an H×W(×3) numpy array for ``imshow`` (chapter 1 on)."""
    if img.dim() != 3:
        raise ValueError(f"img must be C×H×W, got {tuple(img.shape)}")
    a = img.detach().cpu().float().permute(1, 2, 0).numpy()
    return a[..., 0] if a.shape[2] == 1 else a


def image_kwargs(img: torch.Tensor) -> dict:
    """``imshow`` arguments for one image: grey levels in [0, 1] for one channel."""
    return {"cmap": "gray", "vmin": 0, "vmax": 1} if img.shape[0] == 1 else {}


def amplify(delta: torch.Tensor) -> tuple[np.ndarray, float]:
    """Show a perturbation: 0.5 + delta·scale, with scale so the largest |delta| reaches the edge
    (chapter 1's attack explorer)."""
    m = float(delta.abs().max())
    scale = 0.5 / m if m > 0 else 1.0
    return to_hwc((0.5 + delta * scale).clamp(0, 1)), scale


def image_grid(nrows: int, ncols: int, cell: float, extra_h: float = 0.0, label_w: float = 0.0):
    """A figure of ``nrows``×``ncols`` image axes, each about ``cell`` inches wide, no wider in
    all than the book's column (cells shrink to fit); constrained layout keeps titles clear of
    the images above them. Returns ``(fig, axes)`` (axes always 2-D)."""
    import matplotlib.pyplot as plt
    cell = min(cell, (WIDTH_IN - label_w) / ncols)
    return plt.subplots(nrows, ncols, figsize=(label_w + cell * ncols, cell * nrows + extra_h),
                        squeeze=False, layout="constrained")


def show_images(images, titles=None, ncols=None, size=1.8, suptitle=None):
    """A row (or grid, ``ncols`` per row) of images with titles, as wide as the book's column at
    most; returns the figure (chapters 1 and 3)."""
    n = len(images)
    ncols = ncols or n
    nrows = (n + ncols - 1) // ncols
    lines = max((str(t).count("\n") + 1 for t in titles or ()), default=0)
    fig, axes = image_grid(nrows, ncols, size, extra_h=nrows * 0.17 * lines + (0.3 if suptitle else 0))
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(to_hwc(images[i]), **image_kwargs(images[i]))
            if titles:
                ax.set_title(titles[i], fontsize=FONT)
    if suptitle:
        fig.suptitle(suptitle, fontsize=FONT + 1)
    return fig


def overlay(ax, img: torch.Tensor, heat, alpha=0.5):
    """Draw ``img`` with a heat map on top; returns the heat-map artist (for ``set_data``)
    (chapter 2's map pairs and panels)."""
    ax.imshow(to_hwc(img), **image_kwargs(img))
    art = ax.imshow(np.asarray(heat), cmap="jet", alpha=alpha, vmin=0, vmax=1)
    ax.axis("off")
    return art
