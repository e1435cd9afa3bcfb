"""Neural style transfer (Gatys et al., 2016) on features of a network we trained.

Zhang & Zhu (2019) test shape bias on *stylised* images: the texture of a
style image is painted over the content while the global shape stays. They
used a feed-forward style-transfer network trained on ImageNet; offline we use
the original optimisation form of style transfer instead:

    min_y  (1 − s)·‖φ_c(y) − φ_c(x)‖² / ‖φ_c(x)‖²  +  s·Σ_l ‖G_l(y) − G_l(t)‖² / ‖G_l(t)‖²

where φ are activations of a VGG-style CIFAR-10 CNN of the zoo (content at its
4th conv layer, style as Gram matrices G of conv layers 1–4), ``t`` is a texture
bundled with scikit-image (brick, grass, gravel in grey; a stained tissue
section and the Hubble deep field in colour), and the strength ``s`` ∈ [0, 1]
trades content for style: s = 0 returns the image, s = 1 keeps only what the
start point (the image itself) and a fixed number of Adam steps leave of the
content. Images are optimised as a batch.

The feature network is ``cifar_gap_cnn_pgd_l2``, adversarially trained (L2,
ε = 0.5) and none of the models chapter 3 evaluates: on the features of a
standard network (``cifar_gap_cnn``, still available as ``feature_model``) the
optimisation paints mostly high-frequency speckle that this network alone
ignores, while a robust network's features give a more perceptual transfer.
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from .core import LayerProbe, checks

STYLES = ("brick", "grass", "gravel", "immunohistochemistry", "hubble_deep_field")
#: the feature networks stylisation can use (zoo name → what it is); both VGG-style, so the layer
#: indices below apply to either
FEATURE_MODELS = {"cifar_gap_cnn_pgd_l2": "robust features", "cifar_gap_cnn": "standard features"}
FEATURE_MODEL = "cifar_gap_cnn_pgd_l2"
STYLE_LAYERS = (0, 1, 3, 4)   # indices in the feature model's ``features`` (conv–BN–ReLU blocks)
CONTENT_LAYER = 4


def texture(name: str, size: int = 64) -> torch.Tensor:
    """The scikit-image texture ``name`` as a 1×3×size×size tensor in [0, 1]."""
    import skimage.data
    checks.choice(name, "style", STYLES)
    size = checks.number(size, "size", 8, 512, integer=True)
    img = torch.from_numpy(getattr(skimage.data, name)()).float().div(255)
    img = img.expand(3, *img.shape) if img.dim() == 2 else img.permute(2, 0, 1)[:3]
    side = min(img.shape[1:])                   # the central square: a texture is not stretched
    top, left = (img.shape[1] - side) // 2, (img.shape[2] - side) // 2
    img = img[:, top:top + side, left:left + side]
    return F.interpolate(img[None], size=(size, size), mode="bilinear", antialias=True,
                         align_corners=False).clamp(0, 1)


@functools.lru_cache(maxsize=4)
def _extractor(device: str, name: str = FEATURE_MODEL):
    from . import zoo
    model = zoo.load(name, device=device)
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


@functools.lru_cache(maxsize=32)
def _style_grams(style: str, device: str, name: str = FEATURE_MODEL):
    acts = _activations(_extractor(device, name), texture(style).to(device))
    return {i: gram(acts[i]) for i in STYLE_LAYERS}


def stylize(x: torch.Tensor, style="brick", strength: float = 1.0, steps: int = 60,
            lr: float = 0.02, seed: int = 0, feature_model: str = FEATURE_MODEL) -> torch.Tensor:
    """Stylise a batch of images with the texture ``style``.

    ``style`` is one of :data:`STYLES`, a sequence of them (one per image), or
    ``"random"`` for one style per image drawn with ``seed`` (as Stylized-ImageNet
    assigns a random painting per image). ``strength`` ∈ [0, 1]: 0 returns ``x``
    unchanged, 1 is pure style loss. ``feature_model`` is one of :data:`FEATURE_MODELS`.
    """
    x = checks.images(x)
    if x.shape[1] != 3:
        raise ValueError(f"x must have 3 colour channels for stylisation, got {x.shape[1]}")
    s = checks.number(strength, "strength", 0.0, 1.0)
    steps = checks.number(steps, "steps", 1, 10_000, integer=True)
    lr = checks.number(lr, "lr", 1e-5, 1.0)
    seed = checks.seed(seed)
    checks.choice(feature_model, "feature_model", FEATURE_MODELS)
    n = x.shape[0]
    if isinstance(style, str) and style == "random":
        gen = torch.Generator().manual_seed(seed)
        styles = [STYLES[i] for i in torch.randint(len(STYLES), (n,), generator=gen).tolist()]
    elif isinstance(style, str):
        styles = [checks.choice(style, "style", STYLES)] * n
    else:
        styles = list(style)
        if len(styles) != n:
            raise ValueError(f"style must name one style per image ({n}), got {len(styles)}")
        for st in styles:
            checks.choice(st, "style", STYLES)
    if s == 0.0:
        return x.clone()
    dev = str(x.device)
    model = _extractor(dev, feature_model)
    targets = {i: torch.cat([_style_grams(st, dev, feature_model)[i] for st in styles]) for i in STYLE_LAYERS}
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
SUBSET_PER_CLASS = 50


def _subset_path():
    from pathlib import Path
    return Path(__file__).parent / "_data" / "cifar10_stylized.npz"


def write_subset(per_class: int = SUBSET_PER_CLASS, strengths=SUBSET_STRENGTHS, steps: int = 60, seed: int = 0,
                 batch_size: int = 100, feature_model: str = FEATURE_MODEL, path=None):
    """Stylise a class-stratified random sample of the CIFAR-10 test set (``per_class`` images of
    each class drawn with ``seed`` from all 10,000, stored in a seeded random order so that its
    first n are a random sample too) at every strength, one random style per image, and store
    the originals, labels, indices and stylised images as uint8 in ``advlab/_data`` (run once,
    offline, with the dataset: ``python -m advlab.stylize``). The book reads this file instead of
    optimising again."""
    import numpy as np

    from . import data
    ts = data.tensors("cifar10", "test")
    idx = data.stratified_indices(ts.y, per_class, seed)
    idx = idx[torch.randperm(len(idx), generator=torch.Generator().manual_seed(seed))]
    x, n = ts.x[idx], len(idx)
    gen = torch.Generator().manual_seed(seed)
    styles = torch.randint(len(STYLES), (n,), generator=gen).tolist()
    out = np.zeros((len(strengths), n, 3, 32, 32), dtype=np.uint8)
    for k, s in enumerate(strengths):
        for i in range(0, n, batch_size):
            y = stylize(x[i:i + batch_size], [STYLES[j] for j in styles[i:i + batch_size]], strength=s,
                        steps=steps, feature_model=feature_model)
            out[k, i:i + batch_size] = (y * 255).round().byte().numpy()
    path = _subset_path() if path is None else path
    np.savez_compressed(path, images=out, originals=(x * 255).round().byte().numpy(), labels=ts.y[idx].numpy(),
                        indices=idx.numpy(), strengths=np.array(strengths), styles=np.array(styles),
                        style_names=np.array(STYLES), steps=steps, seed=seed, feature_model=feature_model,
                        sample=f"{per_class} test images of each class drawn with seed {seed} from the full "
                               f"CIFAR-10 test set ({ts.variant}), in a random order")
    return path


def _read(key: str, n: int | None):
    import numpy as np
    with np.load(_subset_path()) as f:
        total = len(f["labels"])
        n = total if n is None else checks.number(n, "n", 1, total, integer=True)
        return f[key][..., :n, :, :, :] if key in ("images", "originals") else f[key][:n]


def originals(n: int | None = None):
    """The first ``n`` images of the stylised set, unstylised, and their labels ``(x, y)``: a
    class-stratified random sample of the CIFAR-10 test set (:func:`write_subset`)."""
    x = torch.from_numpy(_read("originals", n)).float().div(255)
    return x, torch.from_numpy(_read("labels", n)).long()


def subset(strength: float, n: int | None = None) -> torch.Tensor:
    """The first ``n`` images of the stylised set (:func:`originals`), stylised at a precomputed
    ``strength`` (one of :data:`SUBSET_STRENGTHS`, or 0 for the originals), as float N×3×32×32."""
    s = checks.number(strength, "strength", 0.0, 1.0)
    if s == 0.0:
        return originals(n)[0]
    if s not in SUBSET_STRENGTHS:
        raise ValueError(f"strength={strength} was not precomputed; choose one of {[0.0, *SUBSET_STRENGTHS]} "
                         f"or call stylize() for other strengths")
    return torch.from_numpy(_read("images", n)[SUBSET_STRENGTHS.index(s)]).float().div(255)


def subset_styles(n: int | None = None) -> list[str]:
    """The style drawn for each image of the stylised set (named as the file names them)."""
    import numpy as np
    with np.load(_subset_path()) as f:
        names = [str(s) for s in f["style_names"]]
    return [names[i] for i in _read("styles", n)]


def subset_info() -> dict:
    """How the stylised set was made: feature model, steps, seed, sample."""
    import numpy as np
    with np.load(_subset_path()) as f:
        return {k: f[k].item() for k in ("feature_model", "steps", "seed", "sample")}


if __name__ == "__main__":
    print(write_subset())
