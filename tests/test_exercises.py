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


def _ch04_maps(model, x):
    """Every class's signed CAM / (h·w), written as a student would: features, then fc.weight."""
    import torch
    A = al.core.probe.activations(model, x, ["features"])["features"]
    return torch.einsum("ck,nkhw->nchw", model.fc.weight, A) / (A.shape[2] * A.shape[3])


def _ch04_attack(model, x, y):
    import torch
    x_adv = al.attacks.PGD(model, eps=0.3, steps=5, seed=0)(x, y)
    with torch.no_grad():
        y0, y1 = model(x).argmax(1), model(x_adv).argmax(1)
    assert (y0 != y1).any()     # some classes change: D uses y′ ≠ y there
    return x_adv, y0, y1


def test_check_cam_completeness_accepts_right_and_rejects_wrong(tiny_gap, tiny_batch, capsys):
    x, _ = tiny_batch
    assert al.exercises.check_cam_completeness(_ch04_maps, tiny_gap, x)
    assert not al.exercises.check_cam_completeness(lambda m, x: _ch04_maps(m, x) * 64, tiny_gap, x)  # 8×8 positions
    assert not al.exercises.check_cam_completeness(lambda m, x: _ch04_maps(m, x).relu(), tiny_gap, x)
    assert not al.exercises.check_cam_completeness(lambda m, x: _ch04_maps(m, x)[:, 0], tiny_gap, x)
    assert not al.exercises.check_cam_completeness(lambda m, x: None, tiny_gap, x)
    out = capsys.readouterr().out
    assert "✓" in out and "h·w" in out and "no ReLU" in out and "every row of fc.weight" in out
    assert "Not implemented" in out
    assert al.exercises.ch04.check_cam_completeness is al.exercises.check_cam_completeness


def test_check_discrepancy_accepts_right_and_rejects_wrong(tiny_gap, tiny_batch, capsys):
    import torch
    x, y = tiny_batch
    x_adv, _, _ = _ch04_attack(tiny_gap, x, y)

    def parts(model, x, x_adv):
        # independent of the package's discrepancy: the CAM interpreter, one class at a time
        cam = al.interpret.CAM(model, relu=False, upsample=False)
        with torch.no_grad():
            y, y_adv = model(x).argmax(1), model(x_adv).argmax(1)
        u = cam(x, y).shape[1] * cam(x, y).shape[2]
        true = (cam(x, y) - cam(x_adv, y)).abs().sum((1, 2)) / u
        adv = (cam(x, y_adv) - cam(x_adv, y_adv)).abs().sum((1, 2)) / u
        return true, adv

    def right(model, x, x_adv):
        true, adv = parts(model, x, x_adv)
        return 0.5 * (true + adv)

    assert al.exercises.check_discrepancy(right, tiny_gap, x, x_adv)
    assert not al.exercises.check_discrepancy(lambda *a: sum(parts(*a)), tiny_gap, x, x_adv)      # no ½
    assert not al.exercises.check_discrepancy(lambda *a: parts(*a)[0], tiny_gap, x, x_adv)       # y only
    assert not al.exercises.check_discrepancy(lambda *a: None, tiny_gap, x, x_adv)
    assert not al.exercises.check_discrepancy(lambda *a: right(*a)[:2], tiny_gap, x, x_adv)
    out = capsys.readouterr().out
    assert "✓" in out and "forget the ½" in out and "not only y" in out and "Not implemented" in out
    assert "of shape (4,)" in out
    assert al.exercises.ch04.check_discrepancy is al.exercises.check_discrepancy


def test_check_bound_accepts_right_and_rejects_wrong(tiny_gap, tiny_batch, capsys):
    import torch
    x, y = tiny_batch
    _, y_clean, y_adv = _ch04_attack(tiny_gap, x, y)

    def margin(model, x, y, y_adv, scores=lambda z: z):
        with torch.no_grad():
            z = scores(model(x))
        return torch.stack([z[n, y[n]] - z[n, y_adv[n]] for n in range(len(x))])

    assert al.exercises.check_bound(lambda *a: 0.5 * margin(*a), tiny_gap, x, y_clean, y_adv)
    assert not al.exercises.check_bound(margin, tiny_gap, x, y_clean, y_adv)                       # no ½
    assert not al.exercises.check_bound(lambda *a: -0.5 * margin(*a), tiny_gap, x, y_clean, y_adv)
    assert not al.exercises.check_bound(lambda *a: 0.5 * margin(*a, scores=lambda z: z.softmax(1)),
                                        tiny_gap, x, y_clean, y_adv)
    assert not al.exercises.check_bound(lambda *a: None, tiny_gap, x, y_clean, y_adv)
    out = capsys.readouterr().out
    assert "✓" in out and "forget the ½" in out and "true class minus" in out and "not the softmax" in out
    assert "Not implemented" in out
    assert al.exercises.ch04.check_bound is al.exercises.check_bound


