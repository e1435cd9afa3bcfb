"""Where the zoo's weights and manifest live, and how they are checked."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from .. import data, metrics
from ..core import checks

ROOT = Path(__file__).parent
WEIGHTS = ROOT / "weights"
MANIFEST = ROOT / "manifest.json"


class WeightsError(RuntimeError):
    """A weight file is missing or does not match its manifest checksum."""


# What a zoo model is: a classifier returns logits; an explainer returns maps (e.g. a saliency
# model); a generator returns images (e.g. an attack network). Only classifiers have accuracies.
KINDS = ("classifier", "explainer", "generator")


def check_lineage(name: str, entries: dict, what: str = "manifest entry") -> dict:
    """Check ``entries[name]``'s ``kind`` and its optional ``parent`` (another of ``entries``,
    without a cycle of parents); returns the entry."""
    e = entries[name]
    if e.get("kind") not in KINDS:
        raise ValueError(f"{what} {name!r}: kind must be one of {', '.join(KINDS)}, got {e.get('kind')!r}")
    seen = [name]
    while (parent := entries[seen[-1]].get("parent")) is not None:
        if parent not in entries or parent in seen:
            others = ", ".join(sorted(set(entries) - {seen[-1]}))
            problem = "a cycle of parents: " + " -> ".join(seen + [parent]) if parent in seen else f"got {parent!r}"
            raise ValueError(f"{what} {seen[-1]!r}: parent must name another zoo model ({others}), {problem}")
        seen.append(parent)
    return e


def manifest() -> dict:
    return json.loads(MANIFEST.read_text()) if MANIFEST.is_file() else {}


def checkpoint_path(name: str) -> Path:
    return data.data_root() / "checkpoints" / f"{name}.ckpt"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def entry(name: str) -> dict:
    """The manifest entry of ``name``, its kind and parent checked."""
    m = manifest()
    checks.choice(name, "model name", sorted(m))
    return check_lineage(name, m)


def weight_file(name: str, check: bool = True) -> Path:
    e = entry(name)
    path = WEIGHTS / e["file"]
    fix = f"rebuild it with `python -m advlab.zoo train {name}` (or restore it from git)"
    if not path.is_file():
        raise WeightsError(f"weight file {path} for model {name!r} is missing; {fix}")
    if check and sha256(path) != e["sha256"]:
        raise WeightsError(f"weight file {path} for model {name!r} is corrupt (sha256 differs from "
                           f"the manifest); {fix}")
    return path


def robust_attack(model, spec: dict):
    from .. import attacks
    return attacks.make(spec["attack"], model, eps=spec["eps"], alpha=spec["alpha"],
                        **attacks.steps_for(spec["attack"], spec["steps"]),
                        norm=spec.get("norm", "linf"))


_NORM_NAMES = {"linf": "L-inf", "l2": "L2"}


def evaluate(model, name: str, recipe: dict, test_set) -> dict:
    """A classifier's clean accuracy on the full test set and robust accuracy on its first ``n``
    images; nothing for other kinds (their manifest entries carry no accuracies)."""
    if recipe.get("kind", "classifier") != "classifier":
        return {}
    spec = recipe["robust_eval"]
    n = spec["n"]
    atk = robust_attack(model, spec)
    return {
        "clean_accuracy": round(metrics.accuracy(model, test_set.x, test_set.y), 4),
        "clean_eval": f"full {test_set.name} test set ({len(test_set)} images, {test_set.variant})",
        "robust_accuracy": round(metrics.robust_accuracy(model, atk, test_set.x[:n], test_set.y[:n]), 4),
        "robust_eval": (f"{spec['attack'].upper()}-{spec['steps']} {_NORM_NAMES[spec.get('norm', 'linf')]} "
                        f"eps={spec['eps']:.4g}, "
                        f"step {spec['alpha']:.4g}, random start, first {n} test images"),
    }


def save(name: str, model: torch.nn.Module, entry: dict) -> Path:
    WEIGHTS.mkdir(parents=True, exist_ok=True)
    path = WEIGHTS / f"{name}.pt"
    torch.save(model.state_dict(), path)
    entry = dict(entry, file=path.name, sha256=sha256(path))
    m = manifest()
    m[name] = entry
    MANIFEST.write_text(json.dumps(m, indent=2, sort_keys=True) + "\n")
    return path
