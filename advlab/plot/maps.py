"""Maps beside images: one row of maps per model, and clean / adversarial pairs (chapters 2 and 3)."""
from __future__ import annotations

import numpy as np
import torch

from .images import image_grid, image_kwargs, overlay, to_hwc
from .legibility import FONT

LABEL_W = 0.9   # inches left of the images for the row names


def _row_names(axes, names):
    for ax, name in zip(axes[:, 0], names):
        ax.set_ylabel(name, fontsize=FONT, rotation=0, ha="right", va="center")


def map_grid(x: torch.Tensor, maps: dict, titles=None, size=1.5):
    """Images in the first row, then one row of maps per model (``maps``: name → N×H×W in
    [0, 1]); as wide as the book's column at most (chapter 3)."""
    n = len(x)
    fig, axes = image_grid(1 + len(maps), n, size, extra_h=0.3 if titles else 0.0, label_w=LABEL_W)
    for j in range(n):
        axes[0, j].imshow(to_hwc(x[j]), **image_kwargs(x[j]))
        if titles:
            axes[0, j].set_title(titles[j], fontsize=FONT)
        for i, m in enumerate(maps.values(), start=1):
            axes[i, j].imshow(np.asarray(m[j]), cmap="inferno", vmin=0, vmax=1)
    for ax in axes.flat:
        ax.set_xticks([]); ax.set_yticks([])
    _row_names(axes, ["image", *maps])
    return fig


def pair_titles(p, q, classes, attacked: str = "adv.") -> list[str]:
    """Two-line titles for :func:`map_pairs`: ``clean`` / ``adv.`` over each predicted class."""
    return [f"{t}\n{classes[int(c)]}" for i in range(len(p)) for t, c in (("clean", p[i]), (attacked, q[i]))]


def map_pairs(x: torch.Tensor, x_adv: torch.Tensor, rows: dict, titles=None, size=1.45):
    """Clean and adversarial maps side by side: one row per map (``rows``: name → (clean maps,
    adversarial maps), each N×H×W in [0, 1]), columns alternating clean / adversarial per image,
    each map drawn over its image; as wide as the book's column at most (chapter 2)."""
    n = len(x)
    lines = max((t.count("\n") + 1 for t in titles or ()), default=1)
    fig, axes = image_grid(len(rows), 2 * n, size, extra_h=0.17 * lines + 0.1, label_w=LABEL_W)
    for r, (clean, adv) in enumerate(rows.values()):
        for j in range(n):
            for c, (img, m) in enumerate(((x[j], clean[j]), (x_adv[j], adv[j]))):
                ax = axes[r, 2 * j + c]
                overlay(ax, img, m)
                ax.axis("on"); ax.set_xticks([]); ax.set_yticks([])
                if r == 0:
                    ax.set_title(titles[2 * j + c] if titles else ("clean", "adv.")[c], fontsize=FONT)
    _row_names(axes, list(rows))
    return fig
