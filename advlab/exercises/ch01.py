"""Chapter 1's exercise: write one FGSM step; the check compares it with ``al.attacks.FGSM``."""
from __future__ import annotations

import torch

from .. import attacks
from ._common import NOT_YET


def check_fgsm(fn, model, x, y, eps: float) -> bool:
    """Check ``fn(model, x, y, eps) -> x_adv`` against ``al.attacks.FGSM``.

    Prints what is wrong (or that it is not written yet) and returns True only on a match.
    """
    got = fn(model, x, y, eps)
    if got is None:
        print(NOT_YET)
        return False
    expected = attacks.FGSM(model, eps=eps)(x, y)
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
        print(f"✗ expected a tensor of shape {tuple(expected.shape)}, got "
              f"{getattr(got, 'shape', type(got).__name__)}")
        return False
    if got.min() < 0 or got.max() > 1:
        print("✗ some pixels leave [0, 1]: clamp the result")
        return False
    diff = (got.detach() - expected).abs().max().item()
    if diff > 1e-5:
        hint = (" Did you take the sign of the gradient?" if diff < eps * 1.01
                else " Did you step along the gradient of the loss (not the logits) with size eps?")
        print(f"✗ differs from al.attacks.FGSM by up to {diff:.4f}.{hint}")
        return False
    print(f"✓ matches al.attacks.FGSM on {len(x)} images (max difference {diff:.1e})")
    return True
