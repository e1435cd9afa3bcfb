"""Objectives (``loss=``): the registry contract over every attack, TRADES' KL, custom callables,
restart selection by the objective, and the errors."""
import itertools

import pytest
import torch
import torch.nn.functional as F
from conftest import hook_count

import advlab as al
from advlab.attacks import objectives


def class0_logit(model, x_adv, x, y):
    return model(x_adv)[:, 0]


OBJ = sorted(al.attacks.OBJECTIVES) + ["callable"]


def _attack(name, model, loss, norm="linf", **kw):
    targeted = loss in objectives.TARGETED.values()
    eps = 0.1 if norm == "linf" else 1.0
    loss = class0_logit if loss == "callable" else loss
    atk = al.attacks.make(name, model, eps=eps, norm=norm, loss=loss, targeted=targeted,
                          **al.attacks.steps_for(name, 3), **kw)
    return atk, eps


@pytest.mark.parametrize("name,loss,norm", list(itertools.product(sorted(al.attacks.REGISTRY), OBJ, ["linf", "l2"])))
def test_contract(name, loss, norm, tiny_gap, tiny_batch):
    x, y = tiny_batch
    model = tiny_gap.train()
    flags = [p.requires_grad for p in model.parameters()]
    atk, eps = _attack(name, model, loss, norm, random_start=True, restarts=2)
    x_adv = atk(x, y)
    delta = (x_adv - x).flatten(1)
    norms = delta.abs().amax(1) if norm == "linf" else delta.norm(dim=1)
    assert (norms <= eps + 1e-6).all() and norms.max() > 0
    assert x_adv.min() >= 0 and x_adv.max() <= 1 and x_adv.shape == x.shape and not x_adv.requires_grad
    assert model.training and [p.requires_grad for p in model.parameters()] == flags
    assert all(p.grad is None for p in model.parameters()) and hook_count(model) == 0
    assert torch.equal(atk(x, y), x_adv)
    with al.core.frozen_eval(model):
        value = atk.objective(model, x_adv, x, y)
    assert value.shape == (len(x),)


@pytest.mark.parametrize("loss", OBJ)
def test_each_objective_is_ascended(loss, tiny_gap, tiny_batch):
    # PGD from a random start raises every objective above its value at the start, on average
    x, y = tiny_batch
    atk, _ = _attack("pgd", tiny_gap, loss)
    gen = torch.Generator().manual_seed(atk.seed)
    start = atk.threat.random_init(x, gen)
    x_adv = atk(x, y)
    with torch.no_grad():
        before, after = atk.objective(tiny_gap, start, x, y), atk.objective(tiny_gap, x_adv, x, y)
    assert after.mean() > before.mean()


def test_trades_kl_is_zero_at_x_and_positive_after_the_attack(tiny_gap, tiny_batch):
    x, y = tiny_batch
    x_adv = al.attacks.PGD(tiny_gap, eps=0.1, steps=5, loss="trades_kl")(x, y)
    with torch.no_grad():
        assert torch.equal(objectives.trades_kl(tiny_gap, x, x, y), torch.zeros(len(x)))
        kl = objectives.trades_kl(tiny_gap, x_adv, x, y)
        p, q = F.softmax(tiny_gap(x), 1), F.softmax(tiny_gap(x_adv), 1)
    assert (kl > 0).all()
    assert torch.allclose(kl, (p * (p.log() - q.log())).sum(1), atol=1e-6)  # KL(f(x) ‖ f(x_adv))
    # y is unused: any labels give the same attack
    assert torch.equal(al.attacks.PGD(tiny_gap, eps=0.1, steps=5, loss="trades_kl")(x, y.flip(0)), x_adv)


def test_attacks_work_inside_no_grad(tiny_gap, tiny_batch):
    x, y = tiny_batch
    expected = al.attacks.PGD(tiny_gap, eps=0.1, steps=3)(x, y)
    with torch.no_grad():
        assert torch.equal(al.attacks.PGD(tiny_gap, eps=0.1, steps=3)(x, y), expected)


def test_margin_values(tiny_gap, tiny_batch):
    x, y = tiny_batch
    with torch.no_grad():
        z = tiny_gap(x)
        m, t = objectives.margin(tiny_gap, x, x, y), objectives.targeted_margin(tiny_gap, x, x, y)
    for i in range(len(x)):
        other = max(z[i, j] for j in range(z.shape[1]) if j != y[i])
        assert m[i] == pytest.approx(float(other - z[i, y[i]]), abs=1e-6)
    assert torch.allclose(t, -m)


