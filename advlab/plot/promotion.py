"""Chapter 6's figures: suppression against promotion per adversarial example (the three types
as regions of the plane), and examples of the dissection's concept probe."""
from __future__ import annotations

import numpy as np

from .images import to_hwc

COLOURS = {"FGSM": "#1f77b4", "PGD-10": "#d62728", "CW-L2": "#2ca02c", "group PGD": "#9467bd",
           "noise": "0.6"}


def pse_scatter(runs: dict, ratio: float = 2.0, ax=None, title: str = ""):
    """Suppression (x) against promotion (y) of every example that reached its target, one colour
    per attack (``runs``: attack name → ``{"pse", "success"}``, as in
    ``advlab.studies.ch06_promotion.pse_study``); the lines p = s/r and p = r·s bound the
    balanced wedge. Returns the axes."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.6), layout="constrained")
    top = 1e-6
    for name, run in runs.items():
        ok = run["success"] if name != "noise" else np.ones(len(run["success"]), bool)
        s, p = run["pse"].suppression[ok].numpy(), run["pse"].promotion[ok].numpy()
        if len(s):
            ax.scatter(s, p, s=9, alpha=0.7, color=COLOURS.get(name, None), label=f"{name} ({len(s)})")
            top = max(top, float(np.abs(s).max()), float(np.abs(p).max()))
    v = np.array([0, 1.05 * top])
    ax.plot(v, v / ratio, color="0.3", lw=0.8, ls="--")
    ax.plot(v / ratio, v, color="0.3", lw=0.8, ls="--")
    ax.axhline(0, color="0.8", lw=0.6)
    ax.axvline(0, color="0.8", lw=0.6)
    ax.text(0.97 * top, 0.12 * top, "suppression-\ndominated", ha="right", fontsize=8, color="0.3")
    ax.text(0.08 * top, 0.95 * top, "promotion-dominated", fontsize=8, color="0.3", va="top")
    ax.text(0.7 * top, 0.62 * top, "balanced", fontsize=8, color="0.3", ha="center")
    ax.set_xlabel("suppression of the true class (centred logit)", fontsize=8)
    ax.set_ylabel("promotion of the target", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False, markerscale=1.5)
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def concept_examples(probe, concepts, seed: int = 0, fig=None):
    """One probe image per concept of ``concepts`` (names in ``probe.concepts``) with its mask
    outlined: what the dissection's concepts look like. Returns the figure."""
    import matplotlib.pyplot as plt
    rng = np.random.default_rng(seed)
    fig = fig or plt.figure(figsize=(1.15 * len(concepts), 1.5), layout="constrained")
    axes = fig.subplots(1, len(concepts), squeeze=False)[0]
    for ax, name in zip(axes, concepts):
        c = probe.concepts.index(name)
        have = (probe.masks[:, c].flatten(1).float().mean(1) > 0.05).nonzero().flatten()
        if len(have):
            i = int(have[rng.integers(len(have))])
            ax.imshow(to_hwc(probe.x[i]))
            ax.contour(probe.masks[i, c].numpy().astype(float), levels=[0.5], colors="cyan", linewidths=0.9)
        ax.set_title(name.split(":")[-1], fontsize=8)
        ax.set_xticks([]); ax.set_yticks([])
    return fig
