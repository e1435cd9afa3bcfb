"""Network dissection, lite and offline (chapter 6; Bau et al., CVPR 2017): which units of a layer
fire on which human-labelled concepts, scored by the overlap (IoU) of each unit's strongest
activations with each concept's pixels.

>>> probe = al.interpret.concept_set(n=500, seed=0)          # images, per-pixel concept masks
>>> d = al.interpret.dissect(model, "features.2", probe)      # a Dissection
>>> d.iou.shape, d.interpretable.sum(), d.counts(), d.top(5)

Per unit k the threshold T_k is the level its activation exceeds at a share ``quantile`` (0.005)
of all positions of all probe images, read on the layer's own grid (Bau et al.: P(a_k > T_k) =
0.005); the unit's maps are upsampled bilinearly to the image size and M_k = a_k > T_k. For each
concept c with masks L_c, IoU_{k,c} = Σ_x |M_k(x) ∩ L_c(x)| / Σ_x |M_k(x) ∪ L_c(x)|, summed over the
whole probe set: images without c still add their M_k to the union, so a unit that fires
everywhere scores low. As in Bau et al.'s code, the sums run over the images in which c's
category is labelled (``ConceptSet.labelled``); here that excludes only the object category on
the composited texture and shape images, whose object is partly covered. A unit is
*interpretable* when its best IoU exceeds ``cut`` (0.04, Bau et al.'s cut).
``unit_sensitivity`` measures how far each unit moves under an attack, to set beside its
interpretability (Xu et al., 2019: units' sensitivity to attacks is tied to their
interpretability on semantic concepts).

How this differs from Broden, Bau et al.'s probe set: no pixel-labelled object, part,
material or scene datasets are used (nothing is downloaded). Colour concepts are derived from
the pixels of CIFAR-10 test images (each pixel named by the nearest of 11 colour prototypes in
CIELAB, see ``COLOURS``), texture concepts are scikit-image's bundled grayscale textures (brick,
grass, gravel, a checkerboard) and drawn stripes, tinted and pasted into a rectangle, and shape
concepts are disks, squares and triangles drawn in a random colour; both are pasted onto a
CIFAR-10 image or a flat background. Object concepts are the ten CIFAR-10 classes labelled at
image level (the whole image of class c is ``object:c``, as Broden labels scenes), so their IoU
is bounded by the small area of M_k against whole images. Images are 32×32 rather than Broden's
224 and the last ResNet-8 stage has 8×8 maps, so an upsampled unit mask is coarse (one cell is
4×4 pixels) and IoU levels are not comparable to the paper's numbers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..core import checks, frozen_eval
from ..core.maps import upsample
from ..core.probe import LayerProbe, resolve_layer
from ..data import CLASSES, subset

#: concept categories, in the order of ``ConceptSet.labelled``'s columns
CATEGORIES = ("colour", "texture", "shape", "object")

#: colour name → sRGB prototype in [0, 1]; each pixel takes the name of the nearest prototype
#: in CIELAB (Euclidean ΔE*76 on ``skimage.color.rgb2lab``)
COLOURS = {
    "black": (0.0, 0.0, 0.0), "white": (1.0, 1.0, 1.0), "grey": (0.5, 0.5, 0.5),
    "red": (0.8, 0.1, 0.1), "orange": (1.0, 0.55, 0.0), "yellow": (1.0, 0.9, 0.1),
    "green": (0.2, 0.6, 0.2), "blue": (0.15, 0.3, 0.8), "purple": (0.5, 0.2, 0.6),
    "pink": (1.0, 0.6, 0.75), "brown": (0.5, 0.3, 0.15),
}
#: texture concepts: scikit-image's bundled grayscale textures, then drawn stripes
TEXTURES = ("brick", "grass", "gravel", "checkerboard", "stripes")
#: shape concepts, drawn with ``skimage.draw``
SHAPES = ("disk", "square", "triangle")
#: share of the probe set that is natural CIFAR-10 images, texture composites, shape composites
SHARES = (0.4, 0.3, 0.3)


@dataclass
class ConceptSet:
    """A probe set: ``x`` (N×3×S×S in [0, 1]), ``masks`` (N×C×S×S bool, one per concept),
    ``concepts`` (C names ``"category:name"``), ``categories`` (C category names, one of
    ``CATEGORIES``) and ``labelled`` (N×4 bool: which categories are labelled in each image,
    columns in ``CATEGORIES`` order)."""

    x: torch.Tensor
    masks: torch.Tensor
    concepts: list[str]
    categories: list[str]
    labelled: torch.Tensor

    def __len__(self) -> int:
        return int(self.x.shape[0])


def _colour_names(img: np.ndarray) -> np.ndarray:
    """H×W indices into ``COLOURS`` of an H×W×3 image in [0, 1] (nearest prototype in CIELAB)."""
    from skimage.color import rgb2lab
    protos = rgb2lab(np.array(list(COLOURS.values()), dtype=np.float64)[None])[0]  # 11×3
    lab = rgb2lab(img.astype(np.float64))
    d = ((lab[:, :, None, :] - protos[None, None]) ** 2).sum(-1)
    return d.argmin(-1)


def _texture_sources() -> dict[str, np.ndarray]:
    """The bundled grayscale textures in [0, 1] (no download: shipped with scikit-image)."""
    import skimage.data
    return {name: getattr(skimage.data, name)().astype(np.float64) / 255 for name in TEXTURES[:-1]}


def _texture_patch(name: str, sources: dict, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """An h×w grayscale patch of texture ``name`` in [0, 1], contrast-stretched."""
    from skimage.transform import resize
    if name == "stripes":
        period = rng.uniform(4, 8)
        angle = rng.uniform(0, math.pi)
        yy, xx = np.mgrid[0:h, 0:w]
        phase = (xx * math.cos(angle) + yy * math.sin(angle)) * 2 * math.pi / period
        g = (np.sin(phase + rng.uniform(0, 2 * math.pi)) > 0).astype(np.float64)
    else:
        src = sources[name]
        side = int(rng.integers(48, 97))  # crop 48–96 source pixels: a few repeats of the pattern
        top = int(rng.integers(0, src.shape[0] - side + 1))
        left = int(rng.integers(0, src.shape[1] - side + 1))
        g = resize(src[top:top + side, left:left + side], (h, w), anti_aliasing=True)
    lo, hi = g.min(), g.max()
    return (g - lo) / (hi - lo) if hi > lo else np.zeros_like(g)


def _shape_mask(name: str, s: int, rng: np.random.Generator) -> np.ndarray:
    """An s×s bool mask of shape ``name`` at a random place and size inside the image."""
    from skimage.draw import disk, polygon
    m = np.zeros((s, s), dtype=bool)
    r = rng.uniform(s / 6, s / 3)  # disk radius, half the square's side, triangle circumradius
    cy, cx = rng.uniform(r, s - r, size=2)
    if name == "disk":
        m[disk((cy, cx), r, shape=m.shape)] = True
    else:
        k = 4 if name == "square" else 3
        rot = rng.uniform(0, 2 * math.pi / k)
        radius = r * (math.sqrt(2) if k == 4 else 1.0)
        ang = rot + np.arange(k) * 2 * math.pi / k
        m[polygon(cy + radius * np.sin(ang), cx + radius * np.cos(ang), shape=m.shape)] = True
    return m


def _background(i: int, pool: np.ndarray, s: int, rng: np.random.Generator) -> np.ndarray:
    """Even composites sit on a CIFAR-10 image, odd ones on a flat random colour."""
    if i % 2 == 0:
        return pool[int(rng.integers(0, len(pool)))].copy()
    return np.broadcast_to(rng.uniform(0, 1, size=3), (s, s, 3)).copy()


def concept_set(n: int = 500, seed: int = 0, size: int = 32) -> ConceptSet:
    """The probe set of chapter 6's dissection: ``n`` images of ``size``×``size`` pixels.

    40% are CIFAR-10 test images (the bundled subset, a seeded sample): their pixels carry the
    colour concepts and the whole image its class as ``object:<class>`` (image level). 30% paste a
    tinted texture (``TEXTURES``) into a random rectangle (half to three quarters of each side)
    and 30% draw a shape (``SHAPES``) in a random colour, each on a CIFAR-10 image or a flat
    colour; the mask is the rectangle or the shape. Every pixel of every image is named by its
    colour (``COLOURS``). Deterministic given ``seed``."""
    n = checks.number(n, "n", 10, 20000, integer=True)
    seed = checks.seed(seed)
    size = checks.number(size, "size", 8, 256, integer=True)
    rng = np.random.default_rng(seed)
    cifar = subset("cifar10")
    xs = cifar.x
    if size != xs.shape[-1]:
        xs = torch.nn.functional.interpolate(xs, size=(size, size), mode="bilinear",
                                             align_corners=False, antialias=size < xs.shape[-1]).clamp(0, 1)
    pool = xs.permute(0, 2, 3, 1).double().numpy()
    classes = CLASSES["cifar10"]
    concepts = ([f"colour:{c}" for c in COLOURS] + [f"texture:{t}" for t in TEXTURES]
                + [f"shape:{s}" for s in SHAPES] + [f"object:{c}" for c in classes])
    categories = [c.split(":")[0] for c in concepts]
    first = {cat: categories.index(cat) for cat in CATEGORIES}
    n_nat = round(n * SHARES[0])
    n_tex = round(n * SHARES[1])
    n_shape = n - n_nat - n_tex
    images = np.zeros((n, size, size, 3))
    masks = np.zeros((n, len(concepts), size, size), dtype=bool)
    labelled = np.ones((n, len(CATEGORIES)), dtype=bool)
    pick = rng.choice(len(pool), size=n_nat, replace=False) if n_nat <= len(pool) else rng.integers(0, len(pool), n_nat)
    for i, j in enumerate(pick):
        images[i] = pool[j]
        masks[i, first["object"] + int(cifar.y[j])] = True
    labelled[n_nat:, CATEGORIES.index("object")] = False
    sources = _texture_sources()
    for t in range(n_tex):
        i = n_nat + t
        kind = t % len(TEXTURES)
        img = _background(t, pool, size, rng)
        h, w = (int(rng.integers(size // 2, 3 * size // 4 + 1)) for _ in range(2))
        top, left = int(rng.integers(0, size - h + 1)), int(rng.integers(0, size - w + 1))
        g = _texture_patch(TEXTURES[kind], sources, h, w, rng)
        tint = rng.uniform(0.3, 1.0, size=3)
        img[top:top + h, left:left + w] = (0.1 + 0.9 * g)[:, :, None] * tint
        images[i] = img
        masks[i, first["texture"] + kind, top:top + h, left:left + w] = True
    for t in range(n_shape):
        i = n_nat + n_tex + t
        kind = t % len(SHAPES)
        img = _background(t, pool, size, rng)
        m = _shape_mask(SHAPES[kind], size, rng)
        img[m] = rng.uniform(0, 1, size=3)
        images[i] = img
        masks[i, first["shape"] + kind] = m
    for i in range(n):
        names = _colour_names(images[i])
        for c in range(len(COLOURS)):
            masks[i, first["colour"] + c] = names == c
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().clamp(0, 1).contiguous()
    return ConceptSet(x, torch.from_numpy(masks), concepts, categories, torch.from_numpy(labelled))


@dataclass
class Dissection:
    """What ``dissect`` found for one layer. ``iou``: K×C, unit × concept; ``concepts`` and
    ``categories``: the C concept names and their categories; ``thresholds``: (K,) the T_k;
    ``best``: per unit ``(concept, iou)`` of its highest IoU; ``interpretable``: (K,) bool, best
    IoU > ``cut``; ``layer``, ``quantile``, ``cut``: the settings used."""

    layer: str
    iou: torch.Tensor
    concepts: list[str]
    categories: list[str]
    thresholds: torch.Tensor
    best: list[tuple[str, float]]
    interpretable: torch.Tensor
    quantile: float
    cut: float

    def counts(self) -> dict[str, int]:
        """Interpretable units per category of their best concept (every category listed)."""
        out = dict.fromkeys(CATEGORIES, 0)
        for (concept, _), ok in zip(self.best, self.interpretable.tolist()):
            if ok:
                cat = concept.split(":")[0]
                out[cat] = out.get(cat, 0) + 1
        return out

    def top(self, k: int = 5) -> list[tuple[int, str, float]]:
        """The ``k`` units with the highest best IoU: ``(unit, concept, iou)``, best first."""
        k = checks.number(k, "k", 0, len(self.best), integer=True)
        order = sorted(range(len(self.best)), key=lambda u: -self.best[u][1])[:k]
        return [(u, *self.best[u]) for u in order]


def _param(model: torch.nn.Module) -> torch.Tensor | None:
    return next((p for p in model.parameters() if p.is_floating_point()), None)


def _feature_maps(model: torch.nn.Module, layer: str, x: torch.Tensor, batch_size: int) -> torch.Tensor:
    """N×K×h×w activations of ``layer`` for images ``x`` (batched, no gradients, eval mode)."""
    p = _param(model)
    out = []
    with frozen_eval(model), torch.no_grad(), LayerProbe(model, [layer], detach=True, stop_at=True) as probe:
        for i in range(0, x.shape[0], batch_size):
            xb = x[i:i + batch_size]
            if p is not None:
                xb = xb.to(device=p.device, dtype=p.dtype)
            probe.run(xb)
            a = probe[layer]
            if a.dim() != 4:
                raise ValueError(f"layer {layer!r} outputs shape {tuple(a.shape)}; dissection needs "
                                 f"N×K×h×w feature maps (a convolutional layer)")
            out.append(a.float())
    return torch.cat(out)


def _check_layer(model: torch.nn.Module, layer) -> str:
    checks.model(model)
    if not isinstance(layer, str):
        raise ValueError(f"layer must be the name of a convolutional layer (e.g. 'features.2'), got {layer!r}")
    resolve_layer(model, layer)  # unknown names: ValueError listing the accepted ones
    return layer


def dissect(model: torch.nn.Module, layer: str, probe: ConceptSet | None = None, quantile: float = 0.005,
            cut: float = 0.04, batch_size: int = 128) -> Dissection:
    """Network dissection of ``layer`` on ``probe`` (default ``concept_set()``): per unit k the
    threshold T_k (the top ``quantile`` of its activations over all positions of all probe
    images), the upsampled masks M_k = a_k > T_k and their dataset-wide IoU with every concept
    (see the module docstring). Chapter 6."""
    layer = _check_layer(model, layer)
    quantile = checks.number(quantile, "quantile", 1e-6, 0.5)
    cut = checks.number(cut, "cut", 0.0, 1.0)
    batch_size = checks.number(batch_size, "batch_size", 1, 10**6, integer=True)
    if probe is None:
        probe = concept_set()
    if not isinstance(probe, ConceptSet):
        raise ValueError(f"probe must be a ConceptSet (from advlab.interpret.concept_set) or None, "
                         f"got {type(probe).__name__}")
    x = checks.images(probe.x, "probe.x")
    n, _, s, s2 = x.shape
    if tuple(probe.masks.shape) != (n, len(probe.concepts), s, s2) or probe.masks.dtype != torch.bool:
        raise ValueError(f"probe.masks must be bool of shape {(n, len(probe.concepts), s, s2)}, "
                         f"got {probe.masks.dtype} {tuple(probe.masks.shape)}")
    unknown = sorted(set(probe.categories) - set(CATEGORIES))
    if len(probe.categories) != len(probe.concepts) or unknown:
        raise ValueError(f"probe.categories must name one of {', '.join(CATEGORIES)} per concept "
                         f"({len(probe.concepts)}), got {len(probe.categories)} with unknown {unknown}")
    if tuple(probe.labelled.shape) != (n, len(CATEGORIES)) or probe.labelled.dtype != torch.bool:
        raise ValueError(f"probe.labelled must be bool of shape {(n, len(CATEGORIES))}, "
                         f"got {probe.labelled.dtype} {tuple(probe.labelled.shape)}")
    acts = _feature_maps(model, layer, x, batch_size)  # N×K×h×w
    k_units = acts.shape[1]
    dev = acts.device
    flat = acts.transpose(0, 1).reshape(k_units, -1)
    # T_k: the k-th smallest value with k = ceil((1 - q)·P), so about q·P positions lie above it
    rank = min(flat.shape[1], max(1, math.ceil((1 - quantile) * flat.shape[1])))
    thresholds = flat.kthvalue(rank, dim=1).values
    cats = list(probe.categories)
    cat_index = torch.tensor([CATEGORIES.index(c) for c in cats], device=dev)
    labelled = probe.labelled.to(dev).float()  # N×G
    inter = torch.zeros(k_units, len(cats), device=dev, dtype=torch.float64)
    unit_area = torch.zeros(k_units, labelled.shape[1], device=dev, dtype=torch.float64)
    label_area = torch.zeros(len(cats), device=dev, dtype=torch.float64)
    for i in range(0, n, batch_size):
        a = acts[i:i + batch_size]
        b = a.shape[0]
        up = upsample(a.reshape(b * k_units, *a.shape[2:]), (s, s2)).view(b, k_units, -1)
        m = (up > thresholds[None, :, None]).float()  # B×K×P
        lab = probe.masks[i:i + batch_size].to(dev).flatten(2).float()  # B×C×P
        inter += torch.einsum("bkp,bcp->kc", m, lab).double()
        unit_area += (m.sum(2).T @ labelled[i:i + batch_size]).double()  # K×G
        label_area += lab.sum((0, 2)).double()
    union = unit_area[:, cat_index] + label_area[None] - inter
    iou = torch.where(union > 0, inter / union.clamp_min(1), torch.zeros_like(inter)).float().cpu()
    best_iou, best_c = iou.max(1)
    best = [(probe.concepts[int(c)], float(v)) for c, v in zip(best_c, best_iou)]
    return Dissection(layer, iou, list(probe.concepts), cats, thresholds.cpu(), best,
                      best_iou > cut, quantile, cut)


def unit_sensitivity(model: torch.nn.Module, layer: str, x: torch.Tensor, x_adv: torch.Tensor,
                     batch_size: int = 128) -> torch.Tensor:
    """(K,) per unit of ``layer``: the mean over images of |ā_k(x_adv) − ā_k(x)|, ā_k the unit's
    activation averaged over positions, divided by the std of ā_k over the clean images ``x``
    (chapter 6, after Xu et al., 2019). A unit whose ā_k is constant on ``x`` (std 0, e.g. a dead
    unit) has no scale: its sensitivity is NaN (mask with ``torch.isfinite``)."""
    layer = _check_layer(model, layer)
    batch_size = checks.number(batch_size, "batch_size", 1, 10**6, integer=True)
    checks.images(x, "x")
    checks.images(x_adv, "x_adv")
    if x.shape != x_adv.shape:
        raise ValueError(f"x_adv must have the shape of x {tuple(x.shape)}, got {tuple(x_adv.shape)}")
    if x.shape[0] < 2:
        raise ValueError(f"x must hold at least 2 images (the std over clean images scales each unit), "
                         f"got {x.shape[0]}")
    clean = _feature_maps(model, layer, x, batch_size).flatten(2).mean(2).double()
    adv = _feature_maps(model, layer, x_adv, batch_size).flatten(2).mean(2).double()
    std = clean.std(0)
    change = (adv - clean).abs().mean(0)
    out = torch.where(std > 0, change / std.clamp_min(1e-300), torch.full_like(std, math.nan))
    return out.float().cpu()
