"""Numbers the chapters report: accuracy under attack, success rates, and map similarity.

Map metrics take maps of shape N×H×W (or H×W) and return one value per map.
"""
from __future__ import annotations

import torch

from .core import checks
from .core.maps import as_maps, topk_mask  # noqa: F401  (topk_mask is part of the metrics API)
from .core.maps import normalize as _normalize


@torch.inference_mode()
def predict(model, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Predicted classes of ``x``, computed in eval mode in batches; the model's mode is restored."""
    from .core import frozen_eval
    checks.model(model)
    checks.images(x, model=model)
    batch_size = checks.number(batch_size, "batch_size", 1, 1 << 20, integer=True)
    with frozen_eval(model):
        return torch.cat([model(x[i:i + batch_size]).argmax(1) for i in range(0, len(x), batch_size)])


def correct(model, x: torch.Tensor, y: torch.Tensor, attack=None, batch_size: int = 256) -> torch.Tensor:
    """Per image (bool, on the CPU): is ``x`` classified as ``y``, or with ``attack`` (an advlab
    attack bound to ``model``) its adversarial image, attacked ``batch_size`` images at a time.
    The outcomes paired tests and intervals are computed from (``advlab.report``). Labels outside
    the model's classes are an error, not a miss."""
    from .core import frozen_eval
    checks.model(model)
    checks.images(x, model=model)
    batch_size = checks.number(batch_size, "batch_size", 1, 1 << 20, integer=True)
    with frozen_eval(model):
        y = checks.model_labels(model, y, x, "y")
    if attack is not None and not callable(attack):
        raise ValueError(f"attack must be an advlab attack bound to the model (called as attack(x, y)) or None, "
                         f"got {type(attack).__name__}")
    if attack is None:
        return predict(model, x, batch_size).cpu() == y.cpu()
    return torch.cat([predict(model, attack(x[i:i + batch_size], y[i:i + batch_size]), batch_size).cpu()
                      == y[i:i + batch_size].cpu() for i in range(0, len(x), batch_size)])


def accuracy(model, x: torch.Tensor, y: torch.Tensor, batch_size: int = 256) -> float:
    """Fraction of ``x`` classified as ``y``."""
    return correct(model, x, y, batch_size=batch_size).float().mean().item()


def robust_accuracy(model, attack, x: torch.Tensor, y: torch.Tensor, batch_size: int = 256) -> float:
    """Accuracy under ``attack`` (an advlab attack bound to ``model``)."""
    return correct(model, x, y, attack, batch_size).sum().item() / len(x)


def attack_success_rate(model, x: torch.Tensor, x_adv: torch.Tensor, y: torch.Tensor,
                        targeted: bool = False) -> float:
    """Untargeted: fraction of *originally correct* images whose prediction changed
    (NaN if none was correct). Targeted (``y`` = targets): fraction now predicted as ``y``."""
    from .core import frozen_eval
    checks.model(model)
    checks.images(x, model=model)
    checks.images(x_adv, "x_adv", model=model)
    targeted = checks.flag(targeted, "targeted")
    with frozen_eval(model):
        y = checks.model_labels(model, y, x, "y")
    if x_adv.shape != x.shape:
        raise ValueError(f"x_adv must have the shape of x {tuple(x.shape)}, got {tuple(x_adv.shape)}")
    adv = predict(model, x_adv).cpu()
    if targeted:
        return (adv == y.cpu()).float().mean().item()
    clean_ok = predict(model, x).cpu() == y.cpu()
    if not clean_ok.any():
        return float("nan")
    return (adv[clean_ok] != y.cpu()[clean_ok]).float().mean().item()


def _pair(a, b):
    a, b = as_maps(a, "a"), as_maps(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    return a, b


def l1_distance(a, b, normalize: bool = True) -> torch.Tensor:
    """Mean absolute difference per map; with ``normalize`` each map is first min-max scaled to [0, 1]."""
    a, b = _pair(a, b)
    if checks.flag(normalize, "normalize"):
        a, b = _normalize(a), _normalize(b)
    return (a - b).abs().flatten(1).mean(1)


def topk_iou(a, b, k: int) -> torch.Tensor:
    """Intersection over union of the top-``k`` pixels of two maps (1: same pixels)."""
    a, b = _pair(a, b)
    ma, mb = topk_mask(a, k), topk_mask(b, k)
    inter = (ma & mb).flatten(1).sum(1).float()
    union = (ma | mb).flatten(1).sum(1).float()
    return inter / union


def kendall_tau(a, b) -> torch.Tensor:
    """Kendall's rank correlation τ-b between the pixels of two maps, per map, in [-1, 1]."""
    a, b = _pair(a, b)
    out = []
    for u, v in zip(a.flatten(1), b.flatten(1)):
        du = torch.sign(u.unsqueeze(0) - u.unsqueeze(1))
        dv = torch.sign(v.unsqueeze(0) - v.unsqueeze(1))
        s = (du * dv).sum()
        nu, nv = (du != 0).sum(), (dv != 0).sum()
        out.append(s / torch.sqrt(nu.float() * nv.float()) if nu and nv else torch.tensor(float("nan")))
    return torch.stack(out)


def edge_strength(x: torch.Tensor) -> torch.Tensor:
    """Sobel gradient magnitude of each image's grey level, N×H×W (the image's edges)."""
    x = checks.images(x)
    grey = x.mean(1, keepdim=True)
    k = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=x.device)
    kernels = torch.stack([k, k.t()])[:, None]
    g = torch.nn.functional.conv2d(torch.nn.functional.pad(grey, (1, 1, 1, 1), mode="replicate"), kernels)
    return g.pow(2).sum(1).sqrt()


def edge_alignment(maps, x: torch.Tensor) -> torch.Tensor:
    """Pearson correlation, per image, between a map (N×H×W) and the image's Sobel edge
    strength: how much a saliency map follows edges and shapes (Zhang & Zhu 2019 show this
    by eye). 0 for a map unrelated to the edges, 1 for the edge map itself."""
    maps = as_maps(maps, "maps")
    edges = edge_strength(x)
    if edges.shape != maps.shape:
        raise ValueError(f"maps must have shape {tuple(edges.shape)} (one H×W map per image of x), "
                         f"got {tuple(maps.shape)}")
    a = maps.flatten(1) - maps.flatten(1).mean(1, keepdim=True)
    b = edges.flatten(1) - edges.flatten(1).mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-12)


