"""Chapter 2, maps under attack: the seminar's three heads (a CNN explained by the CAM family,
attention pooling, ProtoPNet) attacked, their robustness ranking tested, and how far their maps
and prototypes move. The seminar's numbers are written here once.

The ranking is judged on a record (``python -m advlab.studies.ch02_maps``, :func:`build`, with the
full CIFAR-10 test set under ``ADVLAB_DATASETS``; about ten minutes on 2 CPU cores): every head
trained with three seeds, attacked on ``RECORD_PER_CLASS`` test images of each class drawn with a
seed from the full test set, with the seminar's settings and, at ε = 2 and 8/255, with the core of
AutoAttack (APGD-CE, then targeted APGD-DLR on the images still standing). The book reads it.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from .. import attacks, data, interpret, metrics, report, zoo
from ..core.maps import normalize
from . import common
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


#: the record of the ranking: the three heads × three training seeds (:func:`build`)
RECORD = Path(__file__).resolve().parents[1] / "_data" / "ch02_ranking.json"
RECORD_PER_CLASS = 50
#: training seeds per head (seed 0: the chapter's models; 1 and 2: ``<name>_seed1`` / ``_seed2``)
SEEDS = (0, 1, 2)
#: ε (in 1/255) of the stronger attacks: APGD-CE and targeted APGD-DLR (100 steps, 1 restart)
STRONG_EPS = (2, 8)
STRONG_STEPS = 100
#: a stronger attack taking more than this many points off PGD-10 means PGD-10 was a weak yardstick
WEAK_YARDSTICK = 0.03


def seed_name(label: str, seed: int) -> str:
    """The zoo name of head ``label`` trained with ``seed``."""
    return MODELS[label] if seed == 0 else f"{MODELS[label]}_seed{seed}"


def worst_case(model, x, y, pgd_correct, eps: float, steps: int = STRONG_STEPS, seed: int = 0) -> dict:
    """The core of AutoAttack after PGD, as AutoAttack runs it (each attack on the images the
    previous ones left correct): APGD-CE on PGD's survivors, then targeted APGD-DLR (every other
    class as a target in turn) on what is left (torchattacks). Returns the per-image outcomes after
    APGD-CE (``apgd_ce``: correct under PGD and APGD-CE) and after all three (``worst``)."""
    import torchattacks
    after_ce = torch.as_tensor(pgd_correct, dtype=torch.bool).clone()
    alive = after_ce.nonzero().flatten()
    if len(alive):
        ce = torchattacks.APGD(model, norm="Linf", eps=eps, steps=steps, seed=seed, loss="ce")
        after_ce[alive] = metrics.correct(model, x[alive], y[alive], ce)
    worst = after_ce.clone()
    alive = worst.nonzero().flatten()
    if len(alive):
        with torch.no_grad():
            classes = int(model(x[:1]).shape[1])
        dlr = torchattacks.APGDT(model, norm="Linf", eps=eps, steps=steps, seed=seed, n_classes=classes)
        worst[alive] = metrics.correct(model, x[alive], y[alive], dlr)
    return {"apgd_ce": after_ce, "worst": worst}


def build(path: Path | None = RECORD, per_class: int = RECORD_PER_CLASS, seed: int = 0, seeds=SEEDS) -> dict:
    """Per-image outcomes of every head and training seed under the seminar's settings and the
    stronger attacks (:func:`worst_case` at ``STRONG_EPS``), on ``per_class`` test images of each
    class drawn with ``seed`` from the full CIFAR-10 test set, written to ``path`` (None: not
    written) after each model. A record at ``path`` on the same images keeps its models: the build
    adds those it lacks (so it resumes, and seeds can be added later)."""
    from ..zoo.training import hardware
    ts = data.tensors("cifar10", "test")
    idx = common.stratified_indices(ts.y, per_class, seed)
    x, y = ts.x[idx], ts.y[idx]
    old = json.loads(Path(path).read_text()) if path is not None and Path(path).exists() else None
    record: dict = old if old is not None and old.get("indices") == idx.tolist() else {
        "n": len(y), "seed": seed, "indices": idx.tolist(),
        "images": f"{per_class} test images of each class, drawn with seed {seed} from the full CIFAR-10 test set "
                  f"({ts.variant})",
        "attacks": f"the seminar's settings (FGSM; BIM, PGD, MIM with 10 steps); at ε = "
                   f"{', '.join(map(str, STRONG_EPS))}/255 APGD-CE on the images PGD-10 left correct, then APGD-T "
                   f"DLR (every other class as a target) on those APGD-CE left correct ({STRONG_STEPS} steps, "
                   "1 restart, torchattacks)",
        "models": {}}
    for label in MODELS:
        for s in seeds:
            name = seed_name(label, s)
            if name in record["models"]:
                continue
            t1 = time.perf_counter()
            model = zoo.load(name)
            rows = attack_table(model, SEMINAR_SETTINGS, x, y)
            out = {setting_name(r["attack"], r["eps"], r["steps"]): r["correct"] for r in rows}
            for e in STRONG_EPS:
                strong = worst_case(model, x, y, out[setting_name("pgd", e, 10)], e / 255, seed=seed)
                out[f"PGD-10, APGD-CE {e}/255"], out[f"worst {e}/255"] = strong["apgd_ce"], strong["worst"]
            record["models"][name] = {"label": label, "seed": s,
                                      "outcomes": {k: common.outcome_bits(v) for k, v in out.items()},
                                      "seconds": round(time.perf_counter() - t1, 1), "hardware": hardware(),
                                      "torch": torch.__version__}
            print(f"{name}: PGD-10 2/255 {out[setting_name('pgd', 2, 10)].float().mean():.3f}, worst "
                  f"{out['worst 2/255'].float().mean():.3f} ({record['models'][name]['seconds']} s)", flush=True)
            record["total_seconds"] = round(sum(m["seconds"] for m in record["models"].values()), 1)
            if path is not None:
                Path(path).write_text(json.dumps(record, indent=1) + "\n")
    return record


def load_record(path: Path = RECORD) -> dict:
    """The ranking's record (:func:`build`)."""
    return common.load_record(path, "ch02_maps")


