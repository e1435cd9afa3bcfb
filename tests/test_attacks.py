"""Contract tests over every attack in the registry, under both threat models."""
import itertools

import pytest
import torch
from conftest import hook_count

import advlab as al

CASES = list(itertools.product(sorted(al.attacks.REGISTRY), ["linf", "l2"], [False, True]))


def _make(name, model, norm, targeted, **kw):
    eps = 8 / 255 if norm == "linf" else 0.5
    steps = al.attacks.steps_for(name, kw.pop("steps", 5))
    return al.attacks.make(name, model, eps=eps, norm=norm, targeted=targeted, **steps, **kw), eps


@pytest.mark.parametrize("name,norm,targeted", CASES)
def test_contract(name, norm, targeted, tiny_gap, tiny_batch):
    x, y = tiny_batch
    model = tiny_gap.train()  # the attack must restore the caller's mode
    model.features[0].requires_grad_(True)
    flags = [p.requires_grad for p in model.parameters()]
    atk, eps = _make(name, model, norm, targeted, restarts=2)
    x_adv = atk(x, y)
    delta = (x_adv - x).flatten(1)
    norms = delta.abs().amax(1) if norm == "linf" else delta.norm(dim=1)
    assert (norms <= eps + 1e-6).all()
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    assert x_adv.shape == x.shape and x_adv.dtype == x.dtype and x_adv.device == x.device
    assert not x_adv.requires_grad
    assert model.training and all(m.training for m in model.modules())
    assert [p.requires_grad for p in model.parameters()] == flags
    assert all(p.grad is None for p in model.parameters())
    assert hook_count(model) == 0
    assert norms.max() > 0  # it moved
    # same seed => same result; the generator is per call, so a second call repeats
    assert torch.equal(atk(x, y), x_adv)


@pytest.mark.parametrize("name", sorted(al.attacks.REGISTRY))
def test_attack_increases_loss(name, tiny_gap, tiny_batch):
    x, y = tiny_batch
    loss = torch.nn.functional.cross_entropy
    x_adv = al.attacks.make(name, tiny_gap, eps=0.1, **al.attacks.steps_for(name, 5))(x, y)
    with torch.no_grad():
        assert loss(tiny_gap(x_adv), y) > loss(tiny_gap(x), y)


def test_targeted_moves_toward_target(tiny_gap, tiny_batch):
    x, _ = tiny_batch
    target = torch.tensor([4, 4, 4, 4])
    with torch.no_grad():
        before = tiny_gap(x).log_softmax(1)[:, 4]
    x_adv = al.attacks.PGD(tiny_gap, eps=0.2, steps=10, targeted=True)(x, target)
    with torch.no_grad():
        after = tiny_gap(x_adv).log_softmax(1)[:, 4]
    assert (after > before).all()


def test_fgsm_is_one_signed_gradient_step(tiny_gap, tiny_batch):
    x, y = tiny_batch
    xr = x.clone().requires_grad_(True)
    torch.nn.functional.cross_entropy(tiny_gap(xr), y, reduction="sum").backward()
    expected = (x + 0.03 * xr.grad.sign()).clamp(0, 1)
    assert torch.allclose(al.attacks.FGSM(tiny_gap, eps=0.03)(x, y), expected)


def test_different_seeds_differ(tiny_gap, tiny_batch):
    x, y = tiny_batch
    a = al.attacks.PGD(tiny_gap, eps=0.1, steps=1, seed=0)(x, y)
    b = al.attacks.PGD(tiny_gap, eps=0.1, steps=1, seed=1)(x, y)
    assert not torch.equal(a, b)


def test_mim_momentum_changes_path(tiny_gap, tiny_batch):
    x, y = tiny_batch
    mim = al.attacks.MIM(tiny_gap, eps=0.1, steps=5)(x, y)
    bim = al.attacks.BIM(tiny_gap, eps=0.1, steps=5, alpha=0.02)(x, y)
    assert not torch.equal(mim, bim)


@pytest.mark.parametrize("name,norm", list(itertools.product(sorted(al.attacks.REGISTRY), ["linf", "l2"])))
def test_chunking_does_not_change_the_result(name, norm, tiny_gap, tiny_batch):
    # chunks are attacked one after another; starts, restarts and results must not depend on it
    x, y = tiny_batch
    whole, _ = _make(name, tiny_gap, norm, False, restarts=2, random_start=True, batch_size=None)
    expected = whole(x, y)
    for size in (1, 3):
        chunked, _ = _make(name, tiny_gap, norm, False, restarts=2, random_start=True, batch_size=size)
        assert torch.allclose(chunked(x, y), expected, atol=1e-6)


