"""The model zoo: small models trained here, with committed weights and a manifest.

``advlab.zoo.load(name)`` is the one way to get a model: an eval-mode module taking images in
[0, 1]. What it returns depends on the model's ``kind``: a classifier returns logits, an
explainer maps, a generator images; a model trained against another names it as its ``parent``.
Nothing is ever retrained silently: a missing or corrupt weight file raises :class:`WeightsError`
naming the file and the command that rebuilds it; a missing or invalid manifest (or entry) raises
:class:`ManifestError` (a ``ValueError``) naming the manifest file.
"""
from __future__ import annotations

import torch

from .. import data as _data
from .. import models as _models
from .recipes import RECIPES
from .store import KINDS, ManifestError, WeightsError, entry, manifest, weight_file


def names(kind: str | None = None) -> list[str]:
    """Names of the models in the manifest (only those of ``kind``, if given)."""
    if kind is not None:
        from ..core import checks
        checks.choice(kind, "kind", KINDS)
    return sorted(n for n, e in manifest().items() if kind is None or e.get("kind") == kind)


def load(name: str, device=None) -> torch.nn.Module:
    """Load the zoo model ``name`` in eval mode on ``device`` (default CPU), in the memory format
    its architecture runs fastest in (channels-last for the CIFAR CNNs). The module carries
    ``zoo_name``, ``zoo_kind``, ``zoo_parent`` (a name or None), ``dataset`` and ``input_shape`` (C, H, W
    of the dataset's images, which every attack, interpreter and metric checks its input against)."""
    from ..core import checks
    device = checks.device(device)
    e = entry(name)
    path = weight_file(name)
    model = _models.build(e["architecture"], **e["arch_kwargs"])
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    model.eval()
    model.to(memory_format=getattr(model, "preferred_memory_format", torch.contiguous_format))
    for attr, value in (("zoo_name", name), ("zoo_kind", e["kind"]), ("zoo_parent", e.get("parent")),
                        ("dataset", e["dataset"]), ("input_shape", _data.SHAPES[e["dataset"]])):
        setattr(model, attr, value)  # plain attributes (nn.Module types its attributes as tensors)
    return model.to(device) if device is not None else model


def train(name: str, device: str | None = None, resume: bool = True, progress: bool = True):
    """Train ``name`` from its recipe (see ``advlab.zoo.training``); returns its manifest entry."""
    from .training import train as _train
    return _train(name, device=device, resume=resume, progress=progress)


def _eps(eps: float) -> str:
    """ε as a fraction of 255 when it is one (8/255), else as a number (0.3, 0.5)."""
    return f"{eps * 255:.0f}/255" if abs(eps * 255 - round(eps * 255)) < 1e-6 else f"{eps:g}"


def training_description(r: dict) -> str:
    """How a recipe trains, in a table cell: "standard", "PGD-7 L∞ ε=0.3", "TRADES β=6, ..."."""
    adv = r.get("adversarial")
    if r["objective"] in ("ce", "protopnet") or not adv:
        return "standard"
    if r["objective"] == "trades":
        return f"TRADES β={adv.get('beta', 6.0):g}, PGD-{adv['steps']} KL ε={_eps(adv['eps'])}"
    norm = {"linf": "L∞", "l2": "L2"}[adv["norm"]]
    return f"{adv['attack'].upper()}-{adv['steps']} {norm} ε={_eps(adv['eps'])}"


def summary(names_: list[str]) -> str:
    """A Markdown table of the models' recipes and manifest figures (for the chapters). Kind and
    parent get columns of their own when one of the models is not a classifier or has a parent."""
    es = {n: entry(n) for n in names_}
    lineage = any(e["kind"] != "classifier" or e.get("parent") for e in es.values())
    pct = lambda e, k: f"{100 * e[k]:.2f}" if e.get(k) is not None else "–"
    rows = []
    for n, e in es.items():
        r = e["recipe"]
        extra = f" {e['kind']} | {'`' + e['parent'] + '`' if e.get('parent') else '–'} |" if lineage else ""
        rows.append(f"| `{n}` |{extra} {training_description(r)} | {r['epochs']} | {pct(e, 'clean_accuracy')} | "
                    f"{pct(e, 'robust_accuracy')} | {e['train_seconds'] / 60:.0f} |")
    cols = ["model"] + (["kind", "parent"] if lineage else []) + [
        "training", "epochs", "clean % (full test set)", "robust %", "train min"]
    head = "| " + " | ".join(cols) + " |\n" + "|---" * len(cols) + "|\n"
    return head + "\n".join(rows)


__all__ = ["load", "names", "summary", "training_description", "train", "manifest", "entry", "RECIPES", "KINDS",
           "ManifestError", "WeightsError", "weight_file"]
