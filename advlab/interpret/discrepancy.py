"""Interpretation discrepancy (chapter 4): ``advlab.core.discrepancy``, here beside the other
interpreters. It lives in the core because attack objectives (``"worst_discrepancy"``, ``"aai"``)
use it too, and attacks and interpreters do not import each other."""
from ..core.discrepancy import (  # noqa: F401
    class_maps,
    discrepancy,
    kendall_tau,
    l1_distance,
    margin_bound,
    select,
    smoothed_discrepancy,
)

__all__ = ["class_maps", "discrepancy", "kendall_tau", "l1_distance", "margin_bound", "select",
           "smoothed_discrepancy"]
