"""Chapter 5, interpretable deep learning under fire (Zhang et al., USENIX Security 2020): ADV²
fools a CIFAR-10 ResNet-8 *and* its interpreter, and feature squeezing tries to catch it.

The four interpreters, one per family of the paper: GRAD (gradient saliency, back-propagation
guided), CAM (representation guided), MASK (meaningful perturbation, perturbation guided) and RTS
(a real-time saliency network trained for our classifier, model guided; the zoo's ``cifar_rts``).

The attacks (targeted, L∞ ε = 8/255, ``STEPS`` steps of 1/255 from a random start, toward a seeded
random class): PGD, and ADV² against each interpreter: PGD on
−(CE(f(x′), t) + λ·mean((ĝ(x′; t) − ĝ(x; y))²)) (``advlab.attacks.objectives.ADV2``, the benign map
as the target map), with the paper's adjustments: GRAD is attacked through a smooth-ReLU copy of
the model (a ReLU network's input gradient has zero second derivative), MASK through a look-ahead
of its mask optimisation (the map after ``MASK_LOOKAHEAD`` steps from the benign mask, on the
graph), RTS directly (its map is a network's output). ADV²* adds the squeezers' scores to the
objective (the adaptive attacker of the paper's Table 4); the ensemble ADV² averages the map terms
of all four interpreters (the paper's first defence, attacked adaptively).

Everything is measured once on a seeded, class-stratified sample of the bundled test images (the
images the model classifies correctly), by ``python -m advlab.studies.ch05_under_fire`` (about
``RECORD_MINUTES`` minutes on 2 CPU cores), and recorded in ``advlab/_data/ch05_under_fire.json``
with its settings, timing and hardware; the chapter reads the record and re-measures CAM's rows
on a smaller seeded sample live (:func:`live_check`).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from .. import attacks, interpret, metrics, models, report, squeeze, zoo
from ..attacks.objectives import ADV2
from ..core.maps import normalize
from ..zoo.training import hardware
from . import common

MODEL, EXPLAINER = "cifar_resnet8", "cifar_rts"
SEED = 0
PER_CLASS = 10             # evaluation images per class (those classified correctly are attacked)
EPS, ALPHA, STEPS = 8 / 255, 1 / 255, 20   # 20 steps of 1/255: PGD and ADV² get the same budget
INTERPRETERS = ("GRAD", "CAM", "MASK", "RTS")
LAM = {"GRAD": 50.0, "CAM": 50.0, "MASK": 50.0, "RTS": 50.0, "ensemble": 50.0}
SQUEEZE_WEIGHT = 5.0       # weight of the squeezers' scores in ADV²*
SMOOTH_BETA = 10.0         # softplus β of the smooth-ReLU copy GRAD is attacked through
MASK_LOOKAHEAD = 5
TOP = 0.2                  # IoU of the top 20 % of the pixels
RECORD = Path(__file__).resolve().parents[1] / "_data" / "ch05_under_fire.json"
RECORD_MINUTES = 15

#: Table 3 (ResNet-50, ImageNet): attack success rate and misclassification confidence
PAPER_TABLE3 = {"PGD": (1.00, 1.00), "GRAD": (1.00, 0.99), "CAM": (1.00, 1.00), "MASK": (0.98, 0.99),
                "RTS": (1.00, 1.00)}
#: Table 9 (ResNet): L1 distance between adversarial and benign maps, row = attack, column = interpreter
PAPER_TABLE9 = {"GRAD": (0.04, 0.24, 0.22, 0.24), "CAM": (0.09, 0.05, 0.18, 0.13), "MASK": (0.12, 0.34, 0.09, 0.74),
                "RTS": (0.10, 0.17, 0.20, 0.01), "PGD": (0.10, 0.22, 0.28, 0.22)}
#: Table 4: detection rate (%) by feature squeezing at 5 % false positives
PAPER_TABLE4 = {"2-bit": {"PGD": 92.3, "MASK-A": 84.1, "RTS-A": 94.0, "MASK-A*": 11.7, "RTS-A*": 29.4},
                "3-bit": {"PGD": 72.7, "MASK-A": 89.2, "RTS-A": 88.3, "MASK-A*": 35.9, "RTS-A*": 13.9},
                "median 3×3": {"PGD": 97.3, "MASK-A": 98.6, "RTS-A": 99.0, "MASK-A*": 16.5, "RTS-A*": 3.4},
                "non-local means": {"PGD": 52.3, "MASK-A": 74.7, "RTS-A": 75.3, "MASK-A*": 51.7, "RTS-A*": 29.4}}


# ---------------------------------------------------------------- models, interpreters, attacks

def load_models():
    """The classifier and the RTS explainer trained for it."""
    return zoo.load(MODEL), zoo.load(EXPLAINER)


def interpreter(name: str, model, explainer=None):
    """One of the four interpreters as the chapter reads it (maps of the real model); RTS needs the
    ``explainer``."""
    from ..core import checks
    checks.choice(name, "interpreter", INTERPRETERS)
    if name == "GRAD":
        return interpret.Saliency(model)
    if name == "CAM":
        return interpret.CAM(model)
    if name == "MASK":
        return interpret.MeaningfulPerturbation(model)
    return interpret.RTS(model, explainer)


def interpreters(model, explainer) -> dict:
    """The four interpreters as the chapter reads them, name → interpreter."""
    return {k: interpreter(k, model, explainer) for k in INTERPRETERS}


def attack_interpreter(name: str, model, explainer):
    """The interpreter ADV² differentiates through (module docstring)."""
    if name == "GRAD":
        return interpret.Saliency(models.smooth_relu(model, SMOOTH_BETA))
    if name == "MASK":
        return interpret.MeaningfulPerturbation(model, lookahead=MASK_LOOKAHEAD)
    return interpreter(name, model, explainer)


def benign_maps(interps: dict, x: torch.Tensor, y: torch.Tensor) -> dict:
    """Each interpreter's normalised map of the clean images for their classes."""
    return {k: normalize(it(x, y)) for k, it in interps.items()}


