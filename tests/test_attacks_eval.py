"""Evaluation sanity checks on the zoo (Carlini et al. 2019, "On Evaluating Adversarial Robustness")."""
import pytest
import torch

import advlab as al

pytestmark = pytest.mark.slow
N = 200


def _acc(model, atk, x, y):
    return al.metrics.robust_accuracy(model, atk, x, y)


@pytest.fixture(scope="module")
def mnist():
    s = al.data.subset("mnist", N)
    return s.x, s.y


@pytest.fixture(scope="module")
def cifar():
    s = al.data.subset("cifar10", N)
    return s.x, s.y


def test_pgd_is_stronger_than_fgsm(mnist_at_model, mnist):
    x, y = mnist
    fgsm = _acc(mnist_at_model, al.attacks.FGSM(mnist_at_model, eps=0.3), x, y)
    pgd = _acc(mnist_at_model, al.attacks.PGD(mnist_at_model, eps=0.3, steps=20, alpha=0.02), x, y)
    assert pgd <= fgsm


@pytest.mark.parametrize("which", ["mnist_cnn", "mnist_cnn_at"])
def test_accuracy_non_increasing_in_eps(which, mnist):
    model = al.zoo.load(which)
    x, y = mnist
    accs = [_acc(model, al.attacks.PGD(model, eps=e, steps=10), x, y) for e in (0.0, 0.1, 0.2, 0.3, 0.4)]
    assert all(a >= b for a, b in zip(accs, accs[1:])), accs


def test_undefended_accuracy_goes_to_zero(mnist_model, cifar_model, mnist, cifar):
    assert _acc(mnist_model, al.attacks.PGD(mnist_model, eps=0.4, steps=20), *mnist) <= 0.02
    assert _acc(cifar_model, al.attacks.PGD(cifar_model, eps=16 / 255, steps=10), *cifar) <= 0.02


def test_more_steps_and_restarts_never_help_the_model(mnist_at_model, mnist):
    x, y = mnist
    a5 = _acc(mnist_at_model, al.attacks.PGD(mnist_at_model, eps=0.3, steps=5, alpha=0.075), x, y)
    a40 = _acc(mnist_at_model, al.attacks.PGD(mnist_at_model, eps=0.3, steps=40, alpha=0.01), x, y)
    r3 = _acc(mnist_at_model, al.attacks.PGD(mnist_at_model, eps=0.3, steps=40, alpha=0.01, restarts=3), x, y)
    assert a40 <= a5 and r3 <= a40


def test_adversarial_training_helps(mnist_model, mnist_at_model, mnist):
    x, y = mnist
    std = _acc(mnist_model, al.attacks.PGD(mnist_model, eps=0.3, steps=20, alpha=0.02), x, y)
    at = _acc(mnist_at_model, al.attacks.PGD(mnist_at_model, eps=0.3, steps=20, alpha=0.02), x, y)
    assert at > std + 0.5


@pytest.mark.parametrize("which,eps,steps,alpha", [
    ("mnist_cnn_at", 0.3, 40, 0.01), ("cifar_gap_cnn", 2 / 255, 10, 0.5 / 255)])
def test_agrees_with_torchattacks(which, eps, steps, alpha):
    torchattacks = pytest.importorskip("torchattacks")
    model = al.zoo.load(which)
    s = al.data.subset(model.dataset)  # all 1,000: one point is 10 images
    ours = _acc(model, al.attacks.PGD(model, eps=eps, steps=steps, alpha=alpha), s.x, s.y)
    torch.manual_seed(0)
    ref_atk = torchattacks.PGD(model, eps=eps, alpha=alpha, steps=steps, random_start=True)
    ref = (al.metrics.predict(model, ref_atk(s.x, s.y)) == s.y).float().mean().item()
    assert abs(ours - ref) <= 0.01, (ours, ref)
