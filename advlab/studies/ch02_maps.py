"""Chapter 2, maps under attack: the seminar's three heads (a CNN explained by the CAM family,
attention pooling, ProtoPNet) attacked, their robustness ranking tested, and how far their maps
and prototypes move. The seminar's numbers are written here once."""
from __future__ import annotations

import torch

from .. import attacks, interpret, metrics, report, zoo
from ..core.maps import normalize
from .ch01_attacks import (
    ITERATIVE,
    SEMINAR_N,
    SEMINAR_SETTINGS,
    SEMINAR_VGG16,
    setting_name,
)
from .common import attack_table, prototype_changes, random_sign_noise

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
    return means, report.claims.register(2, "the seminar's ranking of the heads under attack", claims)


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


def shift_outcomes(model, how: str, x, y, eps="8/255", steps: int = 10, k: int = 102, seed: int = 0) -> dict:
    """Per image, how far the maps of interpreter ``how`` move under PGD (ε, ``steps``), with the
    controls that isolate the attack's effect, on the images ``model`` classifies correctly:

    * ``pgd`` / ``noise``: top-``k`` IoU between the true class's map on the clean image and the
      same class's map on the attacked image / on the image with random ±ε noise (one class on
      both sides, so a change of prediction cannot explain the difference);
    * ``switch``: on the images PGD fools, the clean image's map of the true class against its
      map of the class PGD makes the model predict: the class change alone, nothing perturbed;
    * ``predicted``: the same images, each map of its predicted class, clean against PGD (what
      the seminar compared: the perturbation and the class change together);
    * ``spread_clean`` / ``spread_pgd`` / ``spread_noise``: :func:`advlab.metrics.spread` of the
      true class's maps; ``fooled``: PGD changed the prediction (bool, every correct image).
    """
    p = metrics.predict(model, x)
    keep = p == y
    x, y = x[keep], y[keep]
    if not len(x):
        none = torch.zeros(0)
        return {key: none for key in ("pgd", "noise", "spread_clean", "spread_pgd", "spread_noise")} | {
            "fooled": torch.zeros(0, dtype=torch.bool)}
    attr = interpret.make(how, model)
    adv = attacks.PGD(model, eps=eps, steps=steps, seed=seed)(x, y)
    noisy = random_sign_noise(x, eps, seed=seed)
    q = metrics.predict(model, adv)
    fooled = q != y

    def look(z, cls):
        return normalize(attr(z, cls))

    clean, on_adv, on_noise = look(x, y), look(adv, y), look(noisy, y)
    out = {"pgd": metrics.topk_iou(clean, on_adv, k), "noise": metrics.topk_iou(clean, on_noise, k),
           "spread_clean": metrics.spread(clean), "spread_pgd": metrics.spread(on_adv),
           "spread_noise": metrics.spread(on_noise), "fooled": fooled}
    f = fooled.nonzero().flatten()
    if len(f):
        out["switch"] = metrics.topk_iou(clean[f], look(x[f], q[f]), k)
        out["predicted"] = metrics.topk_iou(clean[f], look(adv[f], q[f]), k)
    return out


def shift_results(models: dict, x, y, eps="8/255", steps: int = 10, k: int = 102) -> dict:
    """:func:`shift_outcomes` for every map of ``SHIFT_MAPS``, by (model label, interpreter)."""
    return {(label, how): shift_outcomes(models[label], how, x, y, eps=eps, steps=steps, k=k)
            for label, how in SHIFT_MAPS}


def _shift_verdicts(o: dict) -> tuple[str, str]:
    """Moves beyond noise (IoU under PGD below IoU under noise), spreads beyond noise: paired
    bootstrap verdicts over the images."""
    return (report.sign_verdict(report.bootstrap_mean(o["noise"] - o["pgd"]), ">"),
            report.sign_verdict(report.bootstrap_mean(o["spread_pgd"] - o["spread_noise"]), ">"))


