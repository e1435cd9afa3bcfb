"""Chapter 6, what a perturbation does inside (after Xu et al., 2019, "Interpreting Adversarial
Examples by Activation Promotion and Suppression"): the paper's four claims tested on a standard
and an adversarially trained CIFAR-10 ResNet-8 (one trunk; the zoo's ``cifar_resnet8`` and
``cifar_resnet8_pgd_linf8``).

The samples: a seeded, class-stratified draw from the bundled 1,000 CIFAR-10 test images (the
first 1,000 of the test set): 30 of each class, of which the first 10 per class *calibrate* (pick
the units the defence masks) and the other 20 per class (200 images) *evaluate* everything.
Targets: for each image a seeded random class other than its label. Claims 1–3 attack the
evaluation images each model classifies correctly (an attack on a misclassified image shows
nothing about how a correct decision is overturned); claim 4 measures accuracy on all 200.

1. **Promotion and suppression** (:func:`pse_study`): targeted FGSM, PGD, Carlini–Wagner L2 and
   a group-sparse PGD (L2, ε = 0.5) toward the targets; for every adversarial example that reaches its target,
   the suppression of the true class and the promotion of the target (centred logits, split
   exactly over the last layer's 64 units; ``advlab.interpret.promotion``) and its type by the
   stated rule. Control: random ±ε noise of the same L∞ size.
2. **Image level** (:func:`region_study`): the share of the perturbation's energy (Σδ²) inside
   the CAM regions of the true and the target class (top ``AREA`` of each class map, their union)
   against the same region shifted elsewhere in the image (same area and shape); then a PGD
   confined to the CAM regions against one confined to the shifted region.
3. **Network dissection** (:func:`dissection_study`): each unit's interpretability (its best IoU
   with a concept of the offline probe set, ``advlab.interpret.dissect``) against its sensitivity
   to PGD (mean |Δ activation| / std), Spearman's ρ with a bootstrap interval over units, and the
   same for random noise (the control).
4. **A defence from the interpretation** (:func:`defence_study`): mask the ``UNITS`` most
   PGD-sensitive units of the last layer (chosen on the calibration images), against masking as
   many random units; clean accuracy and accuracy under PGD run against the masked model itself.

>>> results = al.studies.ch06_promotion.run()    # the whole chapter, ≈ 1 min on 2 CPU cores
>>> al.studies.ch06_promotion.claims_table(results)
"""
from __future__ import annotations

import torch

from .. import attacks, data, interpret, metrics, models, report, zoo
from ..core import checks
from . import common

#: the two models compared (label → zoo name)
MODELS = {"standard": "cifar_resnet8", "robust (PGD L∞ 8/255)": "cifar_resnet8_pgd_linf8"}
SEED = 0
PER_CLASS = 20        # evaluation images per class (200 in all)
CALIBRATION = 10      # calibration images per class, disjoint from the evaluation images
EPS = 8 / 255         # L∞ budget of the bounded attacks
STEPS = 10            # PGD steps (step 2.5·ε/steps, random start)
CW = {"c": 1.0, "steps": 50, "binary_steps": 4, "lr": 0.01}   # Carlini–Wagner L2 settings
GROUP = {"group": 2, "norm": "l2"}   # group-sparse PGD: 2×2 pixel groups, advlab's default λ (0.05)
GROUP_EPS = 0.5       # its L2 budget: under L∞ every sign step grows each group alike and no group stays zero
AREA = 0.2            # the share of pixels kept from each class's CAM
LAYER = "features"    # the last convolutional stage (64 units at 8×8)
DISSECT_LAYERS = ("features.1", "features.2")   # the last two stages (32 and 64 units)
UNITS = 8             # units the defence masks (1/8 of the last layer)
DEFENCE_EPS = {"standard": (1, 2, 4), "robust (PGD L∞ 8/255)": (4, 8)}   # in 1/255
RATIO = 2.0           # "dominated": one effect at least twice the other
MIN_SHARE = 0.05      # a type "occurs" when it is at least 5 % of the adversarial examples
ATTACK_NAMES = ("FGSM", "PGD-10", "CW-L2", "group PGD")
#: the attacks whose energy share tests claim 2: the L2 ones choose where to spend their budget;
#: an L∞ sign step moves (almost) every pixel by the same amount, so its share is about the
#: region's area whatever the region (FGSM exactly; PGD-10's row is shown, not tested)
ENERGY_ATTACKS = ("CW-L2", "group PGD")