def _gradcam_weights(model, x, target, score=lambda z, t: z.gather(1, t[:, None]).sum(), reduce="mean"):
    """Grad-CAM's channel weights written as a student would: features, head, autograd."""
    import torch
    A = model.features(model.normalize(x))
    logits = model.fc(torch.flatten(model.gap(A), 1))
    (dA,) = torch.autograd.grad(score(logits, target), A)
    return dA.mean(dim=(2, 3)) if reduce == "mean" else dA.sum(dim=(2, 3))


def test_check_gradcam_weights_accepts_right_and_rejects_wrong(tiny_gap, tiny_batch, capsys):
    x, y = tiny_batch
    check = al.exercises.check_gradcam_weights
    assert check(_gradcam_weights, tiny_gap, x, y)
    assert not check(lambda *a: _gradcam_weights(*a, reduce="sum"), tiny_gap, x, y)
    assert not check(lambda *a: _gradcam_weights(*a, score=lambda z, t: F.cross_entropy(z, t, reduction="sum")),
                     tiny_gap, x, y)
    assert not check(lambda *a: -_gradcam_weights(*a), tiny_gap, x, y)
    assert not check(lambda *a: _gradcam_weights(*a).mean(0), tiny_gap, x, y)
    assert not check(lambda *a: None, tiny_gap, x, y)
    out = capsys.readouterr().out
    assert "✓" in out and "not the sum" in out and "not the loss" in out and "Check the sign" in out
    assert "one row per image" in out and "Not implemented" in out
    assert al.exercises.ch02.check_gradcam_weights is check


def test_check_topk_iou_accepts_right_and_rejects_wrong(capsys):
    import torch
    g = torch.Generator().manual_seed(3)
    a, b = torch.rand(5, 16, 16, generator=g), torch.rand(5, 16, 16, generator=g)
    b = 0.6 * a + 0.4 * b    # related maps: the IoU is neither 0 nor 1

    def masks(a, b, k, largest=True):
        return [torch.zeros(m.flatten(1).shape, dtype=torch.bool).scatter_(
            1, m.flatten(1).topk(k, 1, largest=largest).indices, True) for m in (a, b)]

    def right(a, b, k):
        ma, mb = masks(a, b, k)
        return (ma & mb).sum(1) / (ma | mb).sum(1)

    def over_k(a, b, k):
        ma, mb = masks(a, b, k)
        return (ma & mb).sum(1) / k

    def smallest(a, b, k):
        ma, mb = masks(a, b, k, largest=False)
        return (ma & mb).sum(1) / (ma | mb).sum(1)

    check = al.exercises.check_topk_iou
    assert check(right, a, b, 25)
    assert 0 < al.metrics.topk_iou(a, b, 25).mean() < 1
    assert not check(over_k, a, b, 25)
    assert not check(smallest, a, b, 25)
    assert not check(lambda *x: right(*x).mean(), a, b, 25)
    assert not check(lambda *x: None, a, b, 25)
    out = capsys.readouterr().out
    assert "✓" in out and "not by k" in out and "*largest*" in out and "not their mean" in out
    assert "Not implemented" in out
    assert al.exercises.ch02.check_topk_iou is check


def test_check_saturation_accepts_right_and_rejects_wrong(tiny_batch, capsys):
    x, _ = tiny_batch

    def sat(x, p, exponent=lambda p: 2 / p, back=True, center=True):
        v = 2 * x - 1 if center else x
        s = v.sign() * v.abs() ** exponent(p)
        return (s + 1) / 2 if back else s

    check = al.exercises.check_saturation
    assert check(sat, x, 8)
    assert not check(lambda x, p: sat(x, p, back=False), x, 8)
    assert not check(lambda x, p: sat(x, p, exponent=lambda p: p / 2), x, 8)
    assert not check(lambda x, p: sat(x, p, center=False, back=False), x, 8)
    assert not check(lambda x, p: ((2 * x - 1).abs() ** (2 / p) + 1) / 2, x, 8)
    assert not check(lambda x, p: None, x, 8)
    assert not check(lambda x, p: x[0], x, 8)
    out = capsys.readouterr().out
    assert "✓" in out and "back to [0, 1]" in out and "not p/2" in out and "v = 2x − 1" in out
    assert "Keep the sign" in out and "Not implemented" in out and "of the input's shape" in out
    assert al.exercises.ch03.check_saturation is check


