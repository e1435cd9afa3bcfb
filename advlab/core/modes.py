"""Model modes: eval mode with frozen parameters for the length of a block, and the class count.

Every attack, interpreter, metric and panel runs the caller's model inside :func:`frozen_eval`,
so batch-norm statistics and ``requires_grad`` flags are exactly as the caller left them.
"""
from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def frozen_eval(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Eval mode and frozen parameters inside the block; the caller's state after."""
    modes = [(m, m.training) for m in model.modules()]
    trainable = [p for p in model.parameters() if p.requires_grad]
    try:
        if any(mode for _, mode in modes):
            model.eval()
        for p in trainable:
            p.requires_grad_(False)
        yield model
    finally:
        # put back only what differs: this runs around every attack and map, so it stays cheap
        for m, mode in modes:
            if m.training != mode:
                m.training = mode
        for p in trainable:
            p.requires_grad_(True)


_N_CLASSES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def n_classes(model: torch.nn.Module, x: torch.Tensor) -> int:
    """How many logits ``model`` gives for images like ``x``: one forward of one image, remembered
    for this model while its parameters are the same tensors (a replaced head is probed again).
    Call inside :func:`frozen_eval`, so the probe cannot touch batch-norm statistics."""
    key = (tuple(map(id, model.parameters())), tuple(x.shape[1:]), x.dtype, x.device)
    try:
        known = _N_CLASSES.get(model)
    except TypeError:  # a model that cannot be weakly referenced is simply probed every time
        known = None
    if known is not None and known[0] == key:
        return known[1]
    with torch.no_grad():
        n = int(model(x[:1]).shape[1])
    try:
        _N_CLASSES[model] = (key, n)
    except TypeError:
        pass
    return n
