"""Chapter 6's building blocks: promotion and suppression, PGD confined to a region, masking
units, and Spearman's ρ with a bootstrap interval."""
import numpy as np
import pytest
import torch
from scipy import stats

import advlab as al
from advlab.interpret import promotion as P


@pytest.fixture(scope="module")
def resnet():
    return al.zoo.load("cifar_resnet8")


@pytest.fixture(scope="module")
def batch():
    ds = al.data.subset("cifar10")
    return ds.x[:24], ds.y[:24]


def test_pse_type_rule():
    kinds = al.interpret.pse_type([3.0, 1.0, 1.0, -0.5, 2.0, 0.0], [1.0, 3.0, 1.5, 1.0, 0.9, 0.0])
    assert kinds == ["suppression-dominated", "promotion-dominated", "balanced", "promotion-dominated",
                     "suppression-dominated", "suppression-dominated"]
    # the ratio moves the boundary
    assert al.interpret.pse_type([1.5], [1.0], ratio=1.4) == ["suppression-dominated"]
    assert al.interpret.pse_type([1.5], [1.0], ratio=2.0) == ["balanced"]
    with pytest.raises(ValueError, match="ratio"):
        al.interpret.pse_type([1.0], [1.0], ratio=0.5)
    with pytest.raises(ValueError, match="same length"):
        al.interpret.pse_type([1.0, 2.0], [1.0])


def test_suppression_and_promotion_are_centred_logit_changes(resnet, batch):
    x, y = batch
    t = (y + 3) % 10
    x_adv = al.attacks.PGD(resnet, eps=4 / 255, steps=3, targeted=True)(x, t)
    pse = al.interpret.promotion_suppression(resnet, x, x_adv, y, t)
    with torch.no_grad():
        z0, z1 = resnet(x), resnet(x_adv)
    z0, z1 = z0 - z0.mean(1, keepdim=True), z1 - z1.mean(1, keepdim=True)
    rows = torch.arange(len(x))
    assert torch.allclose(pse.suppression, z0[rows, y] - z1[rows, y], atol=1e-4)
    assert torch.allclose(pse.promotion, z1[rows, t] - z0[rows, t], atol=1e-4)
    # exact split over the 64 units of the last stage
    assert pse.unit_suppression.shape == (len(x), 64)
    assert torch.allclose(pse.unit_suppression.sum(1), pse.suppression, atol=1e-4)
    assert torch.allclose(pse.unit_promotion.sum(1), pse.promotion, atol=1e-4)
    # a successful targeted example has s + p > 0 (the margin changed sign)
    hit = z1.argmax(1) == t
    assert hit.any() and ((pse.suppression + pse.promotion)[hit & (z0.argmax(1) == y)] > 0).all()
    assert sum(pse.counts().values()) == len(x)


def test_a_common_shift_of_all_logits_is_neither(resnet, batch):
    """Adding the same bias to every class changes no centred logit: no suppression, no promotion."""
    x, y = batch
    shifted = al.models.mask_units(resnet, "fc", [])
    with torch.no_grad():
        shifted.fc.bias += 5.0
    z0, a0 = P.channel_means(resnet, x)
    z1, a1 = P.channel_means(shifted, x)
    assert torch.allclose(P.centered(z0), P.centered(z1), atol=1e-4) and torch.equal(a0, a1)


def test_promotion_suppression_checks_its_inputs(resnet, batch):
    x, y = batch
    with pytest.raises(ValueError, match="x_adv"):
        al.interpret.promotion_suppression(resnet, x, x[:3], y, y)
    with pytest.raises(ValueError, match="target"):
        al.interpret.promotion_suppression(resnet, x, x, y, torch.full_like(y, 12))
    with pytest.raises(ValueError, match="CAM-ready"):
        xm = al.data.subset("mnist", 2).x
        al.interpret.promotion_suppression(al.zoo.load("mnist_cnn"), xm, xm, [0, 1], [1, 2])


