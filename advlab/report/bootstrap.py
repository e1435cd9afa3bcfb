"""Means of per-image values with a bootstrap 95 % interval over images (chapter 8: mean channel
activations and their changes under attack), and the verdict on the sign of a paired change."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .intervals import CONFIDENCE
from .verdicts import CANNOT_TELL, DOES_NOT_HOLD, HOLDS

RESAMPLES = 2000


@dataclass(frozen=True)
class Mean:
    """The mean of ``n`` per-image values and its percentile-bootstrap interval (``low``,
    ``high``). ``f"{m}"`` → ``0.41 [0.38, 0.44]``; ``f"{m:+.3f}"`` formats all three."""
    value: float
    low: float
    high: float
    n: int

    def __format__(self, spec: str) -> str:
        spec = spec or ".2f"
        return f"{self.value:{spec}} [{self.low:{spec}}, {self.high:{spec}}]"

    def __str__(self) -> str:
        return format(self)


def bootstrap_mean(values, seed: int = 0, confidence: float = CONFIDENCE, resamples: int = RESAMPLES) -> Mean:
    """The mean of ``values`` (one per image: a vector, tensor or array) with a seeded
    percentile bootstrap interval over images (``scipy.stats.bootstrap``). A single value, or
    values that are all equal, get the degenerate interval [mean, mean]."""
    v = np.asarray(values.detach().cpu() if hasattr(values, "detach") else values, dtype=float).ravel()
    if v.size == 0 or not np.isfinite(v).all():
        raise ValueError(f"values must be a non-empty vector of finite numbers, got {v.size} values")
    m = float(v.mean())
    if v.size == 1 or np.ptp(v) == 0:
        return Mean(m, m, m, int(v.size))
    res = stats.bootstrap((v,), np.mean, confidence_level=confidence, n_resamples=resamples,
                          method="percentile", random_state=np.random.default_rng(seed))
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return Mean(m, min(lo, m), max(hi, m), int(v.size))


def sign_verdict(change: Mean, claim: str = ">") -> str:
    """Is a paired change (a :class:`Mean` of per-image differences) above (``">"``) or below
    (``"<"``) zero? Holds when the whole interval is on the claimed side, does not hold when it
    is entirely on the other side, else cannot tell at this sample size."""
    if claim not in (">", "<"):
        raise ValueError(f"claim must be '>' or '<', got {claim!r}")
    sign = 1 if claim == ">" else -1
    lo, hi = sorted((sign * change.low, sign * change.high))
    return HOLDS if lo > 0 else DOES_NOT_HOLD if hi < 0 else CANNOT_TELL


def _vectors(*values) -> list[np.ndarray]:
    out = [np.asarray(v.detach().cpu() if hasattr(v, "detach") else v, dtype=float).ravel() for v in values]
    if len({v.size for v in out}) != 1 or out[0].size < 3 or not all(np.isfinite(v).all() for v in out):
        raise ValueError(f"need paired vectors of equal length >= 3 with finite values, got lengths "
                         f"{[v.size for v in out]}")
    return out


def _rho(x, y, axis=-1):
    """Spearman's ρ along ``axis`` (vectorised over resamples): Pearson's r of the ranks."""
    rx, ry = stats.rankdata(x, axis=axis), stats.rankdata(y, axis=axis)
    rx = rx - rx.mean(axis, keepdims=True)
    ry = ry - ry.mean(axis, keepdims=True)
    den = np.sqrt((rx * rx).sum(axis) * (ry * ry).sum(axis))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(axis) / den


def correlation(a, b, seed: int = 0, confidence: float = CONFIDENCE, resamples: int = RESAMPLES) -> Mean:
    """Spearman's rank correlation of paired values ``a``, ``b`` (e.g. per unit: sensitivity to an
    attack and interpretability; chapter 6) with a seeded percentile bootstrap interval over the
    pairs, as a :class:`Mean` (``n`` = number of pairs)."""
    a, b = _vectors(a, b)
    rho = float(_rho(a, b))
    res = stats.bootstrap((a, b), _rho, paired=True, vectorized=True,
                          confidence_level=confidence, n_resamples=resamples, method="percentile",
                          random_state=np.random.default_rng(seed))
    lo, hi = np.nan_to_num([res.confidence_interval.low, res.confidence_interval.high], nan=rho)
    return Mean(rho, min(float(lo), rho), max(float(hi), rho), int(a.size))


def correlation_difference(a, b1, b2, seed: int = 0, confidence: float = CONFIDENCE,
                           resamples: int = RESAMPLES) -> Mean:
    """ρ(a, b1) − ρ(a, b2), Spearman, on the same pairs (e.g. sensitivity to an attack vs to random
    noise, against the same interpretability; chapter 6), with a paired bootstrap interval."""
    a, b1, b2 = _vectors(a, b1, b2)

    def diff(x, y1, y2, axis=-1):
        return _rho(x, y1, axis) - _rho(x, y2, axis)

    d = float(diff(a, b1, b2))
    res = stats.bootstrap((a, b1, b2), diff, paired=True, vectorized=True, confidence_level=confidence,
                          n_resamples=resamples, method="percentile", random_state=np.random.default_rng(seed))
    lo, hi = np.nan_to_num([res.confidence_interval.low, res.confidence_interval.high], nan=d)
    return Mean(d, min(float(lo), d), max(float(hi), d), int(a.size))