def _outcomes(record: dict, label: str, seed: int, key: str) -> torch.Tensor:
    return torch.from_numpy(common.bits_outcomes(record["models"][seed_name(label, seed)]["outcomes"][key]))


def record_rows(record: dict, seed: int = 0) -> dict:
    """Head label → rows like :func:`~advlab.studies.attack_table`'s (the seminar's settings) of the
    heads trained with ``seed``, from the record."""
    out = {}
    for label in MODELS:
        rows = []
        for atk, eps, steps in SEMINAR_SETTINGS:
            ok = _outcomes(record, label, seed, setting_name(atk, eps, steps))
            rows.append({"attack": atk, "eps": eps, "steps": steps, "correct": ok, "rate": report.from_outcomes(ok)})
        out[label] = rows
    return out


def _seeds(record: dict) -> list:
    return sorted({m["seed"] for m in record["models"].values()})


def ranking_outcomes(record: dict) -> dict:
    """Per head, N×S outcomes pooled over the training seeds: ``"seminar"`` (the six iterative
    settings of every seed), ``"worst"`` (the worst case of PGD-10, APGD-CE and APGD-T at each ε
    of ``STRONG_EPS``, every seed) and ``"by seed"`` (seed → its N×6 seminar outcomes)."""
    out = {}
    for label in MODELS:
        by_seed = {s: iterative_outcomes(record_rows(record, s)[label]) for s in _seeds(record)}
        worst = [_outcomes(record, label, s, f"worst {e}/255") for s in by_seed for e in STRONG_EPS]
        out[label] = {"seminar": torch.cat(list(by_seed.values()), 1), "worst": torch.stack(worst, 1),
                      "by seed": by_seed}
    return out


