"""Promotion and suppression (chapter 6, after Xu et al., 2019): what a perturbation does to the
score of the true class and to the score of the class it pushes toward.

Scores are *centred* logits, z̃_c = z_c − mean_j z_j. Softmax ignores a shift common to every
logit, so a perturbation that lowers all logits alike suppresses nothing; centring removes that
shift before anything is attributed. For an image x with true class y, its perturbed version x′
and the class t the attack pushes toward (the target of a targeted attack, the new prediction of
an untargeted one):

* suppression s = z̃_y(x) − z̃_y(x′)  (how far the true class's score fell),
* promotion  p = z̃_t(x′) − z̃_t(x)  (how far the target's score rose).

Whenever the attack turns the prediction from y to t, s + p > 0 (the margin z̃_t − z̃_y changes
sign and s + p is exactly its change). The type of an example follows a stated rule with ratio
r (default 2): *suppression-dominated* if s⁺ ≥ r·p⁺, *promotion-dominated* if p⁺ ≥ r·s⁺,
*balanced* otherwise (x⁺ = max(x, 0)); r = 2 means one effect is at least twice the other.

For a CAM-ready model (``features``, global average pooling, linear ``fc``) both effects split
exactly over the channels k of ``features``: with ā_k the spatial mean of channel k and centred
weights W̃_ck = W_ck − mean_j W_jk,

    s = Σ_k −W̃_yk · Δā_k,   p = Σ_k W̃_tk · Δā_k,   Δā_k = ā_k(x′) − ā_k(x).

(the biases cancel in the difference). A unit is *promoted* when Δā_k > 0 and *suppressed*
when Δā_k < 0.

>>> pse = al.interpret.promotion_suppression(model, x, x_adv, y, t)
>>> pse.suppression, pse.promotion, pse.kind            # N, N, N labels
>>> pse.unit_suppression.sum(1)                          # == pse.suppression
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..core import checks
from ..core.discrepancy import cam_head
from ..core.modes import frozen_eval
from ..core.probe import LayerProbe

#: the three types, in the order tables and figures show them
TYPES = ("suppression-dominated", "balanced", "promotion-dominated")


def centered(logits: torch.Tensor) -> torch.Tensor:
    """Logits minus their mean over classes (N×C): what softmax sees, without the common shift."""
    return logits - logits.mean(1, keepdim=True)


def pse_type(suppression, promotion, ratio: float = 2.0) -> list[str]:
    """The type of each example (one of ``TYPES``) from its suppression and promotion: the rule in
    the module docstring, with ``ratio`` r ≥ 1."""
    s = torch.as_tensor(suppression, dtype=torch.float64).flatten()
    p = torch.as_tensor(promotion, dtype=torch.float64).flatten()
    if s.shape != p.shape:
        raise ValueError(f"suppression and promotion must have the same length, got {len(s)} and {len(p)}")
    if not (torch.isfinite(s).all() and torch.isfinite(p).all()):
        raise ValueError("suppression and promotion must be finite")
    ratio = checks.number(ratio, "ratio", 1.0, 1e6)
    sp, pp = s.clamp_min(0), p.clamp_min(0)
    return [TYPES[0] if a >= ratio * b else TYPES[2] if b >= ratio * a else TYPES[1]
            for a, b in zip(sp.tolist(), pp.tolist())]


@dataclass
class PSE:
    """Promotion and suppression of a batch (module docstring). Per image (N): ``suppression``,
    ``promotion``, ``kind``; per image and channel of ``features`` (N×K): ``activation_change``
    (Δā_k), ``unit_suppression`` and ``unit_promotion`` (they sum over k to the per-image values)."""
    suppression: torch.Tensor
    promotion: torch.Tensor
    kind: list
    activation_change: torch.Tensor
    unit_suppression: torch.Tensor
    unit_promotion: torch.Tensor
    ratio: float

    def counts(self) -> dict:
        """How many images are of each type, in the order of ``TYPES``."""
        return {t: sum(k == t for k in self.kind) for t in TYPES}


def channel_means(model, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The logits (N×C) and the spatial means ā (N×K) of ``model.features`` for images ``x``, in
    one forward pass (eval mode, no gradient)."""
    fc = cam_head(model)
    checks.images(x, model=model)
    with frozen_eval(model), torch.no_grad(), LayerProbe(model, ["features"], detach=True) as probe:
        logits = probe.run(x)
    a = probe["features"].flatten(2).mean(2)
    if a.shape[1] != fc.in_features:
        shape = tuple(probe["features"].shape)
        raise ValueError(f"model.features must output N×{fc.in_features}×h×w maps, got {shape}")
    return logits, a


def promotion_suppression(model, x: torch.Tensor, x_adv: torch.Tensor, y, target, ratio: float = 2.0) -> PSE:
    """Suppression of the true classes ``y`` and promotion of the classes ``target`` from ``x``
    to ``x_adv`` on a CAM-ready ``model``, per image and per channel (module docstring)."""
    checks.images(x, model=model)
    checks.images(x_adv, "x_adv", model=model)
    if x.shape != x_adv.shape:
        raise ValueError(f"x_adv must have the shape of x {tuple(x.shape)}, got {tuple(x_adv.shape)}")
    fc = cam_head(model)
    y = checks.labels(y, len(x), fc.out_features, "y").to(x.device)
    target = checks.labels(target, len(x), fc.out_features, "target").to(x.device)
    z0, a0 = channel_means(model, x)
    z1, a1 = channel_means(model, x_adv)
    rows = torch.arange(len(x), device=x.device)
    c0, c1 = centered(z0), centered(z1)
    s = c0[rows, y] - c1[rows, y]
    p = c1[rows, target] - c0[rows, target]
    w = fc.weight.detach()
    w = w - w.mean(0, keepdim=True)
    da = a1 - a0
    unit_s, unit_p = -w[y] * da, w[target] * da
    return PSE(s, p, pse_type(s, p, ratio), da, unit_s, unit_p, float(ratio))
