"""Chapter 4's exercises (Boopathy et al., ICML 2020): the class activation map of every class
with completeness, the interpretation discrepancy D₂,ℓ₁ between a clean and an adversarial image,
and Proposition 1's lower bound on it. The checks compare with
:mod:`advlab.interpret.discrepancy`."""
from __future__ import annotations

import torch

from ._common import NOT_YET, close


def _d():
    from ..interpret import discrepancy  # imported on first use, as ``al.interpret`` is
    return discrepancy



def _as_tensor(got, expected, what: str):
    """``got`` detached, or None after printing what is wrong with its type or shape."""
    if got is None:
        print(NOT_YET)
        return None
    if not isinstance(got, torch.Tensor):
        print(f"✗ expected {what}, a tensor of shape {tuple(expected.shape)}, got {type(got).__name__}")
        return None
    got = got.detach().to(expected.dtype)
    if got.shape != expected.shape:
        print(f"✗ expected {what} of shape {tuple(expected.shape)}, got {tuple(got.shape)}")
        return None
    return got


def check_cam_completeness(fn, model, x: torch.Tensor) -> bool:
    """Check ``fn(model, x) -> N×C×h×w``: the signed CAM of every class, divided by the number of
    positions u = h·w (the paper's Eq. 1), so that each class's map sums to its logit minus its
    bias. Prints what is wrong (or that it is not written yet) and returns True only on a match."""
    raw = fn(model, x)
    with torch.no_grad():
        logits, expected = _d().class_maps(model, x)
    got = _as_tensor(raw, expected, "every class's map")
    if got is None:
        if isinstance(raw, torch.Tensor) and raw.dim() == 3:
            print("  One map per class: weigh the features with every row of fc.weight (C×K), not one class's.")
        return False
    if not close(got, expected):
        u = expected.shape[2] * expected.shape[3]
        hint = (" Divide by the number of positions h·w (Eq. 1): then each map sums to f_c − b_c."
                if close(got, expected * u) else
                " Keep the signed map: no ReLU, negative evidence counts for completeness."
                if close(got, expected.clamp(min=0)) or close(got, (expected * u).clamp(min=0)) else
                " Weigh the output of model.features (before pooling) with fc.weight.")
        err = (got.sum((2, 3)) - (logits - model.fc.bias)).abs().max().item()
        print(f"✗ your maps sum to the logits minus the biases only up to {err:.4g}.{hint}")
        return False
    print(f"✓ matches advlab.interpret.discrepancy.class_maps: {expected.shape[1]} classes, "
          f"{expected.shape[2]}×{expected.shape[3]} positions; each map sums to f_c − b_c")
    return True


def _classes(model, x, x_adv):
    with torch.no_grad():
        logits, maps = _d().class_maps(model, x)
        logits_adv, maps_adv = _d().class_maps(model, x_adv)
    return logits, maps, maps_adv, logits.argmax(1), logits_adv.argmax(1)


def check_discrepancy(fn, model, x: torch.Tensor, x_adv: torch.Tensor) -> bool:
    """Check ``fn(model, x, x_adv) -> (N,)``: the discrepancy
    D = ½(‖I(x, y) − I(x′, y)‖₁ + ‖I(x, y′) − I(x′, y′)‖₁) per image, with y the model's class
    at x, y′ its class at x′, and I the completeness-scaled signed CAM
    (:func:`check_cam_completeness`). Prints what is wrong and returns True only on a match."""
    D = _d()
    _, maps, maps_adv, y, y_adv = _classes(model, x, x_adv)
    expected = D.discrepancy(maps, maps_adv, y, y_adv)
    got = _as_tensor(fn(model, x, x_adv), expected, "one discrepancy per image")
    if got is None:
        return False
    if not close(got, expected):
        true = D.l1_distance(D.select(maps, y), D.select(maps_adv, y))
        adv = D.l1_distance(D.select(maps, y_adv), D.select(maps_adv, y_adv))
        u = maps.shape[2] * maps.shape[3]
        hint = (" Did you forget the ½ in front of the sum?" if close(got, 2 * expected) else
                " Use the true class y and the adversarial class y′ = the prediction at x′, not only y."
                if close(got, true) or close(got, 0.5 * true) or close(got, true + 0.5 * adv) else
                " Use only the adversarial class y′ and the true class y."
                if close(got, adv) or close(got, 0.5 * adv) else
                " Divide the CAM by the number of positions h·w (Eq. 1)." if close(got, u * expected) else
                " Sum the absolute differences |I(x, c) − I(x′, c)| over the positions (the ℓ₁ norm).")
        diff = (got - expected).abs().max().item()
        print(f"✗ differs from D₂,ℓ₁ by up to {diff:.4g} (on {int((y_adv != y).sum())} of {len(x)} images "
              f"the class changed).{hint}")
        return False
    print(f"✓ matches advlab.interpret.discrepancy.discrepancy on {len(x)} images "
          f"(mean D = {expected.mean().item():.4g})")
    return True


def check_bound(fn, model, x: torch.Tensor, y: torch.Tensor, y_adv: torch.Tensor) -> bool:
    """Check ``fn(model, x, y, y_adv) -> (N,)``: Proposition 1's lower bound ½(f_y(x) − f_y′(x)) on
    the discrepancy of any successful attack, from the clean logits. Prints what is wrong and
    returns True only on a match."""
    D = _d()
    with torch.no_grad():
        logits = model(x)
    expected = D.margin_bound(logits, y, y_adv)
    got = _as_tensor(fn(model, x, y, y_adv), expected, "one bound per image")
    if got is None:
        return False
    if not close(got, expected):
        p = torch.softmax(logits, 1)
        prob = 0.5 * (D.select(p, y) - D.select(p, y_adv))
        hint = (" Did you forget the ½? D averages two ℓ₁ norms." if close(got, 2 * expected) else
                " The margin is f_y(x) − f_y′(x): true class minus adversarial class." if close(got, -expected)
                or close(got, -2 * expected) else
                " Use the logits f(x), not the softmax probabilities."
                if close(got, prob) or close(got, 2 * prob) else
                " Read f_y and f_y′ at the clean image x, one pair per image.")
        diff = (got - expected).abs().max().item()
        print(f"✗ differs from ½(f_y(x) − f_y′(x)) by up to {diff:.4g}.{hint}")
        return False
    print(f"✓ matches Proposition 1's bound on {len(x)} images (mean {expected.mean().item():.4g})")
    return True
