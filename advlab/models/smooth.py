"""Smooth stand-ins for ReLU (chapter 5): ADV² against gradient saliency differentiates the
gradient, and a ReLU network's second derivatives are zero almost everywhere, so the attack
runs on a copy whose ReLUs are Softplus (Zhang et al., 2020, after Dombrowski et al., 2019)."""
from __future__ import annotations

import copy

from torch import nn

from ..core import checks


def smooth_relu(model: nn.Module, beta: float = 10.0) -> nn.Module:
    """A deep copy of ``model`` with every ``nn.ReLU`` module replaced by ``nn.Softplus(beta)``
    (``log(1 + e^{βz}) / β``, which tends to ReLU as β grows); ``model`` is left untouched.
    ReLUs applied as functions (``torch.relu``) are not seen: advlab's architectures use modules.

    >>> smooth = smooth_relu(al.zoo.load("cifar_resnet8"), beta=10.0)
    """
    checks.model(model)
    beta = checks.number(beta, "beta", 0.0, 1e6)
    if beta <= 0:
        raise ValueError(f"beta must be > 0 (Softplus sharpness), got {beta!r}")
    out = copy.deepcopy(model)
    for parent in list(out.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.ReLU):
                setattr(parent, name, nn.Softplus(beta=beta))
    return out
