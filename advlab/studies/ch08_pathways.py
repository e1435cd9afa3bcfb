"""Chapter 8, attack pathways (after Bluff; Das et al., VIS 2020): what a targeted attack does to
the channels that carry the benign class and the target class, layer by layer, as ε grows, on
a standard and an adversarially trained ResNet-8, for two class pairs.

Definitions (measured on clean images, before any attack):

* the *benign pathway* of a layer: the channels among the top ``SHARE`` of the layer by mean
  activation on the benign class's images but not among the top ``SHARE`` for the target class's
  images (Bluff's green channels);
* the *attack pathway*: the reverse, top for the target class but not for the benign class (the
  blue channels an attack toward the target has to excite).

Per layer and ε we report the mean activation of each pathway on the attacked benign images
(mean over the pathway's channels and positions, then over images, with a bootstrap 95 %
interval over images), and where the adversarial images' activation pattern (the vector of
channel means, averaged over images) turns closer in cosine to the target class's pattern than to
the benign class's: the first layer where the gap cos(adv, target) − cos(adv, benign), bootstrapped
over the adversarial images, is above zero with 95 % confidence. Bluff's own claims are about
InceptionV1 on ImageNet (its demo's five cases); what of them can be tested on a CIFAR-10
ResNet-8 is tested, the rest is said to be out of reach.

>>> results = al.studies.ch08_pathways.run()            # ≈ 45 s on 2 CPU cores
>>> al.studies.ch08_pathways.activation_table(results)
"""
from __future__ import annotations

import torch

from .. import attacks, data, interpret, report, zoo
from ..core import activations, checks

#: the two models compared (label → zoo name): one trunk, standard vs PGD-trained
MODELS = {"standard": "cifar_resnet8", "robust (PGD L∞ 8/255)": "cifar_resnet8_pgd_linf8"}
#: (benign class, target class): two pairs of look-alike classes, the targets an attack reaches
#: most easily, one of animals and one of vehicles
PAIRS = [("cat", "dog"), ("automobile", "truck")]
#: attack strengths, in units of 1/255 (0: clean)
EPS = (0, 1, 2, 4, 8)
STEPS = 10            # targeted PGD steps; step size 2.5·ε/steps (advlab's default), random start
N = 20                # benign images (and target-class images) per pair, a seeded sample
SHARE = 0.25          # the top quarter of a layer's channels counts as important
SEED = 0
#: Bluff's observations as the course slides and the paper's demo present them (InceptionV1,
#: ImageNet); each is tested here as the claim in the second field, or marked untestable (None).
PAPER = [
    ("as the attack strengthens, the benign class's pathway is suppressed",
     "benign pathway activation at the largest ε below ε = 0, at every layer that has benign-pathway channels"),
    ("as the attack strengthens, the target class's pathway is excited",
     "attack pathway activation at the largest ε above ε = 0, at every layer that has attack-pathway channels"),
    ("the adversarial images' activations follow the benign class in early layers and the "
     "target class in later ones", "at the largest ε a separation layer exists and it is not the first layer"),
    ("attacks hijack specific neurons in InceptionV1's mixed layers (e.g. mixed4) on ImageNet", None),
]


def class_index(name: str) -> int:
    """CIFAR-10 class index of ``name``."""
    names = list(data.CLASSES["cifar10"])
    checks.choice(name, "class", names)
    return names.index(name)


def sample(cls: str, n: int = N, seed: int = SEED, exclude: int = 0) -> torch.Tensor:
    """``n`` images of class ``cls`` from the bundled 1,000 CIFAR-10 test images, a seeded
    random choice (``exclude`` skips the first images of that permutation)."""
    ds = data.subset("cifar10")
    idx = (ds.y == class_index(cls)).nonzero().flatten()
    n = checks.number(n, "n", 1, len(idx) - exclude, integer=True)
    perm = torch.randperm(len(idx), generator=torch.Generator().manual_seed(checks.seed(seed)))
    return ds.x[idx[perm[exclude:exclude + n]]]


def pathway_channels(model, layers, benign: torch.Tensor, target: torch.Tensor, share: float = SHARE) -> dict:
    """Layer → ``{"benign": indices, "attack": indices}`` from the clean images (module docstring),
    through :func:`advlab.interpret.pathways` (its "benign" and "target" groups)."""
    pw = interpret.pathways(model, benign, target, benign, layers=layers, share=share, connections=0)
    return {layer: {"benign": [c["channel"] for c in cs if c["group"] == "benign"],
                    "attack": [c["channel"] for c in cs if c["group"] == "target"]}
            for layer, cs in pw.channels.items()}


