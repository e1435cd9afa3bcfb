"""Interpretation discrepancy (chapter 4, Boopathy et al., ICML 2020).

For a CAM-ready model (global average pooling, then a linear layer ``fc``) the class activation
map of every class, scaled by 1/u (u = h·w positions, the paper's Eq. 1), sums to that class's
logit minus its bias: ``Σ_i I(x, c)_i = f_c(x) − b_c`` (completeness). The discrepancy between a
clean image x and an adversarial x′ for the true class y and the adversarial class y′ is

    D(x, x′) = ½ (‖I(x, y) − I(x′, y)‖₁ + ‖I(x, y′) − I(x′, y′)‖₁),

and completeness gives Proposition 1: whenever the attack succeeds (f_y′(x′) ≥ f_y(x′)),
``D(x, x′) ≥ ½ (f_y(x) − f_y′(x))``, whatever the perturbation: the bias cancels and the
triangle inequality does the rest. The training objectives Int and Int2 use the smoothed form
D̃, where the adversarial class is replaced by a softmax-weighted sum over every other class.

>>> logits, maps = class_maps(model, x)              # N×C, N×C×h×w
>>> d = discrepancy(maps, maps_adv, y, y_adv)         # N
>>> (d >= margin_bound(logits, y, y_adv)).all()       # for successful attacks
"""
from __future__ import annotations

import numpy as np
import torch

from .probe import LayerProbe


def cam_head(model):
    """The linear ``fc`` of a CAM-ready model (``features``, global average pooling, ``fc``), else a
    ``ValueError`` (chapters 4–6)."""
    fc = getattr(model, "fc", None)
    if not isinstance(fc, torch.nn.Linear) or not hasattr(model, "features"):
        raise ValueError(f"model must be CAM-ready (a ``features`` block, global average pooling and a linear "
                         f"``fc``), got {type(model).__name__}")
    return fc


def class_maps(model, x: torch.Tensor):
    """The logits (N×C) and the completeness-scaled CAM of every class (N×C×h×w), on the autograd
    graph (differentiable in ``x`` and the parameters): ``maps.sum((2, 3)) = logits − fc.bias``."""
    fc = cam_head(model)
    with LayerProbe(model, ["features"]) as probe:
        logits = probe.run(x)
    A = probe["features"]
    if A.dim() != 4 or A.shape[1] != fc.in_features:
        raise ValueError(f"model.features must output N×{fc.in_features}×h×w maps, got {tuple(A.shape)}")
    u = A.shape[2] * A.shape[3]
    return logits, torch.einsum("ck,nkhw->nchw", fc.weight, A) / u


def l1_distance(a, b):
    """‖a − b‖₁ per image (N) of two batches of maps."""
    return (a - b).abs().flatten(1).sum(1)


def select(maps, cls):
    """The map of class ``cls[n]`` for every image n: N×C×h×w → N×h×w."""
    return maps[torch.arange(maps.shape[0], device=maps.device), cls]


def discrepancy(maps: torch.Tensor, maps_adv: torch.Tensor, y: torch.Tensor, y_adv: torch.Tensor) -> torch.Tensor:
    """D₂,ℓ₁: ½(‖I(x, y) − I(x′, y)‖₁ + ‖I(x, y′) − I(x′, y′)‖₁) per image (N), from ``class_maps``."""
    if maps.shape != maps_adv.shape or maps.dim() != 4:
        raise ValueError(f"maps and maps_adv must be N×C×h×w maps of the same shape, got {tuple(maps.shape)} "
                         f"and {tuple(maps_adv.shape)}")
    true = l1_distance(select(maps, y), select(maps_adv, y))
    return 0.5 * (true + l1_distance(select(maps, y_adv), select(maps_adv, y_adv)))


def smoothed_discrepancy(maps, maps_adv, logits_adv, y) -> torch.Tensor:
    """D̃ (the training objectives' form): ½‖I(x, y) − I(x′, y)‖₁ + ½ Σ_{i≠y} softmax(f(x′))_i
    ‖I(x, i) − I(x′, i)‖₁, per image (N). Differentiable; no argmax over classes."""
    per_class = (maps - maps_adv).abs().flatten(2).sum(2)                  # N×C
    others = ~torch.nn.functional.one_hot(y, per_class.shape[1]).bool()
    p = torch.softmax(logits_adv, 1) * others
    return 0.5 * select(per_class, y) + 0.5 * (p * per_class).sum(1)


def margin_bound(logits: torch.Tensor, y: torch.Tensor, y_adv: torch.Tensor) -> torch.Tensor:
    """Proposition 1's lower bound ½(f_y(x) − f_y′(x)) on the clean logits, per image (N)."""
    return 0.5 * (select(logits, y) - select(logits, y_adv))


def kendall_tau(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """Kendall's τ-b between two maps per image (scipy.stats.kendalltau over the flattened maps):
    1 when the ranking of positions is unchanged. A constant map has no ranking: τ is NaN there."""
    if a.shape != b.shape or a.dim() < 2:
        raise ValueError(f"a and b must be N×… maps of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    from scipy import stats  # imported here: scipy.special adds warning filters when imported
    an = a.detach().flatten(1).cpu().double().numpy()
    bn = b.detach().flatten(1).cpu().double().numpy()
    return np.array([stats.kendalltau(u, v).statistic for u, v in zip(an, bn)])