def _claim_verdicts(outcomes: dict, key, tolerance: float) -> list:
    """For each of the seminar's claims: (the paired tests against each other head, the verdict)."""
    out = []
    for claim, model, direction in CLAIMS:
        tests = {other: report.mcnemar(key(outcomes[model]), key(o)) for other, o in outcomes.items() if other != model}
        out.append((claim, tests, report.every(report.verdict(t, direction, tolerance) for t in tests.values())))
    return out


def _seminar_mean(label: str) -> float:
    """The seminar's mean accuracy (%) of the model matching our head ``label`` under its six
    iterative settings (BIM, PGD, MIM at ε = 2 and 8)."""
    return sum(SEMINAR[SEMINAR_MATCH[label]][3:]) / 6


def _per_seed_verdicts(outcomes: dict, n_seeds: int, tolerance: float) -> list:
    """:func:`_claim_verdicts` of the worst case, each training seed on its own."""
    k = len(STRONG_EPS)   # the worst case's columns: seed by seed, each ε of STRONG_EPS
    return [_claim_verdicts(outcomes, lambda v, i=i: v["worst"][:, k * i:k * (i + 1)], tolerance)
            for i in range(n_seeds)]


def ranking(record: dict, tolerance: float = TOLERANCE) -> tuple[report.Table, report.Table]:
    """The seminar's robustness ranking tested on our heads, three training seeds each: a table of
    mean accuracies under the six iterative settings per seed and under the worst case of the
    stronger attacks (seeds pooled), and a table of the seminar's two claims with their computed
    verdicts. "A is the most robust" holds when A beats each other head in the paired test (images
    as units; the settings and seeds of an image averaged, :func:`advlab.report.mcnemar`); it does
    not hold when some head beats A, or when A equals it within ±``tolerance``; otherwise we cannot
    tell. Robustness is judged by the worst case (PGD-10, then APGD-CE, then APGD-T, at ε = 2 and
    8/255): the verdict here is the worst case's, seeds pooled; the seminar's attacks get their own
    verdict beside it (a head whose gradients mislead one-step and ten-step attacks looks more robust
    under them), and each seed its own, which shows whether the training run matters. Pooling seeds
    averages over training runs; the test's units are still the images."""
    o = ranking_outcomes(record)
    seeds = _seeds(record)
    n = len(next(iter(o.values()))["seminar"])
    means = report.Table(["model", f"seminar (CUB-12, {SEMINAR_N} images)",
                          *[f"ours, seed {s} ({n} images)" for s in seeds], "ours, worst case (APGD), seeds pooled"])
    for label, v in o.items():
        means.add(label, f"{_seminar_mean(label):.1f}", *[report.from_outcomes(v["by seed"][s]) for s in seeds],
                  report.from_outcomes(v["worst"]))
    pooled = _claim_verdicts(o, lambda v: v["seminar"], tolerance)
    worst = _claim_verdicts(o, lambda v: v["worst"], tolerance)
    per_seed = _per_seed_verdicts(o, len(seeds), tolerance)
    claims = report.Table(["the seminar's claim", "the seminar's attacks, seeds pooled: difference to each other "
                           "head, points (paired) → verdict", "worst case (APGD), seeds pooled: difference",
                           "worst case, verdict per seed", "verdict here (worst case)"])
    for i, (claim, tests, v_pooled) in enumerate(pooled):
        _, tests_w, v_worst = worst[i]
        claims.add(claim, "; ".join(f"vs {other}: {t}" for other, t in tests.items()) + f" → {v_pooled}",
                   "; ".join(f"vs {other}: {t}" for other, t in tests_w.items()),
                   ", ".join(f"seed {s}: {ps[i][2]}" for s, ps in zip(seeds, per_seed)), v_worst)
    return means, report.claims.register(2, "the seminar's ranking of the heads under attack (three seeds each)",
                                         claims)


