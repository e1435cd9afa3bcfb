"""Rates with Wilson intervals, and paired tests of two models (or attacks) on the same images.

Chapter 1 introduces intervals; chapter 2 the paired test; chapter 3 the paired test of kept
fractions.

>>> print(rate(408, 500))
81.6 [78.0, 84.8]
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Rate:
    """``k`` successes out of ``n`` with its Wilson interval (``low``, ``high``, fractions).

    ``str`` and ``format`` show percentages: ``f"{r}"`` → ``81.6 [78.0, 84.8]``,
    ``f"{r:.2f}"`` → ``81.60 [77.97, 84.75]``. A paper's rate keeps the percentage it printed
    (``reported``), shown instead of 100·k/n (see :func:`from_percent`).
    """
    k: int
    n: int
    low: float
    high: float
    reported: float | None = None

    @property
    def value(self) -> float:
        return self.k / self.n

    def __format__(self, spec: str) -> str:
        """Percentages with ``spec`` (default ``.1f``). An interval narrower than the last digit
        (0 of 10,000: [0, 0.04] %) gets up to two more decimals, so it never reads [0.0, 0.0]."""
        spec = spec or ".1f"
        shown = 100 * self.value if self.reported is None else self.reported
        m = re.fullmatch(r"\.(\d+)f", spec)
        if m and self.high > self.low:
            for digits in range(int(m.group(1)), int(m.group(1)) + 3):
                spec = f".{digits}f"
                if f"{100 * self.low:{spec}}" != f"{100 * self.high:{spec}}":
                    break
        return f"{shown:{spec}} [{100 * self.low:{spec}}, {100 * self.high:{spec}}]"

    def __str__(self) -> str:
        return format(self)


def rate(k: int, n: int, confidence: float = CONFIDENCE) -> Rate:
    """``k`` of ``n`` as a :class:`Rate` with its Wilson score interval (chapter 1)."""
    k, n = int(k), int(n)
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n >= 1, got k={k}, n={n}")
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return Rate(k, n, float(ci.low), float(ci.high))


def from_outcomes(correct, confidence: float = CONFIDENCE) -> Rate:
    """The rate of ``True`` in per-image outcomes (tensor or array): a vector of N, with its
    Wilson interval; or N×S (S settings per image), the share of all N·S outcomes, whose
    interval takes the images as the units (the S outcomes of one image are not independent):
    the normal interval of the mean per-image share, clipped to [0, 1] (chapter 2)."""
    c = _outcomes(correct, "correct")
    if c.ndim == 1:
        return rate(int(c.sum()), len(c), confidence)
    _, lo, hi = _normal_interval(c.mean(1), confidence)
    return Rate(int(c.sum()), c.size, max(lo, 0.0), min(hi, 1.0))


def from_accuracy(accuracy: float, n: int) -> Rate:
    """An accuracy measured on ``n`` images (a fraction of ``n``) as a :class:`Rate` (chapter 1:
    the zoo manifest's figures)."""
    k = round(accuracy * n)
    if abs(accuracy * n - k) > 1e-3 * max(1, n / 1000):
        raise ValueError(f"accuracy {accuracy} is not a whole number of {n} images")
    return rate(k, n)


def from_percent(percent: float, n: int) -> Rate:
    """A paper's percentage over ``n`` test images as a :class:`Rate` of the nearest whole
    number of images, shown as printed (``reported``) with that count's interval (chapters 1
    and 2: the papers' rows)."""
    r = rate(round(percent * n / 100), n)
    return Rate(r.k, r.n, r.low, r.high, reported=percent)


@dataclass(frozen=True)
class Paired:
    """A − B measured on the same images: ``difference`` (fraction), its interval
    (``low``, ``high``), the test's ``pvalue``, and the images where A / B did better."""
    difference: float
    low: float
    high: float
    pvalue: float
    a_better: int
    b_better: int
    n: int

    def __format__(self, spec: str) -> str:
        spec = spec or "+.1f"
        return (f"{100 * self.difference:{spec}} [{100 * self.low:{spec}}, {100 * self.high:{spec}}] "
                f"(p = {self.pvalue:.2g})")

    def __str__(self) -> str:
        return format(self)


def _outcomes(a, name: str) -> np.ndarray:
    a = np.asarray(a.detach().cpu() if hasattr(a, "detach") else a, dtype=float)
    if a.ndim not in (1, 2) or len(a) == 0:
        raise ValueError(f"{name} must be a non-empty vector (or N×S matrix) of outcomes, got shape {a.shape}")
    return a


def _standard_error(d: np.ndarray) -> float:
    """Standard error of the mean of per-image values ``d`` (0 for a single image)."""
    return float(d.std(ddof=1)) / math.sqrt(len(d)) if len(d) > 1 else 0.0


def _normal_interval(d: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """Mean of per-image values ``d``, and the normal interval of that mean."""
    m, half = float(d.mean()), stats.norm.ppf(0.5 + confidence / 2) * _standard_error(d)
    return m, m - half, m + half


def mcnemar(a, b, confidence: float = CONFIDENCE) -> Paired:
    """Exact McNemar test of two classifiers (or attacks) on the same images (chapter 2).

    ``a``, ``b``: per-image outcomes (1 = correct), length N; or N×S for S settings per image,
    when each image scores the share of its settings that are correct. Images where A scores
    higher count for A, where B does, for B; the two-sided exact binomial test of these
    discordant counts against ½ (scipy's ``binomtest``) is McNemar's exact test for S = 1 and
    the sign test otherwise. The interval of A − B is the normal interval of the mean per-image
    difference (used only to judge "equal within a tolerance", see :func:`verdict`).
    """
    a, b = _outcomes(a, "a"), _outcomes(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    d = (a.mean(1) - b.mean(1)) if a.ndim == 2 else a - b
    plus, minus = int((d > 0).sum()), int((d < 0).sum())
    p = float(stats.binomtest(plus, plus + minus, 0.5).pvalue) if plus + minus else 1.0
    return Paired(*_normal_interval(d, confidence), p, plus, minus, len(d))


def paired_ratio(a_after, a_before, b_after, b_before, confidence: float = CONFIDENCE) -> Paired:
    """Compare two ratios of rates on the same images, e.g. the accuracy *kept* under a
    transform, Σ after / Σ before, of model A and model B (chapter 3).

    The difference of the ratios gets a delta-method interval: each image contributes
    (after − ratio·before) / mean(before) to its model's ratio, and the normal interval and
    two-sided z-test are those of the mean per-image difference of these contributions.
    ``a_better`` / ``b_better`` count the images only A / only B gets right after.
    """
    parts = [_outcomes(v, n) for v, n in ((a_after, "a_after"), (a_before, "a_before"),
                                          (b_after, "b_after"), (b_before, "b_before"))]
    if len({p.shape for p in parts}) != 1 or parts[0].ndim != 1:
        raise ValueError("all four outcome vectors must have the same length N")
    (aa, ab), (ba, bb) = parts[:2], parts[2:]
    if ab.sum() == 0 or bb.sum() == 0:
        raise ValueError("a ratio's denominator is zero")
    ra, rb = aa.sum() / ab.sum(), ba.sum() / bb.sum()
    d = (aa - ra * ab) / ab.mean() - (ba - rb * bb) / bb.mean()   # mean 0; carries the variance
    diff, se = float(ra - rb), _standard_error(d)
    half = stats.norm.ppf(0.5 + confidence / 2) * se
    p = float(2 * stats.norm.sf(abs(diff) / se)) if se > 0 else (1.0 if diff == 0 else 0.0)
    return Paired(diff, diff - half, diff + half, p, int((aa > ba).sum()), int((ba > aa).sum()), len(d))
