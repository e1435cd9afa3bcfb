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
    assert al.exercises.ch01.check_fgsm is al.exercises.check_fgsm