class Adaptive:
    """ADV²* (chapter 5): ADV²'s objective minus ``weight`` × the sum of the detector's squeezer
    scores (straight-through where a squeezer has no gradient), so the attack also keeps the
    squeezed images' predictions where the unsqueezed one is."""
    __name__ = "adv2_adaptive"

    def __init__(self, adv2: ADV2, detector, weight: float = SQUEEZE_WEIGHT):
        self.adv2, self.detector, self.weight = adv2, detector, float(weight)

    def prepare(self, model, x, y):
        base = self.adv2.prepare(model, x, y)

        def loss(x_adv):
            scores = self.detector.differentiable_score(x_adv)
            return base(x_adv) - self.weight * sum(v for k, v in scores.items() if k != squeeze.JOINT)
        return loss

    def __call__(self, model, x_adv, x, y):
        return self.prepare(model, x, y)(x_adv)


def make_attack(model, name: str, explainer=None, seed: int = SEED, detector=None):
    """``"PGD"``, ``"ADV2-<interpreter>"``, ``"ADV2*-<interpreter>"`` (needs the fitted ``detector``)
    or ``"ADV2-ensemble"``, bound to ``model`` (targeted: call it with target classes)."""
    loss: ADV2 | Adaptive | None = None
    if name != "PGD":
        kind, which = name.split("-", 1)
        if which == "ensemble":
            loss = ADV2([attack_interpreter(k, model, explainer) for k in INTERPRETERS], lam=LAM["ensemble"])
        else:
            loss = ADV2(attack_interpreter(which, model, explainer), lam=LAM[which])
        if kind == "ADV2*":
            if detector is None:
                raise ValueError(f"attack {name!r} needs a fitted squeeze.Detector (detector=...)")
            loss = Adaptive(loss, detector)
    return attacks.PGD(model, eps=EPS, steps=STEPS, alpha=ALPHA, targeted=True, loss=loss, seed=seed)


ATTACKS = ("PGD", *[f"ADV2-{k}" for k in INTERPRETERS], "ADV2*-MASK", "ADV2*-RTS", "ADV2-ensemble")


