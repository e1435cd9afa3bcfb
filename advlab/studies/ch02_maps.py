"""Chapter 2, maps under attack: the seminar's three heads (a CNN explained by the CAM family,
attention pooling, ProtoPNet) attacked, their robustness ranking tested, and how far their maps
and prototypes move. The seminar's numbers are written here once."""
from __future__ import annotations

import torch

from .. import attacks, interpret, metrics, report, zoo
from .ch01_attacks import (
    ITERATIVE,
    SEMINAR_N,
    SEMINAR_SETTINGS,
    SEMINAR_VGG16,
    setting_name,
)
from .common import attack_table, prototype_changes, random_sign_noise, shift_summary

#: our three heads on one ResNet-8 trunk (chapter label → zoo name)
MODELS = {"CNN (GAP)": "cifar_resnet8", "attention pooling": "cifar_attention_pool", "ProtoPNet": "cifar_protopnet"}
#: the seminar's accuracy (%) on 299 CUB-12 test images per setting of ``SEMINAR_SETTINGS``; every
#: number is a whole number of images but attention pooling's 42.41 (126 → 42.14, 127 → 42.47)
SEMINAR = {"VGG16": SEMINAR_VGG16,
           "attention pooling": [84.62, 42.41, 33.11, 20.74, 16.72, 17.39, 14.72, 22.74, 17.39],
           "ProtoPNet": [76.92, 44.15, 37.79, 4.35, 3.34, 3.68, 0.33, 2.68, 1.67]}
SEMINAR_MATCH = dict(zip(MODELS, SEMINAR))   # our head → the seminar's model
#: The seminar's two conclusions, as (claim, model, direction against each other model).
CLAIMS = [("attention pooling is the most robust", "attention pooling", ">"),
          ("ProtoPNet is the most vulnerable", "ProtoPNet", "<")]
TOLERANCE = 0.02   # differences within ±2 points of accuracy count as "equal"
#: The maps measured in the shift table, as (model label, interpreter) pairs.
SHIFT_MAPS = [("CNN (GAP)", h) for h in ("cam", "gradcam", "gradcam++", "scorecam")] + \
             [("attention pooling", "attention"), ("ProtoPNet", "prototype")]


def load() -> dict:
    """The chapter's three models, by label."""
    return {label: zoo.load(name) for label, name in MODELS.items()}


def attack_tables(models: dict, x, y) -> dict:
    """:func:`~advlab.studies.attack_table` of every model on the seminar's settings."""
    return {label: attack_table(m, SEMINAR_SETTINGS, x, y) for label, m in models.items()}


def seminar_table(ours: dict) -> report.Table:
    """One setting per row; for each head the seminar's accuracy beside ours, with intervals."""
    n = len(next(iter(ours.values()))[0]["correct"])
    head = ["setting"]
    for label in ours:
        head += [f"{SEMINAR_MATCH[label]} (seminar, {SEMINAR_N})", f"{label} (ours, {n})"]
    table = report.Table(head, digits=2)
    for i, (atk, eps, steps) in enumerate(SEMINAR_SETTINGS):
        cells = []
        for label, rows in ours.items():
            cells += [report.from_percent(SEMINAR[SEMINAR_MATCH[label]][i], SEMINAR_N), rows[i]["rate"]]
        table.add(setting_name(atk, eps, steps), *cells)
    return table


def iterative_outcomes(rows) -> torch.Tensor:
    """N×6 outcomes of one model under the six iterative settings (BIM, PGD, MIM at ε = 2, 8)."""
    return torch.stack([r["correct"] for r in rows if r["attack"] in ITERATIVE], 1)


