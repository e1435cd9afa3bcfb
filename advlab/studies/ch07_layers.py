"""Chapter 7: understanding and diagnosing vulnerability layer by layer (Zheng et al., InterpretGAN).

The classifier is the paper's MNIST CNN (``advlab.models.LayeredCNN``: conv1 … conv4, fc1 … fc3),
trained normally (``mnist_layered``) and with TRADES (``mnist_layered_trades``; with average pooling
``mnist_layered_trades_avg``). Each of the first two has one InterpretGAN explanation generator per
layer in the zoo (``mnist_layered_gen_conv1`` …): x̂_i = G_i(C_i(h_i(x))).

* **Diagnosis** (the paper's Table 1): on a seeded, class-stratified sample of the bundled test
  images, PGD-40 (L∞ ε = 0.3, step 0.01, random start) gives D*; Acc_i is the classifier's accuracy
  (against the true label) on the explanations x̂_i of D*, Vul_1 = 1 − Acc_1 and Vul_i = Acc_{i−1} −
  Acc_i. Controls: the same on the clean images (how faithful the generators are at all) and on
  random ±ε sign noise (a perturbation as large as the attack's that is not adversarial).
* **Pooling**: how many max-pooling windows change their argmax under PGD-40, against sign noise.
* **Where the digits go**: the classes of the adversarial images by true class (paper: 39.3 % of
  the 0s become 6, 39.5 % of the 7s become 3).
* **Max vs average pooling** (Table 2): FGSM, PGD-40, PGD-100, MIM-40 and the core of AutoAttack
  (APGD-CE and targeted APGD-DLR) on both TRADES models. The attacks are slow on a CPU (about
  ``RECORD_MINUTES`` minutes), so ``python -m advlab.studies.ch07_layers`` records per-image outcomes
  in ``advlab/_data/ch07_layers.json``; the chapter reads it and reruns PGD-40 live to check it.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import attacks, metrics, report, zoo
from ..core import LayerProbe, frozen_eval
from ..models.interpretgan import LAYERS
from ..report import CANNOT_TELL, DOES_NOT_HOLD, HOLDS
from ..zoo.recipes.ch07 import generator_name
from ..zoo.training import hardware
from .common import bits_outcomes, load_record, outcome_bits, random_sign_noise, stratified_sample

MODELS = {"natural": "mnist_layered", "TRADES": "mnist_layered_trades", "TRADES, avg pool": "mnist_layered_trades_avg"}
DIAGNOSED = ("natural", "TRADES")
POOLS = ("conv2", "conv4")      # the stages that end with a 2×2 pooling layer
EPS, ALPHA, STEPS = 0.3, 0.01, 40
PER_CLASS, SEED = 50, 0
RECORD = Path(__file__).resolve().parents[1] / "_data" / "ch07_layers.json"
RECORD_MINUTES = 12
APGD_STEPS = 100

# Zheng et al., Table 1 (PGD-40, L∞ ε = 0.3, on the MNIST test set), in percent.
PAPER_ACC = {"natural": (52.6, 26.3, 21.6, 9.9, 4.3, 3.0, 3.5), "TRADES": (95.1, 94.0, 93.9, 92.6, 90.1, 90.0, 89.5)}
PAPER_VUL = {"natural": (47.4, 26.3, 4.7, 11.7, 5.6, 1.3, -0.5), "TRADES": (4.9, 1.1, 0.1, 1.3, 2.5, 0.1, 0.5)}
PAPER_VULNERABLE = ("conv1", "conv2", "conv4", "fc1")   # the layers the paper calls "more vulnerable"
PAPER_POOL_CHANGE = {"conv2": 40.9, "conv4": 18.1}      # % of max-pooling indices changed by PGD-40
PAPER_MISCLASS = {0: (6, 39.3), 7: (3, 39.5)}           # true class -> (adversarial class, % of that class)
# Table 2: accuracy (%) of the TRADES models under each attack on MNIST.
TABLE2_ATTACKS = ("PGD-40", "PGD-100", "MIM-40", "FGSM")
PAPER_TABLE2 = {"max": (89.33, 81.98, 89.76, 95.62), "avg": (91.56, 87.48, 92.09, 95.72)}
STRONG = ("APGD-CE", "APGD-T")
# Table 3 (CIFAR-10, PGD-20 / PGD-100 / MIM-20 / FGSM at 8/255): not reproduced here.
PAPER_TABLE3 = {"VGG16 max": (46.97, 45.69, 47.06, 50.46), "VGG16 avg": (48.25, 47.09, 48.91, 51.64),
                "WRN max": (53.08, 51.65, 53.94, 57.63), "WRN avg": (54.68, 52.59, 55.47, 59.92)}


def load_models() -> dict:
    """The chapter's three classifiers, label → model (eval mode)."""
    return {label: zoo.load(name).eval() for label, name in MODELS.items()}


