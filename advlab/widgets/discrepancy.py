"""InterpretationDiscrepancy (chapter 4): one MNIST digit attacked with PGD, its CAM and
Integrated Gradients for the true class y and the adversarial class y′, clean beside attacked,
and Boopathy et al.'s interpretation discrepancy D(x, x′) against Proposition 1's lower bound."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from .. import attacks, interpret
from ..core import checks
from ..interpret import discrepancy as D
from ..models import fold_batchnorm
from ..plot import image_kwargs, to_hwc
from . import controls as C
from . import examples
from .controls import eps_label
from .upload import UploadPanel

EPS_MAX = 0.4
#: the ε of the slider's stops and of the static twin's frames
EPS_VALUES = tuple(round(0.05 * i, 2) for i in range(9))
COLUMNS = ("clean x", "attacked x′", "clean x", "attacked x′")
CMAP = "RdBu_r"   # signed maps: red for evidence for the class, blue against, white 0


@dataclass
class DiscrepancyState:
    source: str             # "image 12" or "your image"
    model: str
    eps: float
    x: torch.Tensor         # C×H×W clean
    x_adv: torch.Tensor     # C×H×W attacked (x itself at ε = 0)
    y: int                  # the true class (the clean prediction for your image)
    y_adv: int              # the adversarial class, or the runner-up when the attack failed
    pred: int
    pred_adv: int
    probs: torch.Tensor     # clean softmax
    probs_adv: torch.Tensor
    success: bool           # the attacked image is not classified as y
    cam: torch.Tensor       # 4×H×W: CAM of y on x, x′, of y′ on x, x′ (upsampled to the image)
    ig: torch.Tensor        # 4×H×W: the same for Integrated Gradients (signed)
    d: float                # D(x, x′) on the CAM (h×w positions, completeness-scaled)
    bound: float            # ½(f_y(x) − f_y′(x))
    holds: bool
    head: str               # first title line: model and image
    attack: str             # second title line: the attack and its outcome
    verdict: str            # whether D reaches the bound, and whether it must
    line: str               # the numbers' line, as one string

    @property
    def title(self) -> str:
        return f"{self.head}; {self.attack}"


def _upsample(maps: torch.Tensor, size) -> torch.Tensor:
    return torch.nn.functional.interpolate(maps.unsqueeze(1), size=tuple(size), mode="bilinear",
                                           align_corners=False)[:, 0]


@contextmanager
def _threads(n: int):
    """torch's intra-op threads set to ``n`` within, restored after."""
    old = torch.get_num_threads()
    if old != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if old != n:
            torch.set_num_threads(old)


