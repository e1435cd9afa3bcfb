"""MapComparison (chapter 2, ``notebooks/02_maps_under_attack.ipynb``): one attack on several
models, each model's own map on the clean and the attacked image."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import attacks, interpret
from ..core import checks
from ..models import fold_batchnorm
from ..plot import amplify, image_kwargs, to_hwc
from . import controls as C
from . import examples
from .controls import eps_label
from .upload import UploadPanel

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
    """Chapter 2: attack every model (white-box, each with its own gradients) with the same
    attack, ε and steps, and show each model's map on the clean and the adversarial image.

    ``models``: dict name → model (e.g. CNN, attention pooling, ProtoPNet). Maps: attention
    for attention models, the best-matching prototype of the predicted class for ProtoPNet
    (its third column: the training image the prototype was pushed to), and ``cnn_map``
    (Grad-CAM, CAM, Grad-CAM++ or Score-CAM) for the others. Controls: ``index``,
    ``attack``, ``eps`` / ``eps_text``, ``steps``, ``cnn_map``, ``upload`` / ``use_upload``.
    """

    CHAPTER = 2

    def __init__(self, models: dict, images, labels, classes=None, attack="pgd", eps=8 / 255, steps=10,
                 cnn_map="gradcam", cache_size=256):
        self.models = C.check_models(models, 4)
        self.bind_data(next(iter(self.models.values())), images, labels, classes)
        checks.choice(attack, "attack", attacks.REGISTRY)
        checks.choice(cnn_map, "cnn_map", CNN_MAPS)
        self._init = dict(attack=attack, cnn_map=cnn_map, **self.check_arguments(eps=eps, steps=steps))
        self.nets = {k: fold_batchnorm(m) for k, m in self.models.items()}  # computed with (see Panel)
        super().__init__(cache_size)

    def ranges(self):
        return {**super().ranges(), "eps": C.eps_range(True), "steps": C.Range(1, C.MAX_STEPS, integer=True)}

    @classmethod
    def example(cls, **kwargs):
        """On three tiny untrained models (CNN, attention pooling, ProtoPNet) and three random images."""
        x, y, classes = examples.tiny_images()
        models = {k: examples.tiny_model(k) for k in ("cnn", "attention", "prototype")}
        return cls(models, x, y, **{"classes": classes, "eps": 4 / 255, "steps": 2, **kwargs})

    def example_changes(self):
        return [("index", 1), ("eps", 6 / 255), ("eps_text", "2/255"), ("steps", 3), ("cnn_map", "cam"),
                ("attack", "fgsm"), ("upload", C.upload_value(examples.png_bytes())), ("use_upload", False),
                ("use_upload", True)]

    # -- controls ------------------------------------------------------------------
    def controls(self):
        import ipywidgets as W
        self.index = C.index_slider(len(self.images))
        self.attack = C.attack_dropdown(self._init["attack"])
        self.eps, self.eps_text = C.eps_controls(self._init["eps"], True, self.show_error, self.update)
        self.steps = C.steps_slider(self._init["steps"])
        self.cnn_map = W.Dropdown(options=list(CNN_MAPS), value=self._init["cnn_map"], description="CNN map")
        self.upload, self.use_upload = C.upload_controls(self.set_image, self.show_error)
        return [self.index, self.attack, self.eps, self.eps_text, self.steps, self.cnn_map, self.upload,
                self.use_upload]

    def observed(self):
        # the text box drives the slider; an upload flips use_upload (or renders itself)
        return [c for c in self._controls if c not in (self.eps_text, self.upload)]

    def params(self):
        return dict(index=self.index.value, attack=self.attack.value, eps=self.eps.value, steps=self.steps.value,
                    cnn_map=self.cnn_map.value, use_upload=self.use_upload.value)

    # -- computation ------------------------------------------------------------------
    def map_name(self, name, cnn_map=None):
        kind = default_map(self.models[name])
        return kind if kind != "gradcam" else (cnn_map or self.cnn_map.value)

    def _look(self, name, x, how):
        """Prediction, its probability, the map of the predicted class and, for ProtoPNet, the
        training image of the most activated prototype of that class."""
        m = self.nets[name]
        probs, maps = interpret.predict_and_map(interpret.make(how, m), x)
        k = int(probs[0].argmax())
        proto = None
        if how == "prototype":
            j = int(interpret.top_prototypes(m, x, k=1, of_class=k)[0][0, 0])
            proto = (m.proto_images[j].float() / 255, int(m.prototype_class[j]))
        return k, float(probs[0, k]), maps[0], proto

    def compute(self, index, attack, eps, steps, cnn_map, use_upload):
        eps = C.eps_range(True).check(eps, "ε")
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
            x_adv = self._cached(key, lambda: attacks.make(
                attack, m, eps=eps, **attacks.steps_for(attack, steps))(x, target))
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
        size = self.images.shape[-2:]
        blank = np.zeros((*size, 3)) if self.images.shape[1] == 3 else np.zeros(size)
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
        return W.VBox([W.HBox([self.index, self.attack]), W.HBox([self.eps, self.eps_text, self.steps, self.cnn_map]),
                       W.HBox([self.upload, self.use_upload]), self.message, self.image])
