"""AttackExplorer: an attack with an ε slider, the perturbation, predictions and maps."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch

from ..core import checks, frozen_eval
from .. import attacks, interpret
from ..models import fold_batchnorm
from ..plot import amplify, image_kwargs, to_hwc
from .base import Panel


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


def eps_label(eps: float, rgb: bool) -> str:
    return f"{round(eps * 255)}/255" if rgb else f"{eps:.2f}"


class AttackExplorer(Panel):
    """Explore one attack on a set of images.

    Controls (attributes): ``index``, ``attack``, ``eps`` (slider: 1/255 steps for RGB,
    0.01 for grey images), ``eps_text`` (type "8/255"), ``steps``, ``target`` (-1:
    untargeted, else a class index) and ``interpreter``. ``state`` holds what is shown.

    >>> panel = AttackExplorer(model, x, y, classes=al.data.CLASSES["cifar10"])
    >>> panel.eps.value = 8 / 255; panel.state.pred_adv
    """

    INTERPRETERS = ("saliency", "smoothgrad", "integrated_gradients", "gradcam", "cam")

    def __init__(self, model, images, labels, classes=None, interpreter="saliency", attack="pgd",
                 eps=None, steps=10, cache_size=256):
        self.model = checks.model(model)
        self.bind_data(model, images, labels, classes)
        self.net = fold_batchnorm(self.model)  # what the panel computes with (see Panel)
        self.rgb = self.images.shape[1] == 3
        self.options = [i for i in self.INTERPRETERS if i not in ("gradcam", "cam") or hasattr(model, "fc")]
        checks.choice(interpreter, "interpreter", self.options)
        checks.choice(attack, "attack", attacks.REGISTRY)
        self._init = dict(interpreter=interpreter, attack=attack, steps=steps,
                          eps=eps if eps is not None else (8 / 255 if self.rgb else 0.2))
        super().__init__(cache_size)

    # -- controls ------------------------------------------------------------
    def controls(self):
        import ipywidgets as W
        step = 1 / 255 if self.rgb else 0.01
        emax = self._eps_max()
        style = {"description_width": "initial"}
        self.index = W.IntSlider(0, 0, len(self.images) - 1, description="image", style=style)
        self.attack = W.Dropdown(options=list(attacks.REGISTRY), value=self._init["attack"], description="attack")
        self.eps = W.FloatSlider(value=checks.parse_eps(self._init["eps"]), min=0, max=emax, step=step,
                                 description="ε", readout_format=".3f", style=style)
        self.eps_text = W.Text(value=eps_label(self.eps.value, self.rgb), description="ε =", continuous_update=False,
                               layout=W.Layout(width="150px"))
        self.steps = W.IntSlider(self._init["steps"], 1, 40, description="steps")
        self.target = W.IntText(-1, description="target (-1: none)", style=style, layout=W.Layout(width="180px"))
        self.interpreter = W.Dropdown(options=self.options, value=self._init["interpreter"], description="map")
        self._syncing = False
        self.eps.observe(self._eps_to_text, names="value")
        self.eps_text.observe(self._text_to_eps, names="value")
        return [self.index, self.attack, self.eps, self.eps_text, self.steps, self.target, self.interpreter]

    def observed(self):
        # the text box drives the slider (see _text_to_eps), so one change renders once
        return [c for c in self._controls if c is not self.eps_text]

    def _eps_max(self):
        return 32 / 255 if self.rgb else 0.5

    def _check_eps(self, eps):
        if not 0 <= eps <= self._eps_max():
            raise ValueError(f"ε = {eps:.4g} is outside the explorer's range [0, {eps_label(self._eps_max(), self.rgb)}]")

    def _eps_to_text(self, change):
        self._syncing = True
        try:
            self.eps_text.value = eps_label(change["new"], self.rgb)
        finally:
            self._syncing = False

    def _text_to_eps(self, change):
        if self._syncing:
            return
        try:
            eps = checks.parse_eps(change["new"].strip(), "ε")
            self._check_eps(eps)
        except ValueError as err:
            self.show_error(err)
            return
        if eps == self.eps.value:
            self.update()
        else:
            self.eps.value = eps

    def params(self):
        return dict(index=self.index.value, attack=self.attack.value, eps=self.eps.value, steps=self.steps.value,
                    target=self.target.value, interpreter=self.interpreter.value)

    # -- pure computation ---------------------------------------------------------
    def _probs_and_map(self, x, interpreter):
        """Class probabilities of one image and the map of its predicted class."""
        with frozen_eval(self.net), torch.no_grad():
            probs = self.net(x).softmax(1)[0]
        maps = interpret.make(interpreter, self.net)(x, int(probs.argmax()))
        return probs, interpret.normalize(maps)[0]

    def compute(self, index, attack, eps, steps, target, interpreter):
        self._check_eps(eps)
        if target != -1 and not 0 <= target < self.n_classes:
            raise ValueError(f"target class {target} does not exist; accepted: -1 (untargeted) "
                             f"or 0..{self.n_classes - 1}")
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
        bars.tick_params(labelsize=7); bars.legend(fontsize=6, loc="lower right")
        bars.set_title("top-5 classes on the clean image", fontsize=8)
        self.suptitle = fig.suptitle(" ", fontsize=9)
        fig.subplots_adjust(left=0.02, right=0.98, top=0.86, bottom=0.04, wspace=0.35, hspace=0.35)
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
