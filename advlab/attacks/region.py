"""PGD confined to a region of the image (chapter 6, after Xu et al., 2019: "CAM can guide an
attack"): the perturbation may only touch pixels of a mask computed once per image from the
clean image.

* ``region="cam"``: the union of the top ``area`` share of pixels of two class activation maps
  of the clean image: the class the model predicts and the class the attack pushes toward (the
  target when ``targeted``, otherwise the clean runner-up class);
* ``region="random"``: the same mask shifted by a seeded random (circular) offset per image: a
  region of exactly the same area and shape, elsewhere — the control;
* ``region="full"``: every pixel (plain PGD).

The masks are computed for the whole batch before the attack runs (eval mode, no gradient), so
``batch_size`` changes speed, not results.

>>> atk = al.attacks.RegionPGD(model, eps="8/255", steps=10, region="cam", area=0.2)
>>> x_adv = atk(x, y)
>>> atk.last_mask        # N×1×H×W, the region each image was allowed to change
"""
from __future__ import annotations

import torch

from ..core import checks
from ..core.checks import model_labels
from ..core.discrepancy import class_maps
from ..core.maps import topk_mask, upsample
from ..core.modes import frozen_eval
from . import objectives
from .pgd import PGD

REGIONS = ("cam", "random", "full")


class RegionPGD(PGD):
    """PGD whose perturbation lives in a region (module docstring). Takes :class:`PGD`'s
    arguments and:

    Args:
        region: ``"cam"``, ``"random"`` or ``"full"``.
        area: the share of pixels (0 < area ≤ 1) kept from each of the two class maps.
    """
    name = "region_pgd"

    def __init__(self, model, eps=8 / 255, steps=10, *, region="cam", area=0.2, **kwargs):
        super().__init__(model, eps, steps=steps, **kwargs)
        self.region = checks.choice(region, "region", REGIONS)
        self.area = checks.number(area, "area", 1e-6, 1.0)
        self.last_mask: torch.Tensor | None = None
        self._masks: torch.Tensor | None = None
        self._at = 0

    def masks(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The region of each image (N×1×H×W, 0/1 floats) for clean images ``x`` and labels (or
        targets) ``y``."""
        n, _, h, w = x.shape
        if self.region == "full":
            return torch.ones(n, 1, h, w, device=x.device, dtype=x.dtype)
        with frozen_eval(self.model), torch.no_grad():
            logits, maps = class_maps(self.model, x)
        rows = torch.arange(n, device=x.device)
        top2 = logits.topk(2, dim=1).indices
        first = top2[:, 0]
        second = y if self.targeted else torch.where(top2[:, 0] == y, top2[:, 1], top2[:, 0])
        k = max(1, round(self.area * h * w))
        m = torch.zeros(n, h, w, dtype=torch.bool, device=x.device)
        for cls in (first, second):
            m |= topk_mask(upsample(maps[rows, cls], (h, w)), k)
        if self.region == "random":
            gen = torch.Generator().manual_seed(self.seed + 1)
            shifts = torch.randint(0, h * w, (n,), generator=gen).tolist()
            m = torch.stack([m[i].roll((s // w, s % w), dims=(0, 1)) for i, s in enumerate(shifts)])
        return m[:, None].to(x.dtype)

    def __call__(self, x: torch.Tensor, y) -> torch.Tensor:
        checks.images(x, model=self.model)
        with frozen_eval(self.model):
            y = model_labels(self.model, y, x, "y")
        self._masks, self._at = self.masks(x, y), 0
        try:
            out = super().__call__(x, y)
        finally:
            self.last_mask, self._masks = self._masks, None
        return out

    def perturb(self, x, y, start):
        """PGD's loop with the step masked to the region of each image."""
        assert self._masks is not None
        if self._at >= len(self._masks):  # a restart begins again at the first image
            self._at = 0
        m = self._masks[self._at:self._at + len(x)]
        self._at += len(x)
        th, loss = self.threat, objectives.prepare(self.objective, self.model, x, y)
        x_adv = x + (start - x) * m
        for _ in range(self.steps):
            grad, _ = self.direction(self.gradient(loss, x_adv), None)
            x_adv = th.project(x + (th.step(x_adv, grad, self.alpha) - x) * m, x)
        return x_adv.detach()
