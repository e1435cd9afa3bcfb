"""Attack pathways (chapter 8, after Bluff; Das et al., VIS 2020): which channels of each layer
carry the benign class, the target class and the adversarial images, and how strongly a shown
channel feeds the channels of the next shown layer.

>>> pw = al.interpret.pathways(model, x_cat, x_dog, x_adv)       # a Pathway
>>> pw.filter("most_excited", 3)                                  # the panel's filters
>>> al.plot.pathway_graph(pw)

Groups of a shown channel (Bluff's colours): ``"benign"`` (green: among the top ``share`` of
the layer for the benign images only), ``"target"`` (blue: for the target class only),
``"both"`` (orange: for both), ``"adversarial"`` (red: for the adversarial images only).
Drill-down on one channel: :func:`channel_response` (its activation against the attack's
strength), :func:`top_patches` (the dataset patches that excite it most) and
:func:`visualize_channel` (regularised activation maximisation in input space).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import torch

from ..core import checks, frozen_eval, model_labels
from ..core.probe import LayerProbe, layer_names

#: the four groups of a shown channel, in drawing order, with Bluff's colour names
GROUPS = ("benign", "target", "both", "adversarial")
#: the filters of :meth:`Pathway.filter`
FILTERS = ("most_activated", "most_changed", "most_excited", "most_inhibited")
#: what a channel's importance is measured by
IMPORTANCE = ("activation", "grad_x_activation")


@dataclass
class Pathway:
    """The attribution graph of one benign class, one target class and one attack.

    ``layers``: the layers shown, in forward order. ``channels``: per layer, one dict per shown
    channel with ``channel`` (index), ``group`` (one of ``GROUPS``: benign, target, both, adversarial) and ``benign``,
    ``target``, ``adversarial`` (its mean activation over images and positions for each batch).
    ``edges``: ``(layer, channel, next_layer, next_channel, influence)``, the influence of a
    shown channel on a shown channel of the next layer, averaged over the benign and adversarial
    images (the ``connections`` strongest per channel). ``activation``: group name
    (``"benign"``, ``"target"``, ``"adversarial"``) → layer → (C,) mean activation of every
    channel. ``importance``: the same for the measure that picked the channels (equal to
    ``activation`` for ``importance="activation"``). ``share`` and ``connections``: the settings
    used."""

    layers: list[str]
    channels: dict[str, list[dict]]
    edges: list[tuple[str, int, str, int, float]]
    activation: dict[str, dict[str, torch.Tensor]]
    importance: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    share: float = 0.1
    connections: int = 3

    def filter(self, kind: str, k: int) -> Pathway:
        """A new Pathway with, per layer, only the ``k`` shown channels ranked first by ``kind``:
        ``"most_activated"`` (adversarial mean activation), ``"most_changed"`` (``|adversarial − benign|``),
        ``"most_excited"`` (adv − benign, largest) or ``"most_inhibited"`` (benign − adv,
        largest); edges are kept between kept channels."""
        kind = checks.choice(kind, "kind", FILTERS)
        k = checks.number(k, "k", 0, 10**9, integer=True)
        score = {"most_activated": lambda c: c["adversarial"],
                 "most_changed": lambda c: abs(c["adversarial"] - c["benign"]),
                 "most_excited": lambda c: c["adversarial"] - c["benign"],
                 "most_inhibited": lambda c: c["benign"] - c["adversarial"]}[kind]
        channels = {layer: sorted(sorted(cs, key=score, reverse=True)[:k], key=lambda c: c["channel"])
                    for layer, cs in self.channels.items()}
        kept = {(layer, c["channel"]) for layer, cs in channels.items() for c in cs}
        edges = [e for e in self.edges if (e[0], e[1]) in kept and (e[2], e[3]) in kept]
        return replace(self, layers=list(self.layers), channels=channels, edges=edges)


# modules that keep a feature map's shape after a convolution: a block's output is read after them
_ELEMENTWISE = (torch.nn.BatchNorm2d, torch.nn.GroupNorm, torch.nn.InstanceNorm2d, torch.nn.LayerNorm,
                torch.nn.ReLU, torch.nn.ReLU6, torch.nn.LeakyReLU, torch.nn.ELU, torch.nn.GELU, torch.nn.SiLU,
                torch.nn.Tanh, torch.nn.Sigmoid, torch.nn.Dropout, torch.nn.Dropout2d, torch.nn.Identity)
_CONTAINERS = (torch.nn.Sequential, torch.nn.ModuleList, torch.nn.ModuleDict)


def _has_conv(module: torch.nn.Module) -> bool:
    return any(isinstance(m, torch.nn.Conv2d) for m in module.modules())


def _is_leaf(module: torch.nn.Module) -> bool:
    return next(module.children(), None) is None


def _blocks(module: torch.nn.Module, prefix: str, root: bool) -> list[str]:
    """Candidate block outputs under ``module``: a custom block (a ResNet's BasicBlock) as a whole,
    a conv–norm–activation ``Sequential`` as a whole, and in a flat ``Sequential`` of several
    convolutions the last shape-keeping module after each convolution."""
    if not _has_conv(module):
        return []
    if isinstance(module, torch.nn.Conv2d):
        return [prefix]
    children = list(module.named_children())
    if not root and not isinstance(module, _CONTAINERS):
        return [prefix]
    n_convs = sum(isinstance(c, torch.nn.Conv2d) for _, c in children)
    if not root and n_convs == 1 and all(_is_leaf(c) for _, c in children):
        return [prefix]
    out: list[str] = []
    for i, (name, child) in enumerate(children):
        full = f"{prefix}.{name}" if prefix else name
        if isinstance(child, torch.nn.Conv2d):
            j = i
            while j + 1 < len(children) and isinstance(children[j + 1][1], _ELEMENTWISE):
                j += 1
            out.append(f"{prefix}.{children[j][0]}" if prefix else children[j][0])
        elif not _is_leaf(child):
            out += _blocks(child, full, False)
    return out


def _input_shape(model: torch.nn.Module, size: int | None = None) -> tuple[int, int, int]:
    """(C, H, W) of the model's input: its ``input_shape`` (32 pixels where it takes any size),
    or the first convolution's input channels; ``size`` overrides H and W."""
    shape = getattr(model, "input_shape", None)
    if shape is not None:
        c, h, w = shape
    else:
        conv = next((m for m in model.modules() if isinstance(m, torch.nn.Conv2d)), None)
        if conv is None:
            raise ValueError("model has no input_shape and no Conv2d layer: give a convolutional model")
        c, h, w = conv.in_channels, None, None
    if size is not None:
        h = w = size
    return int(c), int(h or 32), int(w or 32)


def _param(model: torch.nn.Module) -> torch.Tensor | None:
    return next(model.parameters(), None)


def _dry_run(model: torch.nn.Module, names: list[str]) -> dict[str, tuple]:
    """Forward order and output shape of ``names``: one forward of a grey image (hooks removed)."""
    c, h, w = _input_shape(model)
    p = _param(model)
    x = torch.full((1, c, h, w), 0.5, dtype=p.dtype if p is not None else torch.float32,
                   device=p.device if p is not None else None)
    with frozen_eval(model), torch.no_grad(), LayerProbe(model, names, detach=True) as probe:
        probe.run(x)
    return {k: tuple(v.shape) for k, v in probe.outputs.items()}  # insertion order = forward order


def pathway_layers(model: torch.nn.Module) -> list[str]:
    """The default layers to show: the outputs of the model's convolutional blocks in forward
    order (after each block's non-linearity), 4–6 layers for the zoo's CIFAR-10 CNNs.

    A block is a custom module holding convolutions (a ResNet's ``BasicBlock``), a
    ``Sequential`` of one convolution with its norm and activation, or, in a flat ``Sequential``
    of several convolutions, each convolution with the shape-keeping modules that follow it
    (the activation's output is read). Layers whose output is not a feature map are left out."""
    checks.model(model)
    names = list(dict.fromkeys(_blocks(model, "", True)))
    if not names:
        raise ValueError("model has no Conv2d layer: pathway_layers needs a convolutional model; "
                         f"give layers= by name (accepted values: {', '.join(layer_names(model)[:40])})")
    shapes = _dry_run(model, names)
    return [n for n in shapes if len(shapes[n]) == 4]


def _layers(model: torch.nn.Module, layers) -> list[str]:
    """Validated layer names in forward order (``None``: :func:`pathway_layers`)."""
    if layers is None:
        return pathway_layers(model)
    if isinstance(layers, str) or not isinstance(layers, (list, tuple)) or not layers:
        raise ValueError(f"layers must be None or a non-empty list of layer names (accepted values: "
                         f"{', '.join(layer_names(model)[:40])}), got {layers!r}")
    for layer in layers:
        if not isinstance(layer, str):
            raise ValueError(f"layers must hold layer names (strings), got {layer!r}")
    LayerProbe(model, list(layers))  # unknown names: ValueError listing the accepted ones
    if len(set(layers)) != len(layers):
        raise ValueError(f"layers must not repeat a layer, got {list(layers)}")
    shapes = _dry_run(model, list(layers))
    missing = [n for n in layers if n not in shapes]
    if missing:
        raise ValueError(f"layers {missing} produced no output in a forward pass of the model")
    flat = [n for n in shapes if len(shapes[n]) < 2]
    if flat:
        raise ValueError(f"layers {flat} do not output N×C(×h×w) channels")
    return list(shapes)


def _channel_means(a: torch.Tensor) -> torch.Tensor:
    """N×C: each channel's mean over positions."""
    return a.flatten(2).mean(2) if a.dim() > 2 else a


def _activations(model, x: torch.Tensor, layers: list[str]) -> dict[str, torch.Tensor]:
    """Layer → N×C channel means for images ``x`` (no gradients; stops after the last layer)."""
    with torch.no_grad(), LayerProbe(model, layers, detach=True, stop_at=True) as probe:
        probe.run(x)
    return {k: _channel_means(probe[k]) for k in layers}


def _grad_x_activation(model, x: torch.Tensor, layers: list[str], cls: int) -> dict[str, torch.Tensor]:
    """Layer → (C,) mean over images and positions of A·∂y_cls/∂A."""
    with torch.enable_grad(), LayerProbe(model, layers) as probe:
        logits = probe.run(x.detach().clone().requires_grad_(True))
        grads = probe.gradients(logits[:, cls].sum())
    return {k: _channel_means(probe[k].detach() * g).mean(0) for k, g in zip(layers, grads)}


def _majority(model, x: torch.Tensor) -> int:
    with torch.no_grad():
        return int(torch.mode(model(x).argmax(1)).values)


def _influence(model, x: torch.Tensor, src: str, dst: str, dst_channels: list[int]) -> torch.Tensor:
    """K×C_src: for each channel j of ``dst_channels``, the mean over images of
    Σ_positions A_i · ∂(mean over positions of B_j)/∂A_i for every channel i of ``src``."""
    with torch.no_grad(), LayerProbe(model, [src], detach=True, stop_at=src) as probe:
        probe.run(x)
    a = probe[src]
    leaf = a.clone().requires_grad_(True)
    rows = []
    with torch.enable_grad(), LayerProbe(model, [dst], replace={src: leaf + 0}, stop_at=dst) as probe:
        probe.run(x)
        b = _channel_means(probe[dst])
        for j in dst_channels:
            (g,) = torch.autograd.grad(b[:, j].sum(), leaf, retain_graph=True, allow_unused=True)
            rows.append(torch.zeros(a.shape[1], dtype=a.dtype, device=a.device) if g is None
                        else (g * a).flatten(2).sum(2).mean(0) if a.dim() > 2 else (g * a).mean(0))
    return torch.stack(rows) if rows else torch.zeros(0, a.shape[1])


def _group(i: int, top: dict[str, set]) -> str:
    if i in top["benign"] and i in top["target"]:
        return "both"
    if i in top["benign"]:
        return "benign"
    if i in top["target"]:
        return "target"
    return "adversarial"


def pathways(model: torch.nn.Module, benign: torch.Tensor, target: torch.Tensor, adversarial: torch.Tensor,
             *, layers: list[str] | None = None, share: float = 0.1, connections: int = 3,
             importance: str = "activation") -> Pathway:
    """The attack pathway graph of ``model``.

    ``benign``: images of the benign class (N×C×H×W in [0, 1]); ``target``: images of the
    target class; ``adversarial``: the adversarial versions of ``benign``. ``layers``: names
    (default :func:`pathway_layers`), put in forward order. Per layer the top ``share`` (0, 1]
    of channels (at least one) for each of the three batches is shown, grouped as in
    ``GROUPS`` (benign, target, both, adversarial). ``importance``: ``"activation"`` (mean activation over images and
    positions) or ``"grad_x_activation"`` (mean of activation × gradient of the batch's class
    score, the class being the batch's most frequent prediction).

    Edges: the influence of channel i of a shown layer on channel j of the next shown layer is
    the mean over the benign and adversarial images of Σ_positions A_i·∂B̄_j/∂A_i, B̄_j the mean of
    channel j over positions. When the next layer is one convolution of the previous one this is
    exactly the mean over positions of conv2d(A_i, W[j, i]) (the map is linear, so gradient ×
    input is the contribution); through activations and skip connections it is the first-order
    contribution, which works for any model. Each shown channel keeps its ``connections``
    (≥ 0) strongest incoming edges (by absolute influence; zero influences are never edges)."""
    checks.model(model)
    batches = {"benign": benign, "target": target, "adversarial": adversarial}
    for name, x in batches.items():
        checks.images(x, name, model=model)
    if len(adversarial) != len(benign):
        raise ValueError(f"adversarial must hold the adversarial versions of benign (same number of images), "
                         f"got {len(adversarial)} adversarial and {len(benign)} benign images")
    share = checks.number(share, "share", 0.0, 1.0)
    if share <= 0:
        raise ValueError(f"share must be in (0, 1], got {share!r}")
    connections = checks.number(connections, "connections", 0, 10**6, integer=True)
    checks.choice(importance, "importance", IMPORTANCE)
    layers = _layers(model, layers)
    with frozen_eval(model):
        acts = {g: _activations(model, x, layers) for g, x in batches.items()}
        activation = {g: {k: v.mean(0) for k, v in a.items()} for g, a in acts.items()}
        if importance == "activation":
            imp = activation
        else:
            imp = {g: _grad_x_activation(model, x, layers, _majority(model, x)) for g, x in batches.items()}
        channels: dict[str, list[dict]] = {}
        for layer in layers:
            n = activation["benign"][layer].numel()
            k = max(1, math.ceil(share * n))
            top = {g: set(imp[g][layer].topk(k).indices.tolist()) for g in batches}
            shown = sorted(top["benign"] | top["target"] | top["adversarial"])
            channels[layer] = [{"channel": i, "group": _group(i, top),
                                **{g: float(activation[g][layer][i]) for g in batches}} for i in shown]
    pw = Pathway(layers=layers, channels=channels, edges=[], activation=activation, importance=imp, share=share,
                 connections=connections)
    return replace(pw, edges=pathway_edges(model, pw, benign, adversarial)) if connections else pw


def pathway_edges(model: torch.nn.Module, pathway: Pathway, benign: torch.Tensor,
                  adversarial: torch.Tensor) -> list[tuple[str, int, str, int, float]]:
    """The edges of ``pathway`` (its channels as :func:`pathways` chose them from ``benign`` and
    ``adversarial``): for each shown channel, its ``pathway.connections`` strongest incoming
    influences from the shown channels of the previous shown layer (see :func:`pathways`). The
    costly part of a graph (one backward pass per shown channel), so a panel can draw the channels
    first."""
    edges: list[tuple[str, int, str, int, float]] = []
    if not pathway.connections:
        return edges
    layers, channels = pathway.layers, pathway.channels
    both = torch.cat([benign, adversarial])
    with frozen_eval(model):
        for src, dst in zip(layers, layers[1:]):
            src_ch = [c["channel"] for c in channels[src]]
            dst_ch = [c["channel"] for c in channels[dst]]
            infl = _influence(model, both, src, dst, dst_ch)[:, src_ch]
            for row, j in zip(infl, dst_ch):
                order = row.abs().argsort(descending=True, stable=True)[:pathway.connections]
                edges += [(src, src_ch[t], dst, j, float(row[t])) for t in order.tolist() if row[t] != 0]
    return edges


def _channel(model, layer: str, channel, x: torch.Tensor) -> int:
    """``channel`` checked against the number of channels ``layer`` outputs for images like ``x``."""
    with torch.no_grad(), LayerProbe(model, [layer], detach=True, stop_at=layer) as probe:
        probe.run(x[:1])
    n = probe[layer].shape[1]
    return checks.number(channel, "channel", 0, n - 1, integer=True)


def _channel_activation(model, x: torch.Tensor, layer: str, channel: int) -> torch.Tensor:
    """N: the mean activation of ``channel`` of ``layer`` per image."""
    return _activations(model, x, [layer])[layer][:, channel]


ATTACKS = ("fgsm", "pgd")


def channel_response(model: torch.nn.Module, layer: str, channel: int, images: torch.Tensor, labels,
                     attack, eps_values, *, target_images: torch.Tensor | None = None,
                     target=None) -> dict:
    """The mean activation of ``channel`` of ``layer`` on ``images`` attacked at each ε of
    ``eps_values`` (ε = 0: the clean images). ``attack``: ``"fgsm"`` or ``"pgd"`` (advlab's
    defaults, seeded) or a callable ``attack(eps) -> advlab attack``, called as
    ``atk(images, labels)``, or ``atk(images, target)`` when ``target`` is given (then a name
    builds a *targeted* attack toward ``target``: a class index or one per image).
    ``target_images``: clean images of the target class, whose mean activation is the
    reference line. Returns ``{"layer", "channel", "eps": [...], "mean": [...],
    "per_image": N×len(eps) tensor, "target_mean": float or None}``."""
    checks.model(model)
    checks.images(images, "images", model=model)
    (layer,) = _layers(model, [layer]) if isinstance(layer, str) else _layers(model, layer)
    if target_images is not None:
        checks.images(target_images, "target_images", model=model)
    if not (callable(attack) or isinstance(attack, str)):
        raise ValueError(f"attack must be one of {', '.join(ATTACKS)} or a callable eps -> attack, got {attack!r}")
    if isinstance(attack, str):
        checks.choice(attack, "attack", ATTACKS)
    if isinstance(eps_values, (str, int, float)) or not hasattr(eps_values, "__iter__"):
        eps_values = [eps_values]
    eps = [checks.parse_eps(e, "eps_values") for e in eps_values]
    if not eps:
        raise ValueError("eps_values must hold at least one ε, got none")
    with frozen_eval(model):
        channel = _channel(model, layer, channel, images)
        labels = model_labels(model, labels, images, "labels")
        if target is not None:
            target = torch.as_tensor(target)
            target = model_labels(model, target.expand(len(images)) if target.dim() == 0 else target, images, "target")
        columns = []
        for e in eps:
            x = images
            if e > 0:
                if isinstance(attack, str):
                    from .. import attacks
                    atk = attacks.make(attack, model, eps=e, targeted=target is not None)
                else:
                    atk = attack(e)
                x = atk(images, labels if target is None else target).detach()
            columns.append(_channel_activation(model, x, layer, channel))
        ref = None if target_images is None else float(_channel_activation(model, target_images, layer, channel).mean())
    per_image = torch.stack(columns, 1)
    return {"layer": layer, "channel": channel, "eps": eps, "mean": per_image.mean(0).tolist(),
            "per_image": per_image, "target_mean": ref}


def _receptive_box(model, layer: str, x: torch.Tensor) -> tuple[int, int, float, float]:
    """(height, width, row offset, column offset) of the input region that moves the centre
    position of ``layer`` (the gradient of its channels' sum at that position over ``x``), and
    where that region's centre lies relative to the position times the stride."""
    with torch.enable_grad(), LayerProbe(model, [layer], stop_at=layer) as probe:
        xg = x.detach().clone().requires_grad_(True)
        probe.run(xg)
        a = probe[layer]
        h, w = a.shape[2:]
        (g,) = torch.autograd.grad(a[:, :, h // 2, w // 2].sum(), xg)
    H, W = x.shape[2:]
    hit = g.abs().sum((0, 1)) > 0
    rows, cols = hit.any(1).nonzero().flatten(), hit.any(0).nonzero().flatten()
    if len(rows) == 0:
        return H, W, 0.0, 0.0
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])
    sy, sx = H / h, W / w
    return (r1 - r0 + 1, c1 - c0 + 1, (r0 + r1) / 2 - (h // 2) * sy, (c0 + c1) / 2 - (w // 2) * sx)


def top_patches(model: torch.nn.Module, layer: str, channel: int, images: torch.Tensor, k: int = 9) -> torch.Tensor:
    """The ``k`` image patches (k×C×h×w) under the receptive fields of the ``k`` positions where
    ``channel`` of ``layer`` is most activated over ``images`` (at most one per image, the
    strongest first). The field is measured, not assumed: the input pixels whose gradient moves
    the layer's centre position for the top images and 16 seeded noise images, clipped to the
    image (through max-pooling and ReLUs the gradient reaches only part of the field, so this
    can be smaller than the theoretical one); each patch is centred on its position
    and shifted to stay inside the image."""
    checks.model(model)
    checks.images(images, "images", model=model)
    (layer,) = _layers(model, [layer]) if isinstance(layer, str) else _layers(model, layer)
    k = checks.number(k, "k", 1, len(images), integer=True)
    with frozen_eval(model):
        channel = _channel(model, layer, channel, images)
        with torch.no_grad(), LayerProbe(model, [layer], detach=True, stop_at=layer) as probe:
            probe.run(images)
        a = probe[layer][:, channel]
        if a.dim() != 3:
            raise ValueError(f"layer {layer!r} outputs no feature map (shape {tuple(probe[layer].shape)})")
        ph, pw = a.shape[1:]
        best, where = a.flatten(1).max(1)
        order = best.argsort(descending=True, stable=True)[:k]
        probes = torch.rand((16, *images.shape[1:]), generator=torch.Generator().manual_seed(0),
                            dtype=images.dtype).to(images.device)
        rh, rw, oy, ox = _receptive_box(model, layer, torch.cat([images[order[:16]], probes]))
    H, W = images.shape[2:]
    sy, sx = H / ph, W / pw
    patches = []
    for i in order.tolist():
        py, px = divmod(int(where[i]), pw)
        top = min(max(round(py * sy + oy - (rh - 1) / 2), 0), H - rh)
        left = min(max(round(px * sx + ox - (rw - 1) / 2), 0), W - rw)
        patches.append(images[i, :, top:top + rh, left:left + rw])
    return torch.stack(patches).detach()


_STARTS = 16  # noise images drawn for the start of the activation maximisation


def _total_variation(x: torch.Tensor) -> torch.Tensor:
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()


def visualize_channel(model: torch.nn.Module, layer: str, channel: int, *, steps: int = 64, lr: float = 0.05,
                      seed: int = 0, size: int | None = None, jitter: int = 2, tv: float = 0.1) -> torch.Tensor:
    """Regularised activation maximisation: a 1×C×H×W image in [0, 1] that maximises the mean
    activation of ``channel`` of ``layer``, optimised for ``steps`` Adam steps of rate ``lr``
    on the image's logits (the image is their sigmoid, so it stays in [0, 1]) from seeded
    noise (the most exciting of 16 draws), with a random shift of up to ``jitter`` pixels per step (robust to
    translation, fewer high-frequency artefacts) and a total-variation penalty of weight
    ``tv``. ``size``: the side in pixels (default the model's ``input_shape``, or 32)."""
    checks.model(model)
    (layer,) = _layers(model, [layer]) if isinstance(layer, str) else _layers(model, layer)
    steps = checks.number(steps, "steps", 1, 100_000, integer=True)
    lr = checks.number(lr, "lr", 1e-6, 100.0)
    seed = checks.seed(seed)
    size = checks.optional_number(size, "size", 8, 1024, integer=True)
    jitter = checks.number(jitter, "jitter", 0, 64, integer=True)
    tv = checks.number(tv, "tv", 0.0, 1e6)
    c, h, w = _input_shape(model, size)
    p = _param(model)
    dtype = p.dtype if p is not None else torch.float32
    device = p.device if p is not None else None
    g = torch.Generator().manual_seed(seed)
    starts = 0.5 * torch.randn(_STARTS, c, h, w, generator=g, dtype=dtype).to(device)
    with frozen_eval(model):
        channel = _channel(model, layer, channel, torch.full((1, c, h, w), 0.5, dtype=dtype, device=device))
        # a channel silent on grey has no gradient there: start from the noise that excites it most
        first = int(_channel_activation(model, torch.sigmoid(starts), layer, channel).argmax())
        logits = starts[first:first + 1].clone().requires_grad_(True)
        opt = torch.optim.Adam([logits], lr=lr)
        with torch.enable_grad(), LayerProbe(model, [layer], stop_at=layer) as probe:
            for _ in range(steps):
                x = torch.sigmoid(logits)
                dy, dx = (torch.randint(-jitter, jitter + 1, (2,), generator=g).tolist() if jitter else (0, 0))
                probe.run(torch.roll(x, (dy, dx), (2, 3)))
                loss = -probe[layer][:, channel].mean() + tv * _total_variation(x)
                opt.zero_grad()
                loss.backward()
                opt.step()
    return torch.sigmoid(logits).detach()
