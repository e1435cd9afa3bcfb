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