def load_generators(label: str) -> dict:
    """The explanation generators of classifier ``label`` (``DIAGNOSED``), layer → generator."""
    if label not in DIAGNOSED:
        raise ValueError(f"label must be one of {', '.join(DIAGNOSED)}, got {label!r}")
    return {layer: zoo.load(generator_name(MODELS[label], layer)).eval() for layer in LAYERS}


def sample(per_class: int = PER_CLASS, seed: int = SEED):
    """The chapter's images: ``per_class`` of each digit, a seeded stratified draw from the bundled
    1,000 MNIST test images."""
    return stratified_sample("mnist", per_class, seed)


def pgd(model, steps: int = STEPS, seed: int = SEED):
    """PGD-``steps`` at L∞ ε = 0.3, step 0.01, one seeded random start (the paper's PGD-40)."""
    return attacks.PGD(model, eps=EPS, steps=steps, alpha=ALPHA, seed=seed, batch_size=250)


def explanations(generators: dict, x: torch.Tensor) -> dict:
    """Layer → the explanations x̂_i of images ``x`` (N×1×28×28)."""
    with torch.no_grad():
        return {layer: g(x) for layer, g in generators.items()}


def layer_predictions(model, generators: dict, x: torch.Tensor) -> np.ndarray:
    """N×L: the class the classifier gives the explanation of image n at layer l."""
    xs = explanations(generators, x)
    return np.stack([metrics.predict(model, xs[layer]).numpy() for layer in generators], 1)


