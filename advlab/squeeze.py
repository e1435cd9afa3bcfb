"""Feature squeezing (Xu, Evans & Qi, NDSS 2018), the detector chapter 5's ADV² must evade.

A squeezer removes detail an adversarial perturbation relies on; an image whose prediction moves
too far when squeezed is flagged. The score of an image is the L1 distance between the softmax
outputs, ``‖softmax f(x) − softmax f(squeeze(x))‖₁`` (in [0, 2]).

* :func:`bit_depth` rounds each pixel to ``bits`` bits (2^bits levels).
* :func:`median` takes the median of each ``size``×``size`` window, per channel, borders
  reflected as scipy's ``median_filter`` does (its default ``mode="reflect"``); written in torch,
  so its gradient is the real one (it flows to the median pixel of each window).
* :func:`nonlocal_means` is scikit-image's ``denoise_nl_means`` per image (``fast_mode``, colour
  patches). Zhang et al.'s Table 4 (ImageNet) uses search window 11, patch 3, h = 4 ("11-3-4",
  OpenCV's notation, h in grey levels of 0–255); for CIFAR-10 Xu et al. chose 13-3-2. With
  pixels in [0, 1]: ``patch_distance`` = (window − 1)/2, ``h`` = grey levels/255. On 32×32 images a
  13×13 search window already spans most of an object, and h = 2/255 averages only patches that
  differ by about one grey level: a gentle squeezer that keeps clean accuracy.

``SQUEEZERS`` names the settings (``"bit-2"``, ``"bit-3"``, ``"median-3"``, ``"nlm"`` (13-3-2) …);
``TABLE4`` is the paper's four rows, with the CIFAR-10 NLM setting. ``Detector(model, squeezers,
fpr)`` is fitted on clean images (``fit``), then ``detect``s, ``score``s and ``counts``;
``differentiable_score`` is what the adaptive attack (ADV²*) descends: straight-through (BPDA:
forward squeezed, backward identity) for bit depth and NLM, the real gradient for the median.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch

from .core import checks, chunks, frozen_eval


def bit_depth(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Round each pixel to ``bits`` bits: ``round(x·(2^bits − 1)) / (2^bits − 1)`` (chapter 5)."""
    checks.images(x.detach())
    levels = 2 ** checks.number(bits, "bits", 1, 16, integer=True) - 1
    return torch.round(x * levels) / levels


def median(x: torch.Tensor, size: int) -> torch.Tensor:
    """``size``×``size`` median filter per channel, as ``scipy.ndimage.median_filter(x, size=(1, 1,
    size, size))`` computes it (borders reflected, the upper median for even sizes); differentiable."""
    checks.images(x.detach())
    h, w = x.shape[-2:]
    size = checks.number(size, "size", 1, min(h, w), integer=True)
    lo, hi = size // 2, size - 1 - size // 2  # scipy centres the window at size // 2
    pad = torch.cat([x[..., :lo, :].flip(-2), x, x[..., h - hi:, :].flip(-2)], -2)
    pad = torch.cat([pad[..., :lo].flip(-1), pad, pad[..., w - hi:].flip(-1)], -1)
    windows = pad.unfold(-2, size, 1).unfold(-2, size, 1).flatten(-2)  # N×C×H×W×size²
    k = size * size // 2
    return windows.sort(-1).values[..., k]


def nonlocal_means(x: torch.Tensor, patch_size: int = 3, patch_distance: int = 6, h: float = 2 / 255) -> torch.Tensor:
    """scikit-image's non-local means per image (colour patches, ``fast_mode``): ``patch_size``
    pixels a side, search within ``patch_distance`` pixels, cut-off ``h`` in pixel units (chapter 5).
    The default is Xu et al.'s CIFAR-10 setting 13-3-2. Not differentiable (see ``Squeezer``)."""
    from skimage.restoration import denoise_nl_means
    checks.images(x.detach())
    patch_size = checks.number(patch_size, "patch_size", 1, min(x.shape[-2:]), integer=True)
    patch_distance = checks.number(patch_distance, "patch_distance", 1, 1000, integer=True)
    h = checks.number(h, "h", 1e-6, 10.0)
    imgs = x.detach().cpu().double().permute(0, 2, 3, 1).numpy()
    smoothed = np.stack([denoise_nl_means(img, patch_size=patch_size, patch_distance=patch_distance, h=h,
                                          fast_mode=True, channel_axis=-1) for img in imgs])
    out = torch.from_numpy(smoothed.reshape(imgs.shape)).permute(0, 3, 1, 2).clamp(0, 1)
    return out.to(dtype=x.dtype, device=x.device)


@dataclass(frozen=True)
class Squeezer:
    """A named squeezing setting: ``squeezer(x)`` squeezes images; ``differentiable(x)`` has the same
    value and a gradient: the real one (``gradient="exact"``) or the identity (``"bpda"``)."""
    name: str
    fn: Callable[[torch.Tensor], torch.Tensor]
    gradient: str  # "exact" or "bpda"

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)

    def differentiable(self, x: torch.Tensor) -> torch.Tensor:
        if self.gradient == "exact":
            return self.fn(x)
        flat = x.detach()
        return x + (self.fn(flat) - flat)  # forward squeezed, backward identity (Athalye et al., 2018)


