"""Feature squeezing (chapter 5): the squeezers against known values and scipy, and the detector's
false-positive rate, detections, straight-through gradients and argument checks."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats
from scipy.ndimage import median_filter
from torch import nn

from advlab import squeeze


def test_bit_depth_on_known_values():
    x = torch.tensor([0.0, 0.1, 0.2, 0.55, 0.9, 1.0]).view(1, 1, 1, 6)
    assert torch.equal(squeeze.bit_depth(x, 2).flatten(), torch.tensor([0, 0, 1, 2, 3, 3]) / 3.0)
    assert torch.equal(squeeze.bit_depth(x, 1).flatten(), torch.tensor([0.0, 0, 0, 1, 1, 1]))
    levels = torch.arange(256).float().view(1, 1, 16, 16) / 255  # 8 bits keep 8-bit images exactly
    assert torch.equal(squeeze.bit_depth(levels, 8), levels)
    assert squeeze.bit_depth(torch.rand(2, 3, 5, 5), 3).mul(7).sub(torch.arange(8).view(-1, 1, 1, 1, 1)).abs() \
        .amin(0).max() < 1e-5  # every value is one of the 8 levels


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_median_is_scipys(size):
    x = torch.rand(3, 3, 9, 12, generator=torch.Generator().manual_seed(size), dtype=torch.float64)
    ref = median_filter(x.numpy(), size=(1, 1, size, size))  # scipy's default mode, "reflect"
    assert np.array_equal(squeeze.median(x, size).numpy(), ref)


def test_median_has_its_real_gradient():
    x = torch.rand(1, 2, 6, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: squeeze.median(x, 3), (x.requires_grad_(True),))


def test_nonlocal_means_smooths_a_noisy_flat_image():
    g = torch.Generator().manual_seed(0)
    x = (0.5 + 0.05 * torch.randn(2, 3, 32, 32, generator=g)).clamp(0, 1)
    out = squeeze.nonlocal_means(x, h=0.05)
    assert out.shape == x.shape and out.dtype == x.dtype and out.min() >= 0 and out.max() <= 1
    assert out.var() < 0.2 * x.var()
    gentle = squeeze.SQUEEZERS["nlm"](x)  # 13-3-2: h of two grey levels barely touches this noise
    assert gentle.var() > 0.5 * x.var()


class HighFrequencyNet(nn.Module):
    """Class 0 when the image holds fine-grained energy (|x − its 3×3 mean|), else class 1."""

    def forward(self, x):
        energy = (x - F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)).abs().mean((1, 2, 3))
        return torch.stack([40 * energy - 2, torch.zeros_like(energy)], 1)


def _smooth(n, seed, noise=0.02):
    g = torch.Generator().manual_seed(seed)
    low = F.interpolate(torch.rand(n, 3, 4, 4, generator=g), size=(16, 16), mode="bilinear", align_corners=False)
    return (low + noise * (2 * torch.rand(n, 3, 16, 16, generator=g) - 1)).clamp(0, 1)


SQUEEZE = ("bit-3", "median-3", "nlm")


def test_the_false_positive_rate_on_held_out_clean_images_is_the_nominal_one():
    det = squeeze.Detector(HighFrequencyNet(), SQUEEZE, fpr=0.05).fit(_smooth(1000, 0))
    assert set(det.thresholds) == {*SQUEEZE, "joint"}
    held_out = det.detect(_smooth(2000, 1))
    # the threshold is itself estimated from 1,000 images: the binomial interval (99.9 %) at the
    # effective size 1/(1/1000 + 1/2000) covers both sources of variation
    n_eff = 1 / (1 / 1000 + 1 / 2000)
    lo, hi = stats.binom.ppf([0.0005, 0.9995], round(n_eff), 0.05) / round(n_eff)
    for name, flagged in held_out.items():
        assert flagged.shape == (2000,) and flagged.dtype == torch.bool
        assert lo <= flagged.float().mean() <= hi, name
    noisy = (_smooth(200, 2) + 0.3 * (2 * torch.rand(200, 3, 16, 16, generator=torch.Generator().manual_seed(3))
                                      - 1)).clamp(0, 1)
    counts = det.counts(noisy)
    assert counts["median-3"][0] > 0.9 * 200 and counts["joint"][0] > 0.9 * 200 and counts["joint"][1] == 200


def test_scores_are_l1_distances_of_softmax_outputs():
    model, x = HighFrequencyNet(), _smooth(8, 4, noise=0.2)
    scores = squeeze.Detector(model, ("median-3", "bit-2")).score(x)
    expect = (model(x).softmax(1) - model(squeeze.median(x, 3)).softmax(1)).abs().sum(1)
    assert torch.allclose(scores["median-3"], expect, atol=1e-6)
    assert torch.equal(scores["joint"], torch.maximum(scores["median-3"], scores["bit-2"]))
    assert ((scores["joint"] >= 0) & (scores["joint"] <= 2)).all()


@pytest.mark.parametrize("name", ["bit-2", "nlm"])
def test_bpda_passes_the_gradient_straight_through(name):
    sq = squeeze.SQUEEZERS[name]
    x = _smooth(2, 5, noise=0.1).requires_grad_(True)
    v = torch.randn(x.shape, generator=torch.Generator().manual_seed(6))
    out = sq.differentiable(x)
    assert torch.allclose(out, sq(x.detach()), atol=1e-6)
    (g,) = torch.autograd.grad((v * out).sum(), x)
    assert torch.equal(g, v)  # the identity's gradient


def test_differentiable_scores_match_and_carry_a_gradient():
    model, x = HighFrequencyNet(), _smooth(4, 7, noise=0.2)
    det = squeeze.Detector(model, ("bit-3", "median-3", "nlm"))
    xr = x.clone().requires_grad_(True)
    live = det.differentiable_score(xr)
    for name, value in det.score(x).items():
        assert torch.allclose(live[name].detach(), value, atol=1e-5)
        (g,) = torch.autograd.grad(live[name].sum(), xr, retain_graph=True)
        # (a squeezer that leaves an image as it is gives it score 0, a kink of |·| with gradient 0)
        assert torch.isfinite(g).all() and (g.abs().sum() > 0) == bool((value > 0).any()), name
    # the median's is the real gradient: the score through squeeze.median itself
    xm = x.clone().requires_grad_(True)
    ref = (model(xm).softmax(1) - model(squeeze.median(xm, 3)).softmax(1)).abs().sum(1).sum()
    (g_ref,) = torch.autograd.grad(ref, xm)
    (g,) = torch.autograd.grad(det.differentiable_score(xr)["median-3"].sum(), xr)
    assert torch.allclose(g, g_ref, atol=1e-6)


def test_bad_arguments_are_named():
    x = torch.rand(2, 3, 8, 8)
    model = HighFrequencyNet()
    for call, arg in [(lambda: squeeze.bit_depth(x, 0), "bits"), (lambda: squeeze.bit_depth(x, 2.5), "bits"),
                      (lambda: squeeze.median(x, 0), "size"), (lambda: squeeze.median(x, 9), "size"),
                      (lambda: squeeze.nonlocal_means(x, patch_size=0), "patch_size"),
                      (lambda: squeeze.nonlocal_means(x, h=0.0), "h"),
                      (lambda: squeeze.median(x + 1, 3), "x"),
                      (lambda: squeeze.Detector(model, ("bit-9",)), "squeezer"),
                      (lambda: squeeze.Detector(model, "bit-2"), "squeezers"),
                      (lambda: squeeze.Detector(model, ()), "squeezers"),
                      (lambda: squeeze.Detector(model, fpr=0.0), "fpr"),
                      (lambda: squeeze.Detector(model, fpr=0.7), "fpr"),
                      (lambda: squeeze.Detector(model, ("bit-2",)).fit(x), "x_clean"),
                      (lambda: squeeze.Detector(model, ("bit-2",)).detect(x), "fit"),
                      (lambda: squeeze.Detector("model"), "model")]:
        with pytest.raises(ValueError, match=arg):
            call()
