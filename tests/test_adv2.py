"""ADV² (chapter 5): the joint objective on the model and its interpreter."""
import pytest
import torch

import advlab as al
from advlab.attacks.objectives import ADV2
from advlab.core.maps import normalize


@pytest.fixture(scope="module")
def setup():
    model = al.zoo.load("cifar_resnet8")
    x, y = al.studies.common.stratified_sample("cifar10", 2, 0)
    keep = al.metrics.predict(model, x) == y
    x, y = x[keep][:12], y[keep][:12]
    return model, x, y, (y + 1 + torch.arange(len(y)) % 9) % 10


def test_lam_zero_is_targeted_pgd(setup):
    model, x, y, t = setup
    cam = al.interpret.CAM(model)
    a = al.attacks.PGD(model, eps=4 / 255, steps=3, targeted=True, loss=ADV2(cam, lam=0.0))(x, t)
    b = al.attacks.PGD(model, eps=4 / 255, steps=3, targeted=True)(x, t)
    assert torch.equal(a, b)


def test_adv2_keeps_the_map_closer_than_pgd_and_still_wins(setup):
    model, x, y, t = setup
    cam = al.interpret.CAM(model)
    benign = normalize(cam(x, y))
    out = {}
    for name, loss in (("pgd", None), ("adv2", ADV2(cam, lam=50.0))):
        xa = al.attacks.PGD(model, eps=8 / 255, steps=20, alpha=1 / 255, targeted=True, loss=loss)(x, t)
        out[name] = ((al.metrics.predict(model, xa) == t).float().mean().item(),
                     (normalize(cam(xa, t)) - benign).abs().flatten(1).mean(1))
    assert out["adv2"][0] >= 0.8                                 # it still reaches the targets
    assert (out["adv2"][1] < out["pgd"][1]).float().mean() >= 0.9   # and its maps stay nearer, image by image
    assert out["adv2"][1].mean() < 0.6 * out["pgd"][1].mean()


def test_target_maps(setup):
    model, x, y, t = setup
    cam = al.interpret.CAM(model)
    benign = ADV2(cam).target_maps(model, x)
    assert torch.allclose(benign, normalize(cam(x, y)))            # correctly classified: pred = y
    patch = ADV2(cam, target_map="random", patch=0.25, seed=3).target_maps(model, x)
    assert torch.equal(patch.flatten(1).sum(1), torch.full((len(x),), 16.0 * 16.0))   # a 16×16 square of 32×32
    assert torch.equal(patch, ADV2(cam, target_map="random", patch=0.25, seed=3).target_maps(model, x))
    given = torch.rand(len(x), 32, 32, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(ADV2(cam, target_map=given).target_maps(model, x), normalize(given))
    with pytest.raises(ValueError, match="target_map"):
        ADV2(cam, target_map=given[:2]).target_maps(model, x)


def test_adv2_rejects_bad_arguments(setup):
    model = setup[0]
    cam = al.interpret.CAM(model)
    with pytest.raises(ValueError, match="interpreter"):
        ADV2(model)
    with pytest.raises(ValueError, match="differentiable"):
        ADV2(al.interpret.IntegratedGradients(model))
    with pytest.raises(ValueError, match="lam"):
        ADV2(cam, lam=-1)
    with pytest.raises(ValueError, match="target_map"):
        ADV2(cam, target_map="elsewhere")


def test_a_list_of_interpreters_averages_their_map_terms(setup):
    model, x, y, t = setup
    cam, grad = al.interpret.CAM(model), al.interpret.GradCAM(model)
    xa = (x + 0.02 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    one = {k: ADV2(it, lam=2.0).prepare(model, x, t)(xa) for k, it in (("cam", cam), ("grad", grad))}
    ce = torch.nn.functional.cross_entropy(model(xa), t, reduction="none")
    both = ADV2([cam, grad], lam=2.0).prepare(model, x, t)(xa)
    # each single loss is −(ce + 2·term): the pair's is −(ce + 2·mean of the terms)
    terms = {k: (-v - ce) / 2.0 for k, v in one.items()}
    assert torch.allclose(both, -(ce + 2.0 * (terms["cam"] + terms["grad"]) / 2), atol=1e-5)
    with pytest.raises(ValueError, match="non-empty"):
        ADV2([])