def shift_table(results: dict) -> report.Table:
    """The seminar's "maps move under attack" and "maps spread under attack", one row per map of
    :func:`shift_results`: mean IoU and spread with bootstrap 95 % intervals, and two verdicts on
    paired per-image differences against the ±ε noise control (the map moves: its IoU under PGD
    is below its IoU under noise; it spreads: its spread under PGD is above its spread under noise)."""
    table = report.Table(["map", "IoU with the clean map, true class: PGD / noise",
                          "IoU, fooled images: class switch alone / predicted classes under PGD",
                          "spread: clean / PGD / noise", "moves beyond noise", "spreads beyond noise"])
    for (label, how), o in results.items():
        if len(o["pgd"]) == 0:
            table.add(f"{label}: {how} (no image classified correctly)", "–", "–", "–", *[report.CANNOT_TELL] * 2)
            continue
        m = {key: report.bootstrap_mean(v) for key, v in o.items() if key != "fooled"}
        fooled = f"{m['switch']} / {m['predicted']}" if "switch" in m else "none fooled"
        table.add(f"{label}: {how} ({len(o['pgd'])} images)", f"{m['pgd']} / {m['noise']}", fooled,
                  f"{m['spread_clean'].value:.3f} / {m['spread_pgd'].value:.3f} / {m['spread_noise'].value:.3f}",
                  *_shift_verdicts(o))
    return report.claims.register(2, "the seminar: maps move and spread under attack", table)


def shift_reading(results: dict) -> str:
    """What :func:`shift_table` shows, in words generated from ``results`` (Markdown bullets)."""
    rows = {k: o for k, o in results.items() if len(o["pgd"])}
    verdicts = {k: _shift_verdicts(o) for k, o in rows.items()}
    mean = {k: {key: float(v.float().mean()) for key, v in o.items() if key != "fooled"} for k, o in rows.items()}

    def span(key):
        values = [m[key] for m in mean.values() if key in m]
        return f"{min(values):.2f}–{max(values):.2f}" if values else "–"

    moved = [f"{label}: {how}" for (label, how), v in verdicts.items() if v[0] == report.HOLDS]
    spread = [f"{label}: {how}" for (label, how), v in verdicts.items() if v[1] == report.HOLDS]
    narrower = [f"{label}: {how} ({mean[label, how]['spread_clean']:.2f} → {mean[label, how]['spread_pgd']:.2f})"
                for (label, how), v in verdicts.items() if v[1] == report.DOES_NOT_HOLD]
    lines = [f"* **Maps move under attack, beyond noise**, for {len(moved)} of {len(rows)} maps: the true class's "
             f"map overlaps its clean map at IoU {span('pgd')} under PGD, against {span('noise')} under noise of "
             "the same size.",
             f"* **Part of what the seminar saw is the class switch.** On the fooled images, the clean image's map "
             f"of the class PGD makes the model predict overlaps the true class's map at only {span('switch')}, "
             f"with nothing perturbed; comparing each image's predicted class before and after the attack, as the "
             f"seminar did, gives {span('predicted')}. A map of another class is another map, attacked or not.",
             "* **Do the maps spread?** " + (f"Beyond noise for {', '.join(spread)}, by little (see the spread "
                                             "column). " if spread else "For none of the maps. ")
             + (f"The opposite for {', '.join(narrower)}: under attack they concentrate." if narrower else "")]
    return "\n".join(lines)


def prototype_outcomes(model, x, y, eps="8/255", steps: int = 10, k: int = 4, seed: int = 0) -> dict:
    """ProtoPNet's top-``k`` prototypes on the clean images, under PGD and under random ±ε noise:
    ``changed`` (per image, how many are replaced), ``new_of_predicted`` (per newcomer: does it belong
    to the class now predicted), ``chance`` (per top prototype of a clean image: does it belong to
    the predicted class anyway, the level "newcomers belong to the new class" must beat), and
    ``border`` (per top prototype: is its best match on the border of the latent grid, where the
    background is) for ``clean``, ``pgd`` and ``noise``."""
    views = {"clean": x, "pgd": attacks.PGD(model, eps=eps, steps=steps, seed=seed)(x, y),
             "noise": random_sign_noise(x, eps, seed=seed)}
    out: dict = {"border": {}, "changed": {}, "new_of_predicted": {}}
    tops = {}
    for name, z in views.items():
        top, _ = interpret.top_prototypes(model, z, k)
        tops[name] = top
        with torch.no_grad():
            sim = model.similarity_maps(z)                                  # N×m×h×w
        h, w = sim.shape[-2:]
        where = sim.gather(1, top[:, :, None, None].expand(-1, -1, h, w)).flatten(2).argmax(2)
        r, c = where // w, where % w
        out["border"][name] = ((r == 0) | (r == h - 1) | (c == 0) | (c == w - 1)).flatten()
        if name != "clean":
            ch = prototype_changes(model, x, z, k=k)
            out["changed"][name] = ch["changed"]
            out["new_of_predicted"][name] = ch["new_of_predicted_class"].bool()
    p = metrics.predict(model, x)
    out["chance"] = (model.prototype_class[tops["clean"]] == p[:, None]).flatten()
    out["border_chance"] = 1 - (h - 2) * (w - 2) / (h * w)   # the grid's share of border cells
    return out


