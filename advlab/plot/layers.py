"""Chapter 7: images beside their InterpretGAN explanations at every layer of the classifier."""
from __future__ import annotations

from .images import image_grid, to_hwc
from .legibility import FONT

RIGHT, WRONG = "#1b7837", "#b2182b"


def explanation_grid(x, explanations: dict, preds: dict | None = None, y=None, row_labels=None, cell: float = 0.85):
    """One row per image of ``x`` (N×1×H×W): the image, then its explanation at each layer of
    ``explanations`` (layer → N×1×H×W). ``preds`` (``"input"`` and each layer → N class indices)
    titles each picture with the class the classifier gives it, green when it equals ``y[n]`` and
    red otherwise; ``row_labels`` label the rows. Returns the figure."""
    layers = list(explanations)
    n = len(x)
    fig, axes = image_grid(n, len(layers) + 1, cell, extra_h=0.2 * n if preds else 0.0)
    for r in range(n):
        for c, (name, img) in enumerate([("input", x[r])] + [(k, explanations[k][r]) for k in layers]):
            ax = axes[r, c]
            ax.imshow(to_hwc(img), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([]); ax.set_yticks([])
            if preds is not None:
                p = int(preds[name][r])
                ok = y is not None and p == int(y[r])
                ax.set_title(f"{name if r == 0 else ''}\n{p}".strip("\n") if r == 0 else str(p), fontsize=FONT,
                             color=RIGHT if ok else WRONG)
            elif r == 0:
                ax.set_title(name, fontsize=FONT)
        if row_labels is not None:
            axes[r, 0].set_ylabel(row_labels[r], fontsize=FONT)
    return fig