def _shuffle(x, k, seed, same_for_all=False):
    """Patch shuffling written as a student would, with its own draw (not the package's)."""
    import torch
    n, c, h, w = x.shape
    p = x.reshape(n, c, k, h // k, k, w // k).permute(0, 2, 4, 1, 3, 5).reshape(n, k * k, c, h // k, w // k)
    gen = torch.Generator().manual_seed(seed + 100)
    orders = [torch.randperm(k * k, generator=gen) for _ in range(n)]
    p = torch.stack([p[i, orders[0] if same_for_all else orders[i]] for i in range(n)])
    return p.reshape(n, k, k, c, h // k, w // k).permute(0, 3, 1, 4, 2, 5).reshape(n, c, h, w)


def test_check_patch_shuffle_accepts_right_and_rejects_wrong(tiny_batch, capsys):
    import torch
    x, _ = tiny_batch
    check = al.exercises.check_patch_shuffle
    assert check(_shuffle, x, 4)
    assert check(al.transforms.patch_shuffle, x, 4, seed=1)
    assert check(lambda x, k, seed: _shuffle(x, k, seed, same_for_all=True), x, 4)

    def plain_reshape(x, k, seed):      # cuts the image without the permute: patches lose their shape
        n, c, h, w = x.shape
        p = x.reshape(n, c, k * k, -1)
        return p[:, :, torch.randperm(k * k, generator=torch.Generator().manual_seed(seed))].reshape(x.shape)

    def across_images(x, k, seed):
        y = _shuffle(x, k, seed)
        return torch.cat([y[:, :, :8], y.roll(1, 0)[:, :, 8:]], 2)

    assert not check(plain_reshape, x, 4)
    assert not check(lambda x, k, seed: _shuffle(x, x.shape[2] // k, seed), x, 2)   # tiles of k×k pixels
    assert not check(across_images, x, 4)
    assert not check(lambda x, k, seed: x.clone(), x, 4)
    assert not check(lambda x, k, seed: _shuffle(x, k, int(torch.randint(1000, ()))), x, 4)
    assert not check(lambda x, k, seed: None, x, 4)
    out = capsys.readouterr().out
    assert "✓" in out and "patch's pixels stay together" in out and "not tiles of 2×2 pixels" in out
    assert "travel between images" in out and "nothing moved" in out and "same seed" in out
    assert "Not implemented" in out and "same draw as al.transforms.patch_shuffle" in out
    assert al.exercises.ch03.check_patch_shuffle is check


def _pse_right(model, x, x_adv, y, t):
    with torch.no_grad():
        z0, z1 = model(x), model(x_adv)
    z0, z1 = z0 - z0.mean(1, keepdim=True), z1 - z1.mean(1, keepdim=True)
    rows = torch.arange(len(x))
    return z0[rows, y] - z1[rows, y], z1[rows, t] - z0[rows, t]


def test_check_pse_accepts_right_and_rejects_wrong(tiny_gap, tiny_batch, capsys):
    x, y = tiny_batch
    t = (y + 1) % 5
    x_adv = (x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)

    def raw(model, x, x_adv, y, t):   # forgets to centre the logits
        with torch.no_grad():
            z0, z1 = model(x), model(x_adv)
        rows = torch.arange(len(x))
        return z0[rows, y] - z1[rows, y], z1[rows, t] - z0[rows, t]

    assert al.exercises.check_pse(_pse_right, tiny_gap, x, x_adv, y, t)
    assert not al.exercises.check_pse(raw, tiny_gap, x, x_adv, y, t)
    assert "centred" in capsys.readouterr().out
    flipped = lambda *a: (-_pse_right(*a)[0], _pse_right(*a)[1])   # noqa: E731
    assert not al.exercises.check_pse(flipped, tiny_gap, x, x_adv, y, t)
    assert not al.exercises.check_pse(lambda *a: None, tiny_gap, x, x_adv, y, t)
    assert "Not implemented" in capsys.readouterr().out
    assert not al.exercises.check_pse(lambda *a: _pse_right(*a)[0], tiny_gap, x, x_adv, y, t)


def test_check_energy_share_accepts_right_and_rejects_wrong(tiny_batch, capsys):
    x, _ = tiny_batch
    g = torch.Generator().manual_seed(1)
    x_adv = (x + 0.05 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    mask = (torch.rand(len(x), 1, *x.shape[-2:], generator=g) < 0.3).float()

    def right(x, x_adv, mask):
        e = ((x_adv - x) ** 2).sum(1, keepdim=True)
        return (e * mask).flatten(1).sum(1) / e.flatten(1).sum(1)

    assert al.exercises.check_energy_share(right, x, x_adv, mask)
    assert not al.exercises.check_energy_share(lambda x, xa, m: m.flatten(1).mean(1), x, x_adv, mask)
    assert "area" in capsys.readouterr().out
    assert not al.exercises.check_energy_share(lambda x, xa, m: ((xa - x) ** 2 * m).flatten(1).sum(1), x, x_adv, mask)
    assert not al.exercises.check_energy_share(lambda *a: None, x, x_adv, mask)