def _layer_means(model, x: torch.Tensor, layers) -> dict:
    with torch.no_grad():
        return {k: v.flatten(2).mean(2) for k, v in activations(model, x, layers).items()}


def measure(model, benign_class: str, target_class: str, n: int = N, eps_values=EPS, steps: int = STEPS,
            seed: int = SEED, share: float = SHARE) -> dict:
    """One model and one class pair: targeted PGD (``steps`` steps, seeded) at each ε of
    ``eps_values`` (units of 1/255) on ``n`` seeded benign images, toward ``target_class``.

    Returns ``{"layers", "channels" (see :func:`pathway_channels`), "eps", "success"
    (Rate of images classified as the target, per ε), "benign"/"attack" (layer → N×E per-image
    pathway means), "gap" (layer → N×E per-image cos(adv, target) − cos(adv, benign), each
    image's channel-mean vector against the class patterns), "n"}``."""
    xb = sample(benign_class, n, seed)
    xt = sample(target_class, n, seed)
    layers = interpret.pathway_layers(model)
    channels = pathway_channels(model, layers, xb, xt, share)
    ref_b, ref_t = _layer_means(model, xb, layers), _layer_means(model, xt, layers)
    t = class_index(target_class)
    y_t = torch.full((len(xb),), t)
    out: dict = {"layers": layers, "channels": channels, "eps": list(eps_values), "success": [], "n": len(xb),
                 "benign": {k: [] for k in layers}, "attack": {k: [] for k in layers}, "gap": {k: [] for k in layers}}
    for e in eps_values:
        x = xb
        if e > 0:
            atk = attacks.make("pgd", model, eps=e / 255, steps=steps, targeted=True, seed=seed)
            x = atk(xb, y_t).detach()
        with torch.no_grad():
            out["success"].append(report.from_outcomes(model(x).argmax(1) == t))
        means = _layer_means(model, x, layers)
        for k in layers:
            m = means[k]
            for name in ("benign", "attack"):
                idx = channels[k][name]
                out[name][k].append(m[:, idx].mean(1) if idx else torch.full((len(m),), float("nan")))
            cos = torch.nn.functional.cosine_similarity
            out["gap"][k].append(cos(m, ref_t[k].mean(0, keepdim=True)) - cos(m, ref_b[k].mean(0, keepdim=True)))
    for name in ("benign", "attack", "gap"):
        out[name] = {k: torch.stack(v, 1) for k, v in out[name].items()}
    return out


def run(n: int = N, eps_values=EPS, steps: int = STEPS, seed: int = SEED, models: dict | None = None,
        pairs=None) -> dict:
    """:func:`measure` for every model and pair: ``{(model label, "cat→dog"): result}``.
    ``models``: label → model (default: the zoo's :data:`MODELS`)."""
    models = models if models is not None else {label: zoo.load(name) for label, name in MODELS.items()}
    return {(label, f"{b}→{t}"): measure(m, b, t, n, eps_values, steps, seed)
            for label, m in models.items() for b, t in (pairs or PAIRS)}


def _mean(v: torch.Tensor, seed: int = SEED):
    return "—" if torch.isnan(v).any() else report.bootstrap_mean(v, seed)


def activation_table(results: dict) -> report.Table:
    """Per model, pair and layer: the benign and attack pathways' mean activation from the
    smallest to the largest ε (bootstrap 95 % intervals over images) and the computed verdicts of
    "the benign pathway falls" and "the attack pathway rises" (paired: per-image change)."""
    any_r = next(iter(results.values()))
    e0, e1 = any_r["eps"][0], any_r["eps"][-1]
    table = report.Table(["model", "pair", "layer", "channels (benign / attack)",
                          f"benign pathway, ε = {e0} → {e1}/255", "falls?",
                          f"attack pathway, ε = {e0} → {e1}/255", "rises?"])
    for (label, pair), r in results.items():
        for k in r["layers"]:
            b, a = r["benign"][k], r["attack"][k]
            nb, na = len(r["channels"][k]["benign"]), len(r["channels"][k]["attack"])
            fall = "—" if not nb else report.sign_verdict(report.bootstrap_mean(b[:, -1] - b[:, 0]), "<")
            rise = "—" if not na else report.sign_verdict(report.bootstrap_mean(a[:, -1] - a[:, 0]), ">")
            table.add(label, pair, k, f"{nb} / {na}", _change(b), fall, _change(a), rise)
    return table


