"""Chapter 5's exercises: ADV²'s map term (the mean squared difference of two min-max normalised
maps) and one feature squeezer (bit-depth reduction). The checks compare with
``advlab.attacks.objectives.ADV2`` and ``advlab.squeeze.bit_depth``."""
from __future__ import annotations

import torch

from ._common import NOT_YET, close


def map_term(g_adv: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """ADV²'s ℓ_int with λ = 1, as its objective computes it: per image, the mean of
    (normalise(g_adv) − normalise(m))² over the pixels."""
    from ..core.maps import normalize
    return ((normalize(g_adv) - normalize(m)) ** 2).flatten(1).mean(1)


def check_map_term(fn, g_adv: torch.Tensor, m: torch.Tensor) -> bool:
    """Check ``fn(g_adv, m) -> (N,)`` against ``map_term`` (ADV²'s map term). Prints what is wrong (or that it is
    not written yet) and returns True only on a match."""
    got = fn(g_adv, m)
    if got is None:
        print(NOT_YET)
        return False
    if not isinstance(got, torch.Tensor):
        print(f"✗ expected a tensor with one value per image, got {type(got).__name__}")
        return False
    expected = map_term(g_adv, m)
    got = got.detach()
    if close(got, expected):
        print(f"✓ matches ADV²'s map term on {len(expected)} images (mean {expected.mean():.4f})")
        return True
    raw = ((g_adv - m) ** 2).flatten(1).mean(1)
    if got.shape == expected.shape and torch.allclose(got, raw, rtol=1e-4, atol=1e-6):
        print("✗ normalise each map to [0, 1] first (min-max per map): raw maps of different images and "
              "interpreters live on different scales")
    elif got.shape != expected.shape:
        print(f"✗ expected one value per image, shape {tuple(expected.shape)}, got {tuple(got.shape)}")
    else:
        print(f"✗ differs from ADV²'s map term by up to {(got - expected).abs().max():.3g}")
    return False


def check_bit_depth(fn, x: torch.Tensor, bits: int) -> bool:
    """Check ``fn(x, bits)`` against ``advlab.squeeze.bit_depth``."""
    from .. import squeeze
    got = fn(x, bits)
    if got is None:
        print(NOT_YET)
        return False
    if not isinstance(got, torch.Tensor) or got.shape != x.shape:
        print(f"✗ expected a tensor shaped like x {tuple(x.shape)}, got "
              f"{tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__}")
        return False
    expected = squeeze.bit_depth(x, bits)
    if close(got.detach(), expected, 1e-6):
        print(f"✓ matches al.squeeze.bit_depth: {2 ** bits} levels per channel")
        return True
    levels = torch.unique(got.detach()).numel()
    hint = (f" There should be at most {2 ** bits} distinct values, found {levels}." if levels > 2 ** bits else
            " Round to the nearest level (torch.round), not down (floor).")
    print(f"✗ differs from al.squeeze.bit_depth by up to {(got.detach() - expected).abs().max():.3g}.{hint}")
    return False
