"""The real-time saliency objective (Dabkowski & Gal, 2017) that trains chapter 5's RTS explainer."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ...core import checks, frozen_eval
from .base import Context, Objective

FILLS = ("blur", "mean")


def blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """A fixed Gaussian blur of std ``sigma`` pixels (separable, reflect padding)."""
    radius = min(int(math.ceil(3 * sigma)), x.shape[-1] - 1, x.shape[-2] - 1)
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-t ** 2 / (2 * sigma ** 2))
    k = (k / k.sum()).repeat(x.shape[1], 1, 1, 1)
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="reflect"), k.view(x.shape[1], 1, 1, -1), groups=x.shape[1])
    return F.conv2d(F.pad(x, (0, 0, radius, radius), mode="reflect"), k.view(x.shape[1], 1, -1, 1), groups=x.shape[1])


def total_variation(m: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between neighbouring mask values, per mask (N×H×W -> N)."""
    return ((m[:, 1:] - m[:, :-1]) ** 2).mean((1, 2)) + ((m[:, :, 1:] - m[:, :, :-1]) ** 2).mean((1, 2))


def same_area_masks(masks: torch.Tensor, seed: int = 0, cells: int = 4) -> torch.Tensor:
    """Control masks: each mask's values rearranged along a random smooth field (``cells``×``cells``
    Gaussian noise, upsampled bilinearly), so area and value distribution are the mask's own and
    only the location is random."""
    g = torch.Generator().manual_seed(seed)
    n, h, w = masks.shape
    field = torch.randn(n, 1, cells, cells, generator=g)
    field = F.interpolate(field, size=(h, w), mode="bilinear", align_corners=False).flatten(1).to(masks.device)
    out = torch.empty_like(masks.flatten(1))
    out.scatter_(1, field.argsort(1), masks.flatten(1).sort(1).values)
    return out.view(n, h, w)


class RTSLoss(Objective):
    """Real-time saliency (Dabkowski & Gal 2017), the mask model that chapter 5 attacks (Zhang et al.
    2020's RTS). The model is an ``advlab.models.SaliencyNet``; ``context.parent`` is the classifier.

    For each image a class c (its label; for a share ``fake`` of the batch, another class drawn at
    random), the mask m = model(x, c), the background b (``fill``: a Gaussian blur of std ``sigma``
    pixels, or the image's mean colour), preserved x_p = m·x + (1−m)·b, destroyed x_d = (1−m)·x + m·b:

        loss = area·mean(m) + tv·TV(m) − log p_c(x_p) + destroy·p_c(x_d)    (true classes)
        loss = area·mean(m)                                                   (fake classes)

    so the mask is small and smooth, keeps the class when it alone is shown, removes it when it alone
    is hidden, and vanishes for a class that is not in the image.
    """

    name = "rts"
    requires = "init_from"

    def __init__(self, area: float = 3.0, tv: float = 2.0, destroy: float = 1.0, fake: float = 0.3,
                 fill: str = "blur", sigma: float = 3.0):
        self.area = checks.number(area, "area", 0.0, 1e4)
        self.tv = checks.number(tv, "tv", 0.0, 1e4)
        self.destroy = checks.number(destroy, "destroy", 0.0, 1e4)
        self.fake = checks.number(fake, "fake", 0.0, 1.0)
        self.fill = checks.choice(fill, "fill", FILLS)
        self.sigma = checks.number(sigma, "sigma", 0.1, 100.0)

    def background(self, x: torch.Tensor) -> torch.Tensor:
        """What the masked-out pixels become."""
        if self.fill == "mean":
            return x.mean((2, 3), keepdim=True).expand_as(x)
        return blur(x, self.sigma)

    def compose(self, x, m):
        """``(x_p, x_d)``: the image kept where the mask is on (elsewhere the background), and the reverse."""
        b, m = self.background(x), m[:, None]
        return m * x + (1 - m) * b, (1 - m) * x + m * b

    def loss(self, model, x, y, context: Context):
        parent = context.parent
        if parent is None:
            raise ValueError("context.parent must be the classifier to explain (the zoo passes the recipe's "
                             "parent), got None")
        if not hasattr(model, self.requires):
            raise ValueError(f"model must be a SaliencyNet (advlab.models.SaliencyNet), got {type(model).__name__}")
        g = torch.Generator().manual_seed(context.attack_seed)
        fake = (torch.rand(len(y), generator=g) < self.fake).to(y.device)
        shift = torch.randint(1, model.num_classes, (len(y),), generator=g).to(y.device)
        c = torch.where(fake, (y + shift) % model.num_classes, y)
        m = model(x, c)
        per_item = self.area * m.mean((1, 2)) + self.tv * total_variation(m) * (~fake)
        real = (~fake).nonzero()[:, 0]
        if len(real):
            x_p, x_d = self.compose(x[real], m[real])
            with frozen_eval(parent):
                logits = parent(torch.cat([x_p, x_d]))
            cr = c[real]
            logp_p = F.log_softmax(logits[:len(real)], 1).gather(1, cr[:, None])[:, 0]
            p_d = F.softmax(logits[len(real):], 1).gather(1, cr[:, None])[:, 0]
            per_item = per_item.index_add(0, real, -logp_p + self.destroy * p_d)
        return per_item.mean()

    @torch.no_grad()
    def evaluate(self, model, parent, x, y, seed: int = 0, batch_size: int = 250) -> dict:
        """What the masks do to ``parent`` on images ``x`` with labels ``y``: its accuracy on the images
        preserved by the mask of the true class, on those destroyed by it, and on those preserved and
        destroyed by a random mask of the same area (``same_area_masks``); the masks' mean area for
        the true class and for a random other class."""
        seed = checks.seed(seed)
        g = torch.Generator().manual_seed(seed)
        other = (y + torch.randint(1, model.num_classes, (len(y),), generator=g).to(y.device)) % model.num_classes
        hits = {k: 0 for k in ("clean", "preserved", "destroyed", "random_same_area", "random_same_area_destroyed")}
        area = fake_area = 0.0
        with frozen_eval(model), frozen_eval(parent):
            for i in range(0, len(x), batch_size):
                xb, yb = x[i:i + batch_size], y[i:i + batch_size]
                m = model(xb, yb)
                x_p, x_d = self.compose(xb, m)
                x_r, x_rd = self.compose(xb, same_area_masks(m, seed + i))
                for k, img in (("clean", xb), ("preserved", x_p), ("destroyed", x_d), ("random_same_area", x_r),
                               ("random_same_area_destroyed", x_rd)):
                    hits[k] += int((parent(img).argmax(1) == yb).sum())
                area += float(m.mean((1, 2)).sum())
                fake_area += float(model(xb, other[i:i + batch_size]).mean((1, 2)).sum())
        n = len(x)
        out = {f"{k}_accuracy": round(v / n, 4) for k, v in hits.items()}
        return dict(out, mean_area=round(area / n, 4), other_class_area=round(fake_area / n, 4), n=n,
                    fill=self.fill if self.fill == "mean" else f"blur sigma={self.sigma:g}")

    @classmethod
    def from_recipe(cls, recipe: dict) -> RTSLoss:
        return cls(**recipe.get("rts", {}))
