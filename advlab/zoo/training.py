"""Train a zoo model from its recipe, resumably, and record it in the manifest.

``python -m advlab.zoo train NAME`` (or ``advlab.zoo.train(NAME)``): the recipe names the
architecture, the data, the loop's hyper-parameters and the objective (``advlab.train.OBJECTIVES``);
:func:`advlab.train.fit` does the rest, writing a checkpoint after every epoch under
``$ADVLAB_DATA/checkpoints`` so a second run continues from it. Uses a GPU when one is available;
under ``torchrun`` it trains data-parallel and only rank 0 writes checkpoints, weights and manifest.
"""
from __future__ import annotations

import dataclasses
import datetime
import os
import platform

import torch

from .. import data, metrics, models
from .. import train as _train
from ..core import checks
from . import store
from .recipes import RECIPES

LOOP_KEYS = ("epochs", "batch_size", "lr", "optimizer", "weight_decay", "schedule", "augment", "seed")


def hardware() -> str:
    if torch.cuda.is_available():
        where = f"GPU {torch.cuda.get_device_name(0)}"
    else:
        where = f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads"
    world = _train.ddp.world_size()
    note = os.environ.get("ADVLAB_HARDWARE_NOTE", "")  # e.g. other training runs sharing the machine
    return where + (f", {world} data-parallel processes" if world > 1 else "") + (f", {note}" if note else "")


def train(name: str, device: str | None = None, resume: bool = True, progress: bool = True) -> dict | None:
    """Train ``name`` from its recipe; returns the manifest entry written (None on ranks other than 0)."""
    checks.choice(name, "model name", RECIPES)
    r = RECIPES[name]
    store.check_lineage(name, RECIPES, "recipe")
    objective = _train.from_recipe(r)
    _train.ddp.init()
    torch.manual_seed(r["seed"])  # seeds the model's initialisation; the loop seeds everything else
    train_set = data.tensors(r["dataset"], "train")
    test_set = data.tensors(r["dataset"], "test")
    model = models.build(r["arch"], **r["arch_kwargs"])
    parent = None
    if r.get("parent") is not None:
        from . import load
        parent = load(r["parent"])
        init_from = getattr(model, "init_from", None)
        if callable(init_from):  # e.g. an explainer whose encoder is its parent's trunk (chapter 5)
            init_from(parent)
    evaluate = None
    if r["kind"] == "classifier":
        def evaluate(m):
            dev = next(m.parameters()).device
            acc = metrics.accuracy(m, test_set.x[:2000].to(dev), test_set.y[:2000].to(dev), batch_size=500)
            return f"test acc (first 2000) {acc:.4f}"
    fitted = _train.fit(model, train_set, objective, **{k: r[k] for k in LOOP_KEYS}, device=device,
                        checkpoint=store.checkpoint_path(name), resume=resume, progress=progress, name=name,
                        evaluate=evaluate, parent=parent)
    if not _train.ddp.is_main():
        return None
    model = fitted.model  # evaluated where it was trained (a GPU when there is one), saved from the CPU
    entry = {
        "description": r["description"], "kind": r["kind"], "architecture": r["arch"],
        "arch_kwargs": r["arch_kwargs"], "dataset": r["dataset"], "dataset_variant": train_set.variant,
        "recipe": r, "seed": r["seed"], "params": sum(p.numel() for p in model.parameters()),
        "train_seconds": round(fitted.seconds, 1), "hardware": hardware(), "torch": torch.__version__,
        "date": datetime.date.today().isoformat(),
    }
    if r.get("parent") is not None:
        entry["parent"] = r["parent"]
    device_ = next(model.parameters()).device
    on_device = dataclasses.replace(test_set, x=test_set.x.to(device_), y=test_set.y.to(device_))
    entry.update(store.evaluate(model, name, r, on_device))
    store.save(name, model.cpu(), entry)
    if parent is not None and hasattr(objective, "evaluate"):  # an explainer's own figures (chapter 5)
        subset = data.subset(r["dataset"])
        result = objective.evaluate(model, parent.cpu(), subset.x, subset.y, seed=r["seed"])
        result["data"] = f"bundled {subset.name} {subset.split} subset ({len(subset)} images, {subset.variant})"
        store.record_evaluation(name, "subset", result)
        entry["evaluations"] = {"subset": result}
    return entry
