"""MapComparison: one attack on several models, each model's own map on the clean and the attacked image."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..core import checks, frozen_eval
from .. import attacks, interpret
from ..models import fold_batchnorm
from ..plot import amplify, image_kwargs, to_hwc
from .attack_explorer import eps_label
from .base import UploadPanel

CNN_MAPS = ("gradcam", "cam", "gradcam++", "scorecam")


def default_map(model) -> str:
    """The map a model explains itself with: attention, prototypes, else Grad-CAM."""
    if hasattr(model, "attention_maps"):
        return "attention"
    if hasattr(model, "similarity_maps"):
        return "prototype"
    return "gradcam"


@dataclass
class ModelView:
    pred: int
    prob: float
    pred_adv: int
    prob_adv: float
    map_clean: torch.Tensor
    map_adv: torch.Tensor
    x_adv: torch.Tensor
    prototype: torch.Tensor | None   # ProtoPNet: training image of the best adversarial prototype
    prototype_class: int | None


@dataclass
class ComparisonState:
    source: str
    label: int | None
    x: torch.Tensor
    title: str
    views: dict  # model name -> ModelView


class MapComparison(UploadPanel):
    """Attack every model (white-box, each with its own gradients) with the same attack,
    ε and steps, and show each model's map on the clean and the adversarial image.

    ``models``: dict name → model (e.g. CNN, attention pooling, ProtoPNet). Maps: attention
    for attention models, the best-matching prototype of the predicted class for ProtoPNet
    (its third column: the training image the prototype was pushed to), and ``cnn_map``
    (Grad-CAM, CAM, Grad-CAM++ or Score-CAM) for the others. Controls: ``index``,
    ``attack``, ``eps``, ``steps``, ``cnn_map``, ``upload`` / ``use_upload``.
    """

    def __init__(self, models: dict, images, labels, classes=None, attack="pgd", eps=8 / 255, steps=10,
                 cnn_map="gradcam", cache_size=256):
        if not isinstance(models, dict) or not 1 <= len(models) <= 4:
            raise ValueError("models must be a dict of 1 to 4 named models")
        self.models = {str(k): checks.model(m) for k, m in models.items()}
        self.bind_data(next(iter(self.models.values())), images, labels, classes)
        self.nets = {k: fold_batchnorm(m) for k, m in self.models.items()}  # computed with (see Panel)
        checks.choice(attack, "attack", attacks.REGISTRY)
        checks.choice(cnn_map, "cnn_map", CNN_MAPS)
        self._init = dict(attack=attack, eps=checks.parse_eps(eps), steps=steps, cnn_map=cnn_map)
        self._check_eps(self._init["eps"])
        super().__init__(cache_size)

    # -- controls ------------------------------------------------------------------
    def controls(self):
        import ipywidgets as W
        style = {"description_width": "initial"}
        self.index = W.IntSlider(0, 0, len(self.images) - 1, description="image", style=style)
        self.attack = W.Dropdown(options=list(attacks.REGISTRY), value=self._init["attack"], description="attack")
        self.eps = W.FloatSlider(value=self._init["eps"], min=0, max=32 / 255, step=1 / 255, description="ε",
                                 readout_format=".3f", style=style)
        self.steps = W.IntSlider(self._init["steps"], 1, 40, description="steps")
        self.cnn_map = W.Dropdown(options=list(CNN_MAPS), value=self._init["cnn_map"], description="CNN map")
        self.upload = W.FileUpload(accept="image/*", multiple=False, description="your image")
        self.use_upload = W.Checkbox(False, description="use your image", indent=False)
        self.upload.observe(self._on_upload, names="value")
        return [self.index, self.attack, self.eps, self.steps, self.cnn_map, self.upload, self.use_upload]

    def observed(self):
        return [c for c in self._controls if c is not self.upload]

    def _check_eps(self, eps):
        if not 0 <= eps <= 32 / 255:
            raise ValueError(f"ε = {eps:.4g} is outside the panel's range [0, 32/255]")

    def params(self):
        return dict(index=self.index.value, attack=self.attack.value, eps=self.eps.value, steps=self.steps.value,
                    cnn_map=self.cnn_map.value, use_upload=self.use_upload.value)

    # -- computation ------------------------------------------------------------------
    def map_name(self, name, cnn_map=None):
        kind = default_map(self.models[name])
        return kind if kind != "gradcam" else (cnn_map or self.cnn_map.value)

    def _look(self, name, x, how):
        m = self.nets[name]
        with frozen_eval(m), torch.no_grad():
            probs = m(x).softmax(1)[0]
        k = int(probs.argmax())
        mp = interpret.normalize(interpret.make(how, m)(x, k))[0]
        proto = None
        if how == "prototype":
            with frozen_eval(m), torch.no_grad():
                sims = m.similarity_maps(x).flatten(2).amax(2)[0]
            own = torch.nonzero(m.prototype_class == k).flatten()
            j = int(own[sims[own].argmax()])
            proto = (m.proto_images[j].float() / 255, int(m.prototype_class[j]))
        return k, float(probs[k]), mp, proto

    def compute(self, index, attack, eps, steps, cnn_map, use_upload):
        self._check_eps(eps)
        checks.choice(attack, "attack", attacks.REGISTRY)
        if use_upload:
            if self._upload is None:
                raise ValueError("no image uploaded yet: choose a file with 'your image' first")
            src, x, y, label, what = "upload", self._upload, None, None, "your image"
        else:
            src, x = "image", self.images[index:index + 1]
            y, label, what = self.labels[index:index + 1], int(self.labels[index]), f"image {index}"
        ident = index if src == "image" else id(self._upload)
        steps_used = 1 if attack == "fgsm" else steps
        views = {}
        for name, m in self.nets.items():
            how = self.map_name(name, cnn_map)
            k, p, mc, _ = self._cached((src, ident, name, how, "clean"), lambda: self._look(name, x, how))
            target = y if y is not None else torch.tensor([k])   # your image: attack the prediction
            key = (src, ident, name, attack, round(eps, 6), steps_used)
            x_adv = self._cached(key, lambda: attacks.make(attack, m, eps=eps, **attacks.steps_for(attack, steps))(x, target))
            ka, pa, ma, proto = self._cached(key + (how,), lambda: self._look(name, x_adv, how))
            views[name] = ModelView(k, p, ka, pa, mc, ma, x_adv[0], *(proto or (None, None)))
        title = f"{attack.upper()} ε={eps_label(eps, True)}" + ("" if attack == "fgsm" else f", {steps} steps")
        return ComparisonState(what, label, x[0], title, views)

    # -- drawing -------------------------------------------------------------------------
    def build_figure(self):
        from matplotlib.figure import Figure
        n = len(self.models)
        fig = Figure(figsize=(6.6, 2.1 * n + 0.5), dpi=80)
        axes = fig.subplots(n, 3, squeeze=False)
        self.ax = axes
        kw = image_kwargs(self.images[0])
        blank = np.zeros((*self.images.shape[-2:], 3)) if self.images.shape[1] == 3 else np.zeros(self.images.shape[-2:])
        heat = np.zeros(self.images.shape[-2:])
        self.art = []
        for r in range(n):
            row = {}
            row["img_c"] = axes[r, 0].imshow(blank, **kw)
            row["map_c"] = axes[r, 0].imshow(heat, cmap="jet", alpha=0.45, vmin=0, vmax=1)
            row["img_a"] = axes[r, 1].imshow(blank, **kw)
            row["map_a"] = axes[r, 1].imshow(heat, cmap="jet", alpha=0.45, vmin=0, vmax=1)
            row["third"] = axes[r, 2].imshow(blank, **kw)
            self.art.append(row)
        for ax in axes.flat:
            ax.set_xticks([]); ax.set_yticks([])
            ax.set_title(" ", fontsize=7)
        for r, name in enumerate(self.models):
            axes[r, 0].set_ylabel(name, fontsize=8)
        self.suptitle = fig.suptitle(" ", fontsize=9)
        fig.text(0.99, 0.005, "each model attacked white-box, with its own gradients", fontsize=6, ha="right",
                 va="bottom", color="0.4")
        fig.subplots_adjust(left=0.06, right=0.98, top=1 - 0.55 / (2.1 * n + 0.5) - 0.04, bottom=0.035,
                            wspace=0.1, hspace=0.5)
        self.dynamic = [a for row in self.art for a in row.values()] + [ax.title for ax in axes.flat] + [self.suptitle]
        return fig

    def draw(self, s: ComparisonState):
        c = self.classes
        for r, (name, v) in enumerate(s.views.items()):
            a = self.art[r]
            a["img_c"].set_data(to_hwc(s.x)); a["map_c"].set_data(v.map_clean.numpy())
            a["img_a"].set_data(to_hwc(v.x_adv)); a["map_a"].set_data(v.map_adv.numpy())
            how = self.map_name(name)
            self.ax[r, 0].title.set_text(f"{how}, clean: {c[v.pred]} ({v.prob:.0%})")
            self.ax[r, 1].title.set_text(f"adversarial: {c[v.pred_adv]} ({v.prob_adv:.0%})")
            if v.prototype is not None:
                a["third"].set_data(to_hwc(v.prototype))
                self.ax[r, 2].title.set_text(f"its prototype's source\n(a training {c[v.prototype_class]})")
            else:
                img, scale = amplify(v.x_adv - s.x)
                a["third"].set_data(img)
                self.ax[r, 2].title.set_text(f"perturbation ×{scale:.1f}")
        truth = f", true: {c[s.label]}" if s.label is not None else ""
        self.suptitle.set_text(f"{s.source}{truth} — {s.title}")

    def widget(self):
        import ipywidgets as W
        return W.VBox([W.HBox([self.index, self.attack, self.eps]), W.HBox([self.steps, self.cnn_map]),
                       W.HBox([self.upload, self.use_upload]), self.message, self.image])
