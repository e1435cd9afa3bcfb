"""Chapter 8's exercises: a layer's channel profile (the mean activation of every channel), and
the first layer where the adversarial images' profile is closer to the target class than to the
benign class. The checks compare with :func:`advlab.interpret.pathways`."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ._common import NOT_YET


def _reference_means(model, layer: str, x: torch.Tensor) -> torch.Tensor:
    """The channel profile the pathway graph uses: ``Pathway.activation[...][layer]``."""
    from .. import interpret  # imported on first use, as ``al.interpret`` is
    pw = interpret.pathways(model, x, x, x, layers=[layer], connections=0)
    return pw.activation["benign"][layer]


def check_channel_means(fn, model, layer: str, x: torch.Tensor) -> bool:
    """Check ``fn(model, layer, x) -> (C,)``: the mean activation of each channel of ``layer``
    over the images and the positions, as :func:`advlab.interpret.pathways` measures it.

    Prints what is wrong (or that it is not written yet) and returns True only on a match."""
    got = fn(model, layer, x)
    if got is None:
        print(NOT_YET)
        return False
    expected = _reference_means(model, layer, x)
    if not isinstance(got, torch.Tensor):
        print(f"✗ expected a tensor of shape {tuple(expected.shape)}, got {type(got).__name__}")
        return False
    got = got.detach()
    if got.shape != expected.shape:
        hint = (" Average over the images too (dimension 0)." if got.dim() == 2 and got.shape[0] == len(x)
                else " Average over the positions (dimensions 2 and 3)." if got.dim() > 1 else "")
        print(f"✗ expected shape {tuple(expected.shape)} (one value per channel), got {tuple(got.shape)}.{hint}")
        return False
    diff = (got - expected).abs().max().item()
    if diff > 1e-4 * max(1.0, expected.abs().max().item()):
        ratio = (got.sum() / expected.sum()).item() if expected.sum() != 0 else float("nan")
        hint = (" Take the mean over the positions, not the sum." if ratio > 1.5
                else " Did you read the layer's output (a forward hook, or al.core.probe.activations)?")
        print(f"✗ differs from the pathway's activation by up to {diff:.4g}.{hint}")
        return False
    print(f"✓ matches the pathway's channel profile of {layer} ({len(expected)} channels, max difference {diff:.1e})")
    return True


def closer_layer(pathway) -> str | None:
    """The first layer of ``pathway`` where the adversarial images' channel profile is closer in
    cosine to the target class's than to the benign class's, or None."""
    a = pathway.activation
    for layer in pathway.layers:
        adv = a["adversarial"][layer]
        if F.cosine_similarity(adv, a["target"][layer], dim=0) > F.cosine_similarity(adv, a["benign"][layer], dim=0):
            return layer
    return None


def check_closer_layer(fn, pathway) -> bool:
    """Check ``fn(pathway) -> layer name or None`` against ``al.exercises.ch08.closer_layer``: the
    first layer where cos(adversarial, target) > cos(adversarial, benign) on ``pathway.activation``."""
    got = fn(pathway)
    if got is Ellipsis:
        print(NOT_YET)
        return False
    expected = closer_layer(pathway)
    if got == expected:
        print(f"✓ {expected or 'no layer'}: "
              + ("the first layer where the attacked images look more like the target class"
                 if expected else "the attacked images stay closer to the benign class in every layer"))
        return True
    a = pathway.activation
    cos = {k: (float(F.cosine_similarity(a["adversarial"][k], a["target"][k], dim=0)),
               float(F.cosine_similarity(a["adversarial"][k], a["benign"][k], dim=0))) for k in pathway.layers}
    if got not in cos and got is not None:
        print(f"✗ {got!r} is not a layer of the pathway; its layers: {', '.join(pathway.layers)}")
        return False
    later = [k for k in pathway.layers if cos[k][0] > cos[k][1]]
    hint = (" It is a layer where the target wins, but not the first one: go through pathway.layers in order."
            if got in later else " Compare cos(adversarial, target) with cos(adversarial, benign), per layer,"
            " on the vectors pathway.activation[group][layer].")
    print(f"✗ expected {expected!r}, got {got!r}.{hint}")
    return False
