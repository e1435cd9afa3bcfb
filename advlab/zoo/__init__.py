"""The model zoo: small models trained here, with committed weights and a manifest.

``advlab.zoo.load(name)`` is the one way to get a model: an eval-mode module
taking images in [0, 1] and returning logits. Nothing is ever retrained
silently: a missing or corrupt weight file raises :class:`WeightsError`
naming the file and the command that rebuilds it.
"""
from __future__ import annotations

import torch

from .. import models as _models
from .recipes import RECIPES
from .store import WeightsError, entry, manifest, weight_file


def names() -> list[str]:
    """Names of the models in the manifest."""
    return sorted(manifest())


def load(name: str, device=None) -> torch.nn.Module:
    """Load the zoo model ``name`` in eval mode on ``device`` (default CPU), in the
    memory format its architecture runs fastest in (channels-last for the CIFAR CNNs)."""
    e = entry(name)
    path = weight_file(name)
    model = _models.build(e["architecture"], **e["arch_kwargs"])
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    model.eval()
    model.to(memory_format=getattr(model, "preferred_memory_format", torch.contiguous_format))
    model.zoo_name = name
    model.dataset = e["dataset"]
    return model.to(device) if device is not None else model


def summary(names_: list[str]) -> str:
    """A Markdown table of the models' recipes and manifest figures (for the chapters)."""
    rows = []
    for n in names_:
        e = entry(n)
        r = e["recipe"]
        adv = r.get("adversarial")
        how = "standard" if not adv else (
            f"{adv['attack'].upper()}-{adv['steps']} {'L∞' if adv['norm'] == 'linf' else 'L2'} "
            f"ε={adv['eps'] * 255:.0f}/255" if adv["norm"] == "linf" else
            f"{adv['attack'].upper()}-{adv['steps']} L2 ε={adv['eps']:g}")
        rows.append(f"| `{n}` | {how} | {r['epochs']} | {100 * e['clean_accuracy']:.2f} | "
                    f"{100 * e['robust_accuracy']:.2f} | {e['train_seconds'] / 60:.0f} |")
    head = ("| model | training | epochs | clean % (full test set) | robust % | train min |\n"
            "|---|---|---|---|---|---|\n")
    return head + "\n".join(rows)


__all__ = ["load", "names", "summary", "manifest", "entry", "RECIPES", "WeightsError", "weight_file"]