class InterpretationDiscrepancy(UploadPanel):
    """Chapter 4: does an attack that changes the class also change the explanation? (Boopathy et
    al., ICML 2020.)

    One image (``index`` in the panel's images, or your own picture) is attacked with L∞ PGD
    (``steps`` steps of 2.5·ε/steps, one seeded random start) toward any wrong class. For the
    true class y and the adversarial class y′ (when the attack fails: the runner-up class of the
    attacked image, said in the title) the panel shows the CAM (completeness-scaled,
    ``advlab.interpret.discrepancy.class_maps``, upsampled to the image) and Integrated
    Gradients (signed, ``ig_steps`` steps, black baseline), clean beside attacked, each pair on
    the clean map's symmetric colour scale (the attacked map clipped to it; the clean column stays
    put as ε moves). Below: D(x, x′) = ½(‖I(x, y) − I(x′, y)‖₁ + ‖I(x, y′) − I(x′,
    y′)‖₁) on the CAM and Proposition 1's bound ½(f_y(x) − f_y′(x)), which D must reach whenever
    the attack succeeds. At ε = 0 there is no attack: x′ = x and D = 0.

    Controls (attributes): ``model``, ``index``, ``eps`` / ``eps_text`` (0 to 0.4), ``upload`` /
    ``use_upload``. Attacks and maps are cached per (model, image, ε); ``precompute`` fills the
    cache. The panel computes with ``threads`` intra-op threads (default 1, restored afterwards):
    on one 28×28 image two threads were no faster than one on the 2-core benchmark machine
    (p50 ≈ 100 ms a move both), and while another process kept one core busy they made a move
    40× slower (4 s). In the book: ``al.widgets.show(panel, panel.eps, EPS_VALUES)`` (the static
    twin).

    >>> panel = InterpretationDiscrepancy.from_zoo()     # the chapter's five models, bundled MNIST
    """

    CHAPTER = 4
    EPS_VALUES = EPS_VALUES

    def __init__(self, models, images, labels, classes=None, eps=0.3, steps=20, ig_steps=16, threads=1,
                 cache_size=256):
        if isinstance(models, torch.nn.Module):
            models = {"model": models}
        self.models = C.check_models(models, 8)
        self.bind_data(next(iter(self.models.values())), images, labels, classes)
        self._init = self.check_arguments(eps=eps, steps=steps, ig_steps=ig_steps, threads=threads)
        self.nets = {k: fold_batchnorm(m) for k, m in self.models.items()}   # computed with (see Panel)
        for k, net in self.nets.items():
            try:
                with torch.no_grad():
                    logits, _ = D.class_maps(net, self.images[:1])
            except ValueError as err:
                raise ValueError(f"models[{k!r}]: {err}") from None
            if logits.shape[1] != self.n_classes:
                raise ValueError(f"models[{k!r}] outputs {logits.shape[1]} classes, the first model {self.n_classes}")
        super().__init__(cache_size)

    def ranges(self):
        return {**super().ranges(), "eps": C.eps_range(False, EPS_MAX), "steps": C.Range(1, C.MAX_STEPS, integer=True),
                "ig_steps": C.Range(1, 256, integer=True), "threads": C.Range(1, 256, integer=True)}

    @classmethod
    def from_zoo(cls, names=None, n_images: int = 100, **kwargs):
        """The chapter's models (``advlab.studies.ch04_robust_interpretation.MODELS``, display
        name → zoo name; ``names``: some of them) on the first ``n_images`` of the bundled MNIST
        subset."""
        from .. import data, zoo
        from ..studies.ch04_robust_interpretation import MODELS
        names = list(MODELS) if names is None else [checks.choice(n, "model", MODELS) for n in names]
        d = data.subset("mnist", n_images)
        return cls({n: zoo.load(MODELS[n]) for n in names}, d.x, d.y, classes=data.CLASSES["mnist"], **kwargs)

    @classmethod
    def example(cls, **kwargs):
        """On two tiny untrained GAP CNNs and three random 16×16 images."""
        x, y, classes = examples.tiny_images()
        models = {"tiny A": examples.tiny_model("cnn", 0), "tiny B": examples.tiny_model("cnn", 1)}
        return cls(models, x, y, **{"classes": classes, "steps": 2, "ig_steps": 4, "eps": 0.1, **kwargs})

    def example_changes(self):
        return [("eps", 0.2), ("eps_text", "0.05"), ("index", 1), ("model", list(self.models)[-1]),
                ("upload", C.upload_value(examples.png_bytes())), ("use_upload", False), ("use_upload", True)]

    # -- controls ------------------------------------------------------------------
    def controls(self):
        import ipywidgets as W
        self.model = W.Dropdown(options=list(self.models), value=next(iter(self.models)), description="model")
        self.index = C.index_slider(len(self.images))
        self.eps, self.eps_text = C.eps_controls(self._init["eps"], False, self.show_error, self.update, hi=EPS_MAX)
        self.eps.step = 0.05
        self.upload, self.use_upload = C.upload_controls(self.set_image, self.show_error)
        return [self.model, self.index, self.eps, self.eps_text, self.upload, self.use_upload]

    def observed(self):
        # the text box drives the slider; an upload flips use_upload (or renders itself)
        return [c for c in self._controls if c not in (self.eps_text, self.upload)]

    def params(self):
        return dict(model=self.model.value, index=self.index.value, eps=self.eps.value,
                    use_upload=self.use_upload.value)

    # -- computation ---------------------------------------------------------------------
    def _image(self, model, index, use_upload):
        """(x 1×C×H×W, cache identity, y, description)."""
        if use_upload:
            if self._upload is None:
                raise ValueError("no image uploaded yet: choose a file with 'your image' first")
            x = self._upload
            with torch.no_grad():
                y = int(self.nets[model](x).argmax(1))
            return x, ("upload", id(x)), y, "your image"
        index = C.Range(0, len(self.images) - 1, integer=True).check(index, "image")
        return self.images[index:index + 1], ("image", index), int(self.labels[index]), f"image {index}"

    def _adversarial(self, model, x, ident, y, eps):
        if eps == 0:
            return x
        steps = self._init["steps"]
        return self._cached((*ident, model, "adv", round(eps, 6)), lambda: attacks.PGD(
            self.nets[model], eps=eps, steps=steps, alpha=2.5 * eps / steps, seed=0, batch_size=None)(
            x, torch.tensor([y])))

    def _cam(self, model, x, ident, eps):
        """Logits (C,) and class maps (C×h×w) of one image, cached per (model, image, ε)."""
        def make():
            with torch.no_grad():
                logits, maps = D.class_maps(self.nets[model], x)
            return logits[0], maps[0]
        return self._cached((*ident, model, "cam", round(eps, 6)), make)

    def _ig(self, model, wanted):
        """Signed IG maps (H×W) for ``wanted``: a list of (image 1×C×H×W, cache key, class); the
        ones not cached yet run as one batch."""
        found = {k: self._cache[k] for _, k, _ in wanted if k in self._cache}
        missing = list({k: (x, k, c) for x, k, c in wanted if k not in found}.values())
        if missing:
            ig = interpret.IntegratedGradients(self.nets[model], n_steps=self._init["ig_steps"], reduce="sum",
                                               internal_batch_size=256)
            maps = ig(torch.cat([x for x, _, _ in missing]), torch.tensor([c for _, _, c in missing]))
            for (_, k, _), m in zip(missing, maps):
                found[k] = self._cached(k, lambda m=m: m)
        for k in found:   # most recently used
            if k in self._cache:
                self._cache.move_to_end(k)
        return [found[k] for _, k, _ in wanted]


    def compute(self, model, index, eps, use_upload):
        eps = self.ranges()["eps"].check(eps, "ε")
        checks.choice(model, "model", self.models)
        with _threads(self._init["threads"]):
            return self._compute(model, index, eps, use_upload)

    def _compute(self, model, index, eps, use_upload):
        x, ident, y, source = self._image(model, index, use_upload)
        x_adv = self._adversarial(model, x, ident, y, eps)
        logits, maps = self._cam(model, x, ident, 0.0)
        logits_adv, maps_adv = self._cam(model, x_adv, ident, eps)
        pred, pred_adv = int(logits.argmax()), int(logits_adv.argmax())
        success = pred_adv != y
        if success:
            y_adv = pred_adv
        else:   # the runner-up class of the attacked image
            y_adv = int(logits_adv.masked_fill(torch.arange(len(logits_adv)) == y, float("-inf")).argmax())
        yt, yat = torch.tensor([y]), torch.tensor([y_adv])
        d = float(D.discrepancy(maps[None], maps_adv[None], yt, yat)[0])
        bound = float(D.margin_bound(logits[None], yt, yat)[0])
        holds = d >= bound - 1e-6
        size = x.shape[-2:]
        cam = _upsample(torch.stack([maps[y], maps_adv[y], maps[y_adv], maps_adv[y_adv]]), size)
        r = round(eps, 6)
        ig = torch.stack(self._ig(model, [(x, (*ident, model, "ig", 0.0, y), y),
                                          (x_adv, (*ident, model, "ig", r, y), y),
                                          (x, (*ident, model, "ig", 0.0, y_adv), y_adv),
                                          (x_adv, (*ident, model, "ig", r, y_adv), y_adv)]))
        c = self.classes
        if eps == 0:
            attack = "no attack (ε = 0): x′ = x"
        else:
            attack = f"PGD-{self._init['steps']} at ε = {eps_label(eps, False)}: " + (
                f"{c[y]} → {c[pred_adv]}" if success else f"failed, y′ = runner-up {c[y_adv]}")
        what = f"{source} (predicted {c[pred]})" if use_upload else f"{source}, true {c[y]}"
        head = f"{model}: {what}"
        if eps == 0:
            verdict = "no attack: x′ = x, D = 0"
        elif success:
            verdict = "D ≥ bound: yes, as Proposition 1 guarantees" if holds else "D ≥ bound: NO, yet the attack won"
        else:
            verdict = f"D ≥ bound: {'yes' if holds else 'no'} (not guaranteed: attack failed)"
        line = f"D(x, x′) = {d:.4f}    bound ½(f_y(x) − f_y′(x)) = {bound:.4f}    {verdict}"
        return DiscrepancyState(source, model, eps, x[0], x_adv[0], y, y_adv, pred, pred_adv,
                                torch.softmax(logits, 0), torch.softmax(logits_adv, 0), success, cam, ig, d, bound,
                                holds, head, attack, verdict, line)

    # -- drawing -------------------------------------------------------------------------
    def build_figure(self):
        from matplotlib.figure import Figure
        fig = Figure(figsize=(7.2, 3.7), dpi=80)   # the book's column
        grid = fig.add_gridspec(2, 5, width_ratios=[1, 1, 1, 1, 1], wspace=0.12, hspace=0.28)
        size = self.images.shape[-2:]
        kw = image_kwargs(self.images[0])
        blank = np.zeros((*size, 3)) if self.images.shape[1] == 3 else np.zeros(size)
        self.digit_ax = [fig.add_subplot(grid[r, 0]) for r in range(2)]
        self.map_ax = np.array([[fig.add_subplot(grid[r, c + 1]) for c in range(4)] for r in range(2)])
        self.digit_art = [ax.imshow(blank, **kw) for ax in self.digit_ax]
        self.map_art = np.array([[ax.imshow(np.zeros(size), cmap=CMAP, vmin=-1, vmax=1) for ax in row]
                                 for row in self.map_ax])
        for ax in (*self.digit_ax, *self.map_ax.flat):
            ax.set_xticks([]); ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(True); spine.set_color("0.7")
            ax.set_title(" ", fontsize=7.5)
        for ax, name in zip(self.map_ax[:, 0], ("CAM", "IG")):
            ax.set_ylabel(name, fontsize=8)
        for ax in self.map_ax[1]:
            ax.set_title("")
        # text costs ~0.15 ms a character to render: what changes on an ε move is kept short, in
        # pieces at fixed places (a piece that did not change is not drawn again)
        self.head = fig.text(0.5, 0.975, " ", ha="center", va="top", fontsize=8.5)
        self.attack_text = fig.text(0.5, 0.925, " ", ha="center", va="top", fontsize=8.5)
        y = 0.03
        fig.text(0.02, y, "D(x, x′) =", fontsize=8)
        self.d_text = fig.text(0.105, y, " ", fontsize=8)
        fig.text(0.215, y, "bound ½(f_y(x) − f_y′(x)) =", fontsize=8)
        self.bound_text = fig.text(0.445, y, " ", fontsize=8)
        self.verdict = fig.text(0.555, y, " ", fontsize=8)
        fig.text(0.99, 0.105, "colours: each pair on the clean map's scale (beyond it: clipped); red +, blue −",
                 ha="right", fontsize=7, color="0.35")
        fig.subplots_adjust(left=0.02, right=0.98, top=0.8, bottom=0.15)
        self.dynamic = [*self.digit_art, *self.map_art.flat, *[ax.title for ax in self.digit_ax],
                        *[ax.title for ax in self.map_ax[0]], self.head, self.attack_text, self.d_text, self.bound_text,
                        self.verdict]
        return fig

    def draw(self, s: DiscrepancyState):
        c = self.classes
        self.digit_art[0].set_data(to_hwc(s.x))
        self.digit_art[1].set_data(to_hwc(s.x_adv))
        self.digit_ax[0].title.set_text(f"x: {c[s.pred]} ({float(s.probs[s.pred]):.0%})")
        self.digit_ax[1].title.set_text(f"x′: {c[s.pred_adv]} ({float(s.probs_adv[s.pred_adv]):.0%})")
        for row, maps in enumerate((s.cam, s.ig)):
            for pair in (0, 2):
                top = float(maps[pair].abs().max()) or 1.0   # the clean map's scale: it stays as ε moves
                for j in (pair, pair + 1):
                    art = self.map_art[row, j]
                    art.set_data(maps[j].numpy())
                    art.set_clim(-top, top)
        cls = (f"y = {c[s.y]}", f"y = {c[s.y]}", f"y′ = {c[s.y_adv]}", f"y′ = {c[s.y_adv]}")
        for j, ax in enumerate(self.map_ax[0]):
            ax.title.set_text(f"{COLUMNS[j]}, {cls[j]}")
        self.head.set_text(s.head)
        self.attack_text.set_text(s.attack)
        self.d_text.set_text(f"{s.d:.4f}")
        self.bound_text.set_text(f"{s.bound:.4f}")
        self.verdict.set_text(s.verdict)

    def widget(self):
        import ipywidgets as W
        return W.VBox([W.HBox([self.model, self.index]), W.HBox([self.eps, self.eps_text]),
                       W.HBox([self.upload, self.use_upload]), self.message, self.image])