# ---------------------------------------------------------------- measuring

def measure(model, interps: dict, benign: dict, x, t, x_adv, detector=None) -> dict:
    """Per image: success (reaches t), the target's probability, and per interpreter the L1
    distance (maps normalised to [0, 1], mean over pixels) and the top-20 % IoU between the map of
    ``x_adv`` for t and the benign map; with a ``detector``, each squeezer's flag."""
    with torch.no_grad():
        p = torch.softmax(model(x_adv), 1)
    k = round(TOP * x.shape[-1] * x.shape[-2])
    out = {"success": (p.argmax(1) == t).tolist(), "confidence": p[torch.arange(len(t)), t].tolist(),
           "l1": {}, "iou": {}}
    for name, it in interps.items():
        m = normalize(it(x_adv, t))
        out["l1"][name] = metrics.l1_distance(m, benign[name]).tolist()
        out["iou"][name] = metrics.topk_iou(m, benign[name], k).tolist()
    if detector is not None:
        out["detected"] = {k: v.tolist() for k, v in detector.detect(x_adv).items()}
    return out


def samples(seed: int = SEED, per_class: int = PER_CLASS):
    """``(x_cal, (x, y))``: a seeded, class-stratified sample of the bundled CIFAR-10 test images
    (``per_class`` of each class) and the other bundled images, which calibrate the detector."""
    from .. import data
    ds = data.subset("cifar10")
    idx = common.stratified_indices(ds.y, per_class, seed)
    rest = torch.ones(len(ds.y), dtype=torch.bool)
    rest[idx] = False
    return ds.x[rest], (ds.x[idx], ds.y[idx])


def targets(y: torch.Tensor, seed: int = SEED) -> torch.Tensor:
    """A seeded random target class per image, never its own (``common.random_targets``)."""
    return common.random_targets(y, seed)


def build(per_class: int = PER_CLASS, seed: int = SEED, names=ATTACKS, path: Path | None = RECORD) -> dict:
    """Run every attack of ``names`` on the sample and measure it (:func:`measure`); write the record
    to ``path`` (None: do not write). Returns the record."""
    t0 = time.perf_counter()
    model, explainer = load_models()
    interps = interpreters(model, explainer)
    xc, (x, y) = samples(seed, per_class)
    keep = metrics.predict(model, x) == y
    x, y = x[keep], y[keep]
    t = targets(y, seed)
    detector = squeeze.Detector(model, squeeze.TABLE4, fpr=0.05).fit(xc)
    benign = benign_maps(interps, x, y)
    record: dict = {"settings": {"model": MODEL, "explainer": EXPLAINER, "eps": EPS, "alpha": ALPHA, "steps": STEPS,
                                 "lam": LAM, "squeeze_weight": SQUEEZE_WEIGHT, "smooth_beta": SMOOTH_BETA,
                                 "mask_lookahead": MASK_LOOKAHEAD, "top": TOP, "seed": seed, "per_class": per_class,
                                 "squeezers": list(squeeze.TABLE4), "calibration": len(xc)},
                    "n": len(y),
                    "sample": f"{per_class} per class, seeded; the {len(y)} the model classifies correctly",
                    "clean": {"detected": {k: v.tolist() for k, v in detector.detect(x).items()}},
                    "attacks": {}, "seconds": {}}
    for name in names:
        t1 = time.perf_counter()
        x_adv = make_attack(model, name, explainer, seed, detector)(x, t)
        record["attacks"][name] = measure(model, interps, benign, x, t, x_adv, detector)
        record["seconds"][name] = round(time.perf_counter() - t1, 1)
        print(f"{name}: {record['seconds'][name]} s", flush=True)
    record.update(total_seconds=round(time.perf_counter() - t0, 1), hardware=hardware(),
                  torch=torch.__version__)
    if path is not None:
        Path(path).write_text(json.dumps(record, indent=1) + "\n")
    return record


def load(path: Path = RECORD) -> dict:
    """The recorded results (:func:`build`)."""
    return common.load_record(path, "ch05_under_fire")


# ---------------------------------------------------------------- tables

