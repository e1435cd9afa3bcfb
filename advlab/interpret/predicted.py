"""Explain what the model decides: predict, then map the predicted class; and ProtoPNet's
most activated prototypes. Panels, studies and plots all go through these two functions."""
from __future__ import annotations

from typing import Any, NamedTuple

import torch

from ..core import checks, frozen_eval
from ..core.maps import normalize as _normalize
from .base import Interpreter


def predict_and_map(interpreter: Interpreter, x: torch.Tensor, normalize: bool = True,
                    batch_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Class probabilities of ``x`` (N×K softmax) under ``interpreter.model`` and the maps of
    each image's *predicted* class (N×H×W; min-max scaled to [0, 1] with ``normalize``).

    The map of the class the model decides on is what "where does the model look" means for a
    clean and an attacked image alike (chapters 1–3).

    >>> probs, maps = predict_and_map(al.interpret.make("gradcam", model), x)
    """
    if not isinstance(interpreter, Interpreter):
        raise ValueError(f"interpreter must be an advlab interpreter (al.interpret.make(...)), "
                         f"got {type(interpreter).__name__}")
    checks.images(x, model=interpreter.model)
    normalize = checks.flag(normalize, "normalize")
    with frozen_eval(interpreter.model), torch.no_grad():
        probs = interpreter.model(x).softmax(1)
    maps = interpreter(x, probs.argmax(1), batch_size=batch_size)
    return probs, (_normalize(maps) if normalize else maps)


def top_prototypes(model: torch.nn.Module, x: torch.Tensor, k: int = 1, of_class=None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """ProtoPNet's ``k`` most activated prototypes for each image of ``x``: ``(indices, scores)``,
    both N×k, by maximal similarity over positions. With ``of_class`` (an int or N class
    indices) only prototypes of that class compete (ProtoPNet, chapter 2)."""
    if not hasattr(model, "similarity_maps"):
        raise ValueError(f"model must be a ProtoPNet (with similarity_maps), got {type(model).__name__}")
    checks.images(x, model=model)
    proto: Any = model  # a ProtoPNet (checked above)
    with frozen_eval(model), torch.no_grad():
        scores = proto.similarity_maps(x).flatten(2).amax(2)              # N×m
        if of_class is not None:
            cls = checks.labels(of_class, len(x), int(proto.prototype_class.max()) + 1, name="of_class")
            own = proto.prototype_class[None] == cls.to(scores.device)[:, None]
            n_own = int(own.sum(1).min())
            k = checks.number(k, "k", 1, max(n_own, 1), integer=True)
            scores = torch.where(own, scores, torch.full_like(scores, -float("inf")))
        else:
            k = checks.number(k, "k", 1, scores.shape[1], integer=True)
        top = scores.topk(k, dim=1)
    return top.indices, top.values


class PrototypeRegion(NamedTuple):
    """Where a ProtoPNet prototype lives on the training image it was pushed to: ``image`` (C×H×W in
    [0, 1]), ``similarity`` (H×W, the prototype's similarity map upsampled bilinearly to the image),
    ``mask`` (H×W, True where the similarity reaches its ``percentile``-th percentile) and ``box``
    ``(top, left, bottom, right)``, the smallest rectangle (bottom and right exclusive) holding the
    mask."""
    image: torch.Tensor
    similarity: torch.Tensor
    mask: torch.Tensor
    box: tuple


def prototype_region(model: torch.nn.Module, j: int, percentile: float = 95.0) -> PrototypeRegion:
    """Prototype ``j``'s high-similarity region on its source image, as Chen et al. (2019) show a
    prototype: the smallest rectangle enclosing the pixels whose upsampled similarity is at least
    the ``percentile``-th percentile of the map (chapter 2; rather than its latent cell, 4×4 pixels
    of a 32×32 image, which says nothing of what the patch covers through the trunk's receptive
    field)."""
    if not hasattr(model, "proto_images"):
        raise ValueError(f"model must be a pushed ProtoPNet (with proto_images), got {type(model).__name__}")
    proto: Any = model
    j = checks.number(j, "j", 0, len(proto.proto_images) - 1, integer=True)
    percentile = checks.number(percentile, "percentile", 0.0, 100.0)
    x = proto.proto_images[j].float()[None] / 255
    with frozen_eval(model), torch.no_grad():
        sim = proto.similarity_maps(x)[0, j]
    up = torch.nn.functional.interpolate(sim[None, None], size=x.shape[-2:], mode="bilinear",
                                         align_corners=False)[0, 0]
    mask = up >= torch.quantile(up.flatten(), percentile / 100)
    rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
    box = (int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1)
    return PrototypeRegion(x[0], up, mask, box)