def ranking(ours: dict, tolerance: float = TOLERANCE) -> tuple[report.Table, report.Table]:
    """The seminar's robustness ranking tested on our heads: a table of mean accuracies under the
    iterative attacks (ours with the interval over images), and a table of the seminar's two
    claims with their computed verdicts. "A is the most robust" holds when A beats each other
    model in the paired test (images as units, the six settings averaged per image,
    :func:`advlab.report.mcnemar`); it does not hold when some model beats A, or when A equals
    it within ±``tolerance``; otherwise we cannot tell at this sample size."""
    outcomes = {label: iterative_outcomes(rows) for label, rows in ours.items()}
    n = len(next(iter(outcomes.values())))
    means = report.Table(["model", f"seminar (CUB-12, {SEMINAR_N} images)", f"ours (CIFAR-10, {n} images)"])
    for label, o in outcomes.items():
        seminar = SEMINAR[SEMINAR_MATCH[label]]
        means.add(label, f"{sum(seminar[3:]) / 6:.1f}", report.from_outcomes(o))
    claims = report.Table(["the seminar's claim", "ours: difference to each other model, points (paired test)",
                           "verdict here"])
    for claim, model, direction in CLAIMS:
        tests = {other: report.mcnemar(outcomes[model], o) for other, o in outcomes.items() if other != model}
        verdict = report.every(report.verdict(t, direction, tolerance) for t in tests.values())
        claims.add(claim, "; ".join(f"vs {other}: {t}" for other, t in tests.items()), verdict)
    return means, claims


def maps_before_after(model, interpreters, x, y, eps="8/255", steps: int = 10) -> dict:
    """PGD (ε, ``steps``) on ``x``, then for each interpreter name the maps of the predicted
    class on the clean and on the adversarial images (:func:`advlab.interpret.predict_and_map`):
    ``{"x_adv", "maps": {name: (clean, adversarial)}, "p", "q"}`` (predicted classes)."""
    x_adv = attacks.PGD(model, eps=eps, steps=steps)(x, y)
    maps = {}
    for how in interpreters:
        attr = interpret.make(how, model)
        (p, a), (q, b) = interpret.predict_and_map(attr, x), interpret.predict_and_map(attr, x_adv)
        maps[how] = (a, b)
    return {"x_adv": x_adv, "maps": maps, "p": p.argmax(1), "q": q.argmax(1)}


def shift_table(models: dict, x, y, eps="8/255", steps: int = 10, k: int = 102) -> report.Table:
    """How far each map of ``SHIFT_MAPS`` moves under PGD, beside random ±ε noise and two
    unrelated random maps (:func:`~advlab.studies.shift_summary`)."""
    r1, r2 = (interpret.RandomMap(models["CNN (GAP)"], seed=s)(x, y) for s in (1, 2))
    iou_r, l1_r = metrics.topk_iou(r1, r2, k).mean(), metrics.l1_distance(r1, r2).mean()
    table = report.Table(["map", "top-10% IoU: PGD / noise / random map", "L1: PGD / noise / random map",
                          "border mass: clean → PGD", "prediction flipped, %: PGD / noise"])
    for label, how in SHIFT_MAPS:
        s = shift_summary(models[label], how, x, y, eps=eps, steps=steps, k=k)
        a, n = s["pgd"], s["noise"]
        table.add(f"{label}: {how}", f"{a['iou']:.2f} / {n['iou']:.2f} / {iou_r:.2f}",
                  f"{a['l1']:.3f} / {n['l1']:.3f} / {l1_r:.3f}",
                  f"{a['border_clean']:.2f} → {a['border_other']:.2f} (noise {n['border_other']:.2f})",
                  f"{a['flipped']:.0f} / {n['flipped']:.0f}")
    return table


def prototype_reading(model, x, y, eps="8/255", steps: int = 10, k: int = 4) -> str:
    """ProtoPNet's top-``k`` prototypes under PGD and under random ±ε noise: how many are
    replaced, and the share of newcomers of the adversarial class, with its interval (each
    newcomer counted; up to ``k`` per image)."""
    adv = attacks.PGD(model, eps=eps, steps=steps)(x, y)
    pc, pn = (prototype_changes(model, x, z, k=k) for z in (adv, random_sign_noise(x, eps, seed=0)))
    new = pc["new_of_predicted_class"]
    lines = [(f"top-{k} prototypes replaced, mean over {len(x)} images: PGD {pc['changed'].mean():.2f}, "
              f"noise {pn['changed'].mean():.2f}")]
    lines.append((f"new prototypes belonging to the adversarial prediction: {report.from_outcomes(new):.0f} % "
                  f"of {len(new)} (a random class: 10%)") if len(new) else "no prototype was replaced")
    return "\n".join(lines)