def test_region_pgd_only_touches_its_region(resnet, batch):
    x, y = batch
    t = (y + 1) % 10
    for region in ("cam", "random"):
        atk = al.attacks.RegionPGD(resnet, eps=8 / 255, steps=3, targeted=True, region=region, area=0.1)
        xa = atk(x, t)
        m = atk.last_mask
        assert m.shape == (len(x), 1, 32, 32)
        assert torch.equal((xa - x) * (1 - m), torch.zeros_like(x))     # nothing outside the region
        assert ((xa - x).abs() <= 8 / 255 + 1e-6).all()
        assert 0.1 <= float(m.mean()) <= 0.2 + 1e-6                      # union of two top-10 % masks
    cam = al.attacks.RegionPGD(resnet, region="cam", area=0.1, targeted=True)
    rnd = al.attacks.RegionPGD(resnet, region="random", area=0.1, targeted=True)
    mc, mr = cam.masks(x, t), rnd.masks(x, t)
    assert torch.equal(mc.flatten(1).sum(1), mr.flatten(1).sum(1)) and not torch.equal(mc, mr)
    # region="full" is PGD, and chunking does not change the result
    full = al.attacks.RegionPGD(resnet, eps=4 / 255, steps=2, region="full", seed=3, batch_size=5)(x, y)
    assert torch.equal(full, al.attacks.PGD(resnet, eps=4 / 255, steps=2, seed=3, batch_size=None)(x, y))


def test_region_is_where_the_class_maps_are_largest(resnet, batch):
    x, y = batch
    atk = al.attacks.RegionPGD(resnet, region="cam", area=0.05, targeted=True)
    t = (y + 1) % 10
    m = atk.masks(x, t)[:, 0].bool()
    logits, maps = al.core.discrepancy.class_maps(resnet, x)
    up = al.core.upsample(maps[torch.arange(len(x)), logits.argmax(1)].detach(), (32, 32))
    # the predicted class's top-5 % pixels are inside the region
    k = round(0.05 * 1024)
    assert (al.core.topk_mask(up, k) <= m).all()


def test_region_pgd_rejects_bad_arguments(resnet):
    with pytest.raises(ValueError, match="region"):
        al.attacks.RegionPGD(resnet, region="everywhere")
    with pytest.raises(ValueError, match="area"):
        al.attacks.RegionPGD(resnet, area=0)


def test_mask_units_zeroes_channels_of_a_copy(resnet, batch):
    x, _ = batch
    masked = al.models.mask_units(resnet, "features", [1, 5])
    a = al.core.activations(masked, x, ["features"])["features"]
    assert (a[:, [1, 5]] == 0).all() and (a[:, 0] != 0).any()
    assert (al.core.activations(resnet, x, ["features"])["features"][:, [1, 5]] != 0).any()  # original untouched
    with torch.no_grad():
        assert torch.equal(al.models.mask_units(resnet, "features", [])(x), resnet(x))
    with pytest.raises(ValueError, match="channels"):
        al.models.mask_units(resnet, "features", [1.5])
    with pytest.raises(ValueError, match="channels"):
        al.models.mask_units(resnet, "features", [70])(x)
    with pytest.raises(ValueError, match="layer"):
        al.models.mask_units(resnet, "nope", [1])


def test_correlation_matches_scipy_and_covers_the_truth():
    rng = np.random.default_rng(1)
    a = rng.normal(size=80)
    b = a + rng.normal(size=80)
    r = al.report.correlation(a, b, seed=0)
    assert r.value == pytest.approx(stats.spearmanr(a, b).statistic, abs=1e-12)
    assert r.low < r.value < r.high and r.n == 80
    # the population ρ of this model is about 0.69: over repeated draws the interval covers it
    covered = 0
    for s in range(40):
        g = np.random.default_rng(100 + s)
        u = g.normal(size=80)
        c = al.report.correlation(u, u + g.normal(size=80), seed=s)
        covered += c.low < 0.69 < c.high
    assert covered >= 30
    d = al.report.correlation_difference(a, b, rng.normal(size=80), seed=0)
    assert d.low > 0
    with pytest.raises(ValueError, match="equal length"):
        al.report.correlation([1, 2, 3], [1, 2])