def test_custom_objective_raises_class_0(tiny_gap):
    x, y = torch.rand(16, 3, 16, 16, generator=torch.Generator().manual_seed(3)), torch.zeros(16, dtype=torch.long)
    with torch.no_grad():
        before = tiny_gap(x)
    x_adv = al.attacks.PGD(tiny_gap, eps=0.3, steps=10, loss=class0_logit)(x, y)
    x_ce = al.attacks.PGD(tiny_gap, eps=0.3, steps=10)(x, (y + 1))  # the default loss, for contrast
    with torch.no_grad():
        after, ce = tiny_gap(x_adv), tiny_gap(x_ce)
    assert (after[:, 0] > before[:, 0]).all() and (after[:, 0] > ce[:, 0]).all()
    assert (after.argmax(1) == 0).sum() > (before.argmax(1) == 0).sum()


def test_targeted_twins_and_refusals(tiny_gap):
    assert al.attacks.PGD(tiny_gap).loss == "ce"
    assert al.attacks.PGD(tiny_gap, targeted=True).loss == "targeted_ce"
    assert al.attacks.PGD(tiny_gap, targeted=True, loss="ce").loss == "targeted_ce"
    assert al.attacks.PGD(tiny_gap, targeted=True, loss="margin").loss == "targeted_margin"
    assert al.attacks.PGD(tiny_gap, loss=class0_logit).objective is class0_logit
    with pytest.raises(ValueError, match="targeted=True"):
        al.attacks.PGD(tiny_gap, loss="targeted_ce")
    with pytest.raises(ValueError, match="trades_kl.*targeted_ce"):
        al.attacks.FGSM(tiny_gap, loss="trades_kl", targeted=True)


@pytest.mark.parametrize("loss", ["xent", 3, []])
def test_unknown_objective_lists_the_accepted_names(loss, tiny_gap):
    with pytest.raises(ValueError, match="loss must be a name in ce, targeted_ce, trades_kl, margin.*got"):
        al.attacks.PGD(tiny_gap, loss=loss)


@pytest.mark.parametrize("name", sorted(al.attacks.REGISTRY))
@pytest.mark.parametrize("fn,got", [
    (lambda m, xa, x, y: m(xa), r"shape \(4, 5\)"),          # logits, not a loss per example
    (lambda m, xa, x, y: m(xa).sum(), r"shape \(\)"),        # already summed
    (lambda m, xa, x, y: m(xa)[:, 0].tolist(), "list"),
])
def test_wrong_shape_is_refused(name, fn, got, tiny_gap, tiny_batch):
    x, y = tiny_batch
    model = tiny_gap.train()
    with pytest.raises(ValueError, match=r"loss must return one value per example, a tensor of shape \(4,\); got " + got):
        al.attacks.make(name, model, loss=fn, **al.attacks.steps_for(name, 2))(x, y)
    assert model.training  # restored on the error too


def test_loss_without_gradient_is_refused(tiny_gap, tiny_batch):
    with pytest.raises(ValueError, match="differentiabl"):
        al.attacks.PGD(tiny_gap, loss=lambda m, xa, x, y: torch.zeros(len(xa)))(*tiny_batch)


def test_prepare_runs_once_per_chunk(tiny_gap, tiny_batch):
    x, y = tiny_batch
    calls = {"prepare": 0, "step": 0}

    class Counting:
        def prepare(self, model, x, y):
            calls["prepare"] += 1

            def loss(x_adv):
                calls["step"] += 1
                return F.cross_entropy(model(x_adv), y, reduction="none")
            return loss

        def __call__(self, model, x_adv, x, y):
            return self.prepare(model, x, y)(x_adv)

    x_adv = al.attacks.PGD(tiny_gap, eps=0.1, steps=5, loss=Counting(), batch_size=2)(x, y)
    assert calls == {"prepare": 2, "step": 10}
    assert torch.equal(x_adv, al.attacks.PGD(tiny_gap, eps=0.1, steps=5, batch_size=2)(x, y))


def test_restarts_keep_success_then_the_larger_objective(tiny_gap, tiny_batch):
    # the objective (class-0 logit) ranks restarts differently from cross-entropy
    x, y = tiny_batch
    runs = []

    class Recording(al.attacks.PGD):
        def perturb(self, x, y, start):
            out = super().perturb(x, y, start)
            runs.append(out)
            return out

    best = Recording(tiny_gap, eps=0.05, steps=2, loss=class0_logit, restarts=4, batch_size=None)(x, y)
    with torch.no_grad():
        success = torch.stack([tiny_gap(r).argmax(1) != y for r in runs])
        value = torch.stack([class0_logit(tiny_gap, r, x, y) for r in runs])
        ce = torch.stack([F.cross_entropy(tiny_gap(r), y, reduction="none") for r in runs])
    assert len(runs) == 4
    key = success.float() * 1e3 + value  # lexicographic here: |value| < 1e3
    pick = key.argmax(0)
    for i in range(len(x)):
        assert torch.equal(best[i], runs[int(pick[i])][i])
    by_ce = (success.float() * 1e3 + ce).argmax(0)
    assert (pick != by_ce).any()  # the test can tell the objective from cross-entropy