#: the paper's four claims (issue summary of arXiv 1904.02057), how each is tested here
CLAIMS = [
    ("Perturbations suppress the true class and promote the target; adversarial examples fall into "
     "three types: suppression-dominated, promotion-dominated, balanced",
     "per attack: mean suppression and promotion above the noise control; each type ≥ 5 % of the "
     "examples under some attack", "random ±ε noise"),
    ("The perturbation concentrates in the CAM regions of the true and the target class; CAM can "
     "guide the attack", "energy share of the L2 attacks (CW, group PGD) in the CAM regions above the "
     "shifted region's; CAM-confined "
     "PGD succeeds more often than PGD confined to the shifted region",
     "the same region shifted (same area and shape)"),
    ("Units' sensitivity to attacks is tightly connected with their interpretability",
     "Spearman ρ(sensitivity to PGD, best IoU) > 0 and above ρ for noise", "sensitivity to random ±ε noise"),
    ("The interpretation suggests a defence: mask the most attack-sensitive units",
     "accuracy under PGD (against the masked model) above masking random units, at every ε",
     f"{UNITS} random units masked"),
]


# ---------------------------------------------------------------- samples and models

def samples(seed: int = SEED, per_class: int = PER_CLASS, calibration: int = CALIBRATION):
    """``((x_cal, y_cal), (x, y))``: disjoint seeded, class-stratified samples of the bundled
    CIFAR-10 test images (module docstring)."""
    ds = data.subset("cifar10")
    per_class = checks.number(per_class, "per_class", 1, 60, integer=True)
    calibration = checks.number(calibration, "calibration", 1, 30, integer=True)
    idx = common.stratified_indices(ds.y, per_class + calibration, seed).view(10, -1)
    cal, ev = idx[:, :calibration].flatten(), idx[:, calibration:].flatten()
    return (ds.x[cal], ds.y[cal]), (ds.x[ev], ds.y[ev])


def targets(y: torch.Tensor, seed: int = SEED) -> torch.Tensor:
    """A seeded random target class for each label, never the label itself (``common.random_targets``)."""
    return common.random_targets(y, seed)


def load_models() -> dict:
    """The chapter's models, label → model (eval mode)."""
    return {label: zoo.load(name) for label, name in MODELS.items()}


def make_attacks(model, eps: float = EPS, seed: int = SEED) -> dict:
    """The four targeted attacks of claim 1, name → attack bound to ``model``."""
    return {"FGSM": attacks.FGSM(model, eps=eps, targeted=True),
            "PGD-10": attacks.PGD(model, eps=eps, steps=STEPS, targeted=True, seed=seed),
            "CW-L2": attacks.CW(model, targeted=True, **CW),
            "group PGD": attacks.GroupPGD(model, eps=GROUP_EPS, steps=STEPS, targeted=True, seed=seed, **GROUP)}


# ---------------------------------------------------------------- claim 1: promotion and suppression

def pse_study(model, x: torch.Tensor, y: torch.Tensor, t: torch.Tensor, eps: float = EPS,
              seed: int = SEED) -> dict:
    """Claim 1 on one model: for each attack of :func:`make_attacks` and the noise control,
    ``{"x_adv", "success" (bool, N), "pse" (PSE over all N images), "l2", "linf" (norms, N)}``."""
    out = {}
    runs = dict(make_attacks(model, eps, seed))
    for name, atk in runs.items():
        out[name] = _outcome(model, x, y, t, atk(x, t).detach())
    out["noise"] = _outcome(model, x, y, t, common.random_sign_noise(x, eps, seed))
    return out


