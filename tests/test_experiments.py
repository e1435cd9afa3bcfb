import pytest
import torch
import torch.nn.functional as F

import advlab as al


def test_check_fgsm_accepts_right_and_rejects_wrong(tiny_gap, tiny_batch, capsys):
    x, y = tiny_batch

    def right(model, x, y, eps):
        x = x.clone().requires_grad_(True)
        F.cross_entropy(model(x), y).backward()
        return (x + eps * x.grad.sign()).clamp(0, 1).detach()

    def no_sign(model, x, y, eps):
        x = x.clone().requires_grad_(True)
        F.cross_entropy(model(x), y).backward()
        return (x + eps * x.grad / x.grad.abs().max()).clamp(0, 1).detach()

    assert al.exercises.check_fgsm(right, tiny_gap, x, y, 0.05)
    assert not al.exercises.check_fgsm(no_sign, tiny_gap, x, y, 0.05)
    assert not al.exercises.check_fgsm(lambda *a: None, tiny_gap, x, y, 0.05)
    assert not al.exercises.check_fgsm(lambda m, x, y, e: x + 2, tiny_gap, x, y, 0.05)
    out = capsys.readouterr().out
    assert "✓" in out and "sign" in out and "Not implemented" in out and "clamp" in out


def test_attack_table_and_curve(tiny_gap, tiny_batch):
    x, y = tiny_batch
    rows = al.experiments.attack_table(tiny_gap, [("clean", 0, 0), ("fgsm", 8, 1), ("pgd", 8, 5)], x, y)
    assert [r["attack"] for r in rows] == ["clean", "fgsm", "pgd"]
    assert rows[0]["accuracy"] == al.metrics.accuracy(tiny_gap, x, y)
    curve = al.experiments.accuracy_vs_eps(tiny_gap, "pgd", [0.0, 0.1], x, y, steps=3)
    assert curve[0] == rows[0]["accuracy"] and curve[1] <= curve[0]


def test_markdown_table():
    assert al.experiments.markdown_table(["a", "b"], [[1, 2]]) == "| a | b |\n|---|---|\n| 1 | 2 |"
    with pytest.raises(ValueError, match="row"):
        al.experiments.markdown_table(["a"], [[1, 2]])


def test_loss_surface_along_gradient_sign_rises(tiny_gap, tiny_batch):
    x, y = tiny_batch
    d1 = al.landscape.gradient_sign(tiny_gap, x, y)
    d2 = al.landscape.random_sign(x, seed=0)
    grid, losses = al.landscape.loss_surface(tiny_gap, x, y, d1, d2, radius=0.05, n=5)
    assert losses.shape == (5, 5, 4) and grid[2] == 0
    centre = F.cross_entropy(tiny_gap(x), y, reduction="none").detach()
    assert torch.allclose(losses[2, 2], centre, atol=1e-5)
    assert (losses[4, 2] > centre).all()  # one step along the gradient sign raises every loss
    with pytest.raises(ValueError, match="radius"):
        al.landscape.loss_surface(tiny_gap, x, y, d1, d2, radius=-1)
