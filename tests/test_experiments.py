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


def test_transform_accuracy_matches_direct_evaluation(tiny_gap, tiny_batch):
    x, y = tiny_batch
    models = {"a": tiny_gap, "b": al.models.GapCNN(widths=(8, "P", 16), num_classes=5).eval()}
    fake = {0.5: torch.zeros_like(x)}
    res = al.experiments.transform_accuracy(models, x, y, {"saturate": [2, 16], "patch_shuffle": [4],
                                                           "stylize": [0.5]}, stylized=fake, seed=2)
    assert list(res) == ["saturate", "patch_shuffle", "stylize"]
    for name, m in models.items():
        assert res["saturate"][2][name] == al.metrics.accuracy(m, x, y)
        assert res["saturate"][16][name] == al.metrics.accuracy(m, al.transforms.saturate(x, 16), y)
        assert res["patch_shuffle"][4][name] == al.metrics.accuracy(
            m, al.transforms.patch_shuffle(x, 4, seed=2), y)
        assert res["stylize"][0.5][name] == al.metrics.accuracy(m, torch.zeros_like(x), y)
    with pytest.raises(ValueError, match="transform"):
        al.experiments.transform_accuracy(models, x, y, {"blur": [1]})
    with pytest.raises(ValueError, match="models"):
        al.experiments.transform_accuracy({}, x, y, {"saturate": [2]})


def test_map_shift_is_zero_for_the_same_image_and_matches_metrics(tiny_gap, tiny_batch):
    x, y = tiny_batch
    gc = al.interpret.GradCAM(tiny_gap)
    same = al.experiments.map_shift(tiny_gap, gc, x, x.clone(), k=25)
    assert torch.all(same["iou"] == 1) and torch.all(same["l1"] == 0) and torch.all(same["flipped"] == 0)
    noisy = al.experiments.random_sign_noise(x, "16/255", seed=1)
    assert (noisy - x).abs().max() <= 16 / 255 + 1e-6 and torch.equal(noisy, al.experiments.random_sign_noise(x, "16/255", seed=1))
    shift = al.experiments.map_shift(tiny_gap, gc, x, noisy, k=25)
    p, q = al.metrics.predict(tiny_gap, x), al.metrics.predict(tiny_gap, noisy)
    a, b = al.interpret.normalize(gc(x, p)), al.interpret.normalize(gc(noisy, q))
    assert torch.allclose(shift["iou"], al.metrics.topk_iou(a, b, 25))
    assert torch.allclose(shift["border_other"], al.metrics.border_mass(b, 4))
    with pytest.raises(ValueError, match="x_other"):
        al.experiments.map_shift(tiny_gap, gc, x, x[:2])


def test_prototype_changes(tiny_proto, tiny_batch):
    x, _ = tiny_batch
    same = al.experiments.prototype_changes(tiny_proto, x, x.clone(), k=4)
    assert torch.all(same["changed"] == 0) and len(same["new_of_predicted_class"]) == 0
    other = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(9))
    diff = al.experiments.prototype_changes(tiny_proto, x, other, k=4)
    for i in range(4):
        assert diff["changed"][i] == len(set(diff["top_other"][i].tolist()) - set(diff["top"][i].tolist()))
    assert set(diff["new_of_predicted_class"].tolist()) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="ProtoPNet"):
        al.experiments.prototype_changes(al.models.GapCNN(), x, x)


def test_shift_summary_averages_map_shift(tiny_gap, tiny_batch):
    x, y = tiny_batch
    s = al.experiments.shift_summary(tiny_gap, "gradcam", x, y, eps="8/255", steps=3, k=25, seed=4)
    adv = al.attacks.PGD(tiny_gap, eps="8/255", steps=3, seed=4)(x, y)
    ref = al.experiments.map_shift(tiny_gap, al.interpret.GradCAM(tiny_gap), x, adv, k=25)
    assert s["pgd"]["iou"] == pytest.approx(float(ref["iou"].mean()))
    assert s["pgd"]["flipped"] == pytest.approx(float(ref["flipped"].mean()))
    noise = al.experiments.map_shift(tiny_gap, al.interpret.GradCAM(tiny_gap), x,
                                     al.experiments.random_sign_noise(x, "8/255", seed=4), k=25)
    assert s["noise"]["l1"] == pytest.approx(float(noise["l1"].mean()))
