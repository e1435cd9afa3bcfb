"""Switching units off (chapter 6's defence, after Xu et al., 2019): a copy of a model whose
chosen channels of one layer always output zero."""
from __future__ import annotations

import copy

import torch

from ..core import checks
from ..core.probe import resolve_layer


def mask_units(model: torch.nn.Module, layer, channels) -> torch.nn.Module:
    """A deep copy of ``model`` in which ``channels`` of ``layer`` (a submodule name; ``None``:
    ``features``) are set to zero on every forward pass; ``model`` itself is not changed.
    ``channels``: indices into the layer's output channels (an empty list gives an exact copy).

    >>> defended = al.models.mask_units(model, "features", [3, 17, 40])
    """
    model = checks.model(model)
    resolve_layer(model, layer)  # validates the name on the original
    channels = list(channels)
    if any(isinstance(c, bool) or not float(c).is_integer() for c in channels):
        raise ValueError(f"channels must be integer indices, got {channels!r}")
    idx = sorted({int(c) for c in channels})
    out = copy.deepcopy(model)
    module = resolve_layer(out, layer)
    if idx:
        def hook(_module, _inputs, output):
            if idx[0] < 0 or idx[-1] >= output.shape[1]:
                raise ValueError(f"channels must lie in [0, {output.shape[1] - 1}] for this layer, got {idx}")
            keep = torch.ones(output.shape[1], device=output.device, dtype=output.dtype)
            keep[idx] = 0
            return output * keep.view(1, -1, *([1] * (output.dim() - 2)))
        module.register_forward_hook(hook)
    setattr(out, "masked_units", (layer, idx))   # noqa: B010 (a plain attribute on an nn.Module)
    return out
