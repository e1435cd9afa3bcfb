"""Reporting what a chapter measured: rates with Wilson 95 % intervals, paired tests on the same
images, verdicts on a paper's claims computed from them ("holds", "does not hold", "cannot tell
at this sample size"), bootstrap means of per-image values (chapter 8), and tables that set
ours beside the paper (chapters 1–3); and ``source``, the code a chapter teaches shown from the
package, the same in JupyterLab and in the book; ``claims``, each chapter's claims table kept for
the book's claims page.

>>> print(al.report.rate(408, 500))
81.6 [78.0, 84.8]
"""
from . import claims
from .bootstrap import Mean, bootstrap_mean, correlation, correlation_difference, sign_verdict
from .intervals import (
                        CONFIDENCE,
                        Paired,
                        Rate,
                        from_accuracy,
                        from_outcomes,
                        from_percent,
                        mcnemar,
                        paired_ratio,
                        rate,
)
from .source import Source, source
from .tables import Table, cell, markdown_table, side_by_side
from .verdicts import CANNOT_TELL, DOES_NOT_HOLD, HOLDS, every, verdict

__all__ = [
                        "CANNOT_TELL",
                        "CONFIDENCE",
                        "DOES_NOT_HOLD",
                        "HOLDS",
                        "Mean",
                        "Paired",
                        "Rate",
                        "Source",
                        "Table",
                        "bootstrap_mean",
                        "claims",
                        "cell",
                        "correlation",
                        "correlation_difference",
                        "every",
                        "from_accuracy",
                        "from_outcomes",
                        "from_percent",
                        "markdown_table",
                        "mcnemar",
                        "paired_ratio",
                        "rate",
                        "side_by_side",
                        "source",
                        "sign_verdict",
                        "verdict",
]