def layer_outcomes(model, generators: dict, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """N×L booleans: is the explanation of image n at layer l classified as ``y[n]``?"""
    return layer_predictions(model, generators, x) == y.numpy()[:, None]


def vulnerability(outcomes: np.ndarray) -> np.ndarray:
    """Per image and layer, Zheng et al.'s Eq. (5) before averaging: 1 − correct at the first layer,
    correct at the previous layer − correct at this one after it; its mean over images is Vul_i."""
    o = outcomes.astype(float)
    return np.concatenate([1 - o[:, :1], o[:, :-1] - o[:, 1:]], 1)


def pooling_indices(model, x: torch.Tensor) -> dict:
    """Stage → the argmax positions of the 2×2 max-pooling windows (N×C×H×W) for images ``x``;
    read at the input of each pooling layer, pooled with ``return_indices``."""
    with torch.no_grad(), LayerProbe(model, [f"{s}.1" for s in POOLS], detach=True) as probe:
        probe.run(x)
        return {s: F.max_pool2d(probe[f"{s}.1"], 2, return_indices=True)[1] for s in POOLS}


def pooling_change(model, x: torch.Tensor, x_other: torch.Tensor) -> dict:
    """Stage → per image, the share of max-pooling windows whose argmax differs between ``x`` and
    ``x_other`` (every window of every channel)."""
    a, b = pooling_indices(model, x), pooling_indices(model, x_other)
    return {s: (a[s] != b[s]).flatten(1).float().mean(1).numpy() for s in POOLS}


def diagnose(label: str, model, generators: dict, x, y, x_adv=None, seed: int = SEED) -> dict:
    """Everything the chapter measures on one classifier: per-layer explanation outcomes for the
    clean, the PGD-40 and the sign-noise images, the adversarial predictions, the pooling changes."""
    t0 = time.perf_counter()
    if x_adv is None:
        x_adv = pgd(model, seed=seed)(x, y)
    noise = random_sign_noise(x, EPS, seed)
    pred_clean = metrics.predict(model, x).numpy()
    clean = layer_predictions(model, generators, x)
    out = {"label": label, "n": len(y), "y": y.numpy(), "x_adv": x_adv,
           "pred_clean": pred_clean, "pred_adv": metrics.predict(model, x_adv).numpy(),
           "pred_noise": metrics.predict(model, noise).numpy(),
           "clean": clean == y.numpy()[:, None], "adv": layer_outcomes(model, generators, x_adv, y),
           "noise": layer_outcomes(model, generators, noise, y),
           "agree_clean": clean == pred_clean[:, None],
           "pool_adv": pooling_change(model, x, x_adv) if model.pool == "max" else None,
           "pool_noise": pooling_change(model, x, noise) if model.pool == "max" else None}
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def run(per_class: int = PER_CLASS, seed: int = SEED) -> dict:
    """The chapter's live measurements: the diagnosis of both classifiers on the sample, and PGD-40
    on the average-pooling TRADES model (the live check of the record's Table 2 row)."""
    x, y = sample(per_class, seed)
    models = load_models()
    out: dict = {"x": x, "y": y, "models": models, "generators": {}, "diagnosis": {}}
    for label in DIAGNOSED:
        out["generators"][label] = load_generators(label)
        out["diagnosis"][label] = diagnose(label, models[label], out["generators"][label], x, y, seed=seed)
    avg = models["TRADES, avg pool"]
    out["live_pgd40"] = {"max": out["diagnosis"]["TRADES"]["pred_adv"] == y.numpy(),
                         "avg": (metrics.predict(avg, pgd(avg, seed=seed)(x, y)) == y).numpy()}
    return out


def generator_table() -> report.Table:
    """What the zoo's explanation generators do on clean digits (their manifest's evaluation on the
    bundled 1,000 test images): per layer, the share of explanations the classifier labels with the
    true class and with its own prediction on the image, and the mean absolute pixel difference
    between explanation and image."""
    t = report.Table(["layer", *[f"{lab}: right %" for lab in DIAGNOSED], *[f"{lab}: agrees %" for lab in DIAGNOSED],
                      "mean abs. diff."])
    for layer in LAYERS:
        ev = [zoo.entry(generator_name(MODELS[lab], layer))["evaluations"]["subset"] for lab in DIAGNOSED]
        t.add(layer, *[report.from_accuracy(e["explanation_accuracy"], e["n"]) for e in ev],
              *[f"{100 * e['explanation_agreement']:.1f}" for e in ev],
              " / ".join(f"{e['mean_abs_pixel_difference']:.2f}" for e in ev))
    return t


def examples(y: torch.Tensor, per_digit: int = 1, digits=tuple(range(10))) -> list[int]:
    """Positions in the sample of the first ``per_digit`` images of each digit in ``digits`` (the
    sample is already a seeded random draw)."""
    return [int(i) for d in digits for i in (y == d).nonzero()[:per_digit, 0]]


def explanation_figure(results: dict, label: str, idx, adversarial: bool = True):
    """The images ``idx`` of the sample (or their PGD-40 versions against ``label``'s classifier)
    and their explanations at every layer, each titled with the class the classifier gives it."""
    from ..plot import explanation_grid
    model, gens = results["models"][label], results["generators"][label]
    idx = list(idx)
    x = (results["diagnosis"][label]["x_adv"] if adversarial else results["x"])[idx]
    expl = explanations(gens, x)
    preds = {"input": metrics.predict(model, x), **{k: metrics.predict(model, v) for k, v in expl.items()}}
    what = "PGD-40" if adversarial else "clean"
    return explanation_grid(x, expl, preds, results["y"][idx], row_labels=[f"{what} {int(results['y'][i])}"
                                                                            for i in idx])


def _diagnosis(results: dict) -> dict:
    """Label → diagnosis, from ``run``'s output or from the diagnoses themselves."""
    return results["diagnosis"] if "diagnosis" in results else results


# -- tables ------------------------------------------------------------------------------------
def _pct(v: float) -> str:
    return f"{100 * v:+.1f}" if v < 0 else f"{100 * v:.1f}"


def table1(d: dict) -> report.Table:
    """Zheng et al.'s Table 1 for one classifier, one row per layer: Acc_i on the explanations of
    PGD-40 images (paper, ours with its interval), Vul_i (paper, ours with its bootstrap interval),
    and the control, Acc_i on the explanations of clean images."""
    label = d["label"]
    vul = vulnerability(d["adv"])
    t = report.Table(["layer", "paper Acc", "our Acc (PGD-40)", "paper Vul", "our Vul", "our Acc, clean"])
    for i, layer in enumerate(LAYERS):
        v = report.bootstrap_mean(100 * vul[:, i], seed=i)
        t.add(layer, PAPER_ACC[label][i], report.from_outcomes(d["adv"][:, i]), PAPER_VUL[label][i],
              f"{v:+.1f}", report.from_outcomes(d["clean"][:, i]))
    return t


def noise_table(results: dict) -> report.Table:
    """The control perturbation: Acc_i on explanations of images with random ±ε sign noise, beside
    PGD-40's, per classifier."""
    results = _diagnosis(results)
    t = report.Table(["layer", *[f"{lab}: PGD-40" for lab in DIAGNOSED], *[f"{lab}: sign noise" for lab in DIAGNOSED]])
    for i, layer in enumerate(LAYERS):
        t.add(layer, *[report.from_outcomes(results[lab]["adv"][:, i]) for lab in DIAGNOSED],
              *[report.from_outcomes(results[lab]["noise"][:, i]) for lab in DIAGNOSED])
    return t


def pooling_table(results: dict) -> report.Table:
    """Share of max-pooling windows whose argmax changes, PGD-40 against sign noise, per pooling
    stage and classifier (mean over images with a bootstrap interval), beside the paper's."""
    results = _diagnosis(results)
    t = report.Table(["pooling after", "paper (PGD-40)", *[f"{lab}: PGD-40" for lab in DIAGNOSED],
                      *[f"{lab}: noise" for lab in DIAGNOSED]])
    for j, s in enumerate(POOLS):
        t.add(s, PAPER_POOL_CHANGE[s],
              *[f"{report.bootstrap_mean(100 * results[lab]['pool_adv'][s], seed=j):.1f}" for lab in DIAGNOSED],
              *[f"{report.bootstrap_mean(100 * results[lab]['pool_noise'][s], seed=j):.1f}" for lab in DIAGNOSED])
    return t


def confusion(d: dict) -> np.ndarray:
    """10×10 counts: true class (rows) → class of the adversarial image (columns)."""
    m = np.zeros((10, 10), dtype=int)
    np.add.at(m, (d["y"], d["pred_adv"]), 1)
    return m


def misclass_rates(d: dict, true: int) -> dict:
    """Class → the share (Rate) of the adversarial images of class ``true`` predicted as it."""
    row = confusion(d)[true]
    return {c: report.rate(int(row[c]), int(row.sum())) for c in range(10)}


def misclass_table(results: dict) -> report.Table:
    """Where the paper's two examples go, per classifier: of the adversarial 0s, the share that
    becomes 6; of the 7s, the share that becomes 3; and the most common adversarial class."""
    results = _diagnosis(results)
    t = report.Table(["true class", "model", "paper", "our share to the paper's class", "most common here"])
    for true, (to, pct) in PAPER_MISCLASS.items():
        for lab in DIAGNOSED:
            r = misclass_rates(results[lab], true)
            best = max((c for c in r if c != true), key=lambda c: r[c].k)
            t.add(str(true), lab, f"{pct} % → {to}", r[to], f"{best}: {r[best]}")
    return t


# -- Table 2: the record ------------------------------------------------------------------------
def _attack(model, name: str, seed: int):
    import torchattacks
    if name == "FGSM":
        return attacks.FGSM(model, eps=EPS, batch_size=250)
    if name.startswith("PGD-"):
        return pgd(model, int(name[4:]), seed)
    if name == "MIM-40":
        return attacks.MIM(model, eps=EPS, steps=40, alpha=ALPHA, momentum=1.0, batch_size=250)
    if name == "APGD-CE":
        return torchattacks.APGD(model, eps=EPS, steps=APGD_STEPS, seed=seed, loss="ce")
    return torchattacks.APGDT(model, eps=EPS, steps=APGD_STEPS, seed=seed, n_classes=10)


def _correct(model, atk, x, y, batch: int = 250) -> np.ndarray:
    """Per image: classified correctly after ``atk``? An advlab attack gets every image in one call
    (it batches itself, one seeded random start for the whole sample, as ``run`` draws it); a
    torchattacks one ``batch`` at a time."""
    if isinstance(atk, attacks.Attack):
        return (metrics.predict(model, atk(x, y)) == y).numpy()
    out = []
    for i in range(0, len(x), batch):
        with torch.enable_grad():
            xa = atk(x[i:i + batch], y[i:i + batch])
        out.append(metrics.predict(model, xa) == y[i:i + batch])
    return torch.cat(out).numpy()


def build(per_class: int = PER_CLASS, seed: int = SEED, path: Path | None = RECORD) -> dict:
    """Per-image outcomes of both TRADES models under every Table 2 attack and the stronger ones, on
    the chapter's sample; written to ``path`` (None: not written). Returns the record."""
    t0 = time.perf_counter()
    x, y = sample(per_class, seed)
    models = load_models()
    record: dict = {"settings": {"eps": EPS, "alpha": ALPHA, "apgd_steps": APGD_STEPS, "seed": seed,
                                 "per_class": per_class,
                                 "models": {k: MODELS[k] for k in ("TRADES", "TRADES, avg pool")}},
                    "n": len(y), "outcomes": {}, "seconds": {}}
    for pool, label in (("max", "TRADES"), ("avg", "TRADES, avg pool")):
        model = models[label]
        with frozen_eval(model):
            record["outcomes"][pool] = {"clean": outcome_bits(metrics.predict(model, x) == y)}
            for name in (*TABLE2_ATTACKS, *STRONG):
                t1 = time.perf_counter()
                ok = _correct(model, _attack(model, name, seed), x, y)
                record["outcomes"][pool][name] = outcome_bits(ok)
                record["seconds"][f"{pool} {name}"] = round(time.perf_counter() - t1, 1)
                print(f"{pool} {name}: {ok.mean():.3f} ({record['seconds'][f'{pool} {name}']} s)", flush=True)
    record.update(total_seconds=round(time.perf_counter() - t0, 1), hardware=hardware(), torch=torch.__version__)
    if path is not None:
        Path(path).write_text(json.dumps(record, indent=1) + "\n")
    return record


def load(path: Path = RECORD) -> dict:
    """The recorded Table 2 outcomes (:func:`build`)."""
    return load_record(path, "ch07_layers")


def outcomes(record: dict, pool: str, attack: str) -> np.ndarray:
    """Per-image outcomes (bool) of the ``pool`` model under ``attack`` from the record."""
    return bits_outcomes(record["outcomes"][pool][attack])


def table2(record: dict) -> report.Table:
    """Zheng et al.'s Table 2 beside ours: accuracy of the max- and the average-pooling TRADES
    models under each attack, and avg − max paired on the images (McNemar)."""
    t = report.Table(["attack", "paper max / avg", "our max", "our avg", "avg − max (paired)"])
    for j, name in enumerate((*TABLE2_ATTACKS, *STRONG)):
        a, b = outcomes(record, "avg", name), outcomes(record, "max", name)
        paper = f"{PAPER_TABLE2['max'][j]} / {PAPER_TABLE2['avg'][j]}" if j < len(TABLE2_ATTACKS) else "–"
        t.add(name, paper, report.from_outcomes(b), report.from_outcomes(a), f"{report.mcnemar(a, b)}")
    worst = {p: np.logical_and.reduce([outcomes(record, p, k) for k in (*TABLE2_ATTACKS, *STRONG)])
             for p in ("max", "avg")}
    t.add("worst of all", "–", report.from_outcomes(worst["max"]), report.from_outcomes(worst["avg"]),
          f"{report.mcnemar(worst['avg'], worst['max'])}")
    return t


def live_check(record: dict, live: dict) -> report.Table:
    """The record's PGD-40 outcomes against PGD-40 run now on the same images, per model."""
    t = report.Table(["model", "recorded PGD-40", "live PGD-40", "images that agree"])
    for pool in ("max", "avg"):
        rec = outcomes(record, pool, "PGD-40")
        t.add(pool, report.from_outcomes(rec), report.from_outcomes(live[pool]),
              f"{int((rec == live[pool]).sum())} of {len(rec)}")
    return t


# -- claims ------------------------------------------------------------------------------------
CLAIMS = (
    ("perturbations act layer by layer: explanations of adversarial digits are right more often at "
     "conv1 than at fc3", "Acc_conv1 − Acc_fc3 on PGD-40 images (McNemar)",
     "the same for sign noise ±ε"),
    ("vulnerability concentrates at conv1, conv2, conv4 and fc1 (the layers losing information)",
     "mean Vul of those four − mean Vul of conv3, fc2, fc3 (bootstrap)", "–"),
    ("the max-pooling layers are the vulnerable convolutional layers", "mean Vul of conv2 and conv4 (pooling) − "
     "Vul of conv3, the convolution between them (bootstrap)", "–"),
    ("adversarial training keeps every layer's explanations right", "Acc_i(TRADES) − Acc_i(natural) "
     "at every layer (McNemar)", "Acc_i on clean images"),
    ("PGD-40 changes many max-pooling indices", "changed share, PGD-40 − sign noise, both pooling layers "
     "(bootstrap)", "sign noise ±ε"),
    ("the adversarial 0s mostly become 6, the 7s 3", "the paper's class above every other class "
     "(Wilson intervals)", "–"),
    ("average pooling is more robust than max pooling after adversarial training",
     "avg − max at every attack of Table 2 and APGD (McNemar)", "same recipe, seed and data"),
)


def claim_verdicts(results: dict, record: dict) -> list[dict]:
    """One dict per claim of ``CLAIMS``: classifier label → verdict (claim 6: the key "TRADES")."""
    results = _diagnosis(results)
    out: list[dict] = [{} for _ in CLAIMS]
    last = len(LAYERS) - 1
    for lab in DIAGNOSED:
        d = results[lab]
        out[0][lab] = report.verdict(report.mcnemar(d["adv"][:, 0], d["adv"][:, last]), ">")
        vul = vulnerability(d["adv"])
        hit = [LAYERS.index(k) for k in PAPER_VULNERABLE]
        rest = [i for i in range(len(LAYERS)) if i not in hit]
        out[1][lab] = report.sign_verdict(report.bootstrap_mean(vul[:, hit].mean(1) - vul[:, rest].mean(1)), ">")
        pools = [LAYERS.index(k) for k in POOLS]
        out[2][lab] = report.sign_verdict(report.bootstrap_mean(vul[:, pools].mean(1) - vul[:, LAYERS.index("conv3")]),
                                          ">")
        out[4][lab] = report.every(report.sign_verdict(report.bootstrap_mean(d["pool_adv"][s] - d["pool_noise"][s]),
                                                        ">") for s in POOLS)
        parts = []
        for true, (to, _) in PAPER_MISCLASS.items():
            r = misclass_rates(d, true)
            parts += [report.verdict((r[to], r[c]), ">") for c in range(10) if c not in (true, to)]
        out[5][lab] = report.every(parts)
    nat, at = results["natural"], results["TRADES"]
    out[3]["TRADES"] = report.every(report.verdict(report.mcnemar(at["adv"][:, i], nat["adv"][:, i]), ">")
                                    for i in range(len(LAYERS)))
    out[6]["TRADES"] = report.every(report.verdict(report.mcnemar(outcomes(record, "avg", k),
                                                                  outcomes(record, "max", k)), ">")
                                    for k in (*TABLE2_ATTACKS, *STRONG))
    return out


def claims_table(results: dict, record: dict) -> report.Table:
    """The paper's claims, how each is tested here, the control, and the verdict per classifier."""
    verdicts = claim_verdicts(results, record)
    t = report.Table(["claim (Zheng et al.)", "tested here as", "control", *DIAGNOSED])
    for (claim, test, control), v in zip(CLAIMS, verdicts):
        t.add(claim, test, control, *[v.get(lab, "–") for lab in DIAGNOSED])
    return report.claims.register(7, "Zheng et al.: layer-by-layer diagnosis with InterpretGAN", t)


def reading(results: dict, record: dict) -> str:
    """The results in words, generated from them (one paragraph per classifier, one on pooling)."""
    results = _diagnosis(results)
    verdicts = claim_verdicts(results, record)
    lines = []
    for lab in DIAGNOSED:
        d = results[lab]
        acc = [report.from_outcomes(d["adv"][:, i]) for i in range(len(LAYERS))]
        vul = vulnerability(d["adv"]).mean(0)
        top = [LAYERS[i] for i in np.argsort(-vul)[:4]]
        clean = min(report.from_outcomes(d["clean"][:, i]).value for i in range(len(LAYERS)))
        lines.append(
            f"* **{lab}**: the classifier gets {report.from_outcomes(d['pred_adv'] == d['y'])} % of the PGD-40 "
            f"images right. Its explanations of them are classified correctly {acc[0]} % of the time at conv1 and "
            f"{acc[-1]} % at fc3 (claim 1: {verdicts[0][lab]}); the largest drops are at "
            f"{', '.join(top)} (claim 2: {verdicts[1][lab]}; the pooling layers against conv3, claim 3: "
            f"{verdicts[2][lab]}). On clean images every layer's explanations are "
            f"right at least {100 * clean:.1f} % of the time, so the drops are the attack's, not the generators'.")
    m, a = (outcomes(record, p, "PGD-100") for p in ("max", "avg"))
    lines.append(
        f"* **Pooling**: under PGD-100 the max-pooling TRADES model keeps {report.from_outcomes(m)} %, the "
        f"average-pooling one {report.from_outcomes(a)} % (paper: {PAPER_TABLE2['max'][1]} and "
        f"{PAPER_TABLE2['avg'][1]}); over all six attacks the claim that average pooling is more robust "
        f"{verdicts[6]['TRADES']}.")
    return "\n".join(lines)


def verdict_counts(results: dict, record: dict) -> dict:
    """How many claim × classifier cells hold, do not hold, or cannot tell."""
    cells = [v for d in claim_verdicts(results, record) for v in d.values()]
    return {k: cells.count(k) for k in (HOLDS, DOES_NOT_HOLD, CANNOT_TELL)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Record chapter 7's Table 2 (max vs average pooling).")
    parser.add_argument("--out", type=Path, default=RECORD)
    parser.add_argument("--per-class", type=int, default=PER_CLASS)
    args = parser.parse_args(argv)
    build(args.per_class, SEED, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