def _t(v) -> torch.Tensor:
    return torch.tensor(v, dtype=torch.float64)


def table3(record: dict) -> report.Table:
    """Attack success rate (Wilson 95 %) and mean confidence of the target class (bootstrap 95 %),
    PGD and ADV² against each interpreter, beside the paper's Table 3."""
    table = report.Table(["attack", "ASR, % (ours)", "confidence (ours)", "ASR, % (paper)", "confidence (paper)"])
    for name in ("PGD", *[f"ADV2-{k}" for k in INTERPRETERS]):
        r = record["attacks"][name]
        paper = PAPER_TABLE3["PGD" if name == "PGD" else name.split("-", 1)[1]]
        table.add(name, report.from_outcomes(_t(r["success"]).bool()),
                  format(report.bootstrap_mean(_t(r["confidence"]), SEED), ".2f"), 100 * paper[0], f"{paper[1]:.2f}")
    return table


def distance_table(record: dict) -> report.Table:
    """Per interpreter: L1 and IoU of the adversarial map against the benign map under PGD and under
    ADV² against that interpreter (bootstrap means), and the paired verdict "ADV²'s map is closer"."""
    table = report.Table(["interpreter", "L1, PGD", "L1, ADV²", "IoU, PGD", "IoU, ADV²", "ADV² closer (L1)?"])
    pgd = record["attacks"]["PGD"]
    for k in INTERPRETERS:
        a = record["attacks"][f"ADV2-{k}"]
        diff = report.bootstrap_mean(_t(a["l1"][k]) - _t(pgd["l1"][k]), SEED)
        table.add(k, *[format(report.bootstrap_mean(_t(r[m][k]), SEED), ".3f") for m in ("l1",) for r in (pgd, a)],
                  *[format(report.bootstrap_mean(_t(r["iou"][k]), SEED), ".2f") for r in (pgd, a)],
                  report.sign_verdict(diff, "<"))
    return table


def transfer_table(record: dict) -> report.Table:
    """Table 9 at our scale: mean L1 (bootstrap interval) between the benign map and the map of each
    attack's adversarial images (rows) under each interpreter (columns), the paper's value after."""
    table = report.Table(["attack ↓ / interpreter →", *INTERPRETERS])
    for row in (*INTERPRETERS, "PGD"):
        r = record["attacks"]["PGD" if row == "PGD" else f"ADV2-{row}"]
        table.add(row if row == "PGD" else f"ADV² vs {row}",
                  *[f"{report.bootstrap_mean(_t(r['l1'][k]), SEED):.2f} ({p:.2f})"
                    for k, p in zip(INTERPRETERS, PAPER_TABLE9[row])])
    return table


def squeeze_table(record: dict) -> report.Table:
    """Table 4 at our scale: detection rate (Wilson 95 %) per squeezer at 5 % false positives on
    clean images, for PGD, ADV² and ADV²* against MASK and RTS; the paper's value in brackets."""
    cols = {"PGD": "PGD", "ADV2-MASK": "MASK-A", "ADV2-RTS": "RTS-A", "ADV2*-MASK": "MASK-A*", "ADV2*-RTS": "RTS-A*"}
    table = report.Table(["squeezer", "clean (false positives)", *[f"{v}" for v in cols.values()]])
    for s, paper_name in zip(squeeze.TABLE4, PAPER_TABLE4):
        cells: list = [report.from_outcomes(_t(record["clean"]["detected"][s]).bool())]
        for name, short in cols.items():
            rate = report.from_outcomes(_t(record["attacks"][name]["detected"][s]).bool())
            cells.append(f"{rate} ({PAPER_TABLE4[paper_name][short]:.1f})")
        table.add(s, *cells)
    return table