SQUEEZERS: dict[str, Squeezer] = {s.name: s for s in (
    Squeezer("bit-1", partial(bit_depth, bits=1), "bpda"),
    Squeezer("bit-2", partial(bit_depth, bits=2), "bpda"),
    Squeezer("bit-3", partial(bit_depth, bits=3), "bpda"),
    Squeezer("bit-4", partial(bit_depth, bits=4), "bpda"),
    Squeezer("bit-5", partial(bit_depth, bits=5), "bpda"),
    Squeezer("median-2", partial(median, size=2), "exact"),
    Squeezer("median-3", partial(median, size=3), "exact"),
    Squeezer("nlm", partial(nonlocal_means, patch_size=3, patch_distance=6, h=2 / 255), "bpda"),
    Squeezer("nlm-11-3-4", partial(nonlocal_means, patch_size=3, patch_distance=5, h=4 / 255), "bpda"),
)}

# Zhang et al.'s Table 4 rows: 2- and 3-bit depth, 3×3 median, non-local means (CIFAR-10's 13-3-2)
TABLE4 = ("bit-2", "bit-3", "median-3", "nlm")
JOINT = "joint"  # the detector on the largest score over the squeezers (Xu et al.'s joint detection)


class Detector:
    """Feature-squeezing detector (Xu et al., 2018; chapter 5).

    >>> det = Detector(model, fpr=0.05).fit(x_clean)
    >>> det.thresholds                      # {"bit-2": ..., ..., "joint": ...}
    >>> flagged = det.detect(x_adv)         # {"bit-2": N bools, ..., "joint": N bools}
    >>> al.report.rate(*det.counts(x_adv)["joint"])   # detection rate with its Wilson interval

    ``fit`` sets, per squeezer and for ``"joint"`` (the largest score over the squeezers), the
    threshold: the 1 − ``fpr`` empirical quantile of the clean images' scores, the order statistic
    numpy's ``quantile(..., method="higher")`` returns, so at most ``fpr`` of the fitting images
    score above it. An image is flagged when its score exceeds the threshold.
    """

    def __init__(self, model, squeezers: Sequence[str] = TABLE4, fpr: float = 0.05, batch_size: int = 256):
        self.model = checks.model(model)
        if isinstance(squeezers, str) or not isinstance(squeezers, Sequence) or not squeezers:
            raise ValueError(f"squeezers must be a non-empty list of names from {', '.join(SQUEEZERS)}, "
                             f"got {squeezers!r}")
        self.squeezers = [SQUEEZERS[checks.choice(s, "squeezer", SQUEEZERS)] for s in squeezers]
        self.fpr = checks.number(fpr, "fpr", 1e-6, 0.5)
        self.batch_size = checks.number(batch_size, "batch_size", 1, 1 << 20, integer=True)
        self.thresholds: dict[str, float] | None = None

    def _scores(self, x: torch.Tensor, differentiable: bool) -> dict[str, torch.Tensor]:
        checks.images(x.detach(), model=self.model)
        out: dict[str, list[torch.Tensor]] = {s.name: [] for s in self.squeezers}
        with frozen_eval(self.model), torch.set_grad_enabled(differentiable and torch.is_grad_enabled()):
            for i in chunks(len(x), self.batch_size):
                xb = x[i]
                p = self.model(xb).softmax(1)
                for s in self.squeezers:
                    squeezed = s.differentiable(xb) if differentiable else s(xb.detach())
                    out[s.name].append((p - self.model(squeezed).softmax(1)).abs().sum(1))
        scores = {k: torch.cat(v) for k, v in out.items()}
        scores[JOINT] = torch.stack(list(scores.values())).amax(0)
        return scores

    def score(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per squeezer and ``"joint"``: each image's L1 distance between softmax outputs (N, CPU)."""
        return {k: v.detach().cpu() for k, v in self._scores(x, False).items()}

    def differentiable_score(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The scores on the autograd graph w.r.t. ``x`` (ADV²*'s squeeze loss): BPDA for bit depth
        and NLM, the median's real gradient; ``"joint"`` is their maximum."""
        return self._scores(x, True)

    def fit(self, x_clean: torch.Tensor) -> Detector:
        """Set the thresholds at false-positive rate ``fpr`` on the clean images ``x_clean``."""
        need = math.ceil(1 / self.fpr)
        if isinstance(x_clean, torch.Tensor) and x_clean.dim() == 4 and len(x_clean) < need:
            raise ValueError(f"x_clean must hold at least 1/fpr = {need} images to set a threshold at "
                             f"fpr={self.fpr}, got {len(x_clean)}")
        scores = self.score(x_clean)
        self.thresholds = {k: float(np.quantile(v.double().numpy(), 1 - self.fpr, method="higher"))
                           for k, v in scores.items()}
        return self

    def detect(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per squeezer and ``"joint"``: is each image flagged (N bools, CPU)."""
        if self.thresholds is None:
            raise ValueError("this Detector has no thresholds yet: call fit(x_clean) first")
        return {k: v > self.thresholds[k] for k, v in self.score(x).items()}

    def counts(self, x: torch.Tensor) -> dict[str, tuple[int, int]]:
        """Per squeezer and ``"joint"``: (flagged, images), for ``advlab.report.rate`` (a rate with
        its Wilson interval; the report layer sits above this module)."""
        return {k: (int(v.sum()), len(v)) for k, v in self.detect(x).items()}

    def __repr__(self):
        return f"Detector(squeezers={[s.name for s in self.squeezers]}, fpr={self.fpr})"
