"""AttackExplorer (chapter 1, ``notebooks/01_adversarial_examples.ipynb``): an attack with an ε
slider, the perturbation, the predictions and the maps of the predicted classes."""
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
from .base import Panel
from .controls import eps_label


@dataclass
class AttackState:
    index: int
    eps: float
    x: torch.Tensor
    x_adv: torch.Tensor
    scale: float
    linf: float
    l2: float
    label: int
    probs: torch.Tensor      # clean softmax
    probs_adv: torch.Tensor  # adversarial softmax
    map_clean: torch.Tensor
    map_adv: torch.Tensor
    title: str
    interpreter: str

    @property
    def pred(self) -> int:
        return int(self.probs.argmax())

    @property
    def pred_adv(self) -> int:
        return int(self.probs_adv.argmax())


class AttackExplorer(Panel):
    """Chapter 1: explore one attack on a set of images.

    Controls (attributes): ``index``, ``attack``, ``eps`` (slider: 1/255 steps for RGB,
    0.01 for grey images), ``eps_text`` (type "8/255"), ``steps``, ``target`` (type "none",
    a class index or a class name) and ``interpreter``. ``state`` holds what is shown.
    Constructor arguments out of range raise a ``ValueError`` (ε: up to 32/255 for RGB, 0.5
    for grey images; steps: 1 to 40).

    >>> panel = AttackExplorer(model, x, y, classes=al.data.CLASSES["cifar10"])
    >>> panel.eps.value = 8 / 255; panel.state.pred_adv
    """

    CHAPTER = 1
    INTERPRETERS = ("saliency", "smoothgrad", "integrated_gradients", "gradcam", "cam")

    def __init__(self, model, images, labels, classes=None, interpreter="saliency", attack="pgd",
                 eps=None, steps=10, cache_size=256):
        self.model = checks.model(model)
        self.bind_data(model, images, labels, classes)
        self.rgb = self.images.shape[1] == 3
        self.options = [i for i in self.INTERPRETERS if i not in ("gradcam", "cam") or hasattr(model, "fc")]
        checks.choice(interpreter, "interpreter", self.options)
        checks.choice(attack, "attack", attacks.REGISTRY)
        self._init = dict(interpreter=interpreter, attack=attack, **self.check_arguments(
            eps=eps if eps is not None else (8 / 255 if self.rgb else 0.2), steps=steps))
        self.net = fold_batchnorm(self.model)  # what the panel computes with (see Panel)
        super().__init__(cache_size)

    def ranges(self):
        return {**super().ranges(), "eps": C.eps_range(self.rgb), "steps": C.Range(1, C.MAX_STEPS, integer=True)}

    @classmethod
    def example(cls, **kwargs):
        """On a tiny untrained CNN and three random 16×16 images."""
        x, y, classes = examples.tiny_images()
        return cls(examples.tiny_model("cnn"), x, y, **{"classes": classes, "steps": 2, **kwargs})

    def example_changes(self):
        return [("index", 1), ("attack", "mim"), ("eps", 4 / 255), ("eps_text", "6/255"), ("steps", 3),
                ("target", "2"), ("interpreter", "gradcam")]

    # -- controls ------------------------------------------------------------
    def controls(self):
        import ipywidgets as W
        self.index = C.index_slider(len(self.images))
        self.attack = C.attack_dropdown(self._init["attack"])
        self.eps, self.eps_text = C.eps_controls(self._init["eps"], self.rgb, self.show_error, self.update)
        self.steps = C.steps_slider(self._init["steps"])
        self.target = W.Text("none", description="target", placeholder="none, index or name", style=C.STYLE,
                             continuous_update=False, layout=W.Layout(width="180px"))
        self.interpreter = W.Dropdown(options=self.options, value=self._init["interpreter"], description="map")
        return [self.index, self.attack, self.eps, self.eps_text, self.steps, self.target, self.interpreter]

    def observed(self):
        # the text box drives the slider (controls.eps_controls), so one change renders once
        return [c for c in self._controls if c is not self.eps_text]

    def _target(self, text) -> int:
        """-1 (untargeted) for "none" or "-1", else the class index typed or named."""
        t = str(text).strip()
        if t.lower() in ("none", "-1"):
            return -1
        if t.isascii() and t.isdecimal() and len(t) <= 9 and int(t) < self.n_classes:
            return int(t)
        if t in self.classes:
            return self.classes.index(t)
        raise ValueError(f"target must be 'none', a class index in [0, {self.n_classes - 1}] or a class name, "
                         f"got {C.short_repr(text)}")

    def params(self):
        return dict(index=self.index.value, attack=self.attack.value, eps=self.eps.value, steps=self.steps.value,
                    target=self.target.value, interpreter=self.interpreter.value)

    # -- pure computation ---------------------------------------------------------
    def _probs_and_map(self, x, interpreter):
        """Class probabilities of one image and the map of its predicted class."""
        probs, maps = interpret.predict_and_map(interpret.make(interpreter, self.net), x)
        return probs[0], maps[0]

    def compute(self, index, attack, eps, steps, target, interpreter):
        eps = C.eps_range(self.rgb).check(eps, "ε")
        target = self._target(target)
        x = self.images[index:index + 1]
        y = self.labels[index:index + 1]
        label = int(y)
        probs, map_clean = self._cached(("clean", index, interpreter), lambda: self._probs_and_map(x, interpreter))
        targeted = target != -1
        key = ("adv", index, attack, round(eps, 6), steps, target)
        x_adv = self._cached(key, lambda: attacks.make(
            attack, self.net, eps=eps, **attacks.steps_for(attack, steps), targeted=targeted)(
            x, torch.tensor([target]) if targeted else y))
        probs_adv, map_adv = self._cached(key + (interpreter,), lambda: self._probs_and_map(x_adv, interpreter))
        delta = (x_adv - x)[0]
        _, scale = amplify(delta)
        what = f"{attack.upper()} ε={eps_label(eps, self.rgb)}" + ("" if attack == "fgsm" else f", {steps} steps")
        if targeted:
            what += f", target {self.classes[target]}"
        return AttackState(index, eps, x[0], x_adv[0], scale, float(delta.abs().max()), float(delta.norm()),
                           label, probs, probs_adv, map_clean, map_adv, what, interpreter)

    # -- drawing -------------------------------------------------------------------
    def build_figure(self):
        from matplotlib.figure import Figure
        fig = Figure(figsize=(7.2, 4.6), dpi=80)
        axes = fig.subplots(2, 3)
        self.ax = axes
        blank = np.zeros((*self.images.shape[-2:], 3)) if self.rgb else np.zeros(self.images.shape[-2:])
        kw = image_kwargs(self.images[0])
        self.art_clean = axes[0, 0].imshow(blank, **kw)
        self.art_delta = axes[0, 1].imshow(blank, **kw)
        self.art_adv = axes[0, 2].imshow(blank, **kw)
        heat = np.zeros(self.images.shape[-2:])
        self.art_map_clean = axes[1, 0].imshow(heat, cmap="inferno", vmin=0, vmax=1)
        self.art_map_adv = axes[1, 2].imshow(heat, cmap="inferno", vmin=0, vmax=1)
        for ax in axes.flat:
            ax.set_title(" ", fontsize=8)
        for ax in (*axes[0], axes[1, 0], axes[1, 2]):
            ax.set_xticks([]); ax.set_yticks([])
        bars = axes[1, 1]
        rows = np.arange(5)
        self.bars_clean = bars.barh(rows - 0.2, np.zeros(5), height=0.4, color="#4c72b0", label="clean")
        self.bars_adv = bars.barh(rows + 0.2, np.zeros(5), height=0.4, color="#dd8452", label="adversarial")
        self.bar_labels = [bars.text(-0.03, r, "", transform=bars.get_yaxis_transform(), ha="right",
                                     va="center", fontsize=7) for r in rows]
        bars.set_xlim(0, 1); bars.set_ylim(4.7, -0.7); bars.set_yticks([])
        bars.tick_params(labelsize=7)
        # below the axis, never over a bar (inside it, a long bar could hide the legend or be hidden)
        bars.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
        bars.set_title("top-5 classes on the clean image", fontsize=8)
        self.suptitle = fig.suptitle(" ", fontsize=9)
        fig.subplots_adjust(left=0.02, right=0.98, top=0.86, bottom=0.1, wspace=0.35, hspace=0.35)
        # what changes between frames: only these are redrawn on a slider move
        self.dynamic = [self.art_clean, self.art_delta, self.art_adv, self.art_map_clean, self.art_map_adv,
                        *[axes.flat[i].title for i in (0, 1, 2, 3, 5)], *self.bars_clean, *self.bars_adv,
                        *self.bar_labels, self.suptitle]
        return fig

    def draw(self, s: AttackState):
        c = self.classes
        self.art_clean.set_data(to_hwc(s.x))
        delta_img, scale = amplify(s.x_adv - s.x)
        self.art_delta.set_data(delta_img)
        self.art_adv.set_data(to_hwc(s.x_adv))
        self.art_map_clean.set_data(s.map_clean.numpy())
        self.art_map_adv.set_data(s.map_adv.numpy())
        self.ax[0, 0].title.set_text(f"clean: {c[s.pred]} ({s.probs[s.pred]:.0%})\ntrue: {c[s.label]}")
        self.ax[0, 1].title.set_text(f"perturbation ×{scale:.1f}\n‖δ‖∞={s.linf:.3f}, ‖δ‖₂={s.l2:.2f}")
        self.ax[0, 2].title.set_text(f"adversarial: {c[s.pred_adv]} ({s.probs_adv[s.pred_adv]:.0%})")
        self.ax[1, 0].title.set_text(f"{s.interpreter}: clean")
        self.ax[1, 2].title.set_text(f"{s.interpreter}: adversarial")
        top = torch.topk(s.probs, min(5, len(s.probs))).indices.tolist()
        for i in range(5):
            k = top[i] if i < len(top) else None
            self.bars_clean[i].set_width(float(s.probs[k]) if k is not None else 0.0)
            self.bars_adv[i].set_width(float(s.probs_adv[k]) if k is not None else 0.0)
            self.bar_labels[i].set_text(c[k] if k is not None else "")
        self.suptitle.set_text(s.title)