def ensemble_table(record: dict) -> report.Table:
    """The ensemble defence: ASR and the worst (largest) L1 over the four interpreters, for ADV²
    against one interpreter (the best of the four for the attacker) and ADV² against all four."""
    table = report.Table(["attack", "ASR, %", "worst L1 over the 4 interpreters", "mean L1 over the 4"])
    for name in (*[f"ADV2-{k}" for k in INTERPRETERS], "ADV2-ensemble"):
        r = record["attacks"][name]
        l1 = torch.stack([_t(r["l1"][k]) for k in INTERPRETERS])
        table.add(name, report.from_outcomes(_t(r["success"]).bool()),
                  format(report.bootstrap_mean(l1.max(0).values, SEED), ".3f"),
                  format(report.bootstrap_mean(l1.mean(0), SEED), ".3f"))
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m advlab.studies.ch05_under_fire",
                                     description="Measure chapter 5's attacks and record them.")
    parser.add_argument("--per-class", type=int, default=PER_CLASS)
    parser.add_argument("--out", type=Path, default=RECORD)
    parser.add_argument("--attacks", nargs="+", default=list(ATTACKS), choices=ATTACKS)
    args = parser.parse_args(argv)
    build(args.per_class, SEED, args.attacks, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


# ---------------------------------------------------------------- claims

CLAIMS = [
    ("ADV² fools the classifier as often as PGD does",
     "ASR of ADV² equal to PGD's within 5 points (paired, per interpreter)"),
    ("ADV²'s adversarial maps stay close to the benign maps, PGD's do not",
     "L1 to the benign map smaller under ADV² than under PGD (paired bootstrap, per interpreter)"),
    ("ADV² transfers poorly across interpreters",
     "under each interpreter, ADV² against it keeps the map closer than ADV² against any other one"),
    ("Feature squeezing catches basic ADV², not the adaptive ADV²*",
     "for every squeezer that flags basic ADV² more often than clean images (Wilson intervals apart), "
     "ADV²* is flagged less often than ADV² (McNemar; against MASK and RTS)"),
    ("An ensemble of interpreters makes ADV² harder",
     "the worst of the 4 L1s under ADV² against the ensemble above the L1 ADV² against one "
     "interpreter leaves on that interpreter (paired, averaged over the 4)"),
]


def claim_verdicts(record: dict) -> list:
    """One computed verdict per claim of :data:`CLAIMS`."""
    a = record["attacks"]
    ok = {k: _t(v["success"]) for k, v in a.items()}
    out = [report.every([report.verdict(report.mcnemar(ok[f"ADV2-{k}"], ok["PGD"]), "=", tolerance=0.05)
                         for k in INTERPRETERS])]
    out.append(report.every([report.sign_verdict(report.bootstrap_mean(_t(a[f"ADV2-{k}"]["l1"][k])
                                                                       - _t(a["PGD"]["l1"][k]), SEED), "<")
                             for k in INTERPRETERS]))
    parts = []
    for k in INTERPRETERS:
        own = _t(a[f"ADV2-{k}"]["l1"][k])
        parts += [report.sign_verdict(report.bootstrap_mean(own - _t(a[f"ADV2-{r}"]["l1"][k]), SEED), "<")
                  for r in INTERPRETERS if r != k]
    out.append(report.every(parts))
    parts = []
    for k in ("MASK", "RTS"):
        for s in squeeze.TABLE4:
            basic = _t(a[f"ADV2-{k}"]["detected"][s])
            clean = report.from_outcomes(_t(record["clean"]["detected"][s]).bool())
            if report.verdict((report.from_outcomes(basic.bool()), clean), ">") != report.HOLDS:
                continue   # a squeezer that does not catch basic ADV² cannot show an evasion
            parts.append(report.verdict(report.mcnemar(_t(a[f"ADV2*-{k}"]["detected"][s]), basic), "<"))
    out.append(report.every(parts) if parts else report.CANNOT_TELL)
    worst = torch.stack([_t(a["ADV2-ensemble"]["l1"][k]) for k in INTERPRETERS]).max(0).values
    own = torch.stack([_t(a[f"ADV2-{k}"]["l1"][k]) for k in INTERPRETERS]).mean(0)
    out.append(report.sign_verdict(report.bootstrap_mean(worst - own, SEED), ">"))
    return out


def claims_table(record: dict) -> report.Table:
    """The paper's claims, how each is tested here, and the computed verdict."""
    table = report.Table(["claim (Zhang et al.)", "tested here as", "verdict"])
    for (claim, test), v in zip(CLAIMS, claim_verdicts(record)):
        table.add(claim, test, v)
    return report.claims.register(5, "Zhang et al.: ADV² fools the classifier and its interpreter", table)


def reading(record: dict) -> str:
    """The record in words, generated from it."""
    a = record["attacks"]
    asr = {k: report.from_outcomes(_t(v["success"]).bool()) for k, v in a.items()}
    l1 = {k: {i: report.bootstrap_mean(_t(v["l1"][i]), SEED) for i in INTERPRETERS} for k, v in a.items()}
    lines = [f"* On {record['n']} images, PGD reaches the target for {asr['PGD']} % of them; ADV² for "
             + ", ".join(f"{asr[f'ADV2-{k}']} % against {k}" for k in INTERPRETERS) + "."]
    lines.append("* Mean L1 between the attacked and the benign map, PGD → ADV²: "
                 + "; ".join(f"{k} {l1['PGD'][k]:.3f} → {l1[f'ADV2-{k}'][k]:.3f}" for k in INTERPRETERS) + ".")
    det = {k: {s: report.from_outcomes(_t(a[k]["detected"][s]).bool()) for s in squeeze.TABLE4}
           for k in ("PGD", "ADV2-RTS", "ADV2*-RTS")}
    best = max(squeeze.TABLE4, key=lambda s: det["PGD"][s].value)
    lines.append(f"* The best squeezer against PGD, {best}, flags {det['PGD'][best]} % of PGD's images, "
                 f"{det['ADV2-RTS'][best]} % of ADV²'s against RTS and {det['ADV2*-RTS'][best]} % of the "
                 "adaptive ADV²*'s.")
    verdicts = claim_verdicts(record)
    lines.append("* Verdicts: " + "; ".join(f"claim {i + 1}: {v}" for i, v in enumerate(verdicts)) + ".")
    return "\n".join(lines)


def live_check(model, explainer, per_class: int = 5, record: dict | None = None) -> report.Table:
    """Rerun PGD and ADV² against CAM on the first ``per_class`` evaluation images of each class (a
    subset of the recorded sample) and set the live mean L1 and ASR beside the record's on the same
    images. The random starts differ (they are drawn per batch), so single images differ a little;
    "agree" when the paired bootstrap interval of live − record contains 0."""
    record = record or load()
    interps = {"CAM": interpret.CAM(model)}
    _, (x, y) = samples(SEED, per_class)
    _, (x_all, y_all) = samples(SEED, record["settings"]["per_class"])
    keep_all = metrics.predict(model, x_all) == y_all
    # the recorded row of each live image: its position among the recorded kept images
    pos = torch.cumsum(keep_all.long(), 0) - 1
    per = record["settings"]["per_class"]
    live_rows = torch.cat([torch.arange(c * per, c * per + per_class) for c in range(10)])
    keep = keep_all[live_rows]
    rows = pos[live_rows][keep]
    x, y = x[keep], y[keep]
    t = targets(y_all[keep_all], SEED)[rows]
    benign = benign_maps(interps, x, y)
    table = report.Table(["attack", "images", "ASR, % (live)", "ASR, % (record)", "L1 CAM (live)", "L1 CAM (record)",
                          "live − record (L1)", "agree?"])
    for name in ("PGD", "ADV2-CAM"):
        live = measure(model, interps, benign, x, t, make_attack(model, name, explainer)(x, t))
        rec = record["attacks"][name]
        rec_l1 = _t(rec["l1"]["CAM"])[rows]
        diff = report.bootstrap_mean(_t(live["l1"]["CAM"]) - rec_l1, SEED)
        table.add(name, len(x), report.from_outcomes(_t(live["success"]).bool()),
                  report.from_outcomes(_t(rec["success"])[rows].bool()),
                  format(report.bootstrap_mean(_t(live["l1"]["CAM"]), SEED), ".3f"),
                  format(report.bootstrap_mean(rec_l1, SEED), ".3f"), format(diff, "+.3f"),
                  "yes" if diff.low <= 0 <= diff.high else "no")
    return table
