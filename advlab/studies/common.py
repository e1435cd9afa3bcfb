"""Experiments the chapters share: accuracy under attack and transforms (as per-image outcomes
and rates with intervals), how far maps and prototypes move, and the zoo's table."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import torch

from .. import attacks, data, interpret, metrics, report, transforms, zoo
from ..core import checks
from ..data import stratified_indices  # noqa: F401 - the studies' name for it (chapters 1, 2, 5, 6)


def random_targets(y: torch.Tensor, seed: int = 0, classes: int = 10) -> torch.Tensor:
    """A seeded random target class for each label, never the label itself (chapters 5 and 6)."""
    g = torch.Generator().manual_seed(checks.seed(seed) + 1)
    return (y + 1 + torch.randint(0, classes - 1, y.shape, generator=g)) % classes


def stratified_sample(name: str, per_class: int, seed: int = 0):
    """A seeded, class-stratified random sample ``(x, y)`` of the bundled test images of dataset
    ``name`` (``advlab.data.subset``: the first 1,000 of the test set): ``per_class`` of each class
    (chapters 4 and 6)."""
    ds = data.subset(name)
    idx = stratified_indices(ds.y, per_class, seed)
    return ds.x[idx], ds.y[idx]


def rates(outcomes):
    """Every per-image outcome vector in a (nested) dict as a :class:`~advlab.report.Rate`
    (chapter 3's accuracy tables and curves)."""
    if isinstance(outcomes, dict):
        return {k: rates(v) for k, v in outcomes.items()}
    return report.from_outcomes(outcomes)


def accuracy_vs_eps(model, attack: str, eps_values, x, y, **attack_kwargs) -> list:
    """Accuracy (a Rate) of ``model`` under ``attack`` at each ε; ε = 0 is the clean accuracy
    (chapter 1)."""
    return [report.from_outcomes(metrics.correct(model, x, y, attacks.make(attack, model, eps=e, **attack_kwargs)))
            for e in eps_values]


def attack_table(model, settings, x, y, scale: float = 255.0) -> list[dict]:
    """Outcomes under each ``(attack, eps, steps)`` setting, ε in units of 1/``scale``
    (chapters 1 and 2): rows with ``attack``, ``eps``, ``steps``, ``correct`` (per image) and
    ``rate`` (accuracy with its interval). ``("clean", 0, 0)`` is the clean accuracy. Step sizes
    follow each attack's default (FGSM: ε; BIM and MIM: ε/steps; PGD: 2.5·ε/steps from a random
    start)."""
    rows = []
    for name, eps, steps in settings:
        atk = None if name == "clean" else attacks.make(name, model, eps=eps / scale, **attacks.steps_for(name, steps))
        ok = metrics.correct(model, x, y, atk)
        rows.append({"attack": name, "eps": eps, "steps": steps, "correct": ok, "rate": report.from_outcomes(ok)})
    return rows


def transform_outcomes(models: dict, x, y, levels: dict, stylized: dict | None = None, seed: int = 0) -> dict:
    """Per-image outcomes of every model on ``x`` under every transform and level (chapter 3).

    ``levels``: transform name (a key of ``advlab.transforms.TRANSFORMS``) → levels.
    ``stylized``: optional precomputed stylisations of ``x`` (strength → images, from
    ``advlab.stylize.subset``), used instead of optimising again.
    Returns ``{transform: {level: {model name: bool per image}}}``; every transformed batch is
    computed once and shared by the models. :func:`rates` turns it into accuracies.
    """
    checks.images(x)
    if not isinstance(models, dict) or not models:
        raise ValueError("models must be a non-empty dict of name -> model")
    out: dict = {}
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
            out[name][level] = {m: metrics.correct(model, xt, y) for m, model in models.items()}
    return out


def random_sign_noise(x: torch.Tensor, eps: float, seed: int = 0) -> torch.Tensor:
    """``clip(x + ε·s)`` with s a seeded random ±1 pattern: the random perturbation of an
    attack's L∞ size, the baseline for "how much does any change of this size move the maps"
    (chapter 2)."""
    from ..landscape import random_sign
    checks.images(x)
    eps = checks.parse_eps(eps)
    return (x + eps * random_sign(x, seed)).clamp(0, 1)


def prototype_changes(model, x: torch.Tensor, x_other: torch.Tensor, k: int = 4) -> dict:
    """ProtoPNet's ``k`` most activated prototypes (any class; :func:`advlab.interpret.top_prototypes`)
    on ``x`` and on ``x_other``: per image, how many of the top-``k`` changed, and per new
    prototype, whether it belongs to the class predicted on ``x_other`` (chapter 2)."""
    top, _ = interpret.top_prototypes(model, x, k)
    top_o, _ = interpret.top_prototypes(model, x_other, k)
    q = metrics.predict(model, x_other)
    changed, of_new_class = [], []
    for i in range(len(x)):
        new = sorted(set(top_o[i].tolist()) - set(top[i].tolist()))
        changed.append(len(new))
        of_new_class += [int(model.prototype_class[j] == q[i]) for j in new]
    return {"changed": torch.tensor(changed, dtype=torch.float),
            "new_of_predicted_class": torch.tensor(of_new_class, dtype=torch.float),
            "top": top, "top_other": top_o}


def manifest_rates(name: str) -> tuple:
    """The zoo manifest's clean and robust accuracy of model ``name`` as Rates, over the images
    each was measured on (the full test set; the recipe's ``robust_eval`` n) (chapters 1–3)."""
    e = zoo.entry(name)
    found = re.search(r"\((\d+) images", e["clean_eval"])
    if found is None:
        raise ValueError(f"{name}: the manifest's clean_eval does not say on how many images: {e['clean_eval']!r}")
    n_clean = int(found.group(1))
    n_robust = int(e["recipe"]["robust_eval"]["n"])
    return report.from_accuracy(e["clean_accuracy"], n_clean), report.from_accuracy(e["robust_accuracy"], n_robust)




def manifest_worst(name: str):
    """The worst case per image of the robust_eval PGD, APGD-CE and APGD-T DLR on the same images
    (the manifest's ``evaluations``: ``strong``, or chapter 4's ``table1`` at the recipe's ε), as a
    Rate; None when it was not measured (chapters 1–4)."""
    e = zoo.entry(name)
    ev = e.get("evaluations", {})
    if "strong" in ev:
        return report.rate(ev["strong"]["worst"], ev["strong"]["n"])
    if "table1" in ev:
        eps = e["recipe"]["robust_eval"]["eps"]
        row = next((r for r in ev["table1"]["rows"] if abs(r["eps"] - eps) < 1e-9), None)
        return None if row is None else report.rate(row.get("worst", row["pgd200"]), ev["table1"]["n"])
    return None


def zoo_table(names, digits: int = 2) -> report.Table:
    """The models of a chapter with their recipe and the manifest's accuracies with intervals:
    clean, under the recipe's PGD, and under the worst of that PGD, APGD-CE and APGD-T DLR
    (chapters 1–3)."""
    table = report.Table(["model", "training", "epochs", "clean % (full test set)", "robust %: PGD",
                          "robust %: worst of 3", "train min"], digits=digits)
    for n in names:
        e = zoo.entry(n)
        worst = manifest_worst(n)
        table.add(f"`{n}`", zoo.training_description(e["recipe"]), e["recipe"]["epochs"], *manifest_rates(n),
                  "–" if worst is None else worst, f"{e['train_seconds'] / 60:.0f}")
    return table


def strong_reading(names, limit: float = 0.03) -> str:
    """Which models lose more than ``limit`` (3 points) under the stronger attacks than under the
    recipe's PGD, in words, computed from the manifest (chapters 1 and 3)."""
    weak: list[str] = []
    fine: list[str] = []
    for n in names:
        worst = manifest_worst(n)
        robust = manifest_rates(n)[1]
        if worst is None or robust.value == 0:
            continue
        gap = robust.value - worst.value
        (weak if gap > limit else fine).append(f"`{n}` ({100 * robust.value:.1f} → {100 * worst.value:.1f} %)")
    text = ""
    if weak:
        text += ("Under the stronger attacks (APGD-CE and targeted APGD-DLR, the core of AutoAttack) "
                 f"{', '.join(weak)} lose more than {100 * limit:.0f} points: for them the PGD figure is a weak "
                 "yardstick and overstates their robustness; read the worst-case column as their robust accuracy.")
    if fine:
        text += f" Within {100 * limit:.0f} points of their PGD figure: {', '.join(fine)}."
    return text.strip() or "No model here has a robust accuracy above zero to confirm."


# -- the committed records of the chapters' long runs (chapters 1, 5 and 7) ------------------------
def outcome_bits(ok) -> str:
    """Per-image outcomes (a bool tensor or array) as a record stores them: one "1" or "0" per image."""
    return "".join("1" if c else "0" for c in np.asarray(ok).ravel().tolist())


def bits_outcomes(bits: str) -> np.ndarray:
    """The per-image outcomes (bool) a record stores as :func:`outcome_bits`."""
    return np.array([c == "1" for c in bits])


def record_main(argv, description: str, build, out, per_class: int, unit: str = "class") -> int:
    """The command line of a record builder (chapters 1 and 2): ``--out`` (default ``out``) and
    ``--per-class`` (images of each ``unit``, default ``per_class``), then ``build(out, per_class)``."""
    import argparse
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=out)
    parser.add_argument("--per-class", type=int, default=per_class, help=f"images per {unit}")
    args = parser.parse_args(argv)
    build(args.out, args.per_class)
    return 0


def load_record(path, module: str) -> dict:
    """The JSON record at ``path``, written by ``python -m advlab.studies.<module>``; a ``ValueError``
    saying how to build it when it is missing."""
    if not Path(path).exists():
        raise ValueError(f"no record at {path}: build it with `python -m advlab.studies.{module}`")
    return json.loads(Path(path).read_text())