def border_mass(maps, width: int = 4) -> torch.Tensor:
    """Fraction of each non-negative map's mass within ``width`` pixels of the image border.

    CIFAR-10 objects are centred, so mass moving to the border is mass moving to the
    background. A uniform H×W map scores ``1 − (H − 2w)(W − 2w)/(HW)`` (0.4375 at 32×32, w = 4).
    """
    maps = as_maps(maps, "maps")
    if (maps < 0).any():
        raise ValueError("maps must be non-negative (normalise them first)")
    h, w = maps.shape[-2:]
    if min(h, w) < 4:
        raise ValueError(f"maps are too small for a border (width >= 1) and an inside: need at least 4×4 "
                         f"pixels, got {h}×{w}")
    width = checks.number(width, "width", 1, min(h, w) // 2 - 1, integer=True)
    ring = torch.ones(h, w, dtype=torch.bool, device=maps.device)
    ring[width:h - width, width:w - width] = False
    total = maps.flatten(1).sum(1).clamp_min(1e-12)
    return (maps * ring).flatten(1).sum(1) / total


def spread(maps) -> torch.Tensor:
    """How widely each non-negative map spreads its mass: the Shannon entropy of the map taken as
    a distribution over its pixels, divided by that of a uniform map (0: all mass on one pixel,
    1: uniform). The seminar's "maps spread to large regions under attack" is a claim about it. A map
    with no mass (constant before min-max scaling: it singles nothing out) counts as uniform, 1."""
    maps = as_maps(maps, "maps")
    if (maps < 0).any():
        raise ValueError("maps must be non-negative (normalise them first)")
    flat = maps.flatten(1).double()
    flat = torch.where(flat.sum(1, keepdim=True) > 0, flat, torch.ones_like(flat))
    p = flat / flat.sum(1, keepdim=True)
    h = -(p * torch.where(p > 0, p.log(), torch.zeros_like(p))).sum(1)
    return (h / torch.log(torch.tensor(float(flat.shape[1]), dtype=torch.float64))).float()


def total_variation(maps) -> torch.Tensor:
    """Mean absolute difference between neighbouring pixels of each map (N×H×W), after
    min-max scaling each map to [0, 1]: 0 for a constant map, 1 for a checkerboard.
    Speckled gradient maps score high, smooth shape-like maps low."""
    m = _normalize(as_maps(maps, "maps"))
    dx = (m[:, :, 1:] - m[:, :, :-1]).abs().flatten(1).mean(1)
    dy = (m[:, 1:, :] - m[:, :-1, :]).abs().flatten(1).mean(1)
    return (dx + dy) / 2