def strong_table(record: dict, seed: int = 0) -> report.Table:
    """The stronger yardstick on the chapter's heads (training ``seed``): accuracy under PGD-10, then
    with APGD-CE on its survivors, then with targeted APGD-DLR on theirs (the worst case), at each ε
    of ``STRONG_EPS``; how many points
    the stronger attacks take beyond PGD-10 (paired), and what that says: the whole interval within
    ±``WEAK_YARDSTICK``, PGD-10 was adequate; entirely beyond it, PGD-10 overstated the robustness."""
    table = report.Table(["model, ε", "PGD-10", "then APGD-CE", "then APGD-T (worst case)",
                          "PGD-10 − worst, points (paired)", "reading"])
    for label in MODELS:
        for e in STRONG_EPS:
            pgd = _outcomes(record, label, seed, setting_name("pgd", e, 10))
            worst = _outcomes(record, label, seed, f"worst {e}/255")
            gap = report.mcnemar(pgd, worst)
            table.add(f"{label}, {e}/255", report.from_outcomes(pgd),
                      report.from_outcomes(_outcomes(record, label, seed, f"PGD-10, APGD-CE {e}/255")),
                      report.from_outcomes(worst), str(gap), _yardstick(gap))
    return table


def _yardstick(gap) -> str:
    """PGD-10 against the worst case (paired): within ±``WEAK_YARDSTICK`` adequate, entirely beyond
    it weak, otherwise cannot tell (:func:`advlab.report.verdict`, claim "=")."""
    v = report.verdict(gap, "=", tolerance=WEAK_YARDSTICK)
    return {report.HOLDS: "PGD-10 adequate", report.DOES_NOT_HOLD: "PGD-10 weak"}.get(v, v)


def masking_table(record: dict) -> report.Table:
    """The sign of gradient masking the seminar's table hides (seeds pooled): at ε = 8/255 one
    FGSM step should leave no more images correct than ten steps of PGD. Holds (a masking sign)
    when FGSM leaves significantly more (paired) and by more than ``WEAK_YARDSTICK``."""
    table = report.Table(["model (seeds pooled)", "FGSM 8/255", "PGD-10 8/255", "worst case 8/255",
                          "FGSM − PGD-10, points (paired)", "sign of gradient masking"])
    for label in MODELS:
        seeds = _seeds(record)
        get = lambda key: torch.cat([_outcomes(record, label, s, key) for s in seeds])  # noqa: E731
        fgsm, pgd = get(setting_name("fgsm", 8, 1)), get(setting_name("pgd", 8, 10))
        test = report.mcnemar(fgsm, pgd)
        sign = report.HOLDS if test.pvalue < 0.05 and test.difference > WEAK_YARDSTICK else report.DOES_NOT_HOLD
        table.add(label, report.from_outcomes(fgsm), report.from_outcomes(pgd),
                  report.from_outcomes(get("worst 8/255")), str(test),
                  "yes: one step leaves more than ten" if sign == report.HOLDS else "no")
    return table


