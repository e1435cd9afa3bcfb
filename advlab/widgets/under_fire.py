"""UnderFire (chapter 5): one image attacked with PGD or with ADV² against one interpreter; the
four interpreters' maps of the clean and the attacked image, and the feature squeezers' verdicts."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import squeeze
from ..core import checks
from ..core.maps import normalize
from ..plot import image_kwargs, to_hwc
from . import controls as C
from . import examples
from .controls import eps_label
from .upload import UploadPanel

ATTACKS = ("PGD", "ADV²")
TARGET_MAPS = ("benign", "random patch")
EPS_VALUES = tuple(i / 255 for i in (0, 2, 4, 8, 12, 16))


@dataclass
class FireState:
    source: str
    attack: str
    interpreter: str
    target_map: str
    eps: float
    x: torch.Tensor          # C×H×W
    x_adv: torch.Tensor
    y: int
    t: int
    pred: int
    pred_adv: int
    confidence: float        # the adversarial image's probability of its predicted class
    maps: torch.Tensor       # 2×K×H×W normalised: clean (for y) and attacked (for its prediction)
    l1: list                 # per interpreter: L1 between the two maps
    detected: dict           # squeezer -> bool for the attacked image
    title: str
    outcome: str
    verdict: str
    pending: tuple = ()      # interpreters whose maps are still being computed (a live move: drawn blank)
    pending_clean: bool = False  # ... the clean image's maps among them (a new image)


class UnderFire(UploadPanel):
    """Chapter 5: can an attack fool the model *and* its interpreter? (Zhang et al., USENIX
    Security 2020.)

    One image (``index``, or your own picture) is attacked toward ``target`` with ``attack``: PGD,
    or ADV² against ``interpreter`` (``steps`` steps of 2.5·ε/steps, one seeded random start; the
    target map is the benign map or a random square patch). Top: the clean and the attacked image
    with their predictions, and which feature squeezers flag the attacked image (thresholds at 5 %
    false positives on clean images, set when the panel is built). Below: each interpreter's
    normalised map, of the clean image for its class and of the attacked image for its predicted
    class, and their L1 distance. Attacks and maps are cached per (image, attack, interpreter,
    target map, ε); ``precompute`` fills the cache for the current image.

    ``interpreters``: name → (interpreter for the maps, interpreter ADV² differentiates through),
    e.g. ``advlab.studies.ch05_under_fire`` builds the chapter's four. MASK is an optimisation (about
    0.6 s a map, ten times the others'): shown live, a move draws the other maps at once with MASK's
    marked "computing", and the background thread sends the complete picture when it has it
    (:meth:`~advlab.widgets.Panel.later`); in the book every frame is complete.

    Controls (attributes): ``index``, ``target``, ``attack``, ``interpreter``, ``target_map``,
    ``eps`` / ``eps_text``, ``upload`` / ``use_upload``.
    """

    CHAPTER = 5
    EPS_VALUES = EPS_VALUES

    def __init__(self, model, interpreters: dict, images, labels, classes=None, calibration=None, eps=8 / 255,
                 steps=10, lam=50.0, cache_size=512):
        self.model = checks.model(model)
        self.bind_data(self.model, images, labels, classes)
        self._init = self.check_arguments(eps=eps, steps=steps, lam=lam)
        if not isinstance(interpreters, dict) or not 1 <= len(interpreters) <= 6:
            raise ValueError("interpreters must be a dict of 1 to 6 entries name -> (interpreter, "
                             "attack interpreter)")
        self.interps = {}
        for k, pair in interpreters.items():
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(f"interpreters[{k!r}] must be a pair (interpreter, attack interpreter)")
            self.interps[str(k)] = tuple(pair)
        cal = self.images if calibration is None else checks.images(calibration, "calibration")
        self.detector = squeeze.Detector(self.model, squeeze.TABLE4, fpr=0.05).fit(cal)
        super().__init__(cache_size)

    def ranges(self):
        return {**super().ranges(), "eps": C.eps_range(self.images.shape[1] == 3),
                "steps": C.Range(1, C.MAX_STEPS, integer=True), "lam": C.Range(0.0, 1e4)}

    @classmethod
    def from_zoo(cls, n_images: int = 100, **kwargs):
        """The chapter's classifier and interpreters on the first ``n_images`` bundled CIFAR-10
        images; the detector's thresholds from the next 200."""
        from .. import data
        from ..studies import ch05_under_fire as S
        model, explainer = S.load_models()
        interps = {k: (S.interpreters(model, explainer)[k], S.attack_interpreter(k, model, explainer))
                   for k in S.INTERPRETERS}
        d = data.subset("cifar10")
        return cls(model, interps, d.x[:n_images], d.y[:n_images], classes=data.CLASSES["cifar10"],
                   calibration=d.x[n_images:n_images + 200], **kwargs)

    @classmethod
    def example(cls, **kwargs):
        """On a tiny untrained GAP CNN and three random 16×16 images, with CAM and gradients."""
        from .. import interpret
        x, y, classes = examples.tiny_images()
        model = examples.tiny_model("cnn", 0)
        interps = {"GRAD": (interpret.Saliency(model), interpret.Saliency(model)),
                   "CAM": (interpret.CAM(model), interpret.CAM(model))}
        calibration = torch.rand(24, *x.shape[1:], generator=torch.Generator().manual_seed(5))
        return cls(model, interps, x, y, **{"classes": classes, "steps": 2, "calibration": calibration, **kwargs})

    def example_changes(self):
        return [("eps", 4 / 255), ("eps_text", "2/255"), ("attack", "PGD"), ("interpreter", list(self.interps)[0]),
                ("target_map", "random patch"), ("attack", "ADV²"), ("target", self.classes[3]), ("index", 1),
                ("upload", C.upload_value(examples.png_bytes())), ("use_upload", False), ("use_upload", True)]

    # -- controls ------------------------------------------------------------------
    def controls(self):
        import ipywidgets as W
        rgb = self.images.shape[1] == 3
        self.index = C.index_slider(len(self.images))
        first = self.classes[(int(self.labels[0]) + 1) % self.n_classes]
        self.target = W.Dropdown(options=list(self.classes), value=first, description="target")
        self.attack = W.Dropdown(options=list(ATTACKS), value="ADV²", description="attack")
        names = list(self.interps)
        self.interpreter = W.Dropdown(options=names, value=names[min(1, len(names) - 1)], description="ADV² vs")
        self.target_map = W.Dropdown(options=list(TARGET_MAPS), value="benign", description="target map")
        self.eps, self.eps_text = C.eps_controls(self._init["eps"], rgb, self.show_error, self.update)
        self.upload, self.use_upload = C.upload_controls(self.set_image, self.show_error)
        return [self.index, self.target, self.attack, self.interpreter, self.target_map, self.eps, self.eps_text,
                self.upload, self.use_upload]

    def observed(self):
        return [c for c in self._controls if c not in (self.eps_text, self.upload)]

    def params(self):
        return dict(index=self.index.value, target=self.target.value, attack=self.attack.value,
                    interpreter=self.interpreter.value, target_map=self.target_map.value, eps=self.eps.value,
                    use_upload=self.use_upload.value)

    # -- computation ---------------------------------------------------------------------
    def _image(self, index, use_upload):
        if use_upload:
            if self._upload is None:
                raise ValueError("no image uploaded yet: choose a file with 'your image' first")
            with torch.no_grad():
                y = int(self.model(self._upload).argmax(1))
            return self._upload, ("upload", id(self._upload)), y, "your image"
        index = C.Range(0, len(self.images) - 1, integer=True).check(index, "image")
        return self.images[index:index + 1], ("image", index), int(self.labels[index]), f"image {index}"

    def _maps(self, x, ident, cls, tag):
        """Normalised maps of the interpreters (K×H×W) for one image and class, cached, and the
        names of those still pending: on a live move a slow interpreter's map (MASK) that is not
        cached is drawn blank and computed in the background (:meth:`~advlab.widgets.Panel.later`)."""
        target, maps, pending = torch.tensor([cls]), [], []
        for name, (it, _) in self.interps.items():
            key = (*ident, "map", name, tag, cls)
            if getattr(it, "slow", False):
                m = self.later(key, lambda interp: normalize(interp(x, target))[0], it)
            else:
                m = self._cached(key, lambda: normalize(it(x, target))[0])
            if m is None:
                pending.append(name)
            maps.append(torch.zeros(x.shape[-2:]) if m is None else m)
        return torch.stack(maps), tuple(pending)

    def _attack(self, x, t, attack, interpreter, target_map, eps):
        from .. import attacks
        from ..attacks.objectives import ADV2
        steps = self._init["steps"]
        loss = None
        if attack == "ADV²":
            loss = ADV2(self.interps[interpreter][1], lam=self._init["lam"],
                        target_map="random" if target_map == "random patch" else "benign")
        return attacks.PGD(self.model, eps=eps, steps=steps, targeted=True, loss=loss, seed=0, batch_size=None)(
            x, torch.tensor([t])).detach()

    def compute(self, index, target, attack, interpreter, target_map, eps, use_upload):
        eps = self.ranges()["eps"].check(eps, "ε")
        checks.choice(attack, "attack", ATTACKS)
        checks.choice(interpreter, "interpreter", self.interps)
        checks.choice(target_map, "target map", TARGET_MAPS)
        checks.choice(target, "target", self.classes)
        x, ident, y, source = self._image(index, use_upload)
        t = self.classes.index(target)
        same = t == y
        key = (attack, interpreter if attack == "ADV²" else "-", target_map if attack == "ADV²" else "-", t,
               round(eps, 6))
        x_adv = x if eps == 0 or same else self._cached((*ident, "adv", *key), lambda: self._attack(
            x, t, attack, interpreter, target_map, eps))
        with torch.no_grad():
            p = torch.softmax(self.model(torch.cat([x, x_adv])), 1)
        pred, pred_adv = int(p[0].argmax()), int(p[1].argmax())
        clean, waiting = self._maps(x, ident, y, "clean")
        adv, waiting_adv = (clean, waiting) if x_adv is x else self._maps(x_adv, ident, pred_adv, key)
        pending = tuple(dict.fromkeys(waiting + waiting_adv))
        l1 = [float("nan") if k in pending else d
              for k, d in zip(self.interps, (adv - clean).abs().flatten(1).mean(1).tolist())]
        detected = self._cached((*ident, "sqz", *key), lambda: {k: bool(v[0]) for k, v in
                                                                 self.detector.detect(x_adv).items()})
        c = self.classes
        what = f"ADV² vs {interpreter} ({target_map} map)" if attack == "ADV²" else "PGD"
        title = f"{source}, true {c[y]}; {what} toward {c[t]}"
        outcome = ("no attack (ε = 0)" if eps == 0 else "the target is the true class: pick another" if same else
                   f"ε = {eps_label(eps, x.shape[1] == 3)}: " + ("reached" if pred_adv == t else f"now {c[pred_adv]}"))
        flagged = [k for k, v in detected.items() if v and k != squeeze.JOINT]
        verdict = "squeezers flag it: " + (", ".join(flagged) if flagged else "none")
        return FireState(source, attack, interpreter, target_map, eps, x[0], x_adv[0], y, t, pred, pred_adv,
                         float(p[1, pred_adv]), torch.stack([clean, adv]), l1, detected, title, outcome, verdict,
                         pending, bool(waiting))


    # -- drawing -------------------------------------------------------------------------
    def build_figure(self):
        from matplotlib.figure import Figure
        k = len(self.interps)
        fig = Figure(figsize=(7.2, 4.9), dpi=80)
        grid = fig.add_gridspec(3, max(k, 3), wspace=0.12, hspace=0.42)
        size = self.images.shape[-2:]
        kw = image_kwargs(self.images[0])
        blank = np.zeros((*size, 3)) if self.images.shape[1] == 3 else np.zeros(size)
        self.img_ax = [fig.add_subplot(grid[0, i]) for i in range(2)]
        self.img_art = [ax.imshow(blank, **kw) for ax in self.img_ax]
        self.map_ax = np.array([[fig.add_subplot(grid[r + 1, i]) for i in range(k)] for r in range(2)])
        self.map_art = np.array([[ax.imshow(np.zeros(size), cmap="inferno", vmin=0, vmax=1) for ax in row]
                                 for row in self.map_ax])
        for ax in (*self.img_ax, *self.map_ax.flat):
            ax.set_xticks([]); ax.set_yticks([])
            ax.set_title(" ", fontsize=7.5)
        for ax, name in zip(self.map_ax[0], self.interps):
            ax.set_title(f"{name}, clean", fontsize=7.5)
        self.map_ax[0, 0].set_ylabel("clean x", fontsize=8)
        self.map_ax[1, 0].set_ylabel("attacked x′", fontsize=8)
        self.head = fig.text(0.5, 0.985, " ", ha="center", va="top", fontsize=8.5)
        self.outcome = fig.text(0.5, 0.945, " ", ha="center", va="top", fontsize=8.5)
        self.squeezed = fig.text(0.70, 0.78, " ", ha="center", va="center", fontsize=8, wrap=True)
        fig.text(0.70, 0.84, "feature squeezing (5 % false positives)", ha="center", fontsize=7.5, color="0.35")
        fig.text(0.70, 0.70, "new settings: computed once, then cached\n(MASK optimises a mask per map: ~0.6 s,\n"
                 "drawn when ready)",
                 ha="center", va="top", fontsize=7, color="0.35")
        fig.subplots_adjust(left=0.04, right=0.98, top=0.88, bottom=0.03)
        self.dynamic = [*self.img_art, *self.map_art.flat, *[ax.title for ax in self.img_ax],
                        *[ax.title for ax in self.map_ax.flat], self.head, self.outcome, self.squeezed]
        return fig

    def draw(self, s: FireState):
        c = self.classes
        self.img_art[0].set_data(to_hwc(s.x))
        self.img_art[1].set_data(to_hwc(s.x_adv))
        self.img_ax[0].title.set_text(f"x: {c[s.pred]}")
        self.img_ax[1].title.set_text(f"x′: {c[s.pred_adv]} ({s.confidence:.0%})")
        for j, name in enumerate(self.interps):
            self.map_art[0, j].set_data(s.maps[0, j].numpy())
            self.map_art[1, j].set_data(s.maps[1, j].numpy())
            waits = name in s.pending
            self.map_ax[0, j].title.set_text(f"{name}, clean" + (": computing…" if waits and s.pending_clean else ""))
            self.map_ax[1, j].title.set_text(f"{name}, attacked: computing…" if waits
                                             else f"{name}, attacked: L1 {s.l1[j]:.2f}")
        self.head.set_text(s.title)
        self.outcome.set_text(s.outcome)
        self.squeezed.set_text(s.verdict)

    def widget(self):
        import ipywidgets as W
        return W.VBox([W.HBox([self.index, self.target]), W.HBox([self.attack, self.interpreter, self.target_map]),
                       W.HBox([self.eps, self.eps_text]), W.HBox([self.upload, self.use_upload]), self.message,
                       self.image])
