"""TextureLab (chapter 3, ``notebooks/03_shape_vs_texture.ipynb``): a shape-vs-texture transform
with a strength slider, each model's prediction and the SmoothGrad map of its predicted class."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import interpret, transforms
from ..core import checks
from ..models import fold_batchnorm
from ..plot import image_kwargs, to_hwc
from . import controls as C
from . import examples
from .upload import UploadPanel


def _seed_bound(v) -> str:
    return "2**63 - 1" if v == 2**63 - 1 else f"{v:g}"


@dataclass
class TextureState:
    source: str                 # "image 12" or "your image"
    transform: str
    level: float
    x: torch.Tensor             # original, C×H×W
    x_t: torch.Tensor           # transformed
    label: int | None           # None for an uploaded image
    probs: dict                 # model name -> softmax on the original
    probs_t: dict               # model name -> softmax on the transformed image
    maps: dict                  # model name -> SmoothGrad map of the original (H×W, normalised)
    maps_t: dict                # model name -> SmoothGrad map of the transformed image

    def pred(self, name: str, transformed: bool = True) -> int:
        return int((self.probs_t if transformed else self.probs)[name].argmax())


class TextureLab(UploadPanel):
    """Chapter 3: transform an image (saturation, patch shuffling, stylisation) and watch what
    each model predicts and where its SmoothGrad map looks.

    ``models``: dict name → model (two or three: e.g. standard and adversarially
    trained). ``stylized``: optional dict strength → precomputed stylised copies of
    ``images`` (``advlab.stylize.subset``), used instead of optimising again;
    other images and strengths (your own upload) are stylised live (about a second).
    Controls: ``index``, ``transform``, ``level`` (the transform's strength values),
    ``upload`` (your picture, centre-cropped and resized), ``use_upload``.
    """

    CHAPTER = 3

    def __init__(self, models: dict, images, labels, classes=None, transform="saturate", stylized=None,
                 n_samples: int = 25, sigma: float = 0.15, seed: int = 0, cache_size: int = 256):
        self.models = C.check_models(models, 3)
        if checks.images(images, "images").shape[1] != 3:  # before the model sees them
            raise ValueError(f"images must be RGB (N×3×H×W) for the shape-vs-texture transforms, "
                             f"got shape {tuple(images.shape)}")
        self.bind_data(next(iter(self.models.values())), images, labels, classes)
        checks.choice(transform, "transform", transforms.TRANSFORMS)
        args = self.check_arguments(n_samples=n_samples, sigma=sigma, seed=seed)
        self.stylized = {}
        for s, xs in (stylized or {}).items():
            s = checks.number(s, "stylized strength", 0.0, 1.0)
            self.stylized[s] = checks.images(xs, f"stylized[{s}]")
            if xs.shape != self.images.shape:
                raise ValueError(f"stylized[{s}] must have the shape of images {tuple(self.images.shape)}, "
                                 f"got {tuple(xs.shape)}")
        self.nets = {k: fold_batchnorm(m) for k, m in self.models.items()}  # computed with (see Panel)
        self.interpreters = {k: interpret.make("smoothgrad", m, **args) for k, m in self.nets.items()}
        self.seed = args["seed"]
        self._init_transform = transform
        super().__init__(cache_size)

    def ranges(self):
        return {**super().ranges(), "n_samples": C.Range(1, 1000, integer=True), "sigma": C.Range(0, 1),
                "seed": C.Range(0, 2**63 - 1, integer=True, via=checks.seed, fmt=_seed_bound)}

    @classmethod
    def example(cls, **kwargs):
        """On two tiny untrained CNNs and three random images, SmoothGrad with 4 samples."""
        x, y, classes = examples.tiny_images()
        models = {"standard": examples.tiny_model("cnn"), "other": examples.tiny_model("cnn", seed=5)}
        return cls(models, x, y, **{"classes": classes, "n_samples": 4, **kwargs})

    def example_changes(self):
        return [("index", 1), ("level", 4), ("transform", "patch_shuffle"), ("level", 2),
                ("upload", C.upload_value(examples.png_bytes())), ("use_upload", False), ("use_upload", True)]

    # -- controls ----------------------------------------------------------------
    def controls(self):
        import ipywidgets as W
        self.index = C.index_slider(len(self.images))
        self.transform = W.Dropdown(options=list(transforms.TRANSFORMS), value=self._init_transform,
                                    description="transform")
        self.level = W.SelectionSlider(options=self._levels(self._init_transform), description=self._param(),
                                       style=C.STYLE)
        self.upload, self.use_upload = C.upload_controls(self.set_image, self.show_error)
        self.transform.observe(self._on_transform, names="value", type="change")
        return [self.index, self.transform, self.level, self.upload, self.use_upload]

    def observed(self):
        # transform changes reset the level (one render, from _on_transform); uploads flip use_upload
        return [self.index, self.level, self.use_upload]

    def _param(self, name=None):
        return transforms.TRANSFORMS[name or self._init_transform][1]

    def _levels(self, name):
        return [(f"{v:g}", v) for v in transforms.TRANSFORMS[name][2]]

    def main_control(self):
        """The transform's strength (``level``): its values are the ones the background prefetch fills."""
        return "level", self.level

    def _on_transform(self, change):
        if change["new"] not in transforms.TRANSFORMS:  # the panel's message, not a traceback
            self.show_error(ValueError(f"unknown transform {change['new']!r}; accepted values: "
                                       f"{', '.join(transforms.TRANSFORMS)}"))
            return
        with self.one_render():
            self.level.options = self._levels(change["new"])  # resets the value to the first level (the identity)
            self.level.description = self._param(change["new"])

    def params(self):
        return dict(index=self.index.value, transform=self.transform.value, level=self.level.value,
                    use_upload=self.use_upload.value)

    # -- pure computation -----------------------------------------------------------
    def _transformed(self, src, x, index, transform, level):
        if transform == "stylize" and src == "image" and float(level) in self.stylized:
            return self.stylized[float(level)][index:index + 1]
        return transforms.apply(transform, x, level, seed=self.seed + (index if src == "image" else 0))

    def _look(self, x):
        """Each model's softmax and the SmoothGrad map of its predicted class."""
        probs, maps = {}, {}
        for name in self.nets:
            p, mp = interpret.predict_and_map(self.interpreters[name], x)
            probs[name], maps[name] = p[0], mp[0]
        return probs, maps

    def compute(self, index, transform, level, use_upload):
        checks.choice(transform, "transform", transforms.TRANSFORMS)
        if use_upload:
            if self._upload is None:
                raise ValueError("no image uploaded yet: choose a file with 'your image' first")
            src, x, label, what = "upload", self._upload, None, "your image"
        else:
            src, x, label, what = "image", self.images[index:index + 1], int(self.labels[index]), f"image {index}"
        ident = index if src == "image" else id(self._upload)
        probs, maps = self._cached((src, ident, "orig"), lambda: self._look(x))
        x_t = self._cached((src, ident, transform, level, "x"),
                           lambda: self._transformed(src, x, index, transform, level))
        probs_t, maps_t = self._cached((src, ident, transform, level), lambda: self._look(x_t))
        return TextureState(what, transform, level, x[0], x_t[0], label, probs, probs_t, maps, maps_t)

    # -- drawing -----------------------------------------------------------------------
    def build_figure(self):
        from matplotlib.figure import Figure
        m = len(self.models)
        fig = Figure(figsize=(2.3 * (m + 1), 4.6), dpi=80)
        axes = fig.subplots(2, m + 1, squeeze=False)
        self.ax = axes
        kw = image_kwargs(self.images[0])
        blank = np.zeros((*self.images.shape[-2:], 3))
        heat = np.zeros(self.images.shape[-2:])
        self.art_img = [axes[r, 0].imshow(blank, **kw) for r in range(2)]
        self.art_map = [[axes[r, j + 1].imshow(heat, cmap="inferno", vmin=0, vmax=1) for j in range(m)]
                        for r in range(2)]
        for ax in axes.flat:
            ax.set_xticks([]); ax.set_yticks([])
            ax.set_title(" ", fontsize=8)
        self.suptitle = fig.suptitle(" ", fontsize=9)
        fig.subplots_adjust(left=0.02, right=0.98, top=0.82, bottom=0.02, wspace=0.15, hspace=0.45)
        self.dynamic = [*self.art_img, *self.art_map[0], *self.art_map[1], *[ax.title for ax in axes.flat],
                        self.suptitle]
        return fig

    def draw(self, s: TextureState):
        c = self.classes
        self.art_img[0].set_data(to_hwc(s.x))
        self.art_img[1].set_data(to_hwc(s.x_t))
        truth = f"true: {c[s.label]}" if s.label is not None else "your image"
        self.ax[0, 0].title.set_text(f"original\n{truth}")
        self.ax[1, 0].title.set_text(f"{s.transform} ({self._param(s.transform)}={s.level:g})")
        for j, name in enumerate(self.models):
            for r, (probs, maps) in enumerate(((s.probs, s.maps), (s.probs_t, s.maps_t))):
                k = int(probs[name].argmax())
                mark = "" if s.label is None else (" ✓" if k == s.label else " ✗")
                self.art_map[r][j].set_data(maps[name].numpy())
                self.ax[r, j + 1].title.set_text(f"{name}\n{c[k]} ({probs[name][k]:.0%}){mark}")
        self.suptitle.set_text(f"{s.source}: SmoothGrad of each model's predicted class, "
                               f"original (top) and transformed (bottom)")

    def widget(self):
        import ipywidgets as W
        return W.VBox([W.HBox([self.index, self.transform, self.level]), W.HBox([self.upload, self.use_upload]),
                       self.message, self.image])