def ranking_reading(record: dict, tolerance: float = TOLERANCE) -> str:
    """What :func:`ranking`, :func:`strong_table` and :func:`masking_table` show, in words
    generated from the record (Markdown bullets)."""
    o = ranking_outcomes(record)
    seeds = _seeds(record)
    by_head = {label: [report.from_outcomes(v["by seed"][s]).value for s in seeds] for label, v in o.items()}
    seed_spread = max(max(v) - min(v) for v in by_head.values())
    head_means = {label: float(np.mean(v)) for label, v in by_head.items()}
    head_spread = max(head_means.values()) - min(head_means.values())
    pooled = _claim_verdicts(o, lambda v: v["seminar"], tolerance)
    worst = _claim_verdicts(o, lambda v: v["worst"], tolerance)
    pvalues = [t.pvalue for _, tests, _ in worst for t in tests.values()]
    worst_rate = {label: report.from_outcomes(v["worst"]) for label, v in o.items()}
    differ = [f"“{claim}” {p}" for (claim, _, p), (_, _, w) in zip(pooled, worst) if p != w]
    tests = [report.mcnemar(_outcomes(record, label, 0, setting_name("pgd", e, 10)),
                            _outcomes(record, label, 0, f"worst {e}/255")) for label in MODELS for e in STRONG_EPS]
    gaps = [t.difference for t in tests]
    readings = {_yardstick(t) for t in tests}
    masking = {row[0]: row[5] for row in masking_table(record).rows}
    masked = [k for k, v in masking.items() if v.startswith("yes")]
    claims = "; ".join(f"“{claim}” {w}" for claim, _, w in worst)
    yardstick = ("within ±3 points at every ε and head: PGD-10 was an adequate yardstick"
                 if readings == {"PGD-10 adequate"} else "PGD-10 overstated the robustness of some head"
                 if "PGD-10 weak" in readings else "the sample cannot say whether that is within ±3 points")
    kept = ", ".join(f"{label} {r}" for label, r in worst_rate.items())
    others = [label for label in MODELS if label != "attention pooling"]
    lead = 100 * (head_means["attention pooling"] - max(head_means[k] for k in others))
    gaps = sorted(_seminar_mean("attention pooling") - _seminar_mean(k) for k in others)
    low, high = gaps[0], gaps[-1]
    gap = (f"The seminar's gap (attention pooling {low:.0f} to {high:.0f} points above the other two) is "
           + ("here too." if lead >= low else f"not here: attention pooling's mean is {lead:+.1f} points from the "
                                              "best other head's."))
    per_seed = _per_seed_verdicts(o, len(seeds), tolerance)
    split = []
    for i, (claim, tests_w, w) in enumerate(worst):
        alone = [ps[i][2] for ps in per_seed]
        if any(v != w for v in alone):
            leads = [100 * abs(t.difference) for t in tests_w.values()]
            split.append(f"“{claim}” {w} at {alone.count(w)} of {len(alone)} seeds on its own, on pooled "
                         f"differences of {min(leads):.1f} to {max(leads):.1f} points")
    by_seed = (f" Seed by seed it is less clear: {'; '.join(split)}." if split else
               " Each seed on its own gives the same verdicts.") if len(seeds) > 1 else ""
    seminar = (f" Under the seminar's own attacks the verdicts would differ: {'; '.join(differ)}." if differ else
               " The seminar's own attacks give the same verdicts.")
    lines = [
        f"* **The seminar's ranking, over {len(seeds)} training seeds per head, judged by the worst case:** "
        f"{claims}.{by_seed}{seminar} The heads' mean accuracies under the six iterative attacks lie within "
        f"{100 * head_spread:.1f} points of each other (averaged over seeds), while one head's seeds differ by up "
        f"to {100 * seed_spread:.1f} points; the paired tests of the worst case, seeds pooled, give p from "
        f"{min(pvalues):.2g} to {max(pvalues):.2g}. {gap}",
        f"* **A stronger attack:** the core of AutoAttack takes at most {100 * max(gaps):.1f} points beyond PGD-10 "
        f"from the chapter's heads ({yardstick}); under the worst case, seeds pooled, the heads keep {kept} % "
        "(ε = 2 and 8/255 together).",
        "* **A sign of gradient masking:** " + (
            f"one FGSM step at ε = 8/255 leaves clearly more images correct than ten PGD steps for "
            f"{', '.join(masked)}, which a smooth loss would not allow: the single gradient step is misled, not "
            "the iterative attack, so that FGSM row says nothing about robustness." if masked else
            "none: FGSM never leaves clearly more images correct than PGD-10."),
    ]
    return "\n".join(lines)


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


def main(argv=None) -> int:
    return common.record_main(argv, "Record chapter 2's ranking: three heads × three seeds, the seminar's attacks "
                              "and the core of AutoAttack.", build, RECORD, RECORD_PER_CLASS)


if __name__ == "__main__":
    raise SystemExit(main())
