"""ProtoPNet's explanation of one image: its most activated prototypes (chapter 2)."""
from __future__ import annotations

import torch

from .images import image_grid, image_kwargs, overlay, to_hwc
from .legibility import FONT


def prototypes(model, x: torch.Tensor, classes, k: int = 4, title: str = "", size=1.6):
    """ProtoPNet's explanation of one image: its ``k`` most activated prototypes (any class,
    :func:`advlab.interpret.top_prototypes`), each as the similarity map over the image and the
    training image the prototype was pushed to, with the prototype's region outlined (the smallest
    box holding its 95th-percentile similarity, :func:`advlab.interpret.prototype_region`)."""
    from matplotlib.patches import Rectangle

    from ..interpret import prototype_region, top_prototypes
    if x.dim() == 3:
        x = x[None]
    top, score = top_prototypes(model, x, k)
    with torch.no_grad():
        sims = model.similarity_maps(x)[0]
    fig, axes = image_grid(2, k, size, extra_h=0.6 + (0.3 if title else 0))
    for c, (j, s) in enumerate(zip(top[0].tolist(), score[0].tolist())):
        m = torch.nn.functional.interpolate(sims[j][None, None], size=x.shape[-2:], mode="bilinear",
                                            align_corners=False)[0, 0]
        m = (m - m.min()) / (m.max() - m.min() + 1e-12)
        overlay(axes[0, c], x[0], m)
        axes[0, c].set_title(f"#{j} ({classes[int(model.prototype_class[j])]})\nsim {s:.2f}", fontsize=FONT)
        region = prototype_region(model, j)
        axes[1, c].imshow(to_hwc(region.image), **image_kwargs(region.image))
        top, left, bottom, right = region.box
        axes[1, c].add_patch(Rectangle((left - 0.5, top - 0.5), right - left, bottom - top, fill=False, ec="yellow",
                                       lw=1.5))
        axes[1, c].axis("off")
        axes[1, c].set_title("its training image", fontsize=FONT)
    if title:
        fig.suptitle(title, fontsize=FONT + 1)
    return fig
