"""Chapter 6's exercises: suppression and promotion of one batch (centred logits), and the share
of a perturbation's energy inside a region. The checks compare with
``advlab.interpret.promotion_suppression`` and ``advlab.studies.ch06_promotion.energy_share``."""
from __future__ import annotations

import torch

from ._common import NOT_YET, close


def _pair(got, n: int, what: str):
    """``got`` as two length-``n`` tensors, or None after printing what is wrong."""
    if not isinstance(got, (tuple, list)) or len(got) != 2 or not all(isinstance(g, torch.Tensor) for g in got):
        print(f"✗ expected a pair (suppression, promotion) of tensors, got {type(got).__name__}")
        return None
    got = tuple(g.detach().flatten() for g in got)
    if any(len(g) != n for g in got):
        print(f"✗ expected {n} values each ({what}), got {[len(g) for g in got]}")
        return None
    return got


def check_pse(fn, model, x: torch.Tensor, x_adv: torch.Tensor, y: torch.Tensor, t: torch.Tensor) -> bool:
    """Check ``fn(model, x, x_adv, y, t) -> (suppression, promotion)``: per image, how far the
    centred logit of the true class ``y`` fell and how far the target's ``t`` rose.

    Prints what is wrong (or that it is not written yet) and returns True only on a match."""
    from .. import interpret  # imported on first use, as ``al.interpret`` is
    got = fn(model, x, x_adv, y, t)
    if got is None or (isinstance(got, tuple) and any(g is None for g in got)):
        print(NOT_YET)
        return False
    got = _pair(got, len(x), "one per image")
    if got is None:
        return False
    ref = interpret.promotion_suppression(model, x, x_adv, y, t)
    s, p = got
    if close(s, ref.suppression, 1e-4) and close(p, ref.promotion, 1e-4):
        print(f"✓ matches al.interpret.promotion_suppression on {len(x)} images "
              f"(mean suppression {ref.suppression.mean():.2f}, promotion {ref.promotion.mean():.2f})")
        return True
    with torch.no_grad():
        z0, z1 = model(x), model(x_adv)
    rows = torch.arange(len(x))
    raw_s, raw_p = z0[rows, y] - z1[rows, y], z1[rows, t] - z0[rows, t]
    if close(s, raw_s, 1e-4) and close(p, raw_p, 1e-4):
        print("✗ these are changes of the raw logits: subtract each image's mean logit first (centred logits), "
              "so that a shift of every logit alike counts as neither")
    elif close(s, -ref.suppression, 1e-4):
        print("✗ suppression has the wrong sign: it is the clean score minus the attacked score of the true class")
    else:
        print(f"✗ differs from the package by up to {(s - ref.suppression).abs().max():.3g} (suppression) and "
              f"{(p - ref.promotion).abs().max():.3g} (promotion)")
    return False


def check_energy_share(fn, x: torch.Tensor, x_adv: torch.Tensor, mask: torch.Tensor) -> bool:
    """Check ``fn(x, x_adv, mask) -> (N,)``: the share of Σδ² (pixels and channels) inside the
    region ``mask`` (N×1×H×W)."""
    from ..studies.ch06_promotion import energy_share
    got = fn(x, x_adv, mask)
    if got is None:
        print(NOT_YET)
        return False
    if not isinstance(got, torch.Tensor):
        print(f"✗ expected a tensor with one share per image, got {type(got).__name__}")
        return False
    expected = energy_share(x, x_adv, mask)
    got = got.detach().flatten()
    if close(got, expected, 1e-5):
        print(f"✓ matches: on average {expected.mean():.0%} of the energy lies in {mask.mean():.0%} of the pixels")
        return True
    area = mask.flatten(1).mean(1)
    if got.shape == expected.shape and torch.allclose(got, area, atol=1e-4):
        print("✗ that is the region's area; weight each pixel by the perturbation's energy δ²")
    elif got.shape == expected.shape and (got > 1 + 1e-6).any():
        print("✗ a share must lie in [0, 1]: divide by the perturbation's total energy")
    else:
        print(f"✗ expected shape {tuple(expected.shape)} and values like {expected[:3].tolist()}, "
              f"got {tuple(got.shape)} {got[:3].tolist()}")
    return False
