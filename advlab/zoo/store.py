"""Where the zoo's weights and manifest live, and how they are checked."""
from __future__ import annotations

import contextlib
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


class ManifestError(ValueError):
    """The zoo's manifest is missing, not valid JSON, or has an entry the zoo cannot use."""


def _manifest_fault(problem: str) -> ManifestError:
    return ManifestError(f"{problem}. Fix: restore the manifest from git (git checkout -- advlab/zoo/manifest.json) "
                         f"or retrain the model with `python -m advlab.zoo train NAME`")


def _read_manifest(missing_ok: bool = False) -> dict:
    try:
        text = MANIFEST.read_text()
    except FileNotFoundError:
        if missing_ok:
            return {}
        raise _manifest_fault(f"the zoo's manifest {MANIFEST} is missing") from None
    except (OSError, UnicodeDecodeError) as err:
        raise _manifest_fault(f"the zoo's manifest {MANIFEST} cannot be read ({err})") from None
    try:
        m = json.loads(text)
    except json.JSONDecodeError as err:
        raise _manifest_fault(f"the zoo's manifest {MANIFEST} is not valid JSON ({err})") from None
    if not isinstance(m, dict) or not all(isinstance(e, dict) for e in m.values()):
        raise _manifest_fault(f"the zoo's manifest {MANIFEST} must be a JSON object of model entries (objects)")
    return m


def manifest() -> dict:
    """The zoo's manifest: model name -> entry. A missing or invalid file is a :class:`ManifestError`."""
    return _read_manifest()


# What an entry needs to be loaded: key -> (type, what it is).
_REQUIRED = {"file": (str, "the weight file's name"), "sha256": (str, "its sha256, 64 hex digits"),
             "architecture": (str, "an advlab.models architecture"), "arch_kwargs": (dict, "its arguments"),
             "dataset": (str, "one of " + ", ".join(data.DATASETS))}


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
    try:
        e = check_lineage(name, m)
    except ValueError as err:
        raise _manifest_fault(f"{err} (in {MANIFEST})") from None
    for key, (typ, what) in _REQUIRED.items():
        if not isinstance(e.get(key), typ):
            got = "nothing" if key not in e else repr(e[key])
            raise _manifest_fault(f"manifest entry {name!r} in {MANIFEST}: {key!r} must be {what}, got {got}")
    if len(e["sha256"]) != 64 or any(c not in "0123456789abcdef" for c in e["sha256"]):
        raise _manifest_fault(f"manifest entry {name!r} in {MANIFEST}: 'sha256' must be 64 lowercase hex digits, "
                              f"got {e['sha256']!r}")
    if e["dataset"] not in data.DATASETS:
        raise _manifest_fault(f"manifest entry {name!r} in {MANIFEST}: 'dataset' must be one of "
                              f"{', '.join(data.DATASETS)}, got {e['dataset']!r}")
    return e


def weight_file(name: str, check: bool = True) -> Path:
    e = entry(name)
    path = WEIGHTS / e["file"]
    fix = f"rebuild it with `python -m advlab.zoo train {name}` (or restore it from git)"
    if not path.is_file():
        raise WeightsError(f"weight file {path} for model {name!r} is missing; {fix}")
    try:
        digest = sha256(path) if check else None
    except OSError as err:
        raise WeightsError(f"weight file {path} for model {name!r} cannot be read ({err.strerror}); {fix}") from None
    if check and digest != e["sha256"]:
        raise WeightsError(f"weight file {path} for model {name!r} is corrupt (sha256 differs from "
                           f"the manifest); {fix}")
    return path


def eval_batch(model) -> int:
    """Images per attack batch when evaluating: 64 on the CPU (cache-sized), 10,000 on a GPU."""
    param = next(model.parameters(), None)
    return 10_000 if param is not None and param.device.type == "cuda" else 64


def robust_attack(model, spec: dict):
    from .. import attacks
    return attacks.make(spec["attack"], model, eps=spec["eps"], alpha=spec["alpha"],
                        **attacks.steps_for(spec["attack"], spec["steps"]),
                        norm=spec.get("norm", "linf"), batch_size=eval_batch(model))


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
        "robust_accuracy": round(metrics.robust_accuracy(model, atk, test_set.x[:n], test_set.y[:n],
                                                         batch_size=max(256, eval_batch(model))), 4),
        "robust_eval": (f"{spec['attack'].upper()}-{spec['steps']} {_NORM_NAMES[spec.get('norm', 'linf')]} "
                        f"eps={spec['eps']:.4g}, "
                        f"step {spec['alpha']:.4g}, random start, first {n} test images"),
    }


@contextlib.contextmanager
def _manifest_lock():
    """Hold an exclusive lock on the manifest while it is read, changed and written, so models
    trained in parallel processes (``scripts/train_zoo.sh`` with ``PARALLEL=1``) all land."""
    lock = MANIFEST.with_suffix(".lock")
    with open(lock, "w") as fh:
        try:
            import fcntl
            fcntl.flock(fh, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - Windows: one training process at a time
            pass
        yield


def _update(name: str, change) -> None:
    with _manifest_lock():
        m = _read_manifest(missing_ok=True)  # the first model trained creates the manifest
        m[name] = change(m.get(name))
        tmp = MANIFEST.with_suffix(".tmp")
        tmp.write_text(json.dumps(m, indent=2, sort_keys=True) + "\n")
        tmp.replace(MANIFEST)


def save(name: str, model: torch.nn.Module, entry: dict) -> Path:
    WEIGHTS.mkdir(parents=True, exist_ok=True)
    path = WEIGHTS / f"{name}.pt"
    torch.save(model.state_dict(), path)
    entry = dict(entry, file=path.name, sha256=sha256(path))
    _update(name, lambda _old: entry)
    return path


def record_evaluation(name: str, key: str, result: dict) -> None:
    """Add an evaluation (e.g. a whole robustness table, a stronger attack) to ``name``'s manifest
    entry, under ``evaluations[key]``; the weights and their checksum are untouched."""
    def change(old):
        if old is None:
            raise ValueError(f"model name must be in the manifest before an evaluation is recorded, got {name!r}")
        return dict(old, evaluations=dict(old.get("evaluations", {}), **{key: result}))
    _update(name, change)
