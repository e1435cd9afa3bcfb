"""Input checks used at the API edge.

Every public entry point (attacks, interpreters, metrics, the zoo, widgets)
calls these so that bad input fails early with a ``ValueError`` that names the
argument and says what is accepted.
"""
from __future__ import annotations

import math
from fractions import Fraction

import torch


def images(x, name: str = "x") -> torch.Tensor:
    """Check a batch of images: float tensor N×C×H×W, finite, in [0, 1]."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape N×C×H×W, got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(
            f"{name} must have shape N×C×H×W (4 dimensions), got shape {tuple(x.shape)}; "
            f"add a batch dimension with {name}.unsqueeze(0)"
        )
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor with values in [0, 1], got dtype {x.dtype}")
    if x.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)})")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    lo, hi = float(x.min()), float(x.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"{name} must hold pixels in [0, 1] (advlab models normalise internally), "
            f"got values in [{lo:.3g}, {hi:.3g}]"
        )
    return x


def labels(y, n: int, num_classes: int | None = None, name: str = "y") -> torch.Tensor:
    """Check class indices: integer tensor of shape (n,), each in [0, num_classes)."""
    if isinstance(y, int):
        y = torch.full((n,), y, dtype=torch.long)
    if not isinstance(y, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of class indices or an int, got {type(y).__name__}")
    if y.dtype in (torch.bool,) or y.is_floating_point() or y.is_complex():
        raise ValueError(f"{name} must hold integer class indices, got dtype {y.dtype}")
    if y.dim() == 0:
        y = y.expand(n)
    if y.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) to match the batch, got {tuple(y.shape)}")
    if n and (int(y.min()) < 0 or (num_classes is not None and int(y.max()) >= num_classes)):
        accepted = f"0..{num_classes - 1}" if num_classes is not None else "non-negative integers"
        raise ValueError(f"{name} holds a class index outside {accepted}: {y.tolist()}")
    return y.long()


def parse_eps(eps, name: str = "eps") -> float:
    """Turn ``0.03``, ``8/255`` or ``"8/255"`` into a float in pixel units."""
    if isinstance(eps, str):
        try:
            eps = float(Fraction(eps.replace(" ", "")))
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"{name} must be a number or a fraction such as '8/255', got {eps!r}") from None
    if isinstance(eps, bool) or not isinstance(eps, (int, float)):
        raise ValueError(f"{name} must be a number in pixel units [0, 1] or a string like '8/255', got {eps!r}")
    eps = float(eps)
    if not math.isfinite(eps):
        raise ValueError(f"{name} must be finite, got {eps}")
    return eps


def number(value, name: str, lo: float, hi: float, integer: bool = False):
    """Check ``lo <= value <= hi`` (and integrality) and return the value."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number in [{lo}, {hi}], got {value!r}")
    if integer and int(value) != value:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    if not math.isfinite(value) or not lo <= value <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {value!r}")
    return int(value) if integer else float(value)


def choice(value, name: str, accepted) -> str:
    """Check that ``value`` is one of ``accepted``."""
    accepted = list(accepted)
    if value not in accepted:
        raise ValueError(f"unknown {name} {value!r}; accepted values: {', '.join(map(str, accepted))}")
    return value


def model(m, name: str = "model") -> torch.nn.Module:
    """Check that ``m`` is a ``torch.nn.Module``."""
    if not isinstance(m, torch.nn.Module):
        raise ValueError(f"{name} must be a torch.nn.Module (e.g. advlab.zoo.load(...)), got {type(m).__name__}")
    return m


def model_labels(model: torch.nn.Module, y, x: torch.Tensor, name: str) -> torch.Tensor:
    """Validate class indices ``y`` for batch ``x`` against the number of classes ``model``
    outputs; returns them as a long tensor on ``x``'s device. Call inside
    :func:`advlab.core.frozen_eval`. Labels made under ``torch.inference_mode`` (e.g. by
    :func:`advlab.metrics.predict`) are copied into normal tensors, which autograd accepts."""
    from .modes import n_classes
    y = labels(y, x.shape[0], name=name)
    y = labels(y, x.shape[0], n_classes(model, x), name=name).to(x.device)
    return y.clone() if y.is_inference() else y
