"""Curves: accuracy against ε (chapter 1), the loss around an image (chapter 1), accuracy
against a transform's strength (chapter 3). Accuracies given as ``advlab.report.Rate`` are
drawn with their 95 % interval as a band."""
from __future__ import annotations

import numpy as np

from .legibility import FONT, WIDTH_IN


def _percent(values):
    """Values (fractions or Rates) in percent, and their interval bands (None for plain numbers)."""
    mid = np.array([100 * getattr(v, "value", v) for v in values])
    if all(hasattr(v, "low") for v in values):
        return mid, (np.array([100 * v.low for v in values]), np.array([100 * v.high for v in values]))
    return mid, None


def _style(ax, xlabel, ylabel=None, title=None):
    ax.set_xlabel(xlabel, fontsize=FONT)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=FONT)
    if title:
        ax.set_title(title, fontsize=FONT + 1)
    ax.tick_params(labelsize=FONT)
    ax.grid(alpha=0.3)


def _line(ax, x, values, **kw):
    mid, band = _percent(values)
    (line,) = ax.plot(x, mid, marker="o", ms=3, **kw)
    if band is not None:
        ax.fill_between(x, *band, color=line.get_color(), alpha=0.15, lw=0)


def accuracy_curves(eps, curves: dict, xlabel: str = "ε (L∞, pixel units)", size=(6.0, 3.4), ylim=(0, 100),
                    logx: bool = False):
    """Accuracy against ε (or any other setting: ``xlabel``), one line per entry of ``curves``
    (label → one accuracy per value). Labels may be ``(model, attack)`` pairs: one colour per model,
    one line style per attack (chapter 1). ``ylim``: the accuracy axis (%); ``logx``: a log x axis
    (numbers of steps)."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    firsts = list(dict.fromkeys(k[0] for k in curves if isinstance(k, tuple)))
    seconds = list(dict.fromkeys(k[1] for k in curves if isinstance(k, tuple)))
    for i, (key, values) in enumerate(curves.items()):
        if isinstance(key, tuple):
            kw = {"color": f"C{firsts.index(key[0])}", "ls": ("-", "--", ":", "-.")[seconds.index(key[1]) % 4],
                  "label": ", ".join(map(str, key))}
        else:
            kw = {"color": f"C{i}", "label": str(key)}
        _line(ax, eps, values, **kw)
    ax.set_ylim(*ylim)
    if logx:
        ax.set_xscale("log")
        ax.set_xticks(list(eps), [f"{v:g}" for v in eps])
        ax.minorticks_off()
    _style(ax, xlabel, "accuracy (%)")
    ax.legend(fontsize=FONT)
    return fig


def loss_curves(grid, loss, names=("gradient sign", "random sign")):
    """The loss around one image on a 2-D grid of steps along two directions (``loss``:
    len(grid)×len(grid)[×N], first image shown): the two axes' cuts, and the surface (chapter 1)."""
    import matplotlib.pyplot as plt
    loss = np.asarray(loss)
    loss = loss[..., 0] if loss.ndim == 3 else loss
    grid = np.asarray(grid)
    mid = len(grid) // 2
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(WIDTH_IN, 3.0), layout="constrained")
    a1.plot(grid, loss[:, mid], label=names[0])
    a1.plot(grid, loss[mid, :], label=names[1])
    _style(a1, "step size along the direction", "cross-entropy")
    a1.legend(fontsize=FONT)
    cs = a2.contourf(grid, grid, loss.T, levels=20, cmap="viridis")
    fig.colorbar(cs, ax=a2).ax.tick_params(labelsize=FONT)
    _style(a2, names[0], names[1], "loss surface")
    return fig


def margin_curves(t, margins: dict, size=(6.0, 3.0)):
    """The logit margin along each direction (``margins``: name → len(t)×N, first image shown;
    names starting with "random" are drawn thin and grey, the first labelled), with the decision
    boundary at 0 (chapter 1)."""
    import matplotlib.pyplot as plt
    t = np.asarray(t)
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    labelled = False
    for name, m in margins.items():
        m = np.asarray(m)
        m = m[:, 0] if m.ndim == 2 else m
        if name.startswith("random"):
            ax.plot(t, m, color="0.6", lw=0.8, label=None if labelled else "random sign directions")
            labelled = True
        else:
            ax.plot(t, m, lw=2, label=name)
    ax.axhline(0, color="k", lw=0.8, ls="--")
    _style(ax, "step size along the direction (L∞)", "logit margin z_y − max z_j")
    ax.legend(fontsize=FONT)
    return fig


def transform_curves(results: dict, params: dict | None = None, title: str | None = None, size=2.3):
    """One panel per transform: accuracy vs strength, one line per model (chapter 3).

    ``results``: ``{transform: {level: {model: accuracy}}}``, accuracies as fractions or as
    Rates (``advlab.studies.rates`` of ``transform_outcomes``); ``params`` names each
    transform's strength parameter (axis labels).
    """
    import matplotlib.pyplot as plt
    names = list(results)
    width = min(WIDTH_IN, size * len(names))
    fig, axes = plt.subplots(1, len(names), figsize=(width, 0.9 * width / len(names) + 1.1), squeeze=False,
                             layout="constrained", sharey=True)
    for ax, t in zip(axes[0], names):
        levels = list(results[t])
        pos = np.arange(len(levels))
        for model in results[t][levels[0]]:
            _line(ax, pos, [results[t][lv][model] for lv in levels], label=model)
        ax.set_xticks(pos, [f"{lv:g}" for lv in levels])
        ax.set_ylim(0, 100)
        _style(ax, (params or {}).get(t, "strength"), title=t)
    axes[0, 0].set_ylabel("accuracy (%)", fontsize=FONT)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=FONT, loc="outside lower center", ncol=min(len(labels), 3))
    if title:
        fig.suptitle(title, fontsize=FONT + 1)
    return fig
