"""MASK, the meaningful-perturbation interpreter (chapter 5): it finds a known region, repeats, rejects
bad settings, and its look-ahead path gives ∂mask/∂x."""
import pytest
import torch
from torch import nn

import advlab as al
from advlab.interpret.mask import CLIP, MeaningfulPerturbation, gaussian_blur

REGION = (slice(8, 20), slice(12, 24))  # aligned with the 4-pixel cells of an 8×8 mask on 32×32


def _checker(n=2, size=32):
    """A ±1 one-pixel checkerboard (the same in every channel), which a σ = 2 blur erases."""
    i = torch.arange(size)
    return ((i[:, None] + i[None, :]) % 2 * 2 - 1).float().expand(n, 3, size, size)


class RegionModel(nn.Module):
    """Two classes; class 0's logit is the mean over REGION of (x − ½)·checkerboard (scaled), class
    1's is 0. Images carry the checkerboard everywhere: only REGION's copy is evidence."""

    def forward(self, x):
        score = ((x - 0.5) * _checker(len(x), x.shape[-1]))[:, :, REGION[0], REGION[1]].mean((1, 2, 3))
        return torch.stack([20 * score - 4, torch.zeros_like(score)], 1)


def _region_images(n=2):
    return 0.5 + 0.45 * _checker(n)


def _box(rows, cols):
    box = torch.zeros(32, 32, dtype=torch.bool)
    box[rows, cols] = True
    return box


def _iou(on, box):
    return (on & box).flatten(1).sum(1) / (on | box).flatten(1).sum(1)


def test_the_mask_finds_the_region_that_holds_the_evidence():
    model, x = RegionModel(), _region_images()
    region = _box(*REGION)
    # a mask at pixel resolution: the region, give or take the pixel TV smooths at its border
    fine = MeaningfulPerturbation(model, size=32)(x, 0)
    assert (_iou(fine > 0.5, region) > 0.7).all()
    assert fine[:, region].mean() > 0.9 and fine[:, ~region].mean() < 0.1
    # the default 8×8 grid: bilinear upsampling reaches an edge pixel only through the cell beyond
    # it, so the mask covers the region and spills up to one cell (4 pixels), never further
    masks = MeaningfulPerturbation(model)(x, 0)
    assert masks.shape == (2, 32, 32) and masks.min() >= 0 and masks.max() <= 1
    grown = _box(slice(4, 24), slice(8, 28))
    assert masks[:, region].mean() > 0.9 and masks[:, ~grown].mean() < 0.1
    assert (_iou(masks > 0.5, grown) > 0.8).all() and not (masks > 0.5)[:, ~grown].any()
    with torch.no_grad():  # and deleting it removes the class
        blurred = gaussian_blur(x, 2.0)
        p = model(x * (1 - masks[:, None]) + blurred * masks[:, None]).softmax(1)[:, 0]
    assert (p < 0.1).all() and (model(x).softmax(1)[:, 0] > 0.9).all()


def test_gaussian_blur_keeps_constants_and_erases_the_checkerboard():
    flat = torch.full((1, 3, 8, 8), 0.3)
    assert torch.allclose(gaussian_blur(flat, 2.0), flat)
    assert gaussian_blur(_region_images(1), 2.0).sub(0.5).abs().max() < 1e-3


def test_masks_repeat_and_the_seed_matters(tiny_gap, tiny_batch):
    x, y = tiny_batch
    state = torch.random.get_rng_state()
    a = MeaningfulPerturbation(tiny_gap, steps=20)(x, y)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(a, MeaningfulPerturbation(tiny_gap, steps=20)(x, y))
    assert not torch.equal(a, MeaningfulPerturbation(tiny_gap, steps=20, seed=1)(x, y))
    # the images are independent: batches give the same masks
    assert torch.allclose(MeaningfulPerturbation(tiny_gap, steps=20)(x, y, batch_size=3), a, atol=1e-6)


@pytest.mark.parametrize("arg, value", [("steps", 0), ("steps", 1.5), ("steps", "10"), ("lr", 0.0),
                                        ("l1", -0.1), ("l1", float("nan")), ("tv", "0.2"), ("tv", -1),
                                        ("tv_beta", 0.5), ("sigma", 0.0), ("size", 0), ("lookahead", 0),
                                        ("xi", -1.0), ("seed", -1), ("seed", 0.5)])
def test_bad_settings_are_named(arg, value, tiny_gap):
    with pytest.raises(ValueError, match=arg):
        MeaningfulPerturbation(tiny_gap, **{arg: value})


def test_bad_warm_masks_are_named(tiny_gap, tiny_batch):
    x, y = tiny_batch
    attr = MeaningfulPerturbation(tiny_gap, steps=2)
    for bad in (torch.rand(4, 8, 8), torch.rand(3, 16, 16), torch.rand(4, 16, 16) + 1,
                torch.full((4, 16, 16), float("nan")), torch.ones(4, 16, 16, dtype=torch.long), [0.5]):
        with pytest.raises(ValueError, match="init"):
            attr(x, y, init=bad)


def test_a_warm_mask_is_read_back_exactly():
    # with xi = 0 the look-ahead does not move: the map is the warm mask (its low-resolution grid,
    # recovered by the least-squares inverse of the upsampling)
    low = 0.1 + 0.8 * torch.rand(2, 8, 8, generator=torch.Generator().manual_seed(0))
    warm = al.core.upsample(low, (32, 32))
    out = MeaningfulPerturbation(RegionModel(), xi=0.0)(_region_images(), 0, init=warm)
    assert torch.allclose(out, warm, atol=1e-5)
    # a saturated mask is clipped, so that look-ahead steps can still move it
    out = MeaningfulPerturbation(RegionModel(), xi=0.0)(_region_images(), 0, init=torch.ones(2, 32, 32))
    assert torch.allclose(out, torch.full_like(out, 1 - CLIP), atol=1e-5)


def test_the_look_ahead_gives_a_gradient_wrt_the_input(tiny_gap, tiny_batch):
    model, (x, y) = tiny_gap.double(), tiny_batch
    x = x.double().clamp(0.01, 0.99)
    attr = MeaningfulPerturbation(model, steps=30, lookahead=3)
    warm = attr(x, y)
    xr = x.clone().requires_grad_(True)
    out = attr(xr, y, init=warm, differentiable=True)
    assert out.requires_grad
    assert torch.allclose(out.detach(), attr(x, y, init=warm), atol=1e-9)  # the same steps as the default path
    (g,) = torch.autograd.grad((out - warm).pow(2).sum(), xr)
    assert torch.isfinite(g).all() and g.abs().sum() > 0
    # a central difference along the gradient agrees (the warm mask held constant)
    v = g / g.norm()
    with torch.no_grad():
        up = (attr(x + 1e-5 * v, y, init=warm) - warm).pow(2).sum()
        down = (attr(x - 1e-5 * v, y, init=warm) - warm).pow(2).sum()
    assert torch.allclose((up - down) / 2e-5, g.norm(), rtol=1e-3)
