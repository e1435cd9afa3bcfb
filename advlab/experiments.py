"""Experiment helpers the chapters share: accuracy curves and attack tables."""
from __future__ import annotations

import torch

from . import _validate, attacks, metrics


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
            atk = attacks.make(name, model, eps=eps / scale, steps=steps)
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
    _validate.images(x)
    if not isinstance(models, dict) or not models:
        raise ValueError("models must be a non-empty dict of name -> model")
    out = {}
    for name, values in levels.items():
        _validate.choice(name, "transform", transforms.TRANSFORMS)
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