def _outcome(model, x, y, t, x_adv) -> dict:
    pred = metrics.predict(model, x_adv)
    d = (x_adv - x).flatten(1)
    return {"x_adv": x_adv, "success": pred == t, "pse": interpret.promotion_suppression(model, x, x_adv, y, t, RATIO),
            "l2": d.norm(dim=1), "linf": d.abs().amax(1)}


def type_rates(run: dict) -> dict:
    """Among the examples that reached their target: each type's share (a Rate)."""
    kinds = [k for k, ok in zip(run["pse"].kind, run["success"].tolist()) if ok]
    return {t: report.rate(sum(k == t for k in kinds), len(kinds)) if kinds else None
            for t in interpret.PSE_TYPES}


def pse_table(results: dict) -> report.Table:
    """Claim 1: per model and attack, the success rate, and the mean suppression and promotion of
    the successful examples (bootstrap intervals; noise: of every image)."""
    table = report.Table(["model", "attack", "reaches target, %", "median ‖δ‖₂", "suppression", "promotion"])
    for label, r in results["pse"].items():
        for name, run in r.items():
            ok = run["success"] if name != "noise" else torch.ones_like(run["success"])
            if not ok.any():
                table.add(label, name, report.from_outcomes(run["success"]), "–", "–", "–")
                continue
            s, p = run["pse"].suppression[ok], run["pse"].promotion[ok]
            table.add(label, name if name != "noise" else "random ±ε noise (control)",
                      report.from_outcomes(run["success"]), f"{run['l2'][ok].median():.2f}", _mean(s), _mean(p))
    return table


def type_table(results: dict) -> report.Table:
    """Claim 1: per model and attack, the share of each type among the examples that reached their
    target (Wilson intervals)."""
    table = report.Table(["model", "attack", "examples", *[f"{t}, %" for t in interpret.PSE_TYPES]])
    for label, r in results["pse"].items():
        for name in ATTACK_NAMES:
            shares = type_rates(r[name])
            table.add(label, name, int(r[name]["success"].sum()),
                      *[shares[t] if shares[t] is not None else "–" for t in interpret.PSE_TYPES])
    return table


def _mean(v) -> str:
    return format(report.bootstrap_mean(v, SEED), ".2f") if len(v) else "–"


def pse_verdicts(r: dict) -> dict:
    """Claim 1's verdicts on one model: per attack, "suppression above noise" and "promotion
    above noise" (paired bootstrap of the per-image difference, over the successful examples),
    and "three types occur" over all attacks."""
    out: dict = {}
    noise = r["noise"]["pse"]
    for name in ATTACK_NAMES:
        ok = r[name]["success"]
        if int(ok.sum()) < 2:
            out[name] = {"suppression": report.CANNOT_TELL, "promotion": report.CANNOT_TELL}
            continue
        pse = r[name]["pse"]
        out[name] = {k: report.sign_verdict(report.bootstrap_mean(getattr(pse, k)[ok] - getattr(noise, k)[ok], SEED))
                     for k in ("suppression", "promotion")}
    shares = [type_rates(r[name]) for name in ATTACK_NAMES]
    parts = []
    for t in interpret.PSE_TYPES:
        rates = [s[t] for s in shares if s[t] is not None]
        parts.append(report.HOLDS if any(q.low >= MIN_SHARE for q in rates) else
                     report.DOES_NOT_HOLD if rates and all(q.high < MIN_SHARE for q in rates) else report.CANNOT_TELL)
    out["three types"] = report.every(parts)
    return out


# ---------------------------------------------------------------- claim 2: image level

