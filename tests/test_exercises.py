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


def test_check_channel_means_accepts_right_and_rejects_wrong(tiny_gap, tiny_batch, capsys):
    x, _ = tiny_batch
    layer = al.interpret.pathway_layers(tiny_gap)[-1]

    def right(model, layer, x):
        return al.core.probe.activations(model, x, [layer])[layer].mean(dim=(0, 2, 3))

    def summed(model, layer, x):
        return al.core.probe.activations(model, x, [layer])[layer].sum(dim=(2, 3)).mean(0)

    def per_image(model, layer, x):
        return al.core.probe.activations(model, x, [layer])[layer].mean(dim=(2, 3))

    assert al.exercises.check_channel_means(right, tiny_gap, layer, x)
    assert not al.exercises.check_channel_means(summed, tiny_gap, layer, x)
    assert not al.exercises.check_channel_means(per_image, tiny_gap, layer, x)
    assert not al.exercises.check_channel_means(lambda *a: None, tiny_gap, layer, x)
    out = capsys.readouterr().out
    assert "✓" in out and "not the sum" in out and "images too" in out and "Not implemented" in out
    assert al.exercises.ch08.check_channel_means is al.exercises.check_channel_means


def test_check_closer_layer_accepts_right_and_rejects_wrong(tiny_gap, tiny_batch, capsys):
    import torch
    x, _ = tiny_batch
    g = torch.Generator().manual_seed(2)
    pw = al.interpret.pathways(tiny_gap, x[:2], x[2:], (x[:2] + 0.3 * torch.rand(2, 3, 16, 16, generator=g)).clamp(0, 1),
                               connections=0)
    a = pw.activation
    # make the answer known: the adversarial profile equals the target's from the second layer on
    for k in pw.layers[1:]:
        a["adversarial"][k] = a["target"][k].clone()
    a["adversarial"][pw.layers[0]] = a["benign"][pw.layers[0]].clone()
    assert al.exercises.ch08.closer_layer(pw) == pw.layers[1]

    def right(pw):
        cos = torch.nn.functional.cosine_similarity
        act = pw.activation
        for k in pw.layers:
            if cos(act["adversarial"][k], act["target"][k], dim=0) > cos(act["adversarial"][k], act["benign"][k], dim=0):
                return k
        return None

    assert al.exercises.check_closer_layer(right, pw)
    assert not al.exercises.check_closer_layer(lambda pw: pw.layers[-1], pw) or len(pw.layers) == 2
    assert not al.exercises.check_closer_layer(lambda pw: pw.layers[0], pw)
    assert not al.exercises.check_closer_layer(lambda pw: "nonsense", pw)
    assert not al.exercises.check_closer_layer(lambda pw: ..., pw)
    out = capsys.readouterr().out
    assert "✓" in out and "Not implemented" in out and "not a layer" in out and "cos(adversarial, target)" in out
