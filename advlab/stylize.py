"""Neural style transfer (Gatys et al., 2016) on features of a network we trained.

Zhang & Zhu (2019) test shape bias on *stylised* images: the texture of a
style image is painted over the content while the global shape stays. They
used a feed-forward style-transfer network trained on ImageNet; offline we use
the original optimisation form of style transfer instead:

    min_y  (1 − s)·‖φ_c(y) − φ_c(x)‖² / ‖φ_c(x)‖²  +  s·Σ_l ‖G_l(y) − G_l(t)‖² / ‖G_l(t)‖²

where φ are activations of the zoo's CIFAR-10 VGG-style CNN (``cifar_gap_cnn``:
content at its 4th conv layer, style as Gram matrices G of conv layers 1–4),
``t`` is a texture bundled with scikit-image (brick, grass, gravel), and the
strength ``s`` ∈ [0, 1] trades content for style: s = 0 returns the image,
s = 1 keeps only what the start point (the image itself) and a fixed number of
Adam steps leave of the content. Images are optimised as a batch.
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from .core import LayerProbe, checks

STYLES = ("brick", "grass", "gravel")
FEATURE_MODEL = "cifar_gap_cnn"
STYLE_LAYERS = (0, 1, 3, 4)   # indices in the feature model's ``features`` (conv–BN–ReLU blocks)
CONTENT_LAYER = 4


def texture(name: str, size: int = 64) -> torch.Tensor:
    """The scikit-image texture ``name`` as a 1×3×size×size tensor in [0, 1]."""
    import skimage.data
    checks.choice(name, "style", STYLES)
    size = checks.number(size, "size", 8, 512, integer=True)
    img = torch.from_numpy(getattr(skimage.data, name)()).float().div(255)
    img = img.expand(3, *img.shape) if img.dim() == 2 else img.permute(2, 0, 1)
    return F.interpolate(img[None], size=(size, size), mode="bilinear", antialias=True,
                         align_corners=False).clamp(0, 1)


@functools.lru_cache(maxsize=2)
def _extractor(device: str):
    from . import zoo
    model = zoo.load(FEATURE_MODEL, device=device)
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _activations(model, x):
    """Outputs of the style and content blocks (by index in ``model.features``), read through the
    layer probe; the forward pass ends at the last block needed."""
    names = {f"features.{i}": i for i in sorted(set(STYLE_LAYERS + (CONTENT_LAYER,)))}
    with LayerProbe(model, list(names), stop_at=True) as probe:
        probe.run(x)
    return {i: probe[name] for name, i in names.items()}


def gram(f: torch.Tensor) -> torch.Tensor:
    """Gram matrices of feature maps N×C×H×W → N×C×C, averaged over positions."""
    n, c, h, w = f.shape
    f = f.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (h * w)


@functools.lru_cache(maxsize=8)
def _style_grams(style: str, device: str):
    acts = _activations(_extractor(device), texture(style).to(device))
    return {i: gram(acts[i]) for i in STYLE_LAYERS}


def stylize(x: torch.Tensor, style="brick", strength: float = 1.0, steps: int = 60,
            lr: float = 0.02, seed: int = 0) -> torch.Tensor:
    """Stylise a batch of images with the texture ``style``.

    ``style`` is one of :data:`STYLES`, or ``"random"`` for one style per image
    drawn with ``seed`` (as Stylized-ImageNet assigns a random painting per image).
    ``strength`` ∈ [0, 1]: 0 returns ``x`` unchanged, 1 is pure style loss.
    """
    x = checks.images(x)
    if x.shape[1] != 3:
        raise ValueError(f"x must have 3 colour channels for stylisation, got {x.shape[1]}")
    s = checks.number(strength, "strength", 0.0, 1.0)
    steps = checks.number(steps, "steps", 1, 10_000, integer=True)
    lr = checks.number(lr, "lr", 1e-5, 1.0)
    seed = checks.seed(seed)
    n = x.shape[0]
    if style == "random":
        gen = torch.Generator().manual_seed(seed)
        styles = [STYLES[i] for i in torch.randint(len(STYLES), (n,), generator=gen).tolist()]
    else:
        checks.choice(style, "style", STYLES)
        styles = [style] * n
    if s == 0.0:
        return x.clone()
    dev = str(x.device)
    model = _extractor(dev)
    targets = {i: torch.cat([_style_grams(st, dev)[i] for st in styles]) for i in STYLE_LAYERS}
    with torch.no_grad():
        content = _activations(model, x)[CONTENT_LAYER]
    c_scale = content.pow(2).mean(dim=(1, 2, 3))
    s_scale = {i: t.pow(2).mean(dim=(1, 2)) for i, t in targets.items()}
    y = x.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([y], lr=lr)
    for _ in range(steps):
        acts = _activations(model, y)
        loss_c = (acts[CONTENT_LAYER] - content).pow(2).mean(dim=(1, 2, 3)) / c_scale
        loss_s = sum((gram(acts[i]) - targets[i]).pow(2).mean(dim=(1, 2)) / s_scale[i] for i in STYLE_LAYERS)
        loss = ((1 - s) * loss_c + s * loss_s / len(STYLE_LAYERS)).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            y.clamp_(0, 1)
    return y.detach()


SUBSET_STRENGTHS = (0.25, 0.5, 0.75, 1.0)


def _subset_path():
    from pathlib import Path
    return Path(__file__).parent / "_data" / "cifar10_stylized.npz"


def write_subset(n: int = 500, strengths=SUBSET_STRENGTHS, steps: int = 60, seed: int = 0,
                 batch_size: int = 100):
    """Stylise the first ``n`` bundled CIFAR-10 test images at every strength (style
    ``"random"``, ``seed``) and store them as uint8 in ``advlab/_data`` (run once, offline:
    ``python -m advlab.stylize``). The book reads this file instead of optimising again."""
    import numpy as np

    from . import data
    x = data.subset("cifar10", n).x
    out = np.zeros((len(strengths), n, 3, 32, 32), dtype=np.uint8)
    for k, s in enumerate(strengths):
        for i in range(0, n, batch_size):
            y = stylize(x[i:i + batch_size], "random", strength=s, steps=steps, seed=seed + i)
            out[k, i:i + batch_size] = (y * 255).round().byte().numpy()
    gen = torch.Generator()
    styles = []
    for i in range(0, n, batch_size):
        gen.manual_seed(seed + i)
        styles += torch.randint(len(STYLES), (min(batch_size, n - i),), generator=gen).tolist()
    np.savez_compressed(_subset_path(), images=out, strengths=np.array(strengths), styles=np.array(styles),
                        style_names=np.array(STYLES), steps=steps, seed=seed,
                        feature_model=FEATURE_MODEL)
    return _subset_path()


def subset(strength: float, n: int | None = None) -> torch.Tensor:
    """The first ``n`` bundled CIFAR-10 test images, stylised at a precomputed ``strength``
    (one of :data:`SUBSET_STRENGTHS`, or 0 for the originals), as float N×3×32×32."""
    import numpy as np

    from . import data
    path = _subset_path()
    with np.load(path) as f:
        strengths = [float(s) for s in f["strengths"]]
        total = f["images"].shape[1]
        n = total if n is None else checks.number(n, "n", 1, total, integer=True)
        s = checks.number(strength, "strength", 0.0, 1.0)
        if s == 0.0:
            return data.subset("cifar10", n).x
        if s not in strengths:
            raise ValueError(f"strength={strength} was not precomputed; choose one of {[0.0] + strengths} "
                             f"or call stylize() for other strengths")
        return torch.from_numpy(f["images"][strengths.index(s), :n]).float().div(255)


def subset_styles(n: int | None = None) -> list[str]:
    """The style drawn for each image of the precomputed subset."""
    import numpy as np
    with np.load(_subset_path()) as f:
        names = [str(s) for s in f["style_names"]]
        return [names[i] for i in f["styles"][:n]]


if __name__ == "__main__":
    print(write_subset())