def energy_share(x: torch.Tensor, x_adv: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per image, the share of Σδ² (over pixels and channels) inside ``mask`` (N×1×H×W)."""
    e = ((x_adv - x) ** 2).sum(1, keepdim=True)
    return (e * mask).flatten(1).sum(1) / e.flatten(1).sum(1).clamp_min(1e-20)


def region_study(model, x, y, t, pse_runs: dict, eps: float = EPS, seed: int = SEED) -> dict:
    """Claim 2 on one model: the CAM regions (true ∪ target) and the shifted control region,
    the energy share of each attack's perturbation in both, and PGD confined to each region
    (and unconfined) toward the targets: ``{"mask", "shifted", "share": {attack: (cam, shifted)},
    "guided": {region: {"success", "l2"}}}``."""
    cam = attacks.RegionPGD(model, eps=eps, steps=STEPS, targeted=True, region="cam", area=AREA, seed=seed)
    rnd = attacks.RegionPGD(model, eps=eps, steps=STEPS, targeted=True, region="random", area=AREA, seed=seed)
    m_cam, m_rnd = cam.masks(x, t), rnd.masks(x, t)
    share = {name: (energy_share(x, pse_runs[name]["x_adv"], m_cam), energy_share(x, pse_runs[name]["x_adv"], m_rnd))
             for name in ATTACK_NAMES if name != "FGSM"}
    guided = {}
    for region in ("full", "cam", "random"):
        atk = attacks.RegionPGD(model, eps=eps, steps=STEPS, targeted=True, region=region, area=AREA, seed=seed)
        xa = atk(x, t)
        guided[region] = {"success": metrics.predict(model, xa) == t, "l2": (xa - x).flatten(1).norm(dim=1)}
    return {"mask": m_cam, "shifted": m_rnd, "area": float(m_cam.mean()), "share": share, "guided": guided}


def region_table(results: dict) -> report.Table:
    """Claim 2: energy share of each attack's perturbation in the CAM regions vs the shifted
    region (paired bootstrap), then CAM-confined vs shifted-region PGD (McNemar), per model."""
    table = report.Table(["model", "measure", "CAM regions", "shifted region (control)", "difference", "verdict"])
    for label, r in results["region"].items():
        for name, (a, b) in r["share"].items():
            diff = report.bootstrap_mean(a - b, SEED)
            verdict = report.sign_verdict(diff) if name in ENERGY_ATTACKS else "not a test (L∞: share ≈ area)"
            table.add(label, f"energy share of {name}, %", _pct(a), _pct(b), f"{100 * diff.value:+.1f} "
                      f"[{100 * diff.low:+.1f}, {100 * diff.high:+.1f}]", verdict)
        g = r["guided"]
        test = report.mcnemar(g["cam"]["success"], g["random"]["success"])
        full = report.from_outcomes(g["full"]["success"])
        table.add(label, f"confined PGD reaches the target, % (unconfined: {full})",
                  report.from_outcomes(g["cam"]["success"]), report.from_outcomes(g["random"]["success"]),
                  format(test), report.verdict(test, ">"))
    return table


def _pct(v) -> str:
    m = report.bootstrap_mean(v, SEED)
    return f"{100 * m.value:.1f} [{100 * m.low:.1f}, {100 * m.high:.1f}]"


# ---------------------------------------------------------------- claim 3: dissection

def dissection_study(model, x, x_adv, eps: float = EPS, seed: int = SEED, probe=None) -> dict:
    """Claim 3 on one model: per layer of :data:`DISSECT_LAYERS`, the dissection, each unit's
    sensitivity to ``x_adv`` (the attack) and to random ±ε noise, and the correlations."""
    noise = common.random_sign_noise(x, eps, seed)
    out = {}
    for layer in DISSECT_LAYERS:
        dis = interpret.dissect(model, layer, probe=probe)
        best = dis.iou.max(1).values
        s_atk = interpret.unit_sensitivity(model, layer, x, x_adv)
        s_noise = interpret.unit_sensitivity(model, layer, x, noise)
        out[layer] = {"dissection": dis, "best_iou": best, "attack": s_atk, "noise": s_noise,
                      "rho": report.correlation(best, s_atk, seed),
                      "rho_noise": report.correlation(best, s_noise, seed),
                      "difference": report.correlation_difference(best, s_atk, s_noise, seed)}
    return out


def dissection_table(results: dict) -> report.Table:
    """Claim 3: per model and layer, interpretable units, ρ(best IoU, sensitivity) for PGD and for
    noise (bootstrap intervals over units), their difference and the verdict."""
    table = report.Table(["model", "layer", "units", "interpretable (IoU > 0.04)", "ρ with PGD sensitivity",
                          "ρ with noise sensitivity", "PGD − noise", "verdict"])
    for label, r in results["dissection"].items():
        for layer, d in r.items():
            v = report.every([report.sign_verdict(d["rho"]), report.sign_verdict(d["difference"])])
            table.add(label, f"`{layer}`", len(d["best_iou"]), int(d["dissection"].interpretable.sum()),
                      d["rho"], d["rho_noise"], format(d["difference"], "+.2f"), v)
    return table


# ---------------------------------------------------------------- claim 4: the defence

def sensitive_units(model, x, y, eps: float = EPS, layer: str = LAYER, seed: int = SEED) -> torch.Tensor:
    """Units of ``layer`` ordered from the most to the least sensitive to untargeted PGD on the
    (calibration) images ``x``."""
    xa = attacks.PGD(model, eps=eps, steps=STEPS, seed=seed)(x, y)
    return interpret.unit_sensitivity(model, layer, x, xa).argsort(descending=True)


def defence_study(model, calibration, x, y, eps_values, units: int = UNITS, seed: int = SEED) -> dict:
    """Claim 4 on one model: mask the ``units`` most sensitive units (chosen on ``calibration``,
    ``(x_cal, y_cal)``, with PGD at the largest ε) or as many seeded random units, and measure
    clean accuracy and accuracy under PGD-10 against each masked model at each ε (in 1/255):
    ``{"channels": {variant: list}, "correct": {variant: {eps: bool per image}}}``."""
    x_cal, y_cal = calibration
    order = sensitive_units(model, x_cal, y_cal, eps=max(eps_values) / 255, seed=seed)
    k = model.fc.in_features
    channels = {"none": [], "sensitive": order[:units].tolist(),
                "random": torch.randperm(k, generator=torch.Generator().manual_seed(seed))[:units].tolist()}
    correct: dict = {}
    for variant, chans in channels.items():
        m = models.mask_units(model, LAYER, chans)
        correct[variant] = {0: metrics.correct(m, x, y)}
        for e in eps_values:
            correct[variant][e] = metrics.correct(m, x, y, attacks.PGD(m, eps=e / 255, steps=STEPS, seed=seed))
    return {"channels": channels, "correct": correct}


def defence_table(results: dict) -> report.Table:
    """Claim 4: per model and ε, accuracy with nothing masked, the sensitive units masked and
    random units masked (Wilson intervals), McNemar of sensitive vs random, and the verdict."""
    table = report.Table(["model", "ε (/255)", "nothing masked, %", f"{UNITS} most sensitive masked, %",
                          f"{UNITS} random masked, %", "sensitive − random", "verdict"])
    for label, r in results["defence"].items():
        c = r["correct"]
        for e in c["none"]:
            test = report.mcnemar(c["sensitive"][e], c["random"][e])
            accs = [report.from_outcomes(c[v][e]) for v in ("none", "sensitive", "random")]
            table.add(label, "clean" if e == 0 else e, *accs,
                      format(test), report.verdict(test, "<" if e == 0 else ">"))
    return table


# ---------------------------------------------------------------- the whole chapter

def run(seed: int = SEED, per_class: int = PER_CLASS, models_: dict | None = None, probe=None) -> dict:
    """Every experiment of the chapter on both models: ``{"pse", "region", "dissection",
    "defence"}``, each label → that study's result, plus the samples (``x``, ``y``, targets ``t``)
    and ``kept`` (label → the images the model classifies correctly: claims 1–3 attack those;
    the defence measures accuracy on all of them)."""
    models_ = models_ if models_ is not None else load_models()
    calibration, (x, y) = samples(seed, per_class)
    t = targets(y, seed)
    out: dict = {"x": x, "y": y, "t": t, "kept": {}, "pse": {}, "region": {}, "dissection": {}, "defence": {}}
    for label, model in models_.items():
        keep = out["kept"][label] = metrics.predict(model, x) == y   # attack what the model gets right
        xk, yk, tk = x[keep], y[keep], t[keep]
        r = out["pse"][label] = pse_study(model, xk, yk, tk, seed=seed)
        out["region"][label] = region_study(model, xk, yk, tk, r, seed=seed)
        out["dissection"][label] = dissection_study(model, xk, r["PGD-10"]["x_adv"], seed=seed, probe=probe)
        out["defence"][label] = defence_study(model, calibration, x, y, DEFENCE_EPS.get(label, (4, 8)),
                                              seed=seed)
    return out


def claim_verdicts(results: dict) -> dict:
    """Per claim (index into :data:`CLAIMS`) and model: the computed verdict."""
    out: dict = {i: {} for i in range(len(CLAIMS))}
    for label in results["pse"]:
        v = pse_verdicts(results["pse"][label])
        out[0][label] = report.every([v["three types"], *[v[a][k] for a in ATTACK_NAMES
                                                          for k in ("suppression", "promotion")]])
        r = results["region"][label]
        parts = [report.sign_verdict(report.bootstrap_mean(a - b, SEED)) for name, (a, b) in r["share"].items()
                 if name in ENERGY_ATTACKS]
        g = r["guided"]
        parts.append(report.verdict(report.mcnemar(g["cam"]["success"], g["random"]["success"]), ">"))
        out[1][label] = report.every(parts)
        out[2][label] = report.every([report.sign_verdict(d[k]) for d in results["dissection"][label].values()
                                      for k in ("rho", "difference")])
        c = results["defence"][label]["correct"]
        out[3][label] = report.every([report.verdict(report.mcnemar(c["sensitive"][e], c["random"][e]), ">")
                                      for e in c["none"] if e != 0])
    return out


def claims_table(results: dict) -> report.Table:
    """Xu et al.'s four claims, how each is tested, the control, and the verdict per model."""
    verdicts = claim_verdicts(results)
    labels = list(results["pse"])
    table = report.Table(["claim (Xu et al.)", "tested here as", "control", *labels])
    for i, (claim, test, control) in enumerate(CLAIMS):
        table.add(claim, test, control, *[verdicts[i][m] for m in labels])
    return report.claims.register(6, "Xu et al.: promotion and suppression", table)


def reading(results: dict) -> str:
    """The measured results in words, one paragraph per model, generated from ``results``."""
    verdicts = claim_verdicts(results)
    lines = []
    for label in results["pse"]:
        r = results["pse"][label]
        parts = []
        for name in ATTACK_NAMES:
            rates = type_rates(r[name])
            n = int(r[name]["success"].sum())
            if not n:
                parts.append(f"{name} reaches no target")
                continue
            kind, share = max(((t, q) for t, q in rates.items() if q is not None), key=lambda tq: tq[1].value)
            parts.append(f"{name} reaches {n} targets, mostly {kind} ({share} %)")
        reg = results["region"][label]
        cam, shifted = reg["share"]["PGD-10"]
        g = reg["guided"]
        d = results["dissection"][label][DISSECT_LAYERS[-1]]
        c = results["defence"][label]["correct"]
        e = max(k for k in c["none"] if k != 0)
        lines.append(
            f"* **{label}**: " + "; ".join(parts) + f" (claim 1: {verdicts[0][label]}). "
            f"PGD-10 puts {_pct(cam)} % of its energy into the CAM regions, which cover "
            f"{100 * reg['area']:.0f} % of the pixels, and {_pct(shifted)} % into the shifted region; PGD confined "
            f"to the CAM regions reaches {report.from_outcomes(g['cam']['success'])} % of the targets, confined to "
            f"the shifted region {report.from_outcomes(g['random']['success'])} % (claim 2: {verdicts[1][label]}). "
            f"In `{DISSECT_LAYERS[-1]}`, ρ(best IoU, PGD sensitivity) = {d['rho']} against {d['rho_noise']} for "
            f"noise (claim 3: {verdicts[2][label]}). Masking the {UNITS} most sensitive units gives "
            f"{report.from_outcomes(c['sensitive'][e])} % under PGD at ε = {e}/255, masking {UNITS} random units "
            f"{report.from_outcomes(c['random'][e])} %, nothing masked {report.from_outcomes(c['none'][e])} % "
            f"(claim 4: {verdicts[3][label]}).")
    return "\n".join(lines)
