"""The group-sparse attack GroupPGD (chapter 6) and ``group_norms``."""
import pytest
import torch

import advlab as al
from advlab.attacks import PGD, GroupPGD, group_norms
from advlab.attacks.group import DEFAULT_LAM, group_shrink


def test_group_norms_match_a_loop_with_smaller_border_groups():
    delta = torch.randn(2, 3, 5, 7, generator=torch.Generator().manual_seed(0))
    got = group_norms(delta, 2)
    assert got.shape == (2, 3 * 4)   # ⌈5/2⌉ × ⌈7/2⌉ groups
    expected = torch.stack([torch.stack([delta[n, :, i:i + 2, j:j + 2].norm() for i in range(0, 5, 2)
                                         for j in range(0, 7, 2)]) for n in range(2)])
    assert torch.allclose(got, expected)
    assert torch.allclose(group_norms(delta, 1), delta.pow(2).sum(1).sqrt().flatten(1))
    assert torch.allclose(group_norms(delta, 100), delta.flatten(1).norm(dim=1, keepdim=True))


@pytest.mark.parametrize("k", [0, -1, 1.5, "2", True])
def test_group_norms_names_a_bad_k(k):
    with pytest.raises(ValueError, match="k"):
        group_norms(torch.zeros(1, 3, 4, 4), k)


def test_group_norms_names_a_bad_delta():
    with pytest.raises(ValueError, match="delta"):
        group_norms(torch.zeros(3, 4, 4), 2)


def test_group_shrink_is_group_soft_thresholding():
    delta = torch.randn(3, 2, 4, 6, generator=torch.Generator().manual_seed(1))
    tau = 1.0
    out = group_shrink(delta, 2, tau)
    before, after = group_norms(delta, 2), group_norms(out, 2)
    assert torch.allclose(after, (before - tau).clamp(min=0), atol=1e-6)
    assert ((after == 0) == (before <= tau)).all()   # exactly zero, not merely small
    assert torch.equal(group_shrink(delta, 2, 0.0), delta)


@pytest.mark.parametrize("norm,eps", [("linf", 8 / 255), ("l2", 0.5)])
def test_lam_zero_is_pgd(norm, eps, tiny_gap, tiny_batch):
    x, y = tiny_batch
    kw = dict(eps=eps, norm=norm, steps=5, seed=3, restarts=2)
    assert torch.equal(GroupPGD(tiny_gap, lam=0, **kw)(x, y), PGD(tiny_gap, **kw)(x, y))
    assert not torch.equal(GroupPGD(tiny_gap, lam=DEFAULT_LAM[norm], **kw)(x, y), PGD(tiny_gap, **kw)(x, y))


@pytest.fixture(scope="module")
def cifar():
    model = al.zoo.load("cifar_resnet8")
    s = al.data.subset("cifar10", 64)
    with torch.no_grad():
        keep = model(s.x).argmax(1) == s.y
    return model, s.x[keep], s.y[keep]


def test_sparsity_grows_with_lam(cifar):
    model, x, y = cifar
    x, y = x[:16], y[:16]
    zero = [(group_norms(GroupPGD(model, eps=0.5, norm="l2", steps=10, lam=lam)(x, y) - x, 2) == 0).float().mean()
            for lam in (0.0, 0.05, 0.1, 0.2)]
    assert zero[0] == 0 and all(a < b for a, b in zip(zero, zero[1:])), zero


@pytest.mark.parametrize("norm,eps", [("linf", 8 / 255), ("l2", 0.5)])
def test_default_lam_fools_most_images(norm, eps, cifar):
    # measured on 100 images (GroupPGD's docstring): 100 % under L∞, 96 % under L2
    model, x, y = cifar
    x_adv = GroupPGD(model, eps=eps, norm=norm, steps=10)(x, y)
    with torch.no_grad():
        fooled = (model(x_adv).argmax(1) != y).float().mean()
    assert fooled >= 0.85, fooled
    if norm == "l2":   # where the penalty is a proximal-gradient step, a clear share of groups stays zero
        assert (group_norms(x_adv - x, 2) == 0).float().mean() >= 0.25


@pytest.mark.parametrize("kwargs,word", [
    ({"group": 0}, "group"), ({"group": 1.5}, "group"), ({"group": "2"}, "group"), ({"group": True}, "group"),
    ({"lam": -0.1}, "lam"), ({"lam": float("nan")}, "lam"), ({"lam": "1"}, "lam"),
])
def test_bad_arguments(kwargs, word, tiny_gap):
    with pytest.raises(ValueError, match=word):
        GroupPGD(tiny_gap, **kwargs)


def test_defaults_and_repr(tiny_gap):
    atk = al.attacks.make("group_pgd", tiny_gap)
    assert (atk.group, atk.lam, atk.random_start) == (2, DEFAULT_LAM["linf"], True)
    assert al.attacks.make("group_pgd", tiny_gap, eps=0.5, norm="l2").lam == DEFAULT_LAM["l2"]
    assert "group=2" in repr(atk) and "lam=1" in repr(atk)
