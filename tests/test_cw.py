"""Carlini & Wagner's L2 attack (chapter 6): agreement with torchattacks, the search over c,
targets, what comes back, argument errors, determinism."""
import pytest
import torch
from conftest import hook_count

import advlab as al
from advlab.attacks import CW


@pytest.fixture
def batch16(tiny_gap):
    """16 random images labelled with the untrained model's predictions: all start correct."""
    x = torch.rand(16, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        return x, tiny_gap(x).argmax(1)


def _l2(x_adv, x):
    return (x_adv - x).flatten(1).norm(dim=1)


def _fooled(model, x_adv, y, targeted=False):
    with torch.no_grad():
        pred = model(x_adv).argmax(1)
    return pred == y if targeted else pred != y


def test_agrees_with_torchattacks(mnist_model):
    # torchattacks' CW has no search over c: compare one run at the same constant
    torchattacks = pytest.importorskip("torchattacks")
    s = al.data.subset("mnist", 64)
    kw = dict(c=10.0, kappa=0.0, steps=100, lr=0.01)
    ours = CW(mnist_model, binary_steps=1, **kw)(s.x, s.y)
    ref = torchattacks.CW(mnist_model, **kw)(s.x, s.y)
    ok_ours, ok_ref = _fooled(mnist_model, ours, s.y), _fooled(mnist_model, ref, s.y)
    assert ok_ours.sum() >= 8 and ok_ref.sum() >= 8   # enough successes for a median
    assert abs(int(ok_ours.sum()) - int(ok_ref.sum())) <= 2, (ok_ours.sum(), ok_ref.sum())
    med_ours, med_ref = _l2(ours, s.x)[ok_ours].median(), _l2(ref, s.x)[ok_ref].median()
    assert abs(med_ours - med_ref) <= 0.1 * med_ref, (med_ours, med_ref)


def test_binary_search_finds_smaller_norms_than_one_large_constant(tiny_gap, batch16):
    x, y = batch16
    single = CW(tiny_gap, c=100.0, steps=30, binary_steps=1, lr=0.05)(x, y)
    search = CW(tiny_gap, c=100.0, steps=30, binary_steps=6, lr=0.05)(x, y)
    ok_single, ok_search = _fooled(tiny_gap, single, y), _fooled(tiny_gap, search, y)
    assert ok_single.all() and ok_search.all()
    l2_single, l2_search = _l2(single, x), _l2(search, x)
    # the search's first run is the single run and the smallest success is kept: never worse
    assert (l2_search <= l2_single + 1e-6).all()
    # and smaller constants shrink most of them (by ~5 % here: 30 steps leave little room to pull back)
    assert (l2_search < l2_single - 1e-3).float().mean() >= 0.75, (l2_search, l2_single)
    assert l2_search.median() < l2_single.median()


def test_failed_runs_raise_c_until_success(tiny_gap, batch16):
    x, y = batch16
    low = CW(tiny_gap, c=1e-2, steps=30, binary_steps=1, lr=0.05)(x, y)
    grown = CW(tiny_gap, c=1e-2, steps=30, binary_steps=6, lr=0.05)(x, y)   # up to c = 1000
    assert _fooled(tiny_gap, low, y).sum() == 0 and _fooled(tiny_gap, grown, y).all()


def test_targeted_reaches_the_target(tiny_gap, batch16):
    x, y = batch16
    target = (y + 1) % 5
    atk = CW(tiny_gap, c=10.0, steps=50, binary_steps=3, lr=0.05, targeted=True)
    assert atk.loss == "targeted_margin"
    x_adv = atk(x, target)
    assert _fooled(tiny_gap, x_adv, target, targeted=True).all()


@pytest.mark.parametrize("c,kappa", [(30.0, 0.0), (60.0, 0.05)])   # about half the images succeed
def test_what_comes_back(c, kappa, tiny_gap, batch16):
    x, y = batch16
    model = tiny_gap.train()
    flags = [p.requires_grad for p in model.parameters()]
    x_adv = CW(model, c=c, kappa=kappa, steps=30, binary_steps=1, lr=0.05)(x, y)
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    assert x_adv.shape == x.shape and x_adv.dtype == x.dtype and not x_adv.requires_grad
    assert model.training and [p.requires_grad for p in model.parameters()] == flags
    assert all(p.grad is None for p in model.parameters()) and hook_count(model) == 0
    moved = (x_adv != x).flatten(1).any(1)
    assert moved.any() and not moved.all()   # some images succeed, some fail
    with torch.no_grad():
        z = model.eval()(x_adv)
    margin = al.attacks.objectives.margin(lambda _: z, x_adv, x, y)
    assert (z[moved].argmax(1) != y[moved]).all()     # every returned success is misclassified...
    assert (margin[moved] >= kappa).all()             # ...by at least κ
    assert torch.equal(x_adv[~moved], x[~moved])      # a failure returns x itself


def test_deterministic_and_chunk_free(tiny_gap, batch16):
    x, y = batch16
    kw = dict(c=1.0, steps=15, binary_steps=2, lr=0.05)
    a = CW(tiny_gap, batch_size=None, **kw)(x, y)
    assert torch.equal(CW(tiny_gap, batch_size=None, **kw)(x, y), a)
    assert torch.equal(CW(tiny_gap, batch_size=None, seed=7, **kw)(x, y), a)   # no randomness
    assert torch.allclose(CW(tiny_gap, batch_size=5, **kw)(x, y), a, atol=1e-6)


def test_registries_and_make(tiny_gap, tiny_batch):
    assert al.attacks.MINIMUM_NORM == {"cw": CW}
    assert "cw" not in al.attacks.REGISTRY   # no ε-ball: not for the ε panels and contracts
    atk = al.attacks.make("cw", tiny_gap, steps=3, binary_steps=1)
    assert isinstance(atk, CW) and isinstance(atk, al.attacks.Attack)
    assert "binary_steps=1" in repr(atk)
    with pytest.raises(ValueError, match="cw.*pgd|pgd.*cw"):
        al.attacks.make("deepfool", tiny_gap)
    with pytest.raises(ValueError, match="attack"):
        al.attacks.steps_for("cw", 3)   # steps_for serves the ε-ball attacks' shared steps setting
    with torch.no_grad():   # works inside a caller's no_grad
        atk(*tiny_batch)


@pytest.mark.parametrize("kwargs,word", [
    ({"c": 0}, "c"), ({"c": -1.0}, "c"), ({"c": float("nan")}, "c"), ({"c": "1"}, "c"),
    ({"kappa": -0.1}, "kappa"), ({"kappa": None}, "kappa"),
    ({"steps": 0}, "steps"), ({"steps": 2.5}, "steps"),
    ({"binary_steps": 0}, "binary_steps"), ({"binary_steps": True}, "binary_steps"),
    ({"lr": 0}, "lr"), ({"lr": -0.01}, "lr"),
    ({"targeted": "yes"}, "targeted"), ({"batch_size": 0}, "batch_size"), ({"seed": -1}, "seed"),
])
def test_bad_arguments(kwargs, word, tiny_gap):
    with pytest.raises(ValueError, match=word):
        CW(tiny_gap, **kwargs)


def test_bad_inputs(tiny_gap, tiny_batch):
    x, y = tiny_batch
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        CW(tiny_gap, steps=1)(x * 2, y)
    with pytest.raises(ValueError, match="class index"):
        CW(tiny_gap, steps=1)(x, torch.tensor([0, 1, 2, 9]))
    with pytest.raises(ValueError, match="model"):
        CW("mnist_cnn")
