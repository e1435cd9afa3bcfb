"""Explain what the model decides: predict, then map the predicted class; and ProtoPNet's
most activated prototypes. Panels, studies and plots all go through these two functions."""
from __future__ import annotations

from typing import Any

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