def test_eps_parsing_and_zero(tiny_gap, tiny_batch):
    x, y = tiny_batch
    assert al.attacks.PGD(tiny_gap, eps="8/255").eps == pytest.approx(8 / 255)
    assert torch.equal(al.attacks.PGD(tiny_gap, eps=0)(x, y), x)


@pytest.mark.parametrize("kwargs,word", [
    ({"eps": -0.1}, "eps"), ({"eps": 2.0}, "eps"), ({"eps": float("nan")}, "eps"),
    ({"eps": "eight"}, "eps"), ({"steps": 0}, "steps"), ({"steps": 2.5}, "steps"),
    ({"alpha": -1}, "alpha"), ({"norm": "l3"}, "norm"), ({"restarts": 0}, "restarts"),
    ({"batch_size": 0}, "batch_size"), ({"batch_size": 1.5}, "batch_size"),
])
def test_bad_arguments(kwargs, word, tiny_gap):
    with pytest.raises(ValueError, match=word):
        al.attacks.PGD(tiny_gap, **kwargs)


def test_l2_eps_larger_than_the_cube_is_rejected(tiny_gap, tiny_batch):
    x, y = tiny_batch
    with pytest.raises(ValueError, match="eps"):
        al.attacks.PGD(tiny_gap, eps=100.0, norm="l2")(x, y)


@pytest.mark.parametrize("x,word", [
    (torch.rand(3, 16, 16), "N×C×H×W"),
    (torch.randint(0, 255, (2, 3, 16, 16)), "floating"),
    (torch.rand(2, 3, 16, 16) * 255, r"\[0, 1\]"),
    (torch.full((2, 3, 16, 16), float("nan")), "NaN"),
    ([[0.0]], "torch.Tensor"),
])
def test_bad_images(x, word, tiny_gap):
    with pytest.raises(ValueError, match=word):
        al.attacks.FGSM(tiny_gap)(x, torch.zeros(len(x), dtype=torch.long) if hasattr(x, "__len__") else 0)


@pytest.mark.parametrize("y,word", [
    (torch.tensor([0, 1]), "shape"), (torch.tensor([0.0, 1, 2, 3]), "integer"),
    (torch.tensor([0, 1, 2, 9]), "class index"), (torch.tensor([0, -1, 2, 3]), "class index"),
])
def test_bad_labels(y, word, tiny_gap, tiny_batch):
    with pytest.raises(ValueError, match=word):
        al.attacks.FGSM(tiny_gap)(tiny_batch[0], y)


def test_class_count_is_probed_again_when_the_head_changes(tiny_gap, tiny_batch):
    x, y = tiny_batch
    y4 = torch.tensor([0, 1, 2, 4])
    al.attacks.FGSM(tiny_gap)(x, y4)  # 5 classes: label 4 is fine (and the count is remembered)
    tiny_gap.fc = torch.nn.Linear(tiny_gap.fc.in_features, 4)
    with pytest.raises(ValueError, match="class index"):
        al.attacks.FGSM(tiny_gap)(x, y4)
    with pytest.raises(ValueError, match="class index"):
        al.interpret.Saliency(tiny_gap)(x, y4)


def test_unknown_attack(tiny_gap):
    with pytest.raises(ValueError, match="pgd"):
        al.attacks.make("deepfool", tiny_gap)


def test_not_a_model():
    with pytest.raises(ValueError, match="model"):
        al.attacks.PGD("mnist_cnn")


# -- the iterative base, FGSM's single step, the default step size ---------------------------------

@pytest.mark.parametrize("steps", [1, 10])
def test_fgsm_refuses_steps(steps, tiny_gap):
    for build in (lambda: al.attacks.FGSM(tiny_gap, steps=steps), lambda: al.attacks.make("fgsm", tiny_gap, steps=steps)):
        with pytest.raises(ValueError, match="FGSM takes a single step; use BIM or PGD for several.*steps"):
            build()


def test_steps_for_passes_steps_only_to_iterative_attacks(tiny_gap):
    assert al.attacks.steps_for("fgsm", 10) == {}
    assert all(al.attacks.steps_for(n, 7) == {"steps": 7} for n in ("bim", "mim", "pgd", "group_pgd"))
    assert [n for n, cls in al.attacks.REGISTRY.items() if cls.iterative] == ["bim", "mim", "pgd", "group_pgd"]
    assert all(issubclass(al.attacks.REGISTRY[n], al.attacks.IterativeAttack) for n in ("bim", "mim", "pgd", "group_pgd"))
    with pytest.raises(ValueError, match="attack"):
        al.attacks.steps_for("deepfool", 3)


