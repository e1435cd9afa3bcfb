"""ActivationShift (chapter 6): one image attacked toward a target class; which units of the last
layer the perturbation promotes and suppresses (with their concept labels from the dissection),
and where the perturbation sits relative to the CAM regions of the true and the target class."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import attacks, interpret
from ..core import activations, checks
from ..core.discrepancy import class_maps
from ..models import fold_batchnorm
from ..plot import image_kwargs, to_hwc
from . import controls as C
from . import examples
from .controls import eps_label
from .upload import UploadPanel

#: the L∞ attacks on offer (Carlini–Wagner is unbounded and the group-sparse PGD works under L2:
#: the chapter's tables show both)
ATTACKS = ("fgsm", "pgd", "mim")
EPS_VALUES = tuple(i / 255 for i in (0, 1, 2, 4, 8, 12, 16))
BARS = 6   # units shown: the most changed, by |Δ activation|
AREA = 0.2


@dataclass
class ShiftState:
    source: str
    model: str
    attack: str
    eps: float
    x: torch.Tensor          # C×H×W
    x_adv: torch.Tensor      # C×H×W
    y: int                   # true class (your image: the clean prediction)
    target: int
    pred: int
    pred_adv: int
    suppression: float
    promotion: float
    kind: str                # the PSE type (meaningful when the attack reaches the target)
    units: list              # the BARS units with the largest |Δā|, largest first
    change: list             # their Δā
    labels: list             # "u17 · blue"
    maps: torch.Tensor       # 4×h×w: most promoted unit clean / attacked, most suppressed clean / attacked
    map_units: tuple         # (promoted unit, suppressed unit) or None entries
    region: torch.Tensor     # H×W bool: the CAM regions of y and the target
    delta: torch.Tensor      # H×W |δ| summed over channels
    share: float             # share of Σδ² inside the region
    area: float              # the region's share of the pixels
    title: str               # model, image, target and attack: unchanged as ε moves
    outcome: str             # ε and whether the target was reached
    line: str                # suppression and promotion
    verdict: str             # the example's type


class ActivationShift(UploadPanel):
    """Chapter 6: what a targeted attack does inside (after Xu et al., 2019).

    One image (``index``, or your own picture) is attacked toward ``target`` with ``attack``
    (FGSM, PGD-``steps`` or MIM-``steps``) at ``eps``. Left: the clean and the attacked image,
    and |δ| with the CAM regions of the true and the target class outlined (the top 20 % of each
    class's CAM on the clean image) and the share of the perturbation's energy inside them. Right:
    the units of the last layer the attack changed most (bars of Δ mean activation: promoted up,
    suppressed down, labelled with their dissection concept when ``concepts`` is given), and the
    activation maps of the most promoted and the most suppressed unit, clean beside attacked.
    Below: the suppression of the true class, the promotion of the target (centred logits,
    ``advlab.interpret.promotion``) and the example's type.

    Controls (attributes): ``model``, ``index``, ``target``, ``attack``, ``eps`` / ``eps_text``,
    ``upload`` / ``use_upload``. ``concepts``: model name → one label per unit (e.g. from
    ``advlab.interpret.dissect(...).best``), optional.

    >>> panel = ActivationShift.from_zoo()
    """

    CHAPTER = 6

    def __init__(self, models, images, labels, classes=None, eps=8 / 255, steps=10, concepts=None,
                 cache_size=256):
        if isinstance(models, torch.nn.Module):
            models = {"model": models}
        self.models = C.check_models(models, 8)
        self.bind_data(next(iter(self.models.values())), images, labels, classes)
        self._init = self.check_arguments(eps=eps, steps=steps)
        self.nets = {k: fold_batchnorm(m) for k, m in self.models.items()}
        self.units = {}
        for k, net in self.nets.items():
            try:
                with torch.no_grad():
                    class_maps(net, self.images[:1])
                self.units[k] = net.fc.in_features
            except ValueError as err:
                raise ValueError(f"models[{k!r}]: {err}") from None
        self.concepts = self._check_concepts(concepts)
        super().__init__(cache_size)

    def _check_concepts(self, concepts) -> dict:
        if concepts is None:
            return {}
        if not isinstance(concepts, dict):
            raise ValueError(f"concepts must be a dict model name -> list of unit labels, "
                             f"got {type(concepts).__name__}")
        for k, labels in concepts.items():
            checks.choice(k, "concepts key", self.models)
            if len(labels) != self.units[k]:
                raise ValueError(f"concepts[{k!r}] must label {self.units[k]} units, got {len(labels)}")
        return {k: [str(v) for v in labels] for k, labels in concepts.items()}

    def ranges(self):
        return {**super().ranges(), "eps": C.eps_range(self.images.shape[1] == 3),
                "steps": C.Range(1, C.MAX_STEPS, integer=True)}

    @classmethod
    def from_zoo(cls, n_images: int = 100, concepts=None, **kwargs):
        """The chapter's two ResNet-8s (``advlab.studies.ch06_promotion.MODELS``) on the first
        ``n_images`` of the bundled CIFAR-10 subset."""
        from .. import data, zoo
        from ..studies.ch06_promotion import MODELS
        d = data.subset("cifar10", n_images)
        return cls({n: zoo.load(z) for n, z in MODELS.items()}, d.x, d.y, classes=data.CLASSES["cifar10"],
                   concepts=concepts, **kwargs)

    @classmethod
    def example(cls, **kwargs):
        """On two tiny untrained GAP CNNs and three random 16×16 images."""
        x, y, classes = examples.tiny_images()
        models = {"tiny A": examples.tiny_model("cnn", 0), "tiny B": examples.tiny_model("cnn", 1)}
        return cls(models, x, y, **{"classes": classes, "steps": 2, **kwargs})

    def example_changes(self):
        return [("eps", 4 / 255), ("eps_text", "2/255"), ("target", self.classes[3]), ("index", 1),
                ("attack", "fgsm"), ("model", list(self.models)[-1]),
                ("upload", C.upload_value(examples.png_bytes())), ("use_upload", False), ("use_upload", True)]

    # -- controls ------------------------------------------------------------------
    def controls(self):
        import ipywidgets as W
        rgb = self.images.shape[1] == 3
        self.model = W.Dropdown(options=list(self.models), value=next(iter(self.models)), description="model")
        self.index = C.index_slider(len(self.images))
        first_target = self.classes[(int(self.labels[0]) + 1) % self.n_classes]
        self.target = W.Dropdown(options=list(self.classes), value=first_target, description="target")
        self.attack = W.Dropdown(options=list(ATTACKS), value="pgd", description="attack")
        self.eps, self.eps_text = C.eps_controls(self._init["eps"], rgb, self.show_error, self.update)
        self.upload, self.use_upload = C.upload_controls(self.set_image, self.show_error)
        return [self.model, self.index, self.target, self.attack, self.eps, self.eps_text, self.upload,
                self.use_upload]

    def observed(self):
        return [c for c in self._controls if c not in (self.eps_text, self.upload)]

    def params(self):
        return dict(model=self.model.value, index=self.index.value, target=self.target.value,
                    attack=self.attack.value, eps=self.eps.value, use_upload=self.use_upload.value)

    # -- computation ---------------------------------------------------------------------
    def _image(self, model, index, use_upload):
        if use_upload:
            if self._upload is None:
                raise ValueError("no image uploaded yet: choose a file with 'your image' first")
            with torch.no_grad():
                y = int(self.nets[model](self._upload).argmax(1))
            return self._upload, ("upload", id(self._upload)), y, "your image"
        index = C.Range(0, len(self.images) - 1, integer=True).check(index, "image")
        return self.images[index:index + 1], ("image", index), int(self.labels[index]), f"image {index}"

    def _attack(self, name, model, eps):
        steps = {} if name == "fgsm" else {"steps": self._init["steps"], "seed": 0}
        return attacks.make(name, self.nets[model], eps=eps, targeted=True, batch_size=None, **steps)

    def compute(self, model, index, target, attack, eps, use_upload):
        eps = self.ranges()["eps"].check(eps, "ε")
        checks.choice(model, "model", self.models)
        checks.choice(attack, "attack", ATTACKS)
        checks.choice(target, "target", self.classes)
        net = self.nets[model]
        x, ident, y, source = self._image(model, index, use_upload)
        t = self.classes.index(target)
        same = t == y   # nothing to attack toward: shown as the clean image, said in the title
        x_adv = x if eps == 0 or same else self._cached(
            (*ident, model, attack, t, round(eps, 6)),
            lambda: self._attack(attack, model, eps)(x, torch.tensor([t])).detach())
        pse = interpret.promotion_suppression(net, x, x_adv, torch.tensor([y]), torch.tensor([t]))
        region = self._cached((*ident, model, "region", t), lambda: attacks.RegionPGD(
            net, eps=max(eps, 1 / 255), targeted=True, area=AREA).masks(x, torch.tensor([t]))[0, 0] > 0)
        with torch.no_grad():
            pred, pred_adv = int(net(x).argmax(1)), int(net(x_adv).argmax(1))
            a0 = activations(net, x, ["features"])["features"][0]
            a1 = activations(net, x_adv, ["features"])["features"][0]
        da = pse.activation_change[0]
        units = da.abs().argsort(descending=True)[:BARS].tolist()
        labels = [self._label(model, u) for u in units]
        up, down = int(da.argmax()), int(da.argmin())
        up_u = up if da[up] > 0 else None
        down_u = down if da[down] < 0 else None
        zero = torch.zeros_like(a0[0])
        maps = torch.stack([a0[up_u] if up_u is not None else zero, a1[up_u] if up_u is not None else zero,
                            a0[down_u] if down_u is not None else zero, a1[down_u] if down_u is not None else zero])
        e = ((x_adv - x)[0] ** 2).sum(0)
        share = float((e * region).sum() / e.sum()) if float(e.sum()) > 0 else float("nan")
        c = self.classes
        # text costs ~0.15 ms a character to render: what changes as ε moves is kept short and
        # apart from what does not (a piece that did not change is not drawn again)
        title = f"{model}: {source}, true {c[y]}; {attack} toward {c[t]}"
        outcome = ("no attack (ε = 0)" if eps == 0 else
                   "the target is the true class: pick another" if same else
                   f"ε = {eps_label(eps, x.shape[1] == 3)}: " + ("reached" if pred_adv == t else f"now {c[pred_adv]}"))
        line = f"suppression {float(pse.suppression[0]):+.2f}   promotion {float(pse.promotion[0]):+.2f}"
        verdict = pse.kind[0] if pred_adv == t else "not adversarial yet"
        return ShiftState(source, model, attack, eps, x[0], x_adv[0], y, t, pred, pred_adv,
                          float(pse.suppression[0]), float(pse.promotion[0]), pse.kind[0], units,
                          [float(da[u]) for u in units], labels, maps, (up_u, down_u), region,
                          (x_adv - x)[0].abs().sum(0), share, float(region.float().mean()), title, outcome, line,
                          verdict)

    def _label(self, model, unit):
        concept = self.concepts.get(model)
        return f"u{unit}" + (f" · {concept[unit]}" if concept else "")

    # -- drawing -------------------------------------------------------------------------
    def build_figure(self):
        from matplotlib.figure import Figure
        fig = Figure(figsize=(7.2, 4.2), dpi=80)
        grid = fig.add_gridspec(2, 5, width_ratios=[1, 1, 1, 1, 1], wspace=0.25, hspace=0.45)
        size = self.images.shape[-2:]
        kw = image_kwargs(self.images[0])
        blank = np.zeros((*size, 3)) if self.images.shape[1] == 3 else np.zeros(size)
        self.img_ax = [fig.add_subplot(grid[0, i]) for i in range(3)]
        self.img_art = [self.img_ax[0].imshow(blank, **kw), self.img_ax[1].imshow(blank, **kw),
                        self.img_ax[2].imshow(np.zeros(size), cmap="magma", vmin=0, vmax=1)]
        self.region_art = self.img_ax[2].imshow(np.zeros((*size, 4)))
        self.unit_ax = [fig.add_subplot(grid[1, i]) for i in range(4)]
        self.unit_art = [ax.imshow(np.zeros((4, 4)), cmap="viridis", vmin=0, vmax=1) for ax in self.unit_ax]
        # the unit labels live in their own axes, apart from the bars: a label that did not change is
        # pasted back as pixels, not rendered again; bars are scaled to the largest |Δ| (fixed
        # limits, so no tick ever changes), whose value the title gives
        inner = grid[0, 3:].subgridspec(1, 2, width_ratios=[1, 1.3], wspace=0.02)
        self.label_ax, self.bar_ax = fig.add_subplot(inner[0]), fig.add_subplot(inner[1])
        self.bars = self.bar_ax.barh(np.arange(BARS), np.zeros(BARS), color="0.6", height=0.6)
        self.bar_labels = [self.label_ax.text(0.97, i, " ", fontsize=7.5, va="center", ha="right")
                           for i in range(BARS)]
        for ax in (self.label_ax, self.bar_ax):
            ax.set_ylim(BARS - 0.5, -0.5)
            ax.set_xticks([]); ax.set_yticks([])
        self.label_ax.set_xlim(0, 1)
        self.label_ax.axis("off")
        self.bar_ax.set_xlim(0, 1.05)
        self.bar_ax.set_title("|Δ activation|", fontsize=8)
        self.label_ax.set_title("green +, red −", fontsize=7, color="0.35")
        for ax in (*self.img_ax, *self.unit_ax):
            ax.set_xticks([]); ax.set_yticks([])
            ax.set_title(" ", fontsize=7.5)
        self.head = fig.text(0.5, 0.98, " ", ha="center", va="top", fontsize=8.5)
        self.outcome = fig.text(0.5, 0.925, " ", ha="center", va="top", fontsize=8.5)
        self.line = fig.text(0.49, 0.03, " ", ha="right", va="bottom", fontsize=8)
        self.verdict = fig.text(0.51, 0.03, " ", ha="left", va="bottom", fontsize=8, weight="bold")
        self.top_text = self.bar_ax.text(1.03, BARS - 0.45, " ", ha="right", va="top", fontsize=7, color="0.35",
                                         clip_on=False)
        fig.subplots_adjust(left=0.02, right=0.98, top=0.83, bottom=0.1)
        self.dynamic = [*self.img_art, self.region_art, *self.unit_art, *self.bars, *self.bar_labels,
                        *[ax.title for ax in (*self.img_ax, *self.unit_ax)], self.head, self.outcome, self.line,
                        self.verdict, self.top_text]
        return fig

    def draw(self, s: ShiftState):
        c = self.classes
        self.img_art[0].set_data(to_hwc(s.x))
        self.img_art[1].set_data(to_hwc(s.x_adv))
        d = s.delta.numpy()
        self.img_art[2].set_data(d / (d.max() or 1.0))
        overlay = np.zeros((*s.region.shape, 4))
        edge = s.region.numpy() & ~np.roll(s.region.numpy(), 1, 0) | s.region.numpy() & ~np.roll(s.region.numpy(), 1, 1)
        overlay[edge] = (0.2, 0.9, 1.0, 0.9)
        self.region_art.set_data(overlay)
        self.img_ax[0].title.set_text(f"x: {c[s.pred]}")
        self.img_ax[1].title.set_text(f"x′: {c[s.pred_adv]}")
        share = "–" if np.isnan(s.share) else f"{s.share:.0%}"
        self.img_ax[2].title.set_text(f"|δ|: {share} in CAM ({s.area:.0%} area)")
        top = max((abs(v) for v in s.change), default=1.0) or 1.0
        change = [*s.change, *[0.0] * (BARS - len(s.change))]
        labels = [*s.labels, *[" "] * (BARS - len(s.labels))]
        for bar, text, v, name in zip(self.bars, self.bar_labels, change, labels):
            bar.set_width(abs(v) / top)
            bar.set_color("#2e7d32" if v > 0 else "#c62828")
            text.set_text(name)
        self.top_text.set_text(f"max {top:.2f}")
        names = ("promoted", "promoted", "suppressed", "suppressed")
        for j, (ax, art) in enumerate(zip(self.unit_ax, self.unit_art)):
            m = s.maps[j].numpy()
            pair = s.maps[(j // 2) * 2:(j // 2) * 2 + 2]
            art.set_data(m)
            art.set_clim(0, float(pair.max()) or 1.0)
            u = s.map_units[j // 2]
            ax.title.set_text("none" if u is None else f"{names[j]} u{u}, {'x' if j % 2 == 0 else 'x′'}")
        self.head.set_text(s.title)
        self.outcome.set_text(s.outcome)
        self.line.set_text(s.line)
        self.verdict.set_text(s.verdict)

    def widget(self):
        import ipywidgets as W
        return W.VBox([W.HBox([self.model, self.index, self.target]), W.HBox([self.attack, self.eps, self.eps_text]),
                       W.HBox([self.upload, self.use_upload]), self.message, self.image])
