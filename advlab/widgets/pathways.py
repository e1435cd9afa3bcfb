"""Pathways (chapter 8, ``notebooks/08_attack_pathways.ipynb``): Bluff's attack pathways
(Das et al., VIS 2020) on any class pair of CIFAR-10 or on your own picture, at two attack
strengths side by side, with a drill-down on one channel."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from .. import attacks, interpret
from ..core import checks
from ..core.probe import activations
from ..interpret.pathways import FILTERS
from ..models import fold_batchnorm
from ..plot import image_kwargs, to_hwc
from ..plot.pathways import COLORS, LABELS, node_positions
from . import controls as C
from . import examples
from .controls import eps_label
from .upload import UploadPanel

#: Bluff's colours for the four groups of a channel, as ``al.plot.pathway_graph`` draws them
COLOURS = COLORS
#: the ε (in 1/255) at which the drill-down's response curve is measured (cached once per setting)
CURVE = (0, 2, 4, 8, 16)
#: the strengths the "compare with" control offers (in 1/255)
COMPARE = (0, 1, 2, 4, 8, 16)
ATTACKS = ("fgsm", "pgd")
EPS_MAX = 16 / 255   # the slider's range: every strength the curve shows, and twice the usual 8/255
N_PATCHES_FROM = 128   # top patches are searched in the panel's first images
FILTER_K = 4   # channels per layer kept by a filter
SHOWN_LABELS = 8   # channel numbers are written next to at most this many nodes per layer


@dataclass
class PathwayState:
    source: str            # the benign class's name, or "your image"
    title: str
    graphs: list           # two filtered Pathways: at ε and at the compared ε
    eps: tuple             # (ε, compared ε)
    fooled: tuple          # share of benign images classified as the target, at each ε
    layer: str
    channel: int
    curve: dict            # "eps", "adversarial" (means), "benign", "target" (clean means)
    vis: torch.Tensor      # C×H×W feature visualisation of the channel
    patches: torch.Tensor  # k×C×h×w dataset patches that excite it most
    edges_pending: tuple = (False, False)  # per graph: its edges still being computed (a live move)
    pending: tuple = ()    # ("edges",) while any are


def _mosaic(patches: torch.Tensor, cols: int = 3) -> np.ndarray:
    """``k`` patches (k×C×h×w) as one H×W×3 picture, ``cols`` per row, 1-pixel white gaps."""
    k, _, h, w = patches.shape
    rows = max(1, -(-k // cols))
    out = np.ones((rows * (h + 1) - 1, cols * (w + 1) - 1, 3))
    for i in range(k):
        r, c = divmod(i, cols)
        out[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = to_hwc(patches[i]).reshape(h, w, -1)
    return out


def layout(pathway) -> tuple[dict, np.ndarray, list, np.ndarray, list, np.ndarray]:
    """What the panel draws of a Pathway: node positions ((layer, channel) → (x, y), from
    :func:`advlab.plot.pathways.node_positions`), an N×2 array of them, their groups, their
    sizes (by the adversarial mean activation, relative to the layer's largest), and the edges'
    segments and influences."""
    pos = node_positions(pathway)
    info = {(layer, c["channel"]): c for layer, chans in pathway.channels.items() for c in chans}
    top = {layer: max([c["adversarial"] for c in chans] + [1e-12]) for layer, chans in pathway.channels.items()}
    xy = np.array(list(pos.values()), dtype=float).reshape(-1, 2)
    groups = [info[k]["group"] for k in pos]
    sizes = np.array([12 + 60 * max(info[k]["adversarial"], 0) / top[k[0]] for k in pos])
    kept = [e for e in pathway.edges if (e[0], e[1]) in pos and (e[2], e[3]) in pos]
    segs = [[pos[(a, i)], pos[(b, j)]] for a, i, b, j, _w in kept]
    return pos, xy, groups, sizes, segs, np.array([e[4] for e in kept])


class Pathways(UploadPanel):
    """Chapter 8: Bluff's attack pathways, for any class pair of the dataset or your own picture.

    The benign images (the first ``n_images`` of class ``benign``, or your picture) are attacked
    toward class ``target`` (targeted FGSM or PGD); :func:`advlab.interpret.pathways` then picks,
    in each layer, the channels most activated by the benign class (green), the target class
    (blue), both (orange) or only the adversarial images (red), and links them to the next layer
    by their influence. Two graphs side by side: at ``eps`` and at the compared strength
    ``compare``. ``filter`` keeps the channels most activated, changed, excited or inhibited by
    the attack. The drill-down shows one channel (``layer``, ``channel``): its feature
    visualisation, the dataset patches that excite it most, and its mean activation against ε
    for the attacked benign images beside the clean benign and target classes.

    Controls (attributes): ``model``, ``benign``, ``target``, ``attack``, ``eps`` / ``eps_text``,
    ``compare``, ``share``, ``connections``, ``filter``, ``layer``, ``channel``, ``upload`` /
    ``use_upload``. ``layer`` (default: the last) and ``channel`` set the first drill-down.
    Attacks and graphs are cached per ε (``precompute`` fills the cache for a
    list of ε), so a slider move over cached values only redraws.

    >>> panel = Pathways({"standard": m}, C.x, C.y, classes=al.data.CLASSES["cifar10"],
    ...                  benign="cat", target="dog")
    """

    CHAPTER = 8
    EPS_VALUES = tuple(i / 255 for i in range(17))

    def __init__(self, models, images, labels, classes=None, benign=None, target=None, attack="pgd", eps=8 / 255,
                 compare=2 / 255, share=0.1, connections=3, filter="most_changed", layer=None, channel=0, n_images=16,
                 steps=10, vis_steps=64, cache_size=512):
        if isinstance(models, torch.nn.Module):
            models = {"model": models}
        self.models = C.check_models(models, 4)
        self.bind_data(next(iter(self.models.values())), images, labels, classes)
        if self.n_classes < 2:
            raise ValueError("a pathway needs at least two classes")
        benign = self.classes[0] if benign is None else benign
        target = self.classes[1] if target is None else target
        checks.choice(benign, "benign", self.classes)
        checks.choice(target, "target", self.classes)
        if benign == target:
            raise ValueError(f"benign and target must be different classes, got {benign!r} twice")
        checks.choice(attack, "attack", ATTACKS)
        checks.choice(filter, "filter", ("all", *FILTERS))
        self._init = dict(benign=benign, target=target, attack=attack, filter=filter, **self.check_arguments(
            eps=eps, compare=compare, share=share, connections=connections, channel=channel, n_images=n_images,
            steps=steps, vis_steps=vis_steps))
        units = self._init["compare"] * 255
        if round(units) not in COMPARE or abs(units - round(units)) > 1e-6:
            raise ValueError(f"compare must be one of {', '.join(f'{v}/255' for v in COMPARE)}, got {compare!r}")
        self.nets = {k: fold_batchnorm(m) for k, m in self.models.items()}   # computed with (see Panel)
        self.layers = {k: interpret.pathway_layers(m) for k, m in self.models.items()}
        self.n_channels = {k: {name: int(a.shape[1]) for name, a in activations(
            m, self.images[:1], self.layers[k]).items()} for k, m in self.nets.items()}
        first = next(iter(self.models))
        self._init["layer"] = self.layers[first][-1] if layer is None else checks.choice(layer, "layer",
                                                                                         self.layers[first])
        most = self.n_channels[first][self._init["layer"]] - 1
        if self._init["channel"] > most:
            raise ValueError(f"channel must be an integer in [0, {most}] for layer {self._init['layer']}, "
                             f"got {channel!r}")
        super().__init__(cache_size)

    def ranges(self):
        return {**super().ranges(), "eps": C.eps_range(True, EPS_MAX),
                "compare": C.Range(0.0, max(COMPARE) / 255, fraction=True, fmt=lambda v: eps_label(v, True)),
                "share": C.Range(0.01, 0.5), "connections": C.Range(0, 8, integer=True),
                "channel": C.Range(0, 4095, integer=True), "n_images": C.Range(1, 64, integer=True),
                "steps": C.Range(1, C.MAX_STEPS, integer=True),
                "vis_steps": C.Range(1, 512, integer=True), "cache_size": C.Range(1, 100_000, integer=True)}

    @classmethod
    def example(cls, **kwargs):
        """On two tiny untrained CNNs and ten random 16×16 images (two per class)."""
        g = torch.Generator().manual_seed(5)
        x, y = torch.rand(10, 3, 16, 16, generator=g), torch.arange(10) % 5
        models = {"tiny A": examples.tiny_model("cnn", 0), "tiny B": examples.tiny_model("cnn", 1)}
        return cls(models, x, y, **{"classes": examples.CLASSES, "benign": "a", "target": "b", "steps": 2,
                                    "n_images": 2, "vis_steps": 2, "eps": 4 / 255, **kwargs})

    def example_changes(self):
        layers = self.layers[self.model.value]
        return [("eps", 6 / 255), ("eps_text", "2/255"), ("compare", 8 / 255), ("filter", "most_excited"),
                ("share", 0.3), ("connections", 2), ("layer", layers[0]), ("channel", 1), ("attack", "fgsm"),
                ("benign", "c"), ("target", "d"), ("model", list(self.models)[-1]),
                ("upload", C.upload_value(examples.png_bytes())), ("use_upload", False), ("use_upload", True)]

    # -- controls ------------------------------------------------------------------
    def controls(self):
        import ipywidgets as W
        first = next(iter(self.models))
        self.model = W.Dropdown(options=list(self.models), value=first, description="model")
        self.benign = W.Dropdown(options=self.classes, value=self._init["benign"], description="benign")
        self.target = W.Dropdown(options=self.classes, value=self._init["target"], description="target")
        self.attack = W.Dropdown(options=list(ATTACKS), value=self._init["attack"], description="attack")
        self.eps, self.eps_text = C.eps_controls(self._init["eps"], True, self.show_error, self.update, hi=EPS_MAX)
        self.compare = W.Dropdown(options=[(f"{v}/255", v / 255) for v in COMPARE],
                                  value=COMPARE[int(np.argmin([abs(v / 255 - self._init["compare"]) for v in COMPARE]))]
                                  / 255, description="compare with ε")
        self.share = W.FloatSlider(self._init["share"], min=0.01, max=0.5, step=0.01, description="share",
                                   style=C.STYLE)
        self.connections = W.IntSlider(self._init["connections"], 0, 8, description="connections", style=C.STYLE)
        self.filter = W.Dropdown(options=["all", *FILTERS], value=self._init["filter"],
                                 description="filter")
        layers = self.layers[first]
        self.layer = W.Dropdown(options=layers, value=self._init["layer"], description="layer")
        self.channel = W.IntSlider(self._init["channel"], 0, max(max(n.values()) for n in self.n_channels.values()) - 1,
                                   description="channel", style=C.STYLE)
        self.upload, self.use_upload = C.upload_controls(self.set_image, self.show_error)
        return [self.model, self.benign, self.target, self.attack, self.eps, self.eps_text, self.compare, self.share,
                self.connections, self.filter, self.layer, self.channel, self.upload, self.use_upload]

    def observed(self):
        # the text box drives the slider; an upload flips use_upload (or renders itself)
        return [c for c in self._controls if c not in (self.eps_text, self.upload)]

    def params(self):
        return dict(model=self.model.value, benign=self.benign.value, target=self.target.value,
                    attack=self.attack.value, eps=self.eps.value, compare=self.compare.value, share=self.share.value,
                    connections=self.connections.value, filter=self.filter.value, layer=self.layer.value,
                    channel=self.channel.value, use_upload=self.use_upload.value)

    # -- computation ---------------------------------------------------------------------
    def _batches(self, model, benign, target, use_upload):
        """(benign images, their identity for the cache, description), target images."""
        n = self._init["n_images"]
        b, t = self.classes.index(benign), self.classes.index(target)
        xt = self.images[self.labels == t][:n]
        if not len(xt):
            raise ValueError(f"no image of the target class {target!r} among the panel's images")
        if use_upload:
            if self._upload is None:
                raise ValueError("no image uploaded yet: choose a file with 'your image' first")
            with torch.no_grad():
                pred = int(self.nets[model](self._upload).argmax(1))
            return self._upload, ("upload", id(self._upload)), f"your image (predicted {self.classes[pred]})", xt
        if b == t:
            raise ValueError(f"benign and target must be different classes, got {benign!r} twice")
        xb = self.images[self.labels == b][:n]
        if not len(xb):
            raise ValueError(f"no image of the benign class {benign!r} among the panel's images")
        return xb, ("image", benign), f"{benign} ({len(xb)} images)", xt

    def _adversarial(self, model, xb, ident, t, attack, eps):
        if eps == 0:
            return xb
        key = (*ident, model, "adv", t, attack, round(eps, 6))
        return self._cached(key, lambda: attacks.make(
            attack, self.nets[model], eps=eps, targeted=True, **attacks.steps_for(attack, self._init["steps"]))(
            xb, torch.full((len(xb),), t)))

    def _pathway(self, model, xb, ident, xt, t, attack, eps, share, connections):
        """(graph, share fooled, edges pending): the channels, cached; the edges (one backward pass
        per shown channel, the costly part) through ``later``, so a live move may draw the channels
        first and the edges when the background thread has them."""
        key = (*ident, model, "pathway", t, attack, round(eps, 6), round(share, 6), connections)

        def make():
            xa = self._adversarial(model, xb, ident, t, attack, eps)
            pw = interpret.pathways(self.nets[model], xb, xt, xa, layers=self.layers[model], share=share,
                                    connections=0)
            fooled = float((self.nets[model](xa).argmax(1) == t).float().mean())
            return replace(pw, connections=connections), fooled
        pw, fooled = self._cached(key, make)
        if not connections:
            return pw, fooled, False
        xa = self._adversarial(model, xb, ident, t, attack, eps)
        edges = self.later((*key, "edges"), lambda net: interpret.pathway_edges(net, pw, xb, xa), self.nets[model])
        return (pw, fooled, True) if edges is None else (replace(pw, edges=edges), fooled, False)

    def _means(self, model, x, ident, layer, what):
        """Mean activation of every channel of ``layer`` over the images and positions (C,)."""
        key = (*ident, model, "means", what, layer)
        return self._cached(key, lambda: activations(self.nets[model], x, [layer])[layer].mean(dim=(0, 2, 3)))

    def precompute(self, eps_values=None) -> float:
        """Fill the cache for the current settings at each ε of ``eps_values`` (attack and graph;
        default ``EPS_VALUES``, the slider's stops 0 … 16/255); returns the seconds it took."""
        import time
        t0 = time.perf_counter()
        p = self.params()
        xb, ident, _, xt = self._batches(p["model"], p["benign"], p["target"], p["use_upload"])
        t = self.classes.index(p["target"])
        for eps in self.EPS_VALUES if eps_values is None else eps_values:
            eps = C.eps_range(True, EPS_MAX).check(eps, "ε")
            self._pathway(p["model"], xb, ident, xt, t, p["attack"], eps, p["share"], p["connections"])
        return time.perf_counter() - t0

    def compute(self, model, benign, target, attack, eps, compare, share, connections, filter, layer, channel,
                use_upload):
        eps = C.eps_range(True, EPS_MAX).check(eps, "ε")
        compare = self.ranges()["compare"].check(compare, "compare")
        share = self.ranges()["share"].check(share, "share")
        connections = self.ranges()["connections"].check(connections, "connections")
        checks.choice(model, "model", self.models)
        checks.choice(attack, "attack", ATTACKS)
        checks.choice(filter, "filter", ("all", *FILTERS))
        checks.choice(layer, "layer", self.layers[model])
        n_ch = self.n_channels[model][layer]
        channel = C.Range(0, n_ch - 1, integer=True).check(channel, f"channel of {layer}")
        xb, ident, what, xt = self._batches(model, benign, target, use_upload)
        t = self.classes.index(target)
        graphs, fooled, pending = [], [], []
        for e in (eps, compare):
            pw, f, waits = self._pathway(model, xb, ident, xt, t, attack, e, share, connections)
            graphs.append(pw if filter == "all" else pw.filter(filter, FILTER_K))
            fooled.append(f)
            pending.append(waits)
        curve_eps = [v / 255 for v in CURVE]
        curve = {"eps": curve_eps,
                 "adversarial": [float(self._means(model, self._adversarial(model, xb, ident, t, attack, e),
                                                   (*ident, attack, t, round(e, 6)), layer, "adv")[channel])
                                 for e in curve_eps],
                 "benign": float(self._means(model, xb, ident, layer, "benign")[channel]),
                 "target": float(self._means(model, xt, ("target", target), layer, "clean")[channel]),
                 "at": [float(g.activation["adversarial"][layer][channel]) for g in graphs]}
        curve["scale"] = max(abs(v) for v in (*curve["adversarial"], curve["benign"], curve["target"], *curve["at"]))
        curve["scale"] = curve["scale"] or 1.0
        vis = self._cached(("vis", model, layer, channel), lambda: interpret.visualize_channel(
            self.nets[model], layer, channel, steps=self._init["vis_steps"], seed=0)[0])
        patches = self._cached(("patches", model, layer, channel), lambda: interpret.top_patches(
            self.nets[model], layer, channel, self.images[:N_PATCHES_FROM], k=9))
        steps = "" if attack == "fgsm" else f"-{self._init['steps']}"
        title = f"{model}: {what} → {target}, targeted {attack.upper()}{steps}"
        return PathwayState("your image" if use_upload else benign, title, graphs, (eps, compare), tuple(fooled),
                            layer, channel, curve, vis, patches, tuple(pending),
                            ("edges",) if any(pending) else ())

    # -- drawing -------------------------------------------------------------------------
    def build_figure(self):
        from matplotlib.collections import LineCollection
        from matplotlib.figure import Figure
        fig = Figure(figsize=(7.2, 5.4), dpi=80)   # no wider than the other panels (the book's column)
        grid = fig.add_gridspec(2, 6, height_ratios=[1.6, 1.0])
        self.gax = [fig.add_subplot(grid[0, :3]), fig.add_subplot(grid[0, 3:])]
        self.vax = fig.add_subplot(grid[1, 0:2])
        self.pax = fig.add_subplot(grid[1, 2:4])
        self.cax = fig.add_subplot(grid[1, 4:6])
        n_layers = max(len(v) for v in self.layers.values())
        self.edges, self.nodes, self.rings, self.node_labels, self.col_titles = [], [], [], [], []
        for ax in self.gax:
            ax.set_xlim(-0.5, n_layers - 0.5); ax.set_ylim(-0.02, 1.02)
            ax.set_xticks([]); ax.set_yticks([])
            for s in ax.spines.values():
                s.set_visible(False)
            ax.set_title(" ", fontsize=9)
            lines = LineCollection([], colors="0.55", linewidths=1.0, alpha=0.6, zorder=1)
            ax.add_collection(lines)
            self.edges.append(lines)
            self.nodes.append(ax.scatter([], [], s=40, zorder=2, edgecolors="white", linewidths=0.5))
            self.rings.append(ax.scatter([], [], s=140, facecolors="none", edgecolors="black", linewidths=1.4,
                                         zorder=3))
            self.node_labels.append([[ax.text(c, 0, "", fontsize=6.5, ha="left", va="center", zorder=4)
                                 for _ in range(SHOWN_LABELS)] for c in range(n_layers)])
            self.col_titles.append([ax.text(c, -0.02, "", fontsize=7, ha="center", va="top", color="0.3")
                                    for c in range(n_layers)])
        size = self.images.shape[-2:]
        kw = image_kwargs(self.images[0])
        self.vis_art = self.vax.imshow(np.zeros((*size, 3)), **kw)
        self.patch_art = self.pax.imshow(np.zeros((3 * 9 - 1, 3 * 9 - 1, 3)), extent=(-0.5, 25.5, 25.5, -0.5), **kw)
        for ax in (self.vax, self.pax):
            ax.set_xticks([]); ax.set_yticks([])
            ax.set_title(" ", fontsize=8)
        self.vax.set_title(" ", fontsize=8)
        (self.curve_adv,) = self.cax.plot([], [], "o-", color=COLOURS["adversarial"], ms=3, lw=1.2,
                                          label="benign images attacked")
        self.curve_benign = self.cax.axhline(0, color=COLOURS["benign"], lw=1, ls="--", label="benign class, clean")
        self.curve_target = self.cax.axhline(0, color=COLOURS["target"], lw=1, ls="--", label="target class, clean")
        (self.curve_at,) = self.cax.plot([], [], "s", color="black", ms=5, label="the two graphs' ε")
        self.cax.set_xlabel("ε (/255)", fontsize=7); self.cax.tick_params(labelsize=6.5)
        self.cax.set_xlim(-1, max(CURVE) + 1); self.cax.set_ylim(-0.05, 1.12)
        self.cax.set_xticks(CURVE)
        self.cax.legend(fontsize=6.5, loc="lower right")  # fixed: "best" would move in a full redraw
        self.cax.set_title(" ", fontsize=8)
        self.suptitle = fig.suptitle(" ", fontsize=9, y=0.985)
        for i, (g, colour) in enumerate(COLOURS.items()):
            fig.text(0.02 + 0.13 * i, 0.92, f"● {LABELS[g]}", color=colour, fontsize=6.5)
        fig.text(0.98, 0.92, "line width: influence (dashed: negative)", color="0.4", fontsize=6.5,
                 ha="right")
        fig.subplots_adjust(left=0.02, right=0.98, top=0.85, bottom=0.07, wspace=0.6, hspace=0.42)
        self.dynamic = [*self.edges, *self.nodes, *self.rings, *[t for g in self.node_labels for c in g for t in c],
                        *[t for g in self.col_titles for t in g], *[ax.title for ax in self.gax], self.vis_art,
                        self.patch_art, self.vax.title, self.pax.title, self.cax.title, self.curve_adv,
                        self.curve_benign, self.curve_target, self.curve_at, self.suptitle]
        return fig

    def _draw_graph(self, i, pw, layers, layer, channel):
        pos, xy, groups, sizes, segs, weights = layout(pw)
        strongest = np.abs(weights).max() if len(weights) else 0.0
        self.edges[i].set_segments(segs)
        self.edges[i].set_linewidths(0.3 + 3.0 * np.abs(weights) / strongest if strongest > 0 else 0.8)
        self.edges[i].set_linestyles(["-" if w >= 0 else "--" for w in weights] or ["-"])
        self.nodes[i].set_offsets(xy)
        self.nodes[i].set_facecolors([COLOURS[g] for g in groups] or ["none"])
        self.nodes[i].set_sizes(sizes if len(sizes) else [0])
        ring = [pos[(layer, channel)]] if (layer, channel) in pos else []
        self.rings[i].set_offsets(np.array(ring, dtype=float).reshape(-1, 2))
        for col, layer_name in enumerate(layers + [None] * (len(self.node_labels[i]) - len(layers))):
            shown = [(ch, p) for (ln, ch), p in pos.items() if ln == layer_name]
            for k, text in enumerate(self.node_labels[i][col]):
                if layer_name is not None and len(shown) <= SHOWN_LABELS and k < len(shown):
                    ch, (x, y) = shown[k]
                    text.set_position((x + 0.08, y)); text.set_text(str(ch))
                else:
                    text.set_text("")
            self.col_titles[i][col].set_text("" if layer_name is None else f"{layer_name}\n{len(shown)} shown")

    def draw(self, s: PathwayState):
        layers = self.layers[self.model.value]
        for i, (pw, e, f) in enumerate(zip(s.graphs, s.eps, s.fooled)):
            self._draw_graph(i, pw, layers, s.layer, s.channel)
            what = "no attack" if e == 0 else f"ε = {eps_label(e, True)}: {f:.0%} classified as the target"
            self.gax[i].title.set_text(what + ("\n(edges: computing…)" if s.edges_pending[i] else ""))
        self.vis_art.set_data(to_hwc(s.vis))
        self.vax.title.set_text(f"{s.layer} #{s.channel}: visualisation")
        self.patch_art.set_data(_mosaic(s.patches))
        self.pax.title.set_text("patches exciting it most")
        c = s.curve
        # fixed axes (their ticks are drawn once): activations divided by the largest shown
        self.curve_adv.set_data([e * 255 for e in c["eps"]], np.array(c["adversarial"]) / c["scale"])
        self.curve_benign.set_ydata([c["benign"] / c["scale"]] * 2)
        self.curve_target.set_ydata([c["target"] / c["scale"]] * 2)
        self.curve_at.set_data([e * 255 for e in s.eps], np.array(c["at"]) / c["scale"])
        self.cax.title.set_text(f"mean activation against ε (1 = {c['scale']:.3g})")
        self.suptitle.set_text(s.title)

    def widget(self):
        import ipywidgets as W
        return W.VBox([W.HBox([self.model, self.benign, self.target, self.attack]),
                       W.HBox([self.eps, self.eps_text, self.compare]),
                       W.HBox([self.share, self.connections, self.filter]),
                       W.HBox([self.layer, self.channel]), W.HBox([self.upload, self.use_upload]),
                       self.message, self.image])