def _change(v: torch.Tensor) -> str:
    """``"0.77 [0.66, 0.88] → 0.61 [0.57, 0.66]"``: a pathway's mean at the first and the last ε."""
    return "—" if torch.isnan(v).any() else f"{_mean(v[:, 0])} → {_mean(v[:, -1])}"


def separation_layer(result: dict, i: int) -> str | None:
    """The first layer at ε index ``i`` where the adversarial images are closer to the target
    class's pattern with 95 % confidence (bootstrap interval of the mean gap above 0), or None."""
    for k in result["layers"]:
        if report.bootstrap_mean(result["gap"][k][:, i]).low > 0:
            return k
    return None


def separation_table(results: dict) -> report.Table:
    """Per model, pair and ε: the targeted attack's success rate (Wilson interval), the cosine
    gap at the last layer (bootstrap interval) and the first layer where the adversarial
    images' pattern is closer to the target class than to the benign class."""
    table = report.Table(["model", "pair", "ε (/255)", "reaches the target, %", "gap at the last layer",
                          "first layer closer to the target"])
    for (label, pair), r in results.items():
        last = r["layers"][-1]
        for i, e in enumerate(r["eps"]):
            table.add(label, pair, e, r["success"][i], format(report.bootstrap_mean(r["gap"][last][:, i]), "+.3f"),
                      separation_layer(r, i) or "none")
    return table


def claims_table(results: dict) -> report.Table:
    """Bluff's observations (:data:`PAPER`) beside our computed verdicts, per model and pair."""
    table = report.Table(["Bluff (InceptionV1, ImageNet)", "tested here as", *[f"{m}, {p}" for m, p in results]])
    for claim, test in PAPER:
        if test is None:
            table.add(claim, "not testable at our scale (no InceptionV1 / ImageNet)", *["—"] * len(results))
            continue
        cells = []
        for r in results.values():
            if test.startswith("benign"):
                cells.append(report.every([report.sign_verdict(report.bootstrap_mean(v[:, -1] - v[:, 0]), "<")
                                           for v in r["benign"].values() if not torch.isnan(v).any()]))
            elif test.startswith("attack"):
                cells.append(report.every([report.sign_verdict(report.bootstrap_mean(v[:, -1] - v[:, 0]), ">")
                                           for v in r["attack"].values() if not torch.isnan(v).any()]))
            else:
                layer = separation_layer(r, len(r["eps"]) - 1)
                cells.append(report.HOLDS if layer not in (None, r["layers"][0]) else
                             report.DOES_NOT_HOLD if layer == r["layers"][0] else report.CANNOT_TELL)
        table.add(claim, test, *cells)
    return report.claims.register(8, "Das et al. (Bluff): attack pathways", table)


def reading(results: dict) -> str:
    """The measured observation in words, one line per model and pair, generated from ``results``:
    the last layer's benign and attack pathways from the clean images to the largest ε (bootstrap
    95 % intervals, verdicts of "falls" / "rises" on the paired per-image change), the targeted
    success rate, and the first layer where the attacked images turn closer to the target class."""
    lines = []
    for (label, pair), r in results.items():
        last, e = r["layers"][-1], r["eps"][-1]
        parts = [f"{label}, {pair}, ε = {e}/255: the attack reaches the target for {r['success'][-1]} % of the images"]
        for name, claim, word in (("benign", "<", "falls"), ("attack", ">", "rises")):
            v = r[name][last]
            if torch.isnan(v).any():
                parts.append(f"no {name}-pathway channels in `{last}`")
                continue
            verdict = report.sign_verdict(report.bootstrap_mean(v[:, -1] - v[:, 0]), claim)
            parts.append(f"in `{last}` the {name} pathway goes from {_mean(v[:, 0])} to {_mean(v[:, -1])} "
                         f"(\"it {word}\": {verdict})")
        layer = separation_layer(r, len(r["eps"]) - 1)
        parts.append(f"the attacked images are closer to the target class from `{layer}` on" if layer else
                     "at no layer are the attacked images closer to the target class (95 % confidence)")
        lines.append("* " + "; ".join(parts) + ".")
    return "\n".join(lines)
