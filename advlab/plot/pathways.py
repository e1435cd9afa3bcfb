"""Attack pathway graphs (chapter 8, after Bluff): the layers as columns, each shown channel as a
node coloured by its group, the strongest connections as lines whose width follows the
influence; and the drill-down on one channel (its feature visualisation, its top patches and its
activation against the attack's strength). Drawn in matplotlib, so the static book needs no
JavaScript. Colours are the Okabe–Ito palette's green, blue, orange and vermillion, which stay
apart for the common colour-vision deficiencies."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..interpret.pathways import GROUPS, Pathway
from .images import image_kwargs, to_hwc
from .legibility import FONT, WIDTH_IN

#: group → node colour (Bluff's green / blue / orange / red, colour-blind safe)
COLORS = {"benign": "#009E73", "target": "#0072B2", "both": "#E69F00", "adversarial": "#D55E00"}
#: group → legend text
LABELS = {"benign": "benign class", "target": "target class", "both": "both classes",
          "adversarial": "adversarial only"}


def node_positions(pathway: Pathway) -> dict[tuple[str, int], tuple[float, float]]:
    """(layer, channel) → (x, y) of its node: layer i at x = i, the layer's shown channels
    spread over y in [0, 1] in the order of ``GROUPS``, then by channel index."""
    pos = {}
    for i, layer in enumerate(pathway.layers):
        cs = sorted(pathway.channels.get(layer, []), key=lambda c: (GROUPS.index(c["group"]), c["channel"]))
        n = len(cs)
        for r, c in enumerate(cs):
            pos[(layer, c["channel"])] = (float(i), 1.0 - (r + 0.5) / n if n else 0.5)
    return pos


def pathway_graph(pathway: Pathway, ax=None, *, title: str | None = None, labels: bool = True,
                  max_width: float = 4.0, size: tuple[float, float] | None = None):
    """Draw ``pathway`` (an :class:`advlab.interpret.Pathway`) on ``ax`` (a new figure when
    ``None``, at most the book's column wide). Nodes carry their channel index when ``labels``;
    an edge's width is proportional to |influence| (the widest ``max_width`` points), solid for
    a positive influence, dashed for a negative one. Returns ``(fig, ax)``; the node artists are
    ``ax.collections`` in the order of ``advlab.interpret.pathways.GROUPS`` (one per
    group present), so their colours can be read back."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    if not isinstance(pathway, Pathway):
        raise ValueError(f"pathway must be an advlab.interpret.Pathway, got {type(pathway).__name__}")
    if ax is None:
        most = max((len(v) for v in pathway.channels.values()), default=1)
        size = size or (min(WIDTH_IN, max(5.6, 1.2 + 1.1 * len(pathway.layers))), min(9.0, 2.2 + 0.28 * most))
        fig, ax = plt.subplots(figsize=size, layout="constrained")
    else:
        fig = ax.figure
    pos = node_positions(pathway)
    strongest = max((abs(e[4]) for e in pathway.edges), default=0.0)
    for src, i, dst, j, value in pathway.edges:
        if (src, i) not in pos or (dst, j) not in pos or strongest == 0:
            continue
        (x0, y0), (x1, y1) = pos[(src, i)], pos[(dst, j)]
        ax.plot([x0, x1], [y0, y1], color="0.35", alpha=0.7, zorder=1,
                lw=max(0.3, max_width * abs(value) / strongest), ls="-" if value >= 0 else "--")
    for group in GROUPS:
        pts = [(pos[(layer, c["channel"])], c["channel"]) for layer in pathway.layers
               for c in pathway.channels.get(layer, []) if c["group"] == group]
        if not pts:
            continue
        xy = np.array([p for p, _ in pts])
        ax.scatter(xy[:, 0], xy[:, 1], s=150, color=COLORS[group], edgecolor="black", linewidth=0.5,
                   zorder=2, label=LABELS[group])
        if labels:
            for (x, y), ch in pts:
                ax.text(x, y, str(ch), ha="center", va="center", fontsize=FONT, zorder=3,
                        color="white" if group in ("target", "adversarial") else "black")
    ax.set_xticks(range(len(pathway.layers)), pathway.layers, fontsize=FONT,
                  rotation=30 if len(pathway.layers) > 4 else 0)
    ax.set_yticks([])
    ax.set_xlim(-0.5, len(pathway.layers) - 0.5)
    ax.set_ylim(-0.05, 1.05)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    handles = [Line2D([], [], marker="o", ls="", markersize=8, markerfacecolor=COLORS[g], markeredgecolor="black",
                      label=LABELS[g]) for g in GROUPS]
    ax.legend(handles=handles, fontsize=FONT, loc="upper center", bbox_to_anchor=(0.5, -0.12 if len(pathway.layers) <= 4
              else -0.22), ncol=4, frameon=False, handletextpad=0.2, columnspacing=0.8)
    if title:
        ax.set_title(title, fontsize=FONT + 1)
    return fig, ax


def channel_drilldown(visualization=None, patches=None, response: dict | None = None, *, title: str | None = None,
                      eps_scale: float = 255.0, size: float = 2.2):
    """One channel's drill-down in a row: its feature visualisation (1×C×H×W, from
    :func:`advlab.interpret.visualize_channel`), its top patches (k×C×h×w, from
    :func:`advlab.interpret.top_patches`, in a grid) and its response curve (the dict of
    :func:`advlab.interpret.channel_response`: mean activation against ε, ε in units of
    1/``eps_scale``, the target class's clean mean dashed). Any of the three may be ``None``.
    Returns the figure."""
    import matplotlib.pyplot as plt
    parts: list[tuple[str, Any]] = [p for p in (("visualization", visualization), ("patches", patches),
                                                ("response", response)) if p[1] is not None]
    if not parts:
        raise ValueError("channel_drilldown needs at least one of visualization, patches, response")
    widths = [1.4 if name == "response" else 1.0 for name, _ in parts]
    fig = plt.figure(figsize=(min(WIDTH_IN, size * sum(widths) + 0.4), size + 0.3), layout="constrained")
    axes = fig.subplots(1, len(parts), width_ratios=widths, squeeze=False)[0]
    for ax, (name, value) in zip(axes, parts):
        if name == "visualization":
            ax.imshow(to_hwc(value[0]), **image_kwargs(value[0]))
            ax.set_title("feature visualisation", fontsize=FONT)
            ax.axis("off")
        elif name == "patches":
            k = len(value)
            cols = int(np.ceil(np.sqrt(k)))
            rows = int(np.ceil(k / cols))
            c, h, w = value.shape[1:]
            grid = np.ones((rows * (h + 1) - 1, cols * (w + 1) - 1, 3 if c == 3 else 1))
            for t in range(k):
                r, q = divmod(t, cols)
                img = to_hwc(value[t])
                grid[r * (h + 1):r * (h + 1) + h, q * (w + 1):q * (w + 1) + w] = img if c == 3 else img[..., None]
            ax.imshow(grid if c == 3 else grid[..., 0], **image_kwargs(value[0]))
            ax.set_title(f"top {k} patches", fontsize=FONT)
            ax.axis("off")
        else:
            eps = [e * eps_scale for e in value["eps"]]
            ax.plot(eps, value["mean"], "o-", color=COLORS["adversarial"], label="attacked benign images")
            if value.get("target_mean") is not None:
                ax.axhline(value["target_mean"], color=COLORS["target"], ls="--", label="target class (clean)")
            ax.set_xlabel(f"ε (×1/{eps_scale:g})", fontsize=FONT)
            ax.set_ylabel("mean activation", fontsize=FONT)
            ax.tick_params(labelsize=FONT)
            ax.legend(fontsize=FONT, frameon=False)
            ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=FONT + 1)
    return fig
