"""Map utilities shared by interpreters, metrics and plots: validate, normalise, upsample,
reduce channels, keep the top-k pixels. Maps are N×H×W (or H×W) tensors."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from . import checks


def as_maps(a, name: str = "maps") -> torch.Tensor:
    """Check a batch of maps (N×H×W, or one H×W map), finite; returns N×H×W float."""
    if not isinstance(a, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of maps (N×H×W or H×W), got {type(a).__name__}")
    if a.dim() == 2:
        a = a.unsqueeze(0)
    if a.dim() != 3:
        raise ValueError(f"{name} must have shape N×H×W or H×W, got {tuple(a.shape)}")
    if not torch.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return a.float()


def normalize(maps: torch.Tensor) -> torch.Tensor:
    """Min-max scale each map to [0, 1] (a constant map becomes all zeros). Differentiable."""
    if not isinstance(maps, torch.Tensor) or maps.dim() not in (2, 3):
        raise ValueError(f"maps must be a tensor of shape N×H×W or H×W, got "
                         f"{tuple(maps.shape) if isinstance(maps, torch.Tensor) else type(maps).__name__}")
    m = maps.unsqueeze(0) if maps.dim() == 2 else maps
    flat = m.flatten(1)
    lo, hi = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    out = ((flat - lo) / (hi - lo).clamp_min(1e-12)).view_as(m)
    return out[0] if maps.dim() == 2 else out


def upsample(maps: torch.Tensor, size) -> torch.Tensor:
    """Bilinear upsampling of N×h×w maps to N×``size`` (the input's H×W). Differentiable."""
    return F.interpolate(maps[:, None], size=tuple(size), mode="bilinear", align_corners=False)[:, 0]


REDUCTIONS = ("max_abs", "sum_abs", "sum")


def check_reduction(how, name: str = "reduce") -> str:
    """Check a channel reduction (one of ``REDUCTIONS``): interpreters call it at construction."""
    return checks.choice(how, name, REDUCTIONS)


def reduce_channels(attr: torch.Tensor, how: str) -> torch.Tensor:
    """N×C×H×W attributions to N×H×W maps: ``max_abs`` (Simonyan et al.),
    ``sum_abs`` or ``sum`` (signed: keeps Integrated Gradients' completeness)."""
    check_reduction(how)
    if how == "max_abs":
        return attr.abs().amax(1)
    if how == "sum_abs":
        return attr.abs().sum(1)
    return attr.sum(1)


def topk_mask(a, k: int) -> torch.Tensor:
    """Boolean mask of the ``k`` largest pixels of each map (ties broken by position)."""
    a = as_maps(a, "a")
    checks.number(k, "k", 1, a[0].numel(), integer=True)
    flat = a.flatten(1)
    idx = flat.topk(k, dim=1).indices
    mask = torch.zeros_like(flat, dtype=torch.bool).scatter_(1, idx, True)
    return mask.view_as(a)
