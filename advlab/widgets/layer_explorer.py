"""LayerExplorer (chapter 7): what the classifier keeps at each layer, as InterpretGAN's explanation
generators draw it, for a digit and its PGD image side by side."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..core import checks
from . import controls as C
from .base import Panel
from .controls import eps_label

EPS_VALUES = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
RIGHT, WRONG = "#1b7837", "#b2182b"


@dataclass
class LayerState:
    source: str
    model: str
    eps: float
    x: torch.Tensor          # 1×H×W
    x_adv: torch.Tensor
    y: int
    pred: int
    pred_adv: int
    explained: torch.Tensor  # 2×L×H×W: explanations of the clean (0) and the attacked (1) image
    pred_explained: list     # 2 lists of L: the classifier's class for each explanation
    title: str


class LayerExplorer(Panel):
    """Chapter 7: where along the layers does an adversarial digit change? (Zheng et al.,
    InterpretGAN.)

    One image (``index``) is attacked with PGD (``steps`` steps of 2.5·ε/steps, one seeded random
    start, L∞ ``eps``) against the classifier ``model`` (a key of ``models``: name → (classifier,
    generators), generators a dict layer → explanation generator). Top row: the clean image and its
    explanation at every layer; bottom row: the same for the attacked image. Each explanation is
    titled with the class the classifier gives it (green: the true class, red: another). Attacks and
    explanations are cached per (image, model, ε); ``precompute`` fills the cache for the image.

    Controls (attributes): ``index``, ``model``, ``eps`` / ``eps_text``.
    """

    CHAPTER = 7
    EPS_VALUES = EPS_VALUES

    def __init__(self, models: dict, images, labels, classes=None, eps=0.3, steps=40, cache_size=512):
        if not isinstance(models, dict) or not 1 <= len(models) <= 4:
            raise ValueError(f"models must be a dict of 1 to 4 entries name -> (classifier, generators), "
                             f"got {type(models).__name__}")
        self.models: dict = {}
        layers = None
        for k, pair in models.items():
            if not isinstance(pair, (tuple, list)) or len(pair) != 2 or not isinstance(pair[1], dict) or not pair[1]:
                raise ValueError(f"models[{k!r}] must be a pair (classifier, dict layer -> generator)")
            clf = checks.model(pair[0], f"models[{k!r}] classifier")
            gens = {str(layer): checks.model(g, f"models[{k!r}] generator {layer!r}") for layer, g in pair[1].items()}
            if layers is not None and list(gens) != layers:
                raise ValueError(f"models[{k!r}] must explain the same layers as the first model ({layers}), "
                                 f"got {list(gens)}")
            layers = list(gens)
            self.models[str(k)] = (clf, gens)
        self.layers = layers or []
        first = next(iter(self.models.values()))[0]
        self.bind_data(first, images, labels, classes)
        self._init = self.check_arguments(eps=eps, steps=steps)
        super().__init__(cache_size)

    def ranges(self):
        return {**super().ranges(), "eps": C.eps_range(False), "steps": C.Range(1, C.MAX_STEPS, integer=True)}

    @classmethod
    def from_zoo(cls, n_images: int = 40, **kwargs):
        """The natural and the TRADES classifier of chapter 7 with their generators, on a seeded
        stratified sample of ``n_images`` bundled MNIST test images (``n_images`` / 10 per digit)."""
        from ..studies import ch07_layers as S
        clfs = S.load_models()
        models = {lab: (clfs[lab], S.load_generators(lab)) for lab in S.DIAGNOSED}
        x, y = S.sample(max(1, n_images // 10), S.SEED)
        return cls(models, x, y, **kwargs)

    @classmethod
    def example(cls, **kwargs):
        """On two untrained chapter 7 classifiers, generators for three of their layers, and three
        random digit-sized images."""
        from ..models.interpretgan import ExplanationGenerator, LayeredCNN
        models = {}
        with torch.random.fork_rng(devices=[]):
            for seed, name in enumerate(("tiny a", "tiny b")):
                torch.manual_seed(seed)
                clf = LayeredCNN().eval()
                gens = {}
                for layer in ("conv1", "conv4", "fc3"):
                    g = ExplanationGenerator(layer, code=8)
                    g.init_from(clf)
                    gens[layer] = g.eval()
                models[name] = (clf, gens)
        x = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(3))
        return cls(models, x, torch.arange(3), **{"steps": 2, "eps": 0.2, **kwargs})

    def example_changes(self):
        return [("eps", 0.1), ("eps_text", "0.25"), ("model", list(self.models)[-1]), ("index", 1)]

    # -- controls --------------------------------------------------------------------------
    def controls(self):
        import ipywidgets as W
        self.index = C.index_slider(len(self.images))
        names = list(self.models)
        self.model = W.Dropdown(options=names, value=names[0], description="model")
        self.eps, self.eps_text = C.eps_controls(self._init["eps"], False, self.show_error, self.update)
        return [self.index, self.model, self.eps, self.eps_text]

    def observed(self):
        return [self.index, self.model, self.eps]

    def params(self):
        return dict(index=self.index.value, model=self.model.value, eps=self.eps.value)

    # -- computation -----------------------------------------------------------------------
    def _explain(self, clf, gens, x):
        with torch.no_grad():
            xs = torch.cat([g(x) for g in gens.values()])
            return xs, clf(xs).argmax(1).tolist()

    def _attack(self, clf, x, y, eps):
        from .. import attacks
        steps = self._init["steps"]
        return attacks.PGD(clf, eps=eps, steps=steps, alpha=2.5 * eps / steps, seed=0, batch_size=None)(
            x, torch.tensor([y])).detach()

    def compute(self, index, model, eps):
        eps = self.ranges()["eps"].check(eps, "ε")
        checks.choice(model, "model", self.models)
        index = C.Range(0, len(self.images) - 1, integer=True).check(index, "image")
        clf, gens = self.models[model]
        x, y = self.images[index:index + 1], int(self.labels[index])
        x_adv = x if eps == 0 else self._cached((index, model, "adv", round(eps, 6)),
                                                lambda: self._attack(clf, x, y, eps))
        clean = self._cached((index, model, "explain", 0.0), lambda: self._explain(clf, gens, x))
        adv = clean if eps == 0 else self._cached((index, model, "explain", round(eps, 6)),
                                                  lambda: self._explain(clf, gens, x_adv))
        with torch.no_grad():
            pred, pred_adv = clf(torch.cat([x, x_adv])).argmax(1).tolist()
        c = self.classes
        title = (f"image {index}, true {c[y]} · {model} model · PGD-{self._init['steps']}, ε = {eps_label(eps, False)}"
                 f": {c[pred]} → {c[pred_adv]}")
        return LayerState(f"image {index}", model, eps, x[0], x_adv[0], y, pred, pred_adv,
                          torch.stack([clean[0], adv[0]])[:, :, 0], [clean[1], adv[1]], title)


    # -- drawing -----------------------------------------------------------------------------
    def build_figure(self):
        from matplotlib.figure import Figure
        k = len(self.layers)
        fig = Figure(figsize=(7.2, 2.55), dpi=80)
        grid = fig.add_gridspec(2, k + 1, wspace=0.08, hspace=0.38)
        blank = np.zeros(self.images.shape[-2:])
        self.axes = np.array([[fig.add_subplot(grid[r, i]) for i in range(k + 1)] for r in range(2)])
        self.arts = np.array([[ax.imshow(blank, cmap="gray", vmin=0, vmax=1) for ax in row] for row in self.axes])
        for ax in self.axes.flat:
            ax.set_xticks([]); ax.set_yticks([])
            ax.set_title(" ", fontsize=8)
        self.axes[0, 0].set_ylabel("clean", fontsize=8)
        self.axes[1, 0].set_ylabel("attacked", fontsize=8)
        for ax in self.axes[:, 0]:
            for side in ax.spines.values():
                side.set_linewidth(2)
        self.head = fig.text(0.5, 0.985, " ", ha="center", va="top", fontsize=8.5)
        fig.subplots_adjust(left=0.04, right=0.99, top=0.80, bottom=0.02)
        self.dynamic = [*self.arts.flat, *[ax.title for ax in self.axes.flat], self.head]
        return fig

    def draw(self, s: LayerState):
        c = self.classes
        for r, (img, pred) in enumerate(((s.x, s.pred), (s.x_adv, s.pred_adv))):
            self.arts[r, 0].set_data(img[0].numpy())
            self.axes[r, 0].title.set_text(f"input: {c[pred]}")
            self.axes[r, 0].title.set_color(RIGHT if pred == s.y else WRONG)
            for j, layer in enumerate(self.layers):
                p = s.pred_explained[r][j]
                self.arts[r, j + 1].set_data(s.explained[r, j].numpy())
                self.axes[r, j + 1].title.set_text(f"{layer}: {c[p]}")
                self.axes[r, j + 1].title.set_color(RIGHT if p == s.y else WRONG)
        self.head.set_text(s.title)

    def widget(self):
        import ipywidgets as W
        return W.VBox([W.HBox([self.index, self.model]), W.HBox([self.eps, self.eps_text]), self.message, self.image])