def prototype_table(o: dict) -> report.Table:
    """The claims table of the seminar's ProtoPNet readings (built by ``_prototype_claims``), registered
    for the claims page."""
    return report.claims.register(2, "the seminar: ProtoPNet's prototypes under attack", _prototype_claims(o))


def _prototype_claims(o: dict) -> report.Table:
    """The seminar's two ProtoPNet readings as claims, against their controls
    (:func:`prototype_outcomes`): the prototypes that come in under attack belong to the adversarial
    class (above the chance level: how often a clean image's top prototype belongs to its predicted
    class anyway, and above noise's newcomers), and attacked images activate prototypes matched on
    the background (the latent grid's border; above the clean images and above noise). ``o``:
    :func:`prototype_outcomes`."""
    k = len(o["border"]["clean"]) // len(o["changed"]["pgd"])
    new_pgd, new_noise = (report.from_outcomes(o["new_of_predicted"][n]) if len(o["new_of_predicted"][n]) else None
                          for n in ("pgd", "noise"))
    chance = report.from_outcomes(o["chance"])
    border = {n: report.from_outcomes(v) for n, v in o["border"].items()}
    changed = {n: report.bootstrap_mean(v) for n, v in o["changed"].items()}
    table = report.Table(["the seminar's claim", "under PGD", "controls", "verdict here"])
    newcomers = "no newcomers" if new_pgd is None else \
        f"{new_pgd:.0f} % of {new_pgd.n} newcomers ({changed['pgd']} replaced per image)"
    noise = "no newcomers under noise" if new_noise is None else f"noise's newcomers {new_noise:.0f} % of {new_noise.n}"
    tests = [report.verdict((new_pgd, r), ">") for r in (chance, new_noise) if new_pgd is not None and r is not None]
    table.add(f"newcomers among the top-{k} prototypes belong to the adversarial class", newcomers,
              f"chance {chance:.0f} %; {noise}", report.every(tests) if new_pgd is not None else report.CANNOT_TELL)
    table.add(f"attacked images activate background prototypes (top-{k} matched on the grid's border)",
              f"{border['pgd']:.0f} %",
              f"clean {border['clean']:.0f} %; noise {border['noise']:.0f} %; uniform "
              f"{100 * o['border_chance']:.0f} %",
              report.every([report.verdict((border["pgd"], border["clean"]), ">"),
                            report.verdict((border["pgd"], border["noise"]), ">")]))
    return table


def prototype_reading(o: dict) -> str:
    """What :func:`prototype_table` shows, in words generated from ``o`` (one Markdown bullet)."""
    table = _prototype_claims(o)  # the same verdicts, not registered a second time
    new_v, border_v = table.rows[0][3], table.rows[1][3]
    changed = report.bootstrap_mean(o["changed"]["pgd"]).value
    new = report.from_outcomes(o["new_of_predicted"]["pgd"]) if len(o["new_of_predicted"]["pgd"]) else None
    chance = report.from_outcomes(o["chance"])
    border = {n: report.from_outcomes(v) for n, v in o["border"].items()}
    k = len(o["border"]["clean"]) // len(o["changed"]["pgd"])
    share = "none" if new is None else f"{new:.0f} %"
    return (f"* **ProtoPNet's explanation is rewritten.** About {changed:.1f} of its {k} most activated prototypes "
            f"are replaced under attack, and {share} of the newcomers belong to the class the attack made it "
            f"predict, against {chance:.0f} % by chance and fewer under noise: the claim {new_v}. The adversarial "
            "image gets a prototype-based justification for the wrong class, built from real training patches. "
            f"Background prototypes: {border['pgd']:.0f} % of the top prototypes match on the grid's border under "
            f"attack, {border['clean']:.0f} % on the clean images: that claim {border_v}.")
