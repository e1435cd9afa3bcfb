"""Verdicts on a paper's claims, computed from intervals or a paired test (chapters 2 and 3):
"holds", "does not hold", or "cannot tell at this sample size"."""
from __future__ import annotations

from .intervals import Paired, Rate

HOLDS, DOES_NOT_HOLD, CANNOT_TELL = "holds", "does not hold", "cannot tell at this sample size"


def verdict(evidence, claim: str = ">", tolerance: float = 0.0, alpha: float = 0.05) -> str:
    """``"holds"``, ``"does not hold"`` or ``"cannot tell at this sample size"`` for a claim
    about A − B (chapters 2 and 3).

    ``evidence``: a :class:`Paired` result (A and B on the same images), or two :class:`Rate`
    ``(a, b)`` from different samples. A difference is *significant* when the paired test's
    p-value is below ``alpha``, or, for two rates, when their Wilson intervals do not overlap;
    the interval of A − B is the paired one, or ``[a.low − b.high, a.high − b.low]`` for rates.

    * ``">"`` (A above B): holds if the difference is significant and positive; does not hold
      if it is significant and negative, or if ``tolerance`` > 0 and the whole interval lies
      within ±``tolerance`` (equal within tolerance); otherwise cannot tell.
    * ``"<"``: the same with A and B exchanged.
    * ``"="`` (equal within ``tolerance`` > 0): holds if the whole interval lies within
      ±``tolerance``; does not hold if it lies entirely outside (|A − B| > tolerance);
      otherwise cannot tell.
    """
    if isinstance(evidence, Paired):
        diff, lo, hi, significant = evidence.difference, evidence.low, evidence.high, evidence.pvalue < alpha
    elif len(evidence) == 2 and all(isinstance(r, Rate) for r in evidence):
        a, b = evidence
        diff, lo, hi = a.value - b.value, a.low - b.high, a.high - b.low
        significant = lo > 0 or hi < 0
    else:
        raise ValueError("evidence must be a Paired result or a pair of Rates")
    if claim not in (">", "<", "="):
        raise ValueError(f"claim must be '>', '<' or '=', got {claim!r}")
    if tolerance < 0 or (claim == "=" and tolerance == 0):
        raise ValueError("tolerance must be >= 0, and > 0 for the claim '='")
    within = tolerance > 0 and -tolerance <= lo and hi <= tolerance
    if claim == "=":
        return HOLDS if within else DOES_NOT_HOLD if (lo > tolerance or hi < -tolerance) else CANNOT_TELL
    sign = 1 if claim == ">" else -1
    if significant and sign * diff > 0:
        return HOLDS
    if (significant and sign * diff < 0) or within:
        return DOES_NOT_HOLD
    return CANNOT_TELL


def every(verdicts) -> str:
    """A claim made of several (e.g. "every AT model beats both controls"): holds if every part
    holds, does not hold if any part does not hold, otherwise cannot tell (chapters 2 and 3).
    Requiring every part to hold at level α keeps the whole claim at level α (an
    intersection-union test); "does not hold" from any one part is not corrected for the number
    of parts."""
    verdicts = list(verdicts)
    if not verdicts or any(v not in (HOLDS, DOES_NOT_HOLD, CANNOT_TELL) for v in verdicts):
        raise ValueError(f"need one or more verdicts, got {verdicts}")
    return DOES_NOT_HOLD if DOES_NOT_HOLD in verdicts else HOLDS if set(verdicts) == {HOLDS} else CANNOT_TELL
