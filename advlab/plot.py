"""Plotting helpers shared by chapters and widgets (computing stays elsewhere)."""
from __future__ import annotations

import numpy as np
import torch


def to_hwc(img: torch.Tensor) -> np.ndarray:
    """One C×H×W image tensor in [0, 1] to an H×W(×3) numpy array for ``imshow``."""
    a = img.detach().cpu().float()
    if a.dim() != 3:
        raise ValueError(f"img must be C×H×W, got {tuple(a.shape)}")
    a = a.permute(1, 2, 0).numpy()
    return a[..., 0] if a.shape[2] == 1 else a


def image_kwargs(img: torch.Tensor) -> dict:
    return {"cmap": "gray", "vmin": 0, "vmax": 1} if img.shape[0] == 1 else {}


def amplify(delta: torch.Tensor) -> tuple[np.ndarray, float]:
    """Show a perturbation: 0.5 + delta·scale, with scale so the largest |delta| reaches the edge."""
    m = float(delta.abs().max())
    scale = 0.5 / m if m > 0 else 1.0
    return to_hwc((0.5 + delta * scale).clamp(0, 1)), scale


def show_images(images, titles=None, ncols=None, size=1.8, suptitle=None):
    """A row (or grid) of images with titles; returns the figure."""
    import matplotlib.pyplot as plt
    n = len(images)
    ncols = ncols or n
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.3), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(to_hwc(images[i]), **image_kwargs(images[i]))
            if titles:
                ax.set_title(titles[i], fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    return fig


def overlay(ax, img: torch.Tensor, heat, alpha=0.5):
    """Draw ``img`` with a heat map on top; returns the heat-map artist (for ``set_data``)."""
    ax.imshow(to_hwc(img), **image_kwargs(img))
    art = ax.imshow(np.asarray(heat), cmap="jet", alpha=alpha, vmin=0, vmax=1)
    ax.axis("off")
    return art


def transform_curves(results: dict, params: dict | None = None, paper: dict | None = None, size=3.2):
    """One panel per transform: accuracy vs strength, one line per model.

    ``results`` as returned by :func:`advlab.experiments.transform_accuracy`;
    ``params`` names each transform's strength parameter (axis labels).
    """
    import matplotlib.pyplot as plt
    names = list(results)
    fig, axes = plt.subplots(1, len(names), figsize=(size * len(names), size * 0.9), squeeze=False)
    for ax, t in zip(axes[0], names):
        levels = list(results[t])
        pos = np.arange(len(levels))
        for model in results[t][levels[0]]:
            ax.plot(pos, [100 * results[t][lv][model] for lv in levels], marker="o", ms=3, label=model)
        ax.set_xticks(pos, [f"{lv:g}" for lv in levels])
        ax.set_xlabel((params or {}).get(t, "strength"), fontsize=8)
        ax.set_ylim(0, 100)
        ax.set_title(t, fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    axes[0, 0].set_ylabel("accuracy (%)", fontsize=8)
    axes[0, -1].legend(fontsize=6, loc="upper right")
    fig.tight_layout()
    return fig


def map_grid(x: torch.Tensor, maps: dict, titles=None, size=1.5):
    """Images in the first row, then one row of maps per model (``maps``: name → N×H×W)."""
    import matplotlib.pyplot as plt
    n = len(x)
    fig, axes = plt.subplots(1 + len(maps), n, figsize=(size * n + 1.2, size * (1 + len(maps))), squeeze=False)
    for j in range(n):
        axes[0, j].imshow(to_hwc(x[j]), **image_kwargs(x[j]))
        if titles:
            axes[0, j].set_title(titles[j], fontsize=8)
        for i, (name, m) in enumerate(maps.items(), start=1):
            axes[i, j].imshow(np.asarray(m[j]), cmap="inferno", vmin=0, vmax=1)
    for i, name in enumerate(["image", *maps]):
        axes[i, 0].set_ylabel(name, fontsize=8, rotation=0, ha="right", va="center")
    for ax in axes.flat:
        ax.set_xticks([]); ax.set_yticks([])
    fig.tight_layout()
    return fig


def map_pairs(x: torch.Tensor, x_adv: torch.Tensor, rows: dict, titles=None, size=1.45):
    """Clean and adversarial maps side by side: one row per map (``rows``: name → (clean maps,
    adversarial maps), each N×H×W in [0, 1]), columns alternating clean / adversarial per image,
    each map drawn over its image."""
    import matplotlib.pyplot as plt
    n = len(x)
    fig, axes = plt.subplots(len(rows), 2 * n, figsize=(size * 2 * n + 1.0, size * len(rows) + 0.4), squeeze=False)
    for r, (name, (clean, adv)) in enumerate(rows.items()):
        for j in range(n):
            for c, (img, m) in enumerate(((x[j], clean[j]), (x_adv[j], adv[j]))):
                ax = axes[r, 2 * j + c]
                overlay(ax, img, m)
                ax.axis("on"); ax.set_xticks([]); ax.set_yticks([])
                if r == 0:
                    ax.set_title((titles[2 * j + c] if titles else ("clean", "adversarial")[c]), fontsize=7)
        axes[r, 0].set_ylabel(name, fontsize=8, rotation=0, ha="right", va="center")
    fig.tight_layout()
    return fig


def prototypes(model, x: torch.Tensor, classes, k: int = 4, title: str = "", size=1.45):
    """ProtoPNet's explanation of one image: its ``k`` most activated prototypes (any class),
    each as the similarity map over the image and the training image the prototype was pushed
    to, with the pushed patch outlined."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle
    if x.dim() == 3:
        x = x[None]
    with torch.no_grad():
        sims = model.similarity_maps(x)[0]
    score = sims.flatten(1).amax(1)
    top = score.topk(k).indices.tolist()
    h = x.shape[-1] // sims.shape[-1]
    fig, axes = plt.subplots(2, k, figsize=(size * k, size * 2 + 1.0), squeeze=False)
    for c, j in enumerate(top):
        m = torch.nn.functional.interpolate(sims[j][None, None], size=x.shape[-2:], mode="bilinear",
                                            align_corners=False)[0, 0]
        m = (m - m.min()) / (m.max() - m.min() + 1e-12)
        overlay(axes[0, c], x[0], m)
        axes[0, c].set_title(f"#{j} ({classes[int(model.prototype_class[j])]})\nsim {score[j]:.2f}", fontsize=7)
        src = model.proto_images[j].float() / 255
        axes[1, c].imshow(to_hwc(src), **image_kwargs(src))
        r0, c0 = model.proto_locations[j].tolist()
        axes[1, c].add_patch(Rectangle((c0 * h - 0.5, r0 * h - 0.5), h, h, fill=False, ec="yellow", lw=1.5))
        axes[1, c].axis("off")
        axes[1, c].set_title("pushed to (train)", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig
