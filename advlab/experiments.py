"""Experiment helpers the chapters share: accuracy curves and attack tables."""
from __future__ import annotations

import torch

from .core import checks, frozen_eval
from . import attacks, metrics


def accuracy_vs_eps(model, attack: str, eps_values, x, y, **attack_kwargs) -> list[float]:
    """Accuracy of ``model`` under ``attack`` at each ε (ε = 0 is the clean accuracy)."""
    out = []
    for eps in eps_values:
        atk = attacks.make(attack, model, eps=eps, **attack_kwargs)
        out.append(metrics.robust_accuracy(model, atk, x, y))
    return out


def attack_table(model, settings, x, y, scale: float = 255.0) -> list[dict]:
    """Accuracy under each ``(attack, eps, steps)`` setting, ε in units of 1/``scale``.

    ``("clean", 0, 0)`` gives the clean accuracy. Step sizes follow each attack's
    default (FGSM: ε; BIM and MIM: ε/steps; PGD: 2.5·ε/steps from a random start).
    """
    rows = []
    for name, eps, steps in settings:
        if name == "clean":
            acc = metrics.accuracy(model, x, y)
        else:
            atk = attacks.make(name, model, eps=eps / scale, **attacks.steps_for(name, steps))
            acc = metrics.robust_accuracy(model, atk, x, y)
        rows.append({"attack": name, "eps": eps, "steps": steps, "accuracy": acc})
    return rows


def markdown_table(header, rows) -> str:
    """A Markdown table from a header list and rows of cells (numbers formatted by the caller)."""
    if any(len(r) != len(header) for r in rows):
        raise ValueError("every row must have one cell per header column")
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in rows]
    return "\n".join(lines)


def transform_accuracy(models: dict, x, y, levels: dict, stylized: dict | None = None,
                       seed: int = 0) -> dict:
    """Accuracy of every model on ``x`` under every transform and level.

    ``levels``: transform name (a key of ``advlab.transforms.TRANSFORMS``) → levels.
    ``stylized``: optional precomputed stylisations of ``x`` (strength → images,
    from ``advlab.stylize.subset``), used instead of optimising again.
    Returns ``{transform: {level: {model name: accuracy}}}``; every transformed
    batch is computed once and shared by the models.
    """
    from . import transforms
    checks.images(x)
    if not isinstance(models, dict) or not models:
        raise ValueError("models must be a non-empty dict of name -> model")
    out = {}
    for name, values in levels.items():
        checks.choice(name, "transform", transforms.TRANSFORMS)
        out[name] = {}
        for level in values:
            if name == "stylize" and stylized and float(level) in stylized:
                xt = stylized[float(level)]
                if xt.shape != x.shape:
                    raise ValueError(f"stylized[{level}] has shape {tuple(xt.shape)}, x has {tuple(x.shape)}")
            else:
                xt = transforms.apply(name, x, level, seed=seed)
            out[name][level] = {m: metrics.accuracy(model, xt, y) for m, model in models.items()}
    return out


def random_sign_noise(x: torch.Tensor, eps: float, seed: int = 0) -> torch.Tensor:
    """``clip(x + ε·s)`` with s a seeded random ±1 pattern: the random perturbation of an
    attack's L∞ size, the baseline for "how much does any change of this size move the maps"."""
    from .landscape import random_sign
    checks.images(x)
    eps = checks.parse_eps(eps)
    return (x + eps * random_sign(x, seed)).clamp(0, 1)


def map_shift(model, interpreter, x: torch.Tensor, x_other: torch.Tensor, k: int = 102,
              border: int = 4) -> dict:
    """How far the maps of ``model`` move from ``x`` to ``x_other`` (attacked or noised).

    Maps are computed for each image's *predicted* class (what the model looks at for
    the decision it makes) with ``interpreter`` (an advlab interpreter bound to ``model``)
    and normalised. Returns per-image tensors: ``iou`` (top-``k`` pixels; default 10 % of
    32×32), ``l1``, ``border_clean``, ``border_other``, ``flipped`` (prediction changed).
    """
    from . import interpret
    checks.images(x)
    checks.images(x_other, "x_other")
    if x.shape != x_other.shape:
        raise ValueError(f"x_other must have the shape of x {tuple(x.shape)}, got {tuple(x_other.shape)}")
    p, q = metrics.predict(model, x), metrics.predict(model, x_other)
    a = interpret.normalize(interpreter(x, p))
    b = interpret.normalize(interpreter(x_other, q))
    return {"iou": metrics.topk_iou(a, b, k), "l1": metrics.l1_distance(a, b),
            "border_clean": metrics.border_mass(a, border), "border_other": metrics.border_mass(b, border),
            "flipped": (p != q).float()}


def prototype_changes(model, x: torch.Tensor, x_other: torch.Tensor, k: int = 4) -> dict:
    """ProtoPNet's ``k`` most activated prototypes (by maximal similarity, any class) on
    ``x`` and on ``x_other``: per image, how many of the top-``k`` changed, and per new
    prototype, whether it belongs to the class predicted on ``x_other``."""
    if not hasattr(model, "similarity_maps"):
        raise ValueError(f"model must be a ProtoPNet, got {type(model).__name__}")
    with frozen_eval(model), torch.no_grad():
        top = model.similarity_maps(x).flatten(2).amax(2).topk(k, dim=1).indices
        top_o = model.similarity_maps(x_other).flatten(2).amax(2).topk(k, dim=1).indices
    q = metrics.predict(model, x_other)
    changed, of_new_class = [], []
    for i in range(len(x)):
        new = sorted(set(top_o[i].tolist()) - set(top[i].tolist()))
        changed.append(len(new))
        of_new_class += [int(model.prototype_class[j] == q[i]) for j in new]
    return {"changed": torch.tensor(changed, dtype=torch.float),
            "new_of_predicted_class": torch.tensor(of_new_class, dtype=torch.float),
            "top": top, "top_other": top_o}


def shift_summary(model, interpreter: str, x: torch.Tensor, y: torch.Tensor, eps="8/255", steps: int = 10,
                  k: int = 102, seed: int = 0) -> dict:
    """Means of :func:`map_shift` for a PGD attack (ε, ``steps``) and for the random ±ε noise
    baseline, with maps from the interpreter named ``interpreter``:
    ``{"pgd": {...}, "noise": {...}}``, each with iou, l1, border_clean, border_other, flipped."""
    from . import interpret
    attr = interpret.make(interpreter, model)
    adv = attacks.PGD(model, eps=eps, steps=steps, seed=seed)(x, y)
    noisy = random_sign_noise(x, eps, seed=seed)
    return {name: {key: float(v.mean()) for key, v in map_shift(model, attr, x, other, k=k).items()}
            for name, other in (("pgd", adv), ("noise", noisy))}