def test_fgsm_rs_is_one_step_of_alpha_from_a_random_start(tiny_gap, tiny_batch):
    x, y = tiny_batch
    eps, alpha = 8 / 255, 10 / 255
    start = (x + (2 * torch.rand(x.shape, generator=torch.Generator().manual_seed(5)) - 1) * eps).clamp(0, 1)
    xr = start.clone().requires_grad_(True)
    torch.nn.functional.cross_entropy(tiny_gap(xr), y, reduction="sum").backward()
    expected = torch.max(torch.min(start + alpha * xr.grad.sign(), x + eps), x - eps).clamp(0, 1)
    got = al.attacks.FGSM(tiny_gap, eps=eps, alpha=alpha, random_start=True, seed=5)(x, y)
    assert torch.equal(got, expected)


def _old_mim(model, x, y, eps, steps, mu, norm, targeted):
    """MIM before the refactor (advlab 07743c7, Attack.perturb with momentum), frozen here."""
    th = al.attacks.THREATS[norm](eps)
    alpha, x_adv, velocity = eps / steps, x.clone(), torch.zeros_like(x)
    for _ in range(steps):
        x_adv.requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(model(x_adv), y, reduction="sum")
        (grad,) = torch.autograd.grad(-loss if targeted else loss, x_adv)
        velocity = mu * velocity + grad / grad.abs().flatten(1).mean(1).clamp_min(1e-12).view(-1, 1, 1, 1)
        x_adv = th.project(th.step(x_adv.detach(), velocity, alpha), x)
    return x_adv.detach()


@pytest.mark.parametrize("norm,targeted,mu", [("linf", False, 1.0), ("l2", False, 0.5), ("linf", True, 1.0)])
def test_mim_matches_the_formula_before_the_refactor(norm, targeted, mu, tiny_gap, tiny_batch):
    x, y = tiny_batch
    eps = 0.1 if norm == "linf" else 1.0
    with al.core.frozen_eval(tiny_gap):
        expected = _old_mim(tiny_gap, x, y, eps, 6, mu, norm, targeted)
    got = al.attacks.MIM(tiny_gap, eps=eps, steps=6, momentum=mu, norm=norm, targeted=targeted)(x, y)
    assert torch.equal(got, expected)
    assert not torch.equal(got, al.attacks.BIM(tiny_gap, eps=eps, steps=6, norm=norm, targeted=targeted)(x, y))


def test_direction_hook_changes_only_the_direction(tiny_gap, tiny_batch):
    class Descend(al.attacks.BIM):
        def direction(self, grad, state):
            return -grad, state
    x, y = tiny_batch
    down = Descend(tiny_gap, eps=0.1, steps=5)(x, y)
    up = al.attacks.BIM(tiny_gap, eps=0.1, steps=5)(x, y)
    ce = torch.nn.functional.cross_entropy
    with torch.no_grad():
        assert ce(tiny_gap(down), y) < ce(tiny_gap(x), y) < ce(tiny_gap(up), y)


GRID_EPS = {"linf": [0.0, 1e-3, 8 / 255, 0.3, 0.4, 0.41, 0.5, 0.8, 1.0], "l2": [0.0, 0.5, 3.0, 40.0, 4000.0, 1e4]}
GRID_STEPS = [1, 2, 3, 5, 10, 40, 200]


@pytest.mark.parametrize("name,norm", list(itertools.product(sorted(al.attacks.REGISTRY), ["linf", "l2"])))
def test_default_step_never_refuses_a_valid_eps_and_steps(name, norm, tiny_gap):
    cls, cap = al.attacks.REGISTRY[name], al.attacks.THREATS[norm].max_step
    for eps, steps in itertools.product(GRID_EPS[norm], GRID_STEPS if cls.iterative else [None]):
        atk = al.attacks.make(name, tiny_gap, eps=eps, norm=norm, **({} if steps is None else {"steps": steps}))
        rule = {"fgsm": eps, "bim": eps / (steps or 1), "mim": eps / (steps or 1), "pgd": 2.5 * eps / (steps or 1),
                "group_pgd": 2.5 * eps / (steps or 1)}[name]
        assert atk.alpha == min(rule, cap), (eps, steps)   # the rule itself wherever it was valid
        assert 0 <= atk.alpha <= cap


def test_one_big_step_reaches_the_edge_of_the_ball(tiny_gap, tiny_batch):
    # the MNIST explorer's case: eps > 0.4 at one step used to raise "alpha must be in [0, 1], got 1.25"
    x, y = tiny_batch
    for eps in (0.5, 1.0):
        atk = al.attacks.PGD(tiny_gap, eps=eps, steps=1)
        assert atk.alpha == 1.0
        x_adv = atk(x, y)
        edge = ((x_adv - x).abs() >= eps - 1e-6) | (x_adv == 0) | (x_adv == 1)
        assert edge.float().mean() > 0.99
