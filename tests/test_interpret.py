"""Contract tests over every interpreter, and checks of the hand-written CAMs against libraries."""
import pytest
import torch
import torch.nn.functional as F
from conftest import hook_count

import advlab as al

NAMES = sorted(al.interpret.REGISTRY)


@pytest.mark.parametrize("name", NAMES)
def test_contract(name, model_for, tiny_batch):
    x, y = tiny_batch
    model = model_for(name).train()
    attr = al.interpret.make(name, model)
    maps = attr(x, y)
    assert maps.shape == (4, 16, 16)
    assert torch.isfinite(maps).all() and not maps.requires_grad
    assert model.training and hook_count(model) == 0
    assert all(p.requires_grad and p.grad is None for p in model.parameters())
    assert torch.equal(attr(x, y), maps)  # deterministic (seeded where random)
    assert torch.equal(attr.attribute(x, y), maps)
    assert not torch.equal(x, torch.zeros_like(x))  # input untouched by requires_grad games
    n = al.interpret.normalize(maps)
    assert n.min() >= 0 and n.max() <= 1


@pytest.mark.parametrize("name", NAMES)
def test_bad_target(name, model_for, tiny_batch):
    with pytest.raises(ValueError, match="target"):
        al.interpret.make(name, model_for(name))(tiny_batch[0], 7)


def test_unknown_layer_and_method(tiny_gap):
    with pytest.raises(ValueError, match="layer"):
        al.interpret.GradCAM(tiny_gap, layer="conv5")
    with pytest.raises(ValueError, match="interpreter"):
        al.interpret.make("lime", tiny_gap)


def test_cam_needs_a_gap_head():
    model = al.models.MadryCNN()
    with pytest.raises(ValueError, match="fc"):
        al.interpret.CAM(model)


def _upsample(m, size):
    return F.interpolate(m, size=size, mode="bilinear", align_corners=False)[:, 0]


def test_gradcam_matches_captum(tiny_gap, tiny_batch):
    from captum.attr import LayerGradCam
    x, y = tiny_batch
    ours = al.interpret.GradCAM(tiny_gap)(x, y)
    ref = LayerGradCam(tiny_gap, tiny_gap.features).attribute(x, target=y, relu_attributions=True)
    assert torch.allclose(ours, _upsample(ref, x.shape[-2:]), atol=1e-6)


def test_cam_is_gradcam_for_gap_models(tiny_gap, tiny_batch):
    # with GAP + linear, dy_c/dA_k(i,j) = w_ck / (h·w): Grad-CAM = CAM / (h·w)
    x, y = tiny_batch
    cam = al.interpret.CAM(tiny_gap)(x, y)
    grad = al.interpret.GradCAM(tiny_gap)(x, y)
    assert torch.allclose(cam / 64, grad, atol=1e-6)


def test_gradcam_plus_plus_weights_match_pytorch_grad_cam():
    pgc = pytest.importorskip("pytorch_grad_cam")
    # the weights are a pure function of (A, dy/dA); use O(1) values so the reference's
    # 1e-6 stabiliser in the denominator is negligible
    g = torch.Generator().manual_seed(0)
    A = torch.rand(3, 6, 4, 4, generator=g) * 2
    G = torch.randn(3, 6, 4, 4, generator=g)
    model = al.models.GapCNN(widths=(6,), num_classes=3)
    ours = al.interpret.GradCAMPlusPlus(model).weights(A, G, None, None)
    ref = pgc.GradCAMPlusPlus(model=model, target_layers=[model.features]).get_cam_weights(
        None, None, None, A.numpy(), G.numpy())
    assert torch.allclose(ours, torch.from_numpy(ref).float(), rtol=1e-4, atol=1e-5)


def test_scorecam_weights_match_pytorch_grad_cam(tiny_gap, tiny_batch):
    pgc = pytest.importorskip("pytorch_grad_cam")
    # pytorch-grad-cam softmaxes the channel scores; with log-softmax class scores as its
    # target that is our per-channel class probability divided by its sum over channels
    x, y = tiny_batch
    score_cam = al.interpret.ScoreCAM(tiny_gap)
    A, _, _ = score_cam.activations_and_grads(x.clone(), y)
    ours = score_cam.weights(A, None, x, y)
    ours = ours / ours.sum(1, keepdim=True)
    targets = [lambda o, c=int(c): torch.log_softmax(o, -1)[c] for c in y]
    ref_cam = pgc.ScoreCAM(model=tiny_gap, target_layers=[tiny_gap.features])
    ref_cam.batch_size = 64
    ref = torch.from_numpy(ref_cam.get_cam_weights(x, tiny_gap.features, targets, A.numpy(), None)).float()
    # its masks are upsampled with align_corners=True, ours with False: close, not equal
    assert torch.allclose(ours, ref, rtol=0.05, atol=1e-3)


def test_saliency_is_the_input_gradient(tiny_gap, tiny_batch):
    x, y = tiny_batch
    xr = x.clone().requires_grad_(True)
    tiny_gap(xr).gather(1, y.view(-1, 1)).sum().backward()
    assert torch.allclose(al.interpret.Saliency(tiny_gap)(x, y), xr.grad.abs().amax(1))


def test_integrated_gradients_completeness(tiny_gap, tiny_batch):
    x, y = tiny_batch
    maps = al.interpret.IntegratedGradients(tiny_gap, n_steps=300, reduce="sum")(x, y)
    with torch.no_grad():
        diff = tiny_gap(x).gather(1, y.view(-1, 1))[:, 0] - tiny_gap(torch.zeros_like(x)).gather(1, y.view(-1, 1))[:, 0]
    assert torch.allclose(maps.sum((1, 2)), diff, atol=2e-2 * diff.abs().max().item())


def test_smoothgrad_with_zero_noise_is_saliency(tiny_gap, tiny_batch):
    x, y = tiny_batch
    sg = al.interpret.SmoothGrad(tiny_gap, n_samples=3, sigma=0.0)(x, y)
    assert torch.allclose(sg, al.interpret.Saliency(tiny_gap)(x, y), atol=1e-6)


def test_smoothgrad_seed_matters_and_global_rng_untouched(tiny_gap, tiny_batch):
    x, y = tiny_batch
    state = torch.random.get_rng_state()
    a = al.interpret.SmoothGrad(tiny_gap, n_samples=4, seed=0)(x, y)
    assert torch.equal(torch.random.get_rng_state(), state)
    b = al.interpret.SmoothGrad(tiny_gap, n_samples=4, seed=1)(x, y)
    assert not torch.equal(a, b)


def test_normalize_rejects_bad_input():
    with pytest.raises(ValueError, match="maps"):
        al.interpret.normalize(torch.rand(2, 2, 2, 2))
    assert torch.equal(al.interpret.normalize(torch.ones(3, 3)), torch.zeros(3, 3))


def test_attention_map_is_what_the_pooling_sums(tiny_attention, tiny_batch):
    x, y = tiny_batch
    b, t = tiny_attention.attention_maps(x)
    prod = t[torch.arange(4), y] * b
    # the class score is the mean of the product map (before the ReLU)
    assert torch.allclose(tiny_attention(x)[torch.arange(4), y], prod.flatten(1).mean(1), atol=1e-6)
    ours = al.interpret.AttentionMap(tiny_attention)(x, y)
    assert torch.allclose(ours, _upsample(F.relu(prod)[:, None], x.shape[-2:]), atol=1e-6)
    bu = al.interpret.AttentionMap(tiny_attention, kind="bottom_up")(x, y)
    assert torch.allclose(bu, _upsample(b[:, None], x.shape[-2:]), atol=1e-6)
    with pytest.raises(ValueError, match="attention"):
        al.interpret.AttentionMap(al.models.GapCNN())


def test_prototype_map_is_the_best_matching_prototype_of_the_class(tiny_proto, tiny_batch):
    x, y = tiny_batch
    sims = tiny_proto.similarity_maps(x)
    for rank in (0, 1):
        maps = al.interpret.PrototypeMap(tiny_proto, rank=rank)(x, y)
        for i in range(4):
            own = torch.nonzero(tiny_proto.prototype_class == y[i]).flatten()
            best = own[sims[i, own].flatten(1).amax(1).argsort(descending=True)[rank]]
            assert torch.allclose(maps[i], _upsample(sims[i, best][None, None], x.shape[-2:])[0], atol=1e-6)
    with pytest.raises(ValueError, match="rank"):
        al.interpret.PrototypeMap(tiny_proto, rank=2)(x, y)
    with pytest.raises(ValueError, match="ProtoPNet"):
        al.interpret.PrototypeMap(al.models.GapCNN())


@pytest.mark.parametrize("name", ["saliency", "integrated_gradients", "gradcam", "scorecam", "attention", "prototype"])
def test_batched_attribution_equals_one_batch(name, model_for, tiny_batch):
    x, y = tiny_batch
    attr = al.interpret.make(name, model_for(name))
    assert torch.allclose(attr(x, y, batch_size=3), attr(x, y), atol=1e-5)
    with pytest.raises(ValueError, match="batch_size"):
        attr(x, y, batch_size=0)


def test_batched_smoothgrad_is_seeded_per_batch(tiny_gap, tiny_batch):
    # noise is drawn per batch from the fixed seed: the same batch_size repeats exactly
    x, y = tiny_batch
    sg = al.interpret.SmoothGrad(tiny_gap, n_samples=5)
    a = sg(x, y, batch_size=2)
    assert a.shape == (4, 16, 16) and torch.equal(a, sg(x, y, batch_size=2))
    assert torch.equal(a[:2], sg(x[:2], y[:2]))


def test_predict_and_map_maps_the_predicted_class(tiny_gap, tiny_batch):
    x, _ = tiny_batch
    attr = al.interpret.make("gradcam", tiny_gap)
    probs, maps = al.interpret.predict_and_map(attr, x)
    pred = tiny_gap(x).argmax(1)
    assert torch.allclose(probs.sum(1), torch.ones(len(x)))
    assert torch.equal(probs.argmax(1), pred)
    assert torch.allclose(maps, al.interpret.normalize(attr(x, pred)))
    with pytest.raises(ValueError, match="interpreter"):
        al.interpret.predict_and_map(tiny_gap, x)


def test_top_prototypes_ranks_by_maximal_similarity(tiny_proto, tiny_batch):
    x, y = tiny_batch
    scores = tiny_proto.similarity_maps(x).flatten(2).amax(2).detach()
    idx, val = al.interpret.top_prototypes(tiny_proto, x, k=3)
    for i in range(len(x)):
        order = sorted(range(scores.shape[1]), key=lambda j: -float(scores[i, j]))[:3]
        assert idx[i].tolist() == order and torch.allclose(val[i], scores[i, order])
    idx, _ = al.interpret.top_prototypes(tiny_proto, x, k=2, of_class=y)
    assert (tiny_proto.prototype_class[idx] == y[:, None]).all()
    with pytest.raises(ValueError, match="k must be"):
        al.interpret.top_prototypes(tiny_proto, x, k=3, of_class=y)  # two prototypes per class


@pytest.fixture(scope="module")
def resnet8():
    return al.zoo.load("cifar_resnet8")


@pytest.mark.parametrize("which", ["tiny_gap", "cifar_resnet8"])
def test_raw_cam_averages_to_the_logit_minus_its_bias(which, tiny_gap, tiny_batch, request):
    # GAP + linear: mean_ij Σ_k w_ck A_kij = Σ_k w_ck GAP(A)_k = y_c − b_c (chapter 4, Boopathy et al.)
    if which == "tiny_gap":
        model, (x, _) = tiny_gap, tiny_batch
        size = (8, 8)
    else:
        model, x, size = request.getfixturevalue("resnet8"), al.data.subset("cifar10", 8).x, (8, 8)
    with torch.no_grad():
        logits = model(x)
    for y in (logits.argmax(1), torch.arange(len(x)) % 5):
        raw = al.interpret.CAM(model, relu=False, upsample=False)(x, y)
        assert raw.shape == (len(x), *size) and (raw < 0).any()
        expect = logits.gather(1, y.view(-1, 1))[:, 0] - model.fc.bias[y]
        assert torch.allclose(raw.mean((1, 2)), expect, atol=1e-5, rtol=0)


def test_relu_and_upsampling_are_the_last_steps(tiny_gap, tiny_batch):
    x, y = tiny_batch
    raw = al.interpret.CAM(tiny_gap, relu=False, upsample=False)(x, y)
    assert torch.equal(al.interpret.CAM(tiny_gap, upsample=False)(x, y), F.relu(raw))
    assert torch.allclose(al.interpret.CAM(tiny_gap)(x, y), _upsample(F.relu(raw)[:, None], x.shape[-2:]), atol=1e-6)
    assert torch.allclose(al.interpret.CAM(tiny_gap, relu=False)(x, y), _upsample(raw[:, None], x.shape[-2:]), atol=1e-6)
    # Grad-CAM without ReLU is the signed CAM over h·w on a GAP model, Score-CAM takes the options too
    signed = al.interpret.GradCAM(tiny_gap, relu=False, upsample=False)(x, y)
    assert torch.allclose(signed * 64, raw, atol=1e-5)
    assert al.interpret.ScoreCAM(tiny_gap, upsample=False)(x, y).shape == (4, 8, 8)
    for bad in (dict(relu="no"), dict(upsample=1)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            al.interpret.GradCAM(tiny_gap, **bad)


def test_prototype_region_covers_the_pushed_patch_and_is_the_95th_percentile():
    """Every prototype of the zoo's ProtoPNet was pushed onto a latent cell of its training image: its
    95th-percentile region on that image covers the cell, holds about 5 % of the pixels, and its box
    is the smallest one around the mask."""
    model = al.zoo.load("cifar_protopnet")
    for j in range(len(model.proto_images)):
        r = al.interpret.prototype_region(model, j)
        top, left, bottom, right = r.box
        r0, c0 = model.proto_locations[j].tolist()
        cell = 32 // 8
        assert r.mask[r0 * cell:(r0 + 1) * cell, c0 * cell:(c0 + 1) * cell].any(), j
        assert 0.05 * 1024 <= r.mask.sum() <= 0.06 * 1024 + 8     # ties at the threshold add a few
        assert r.mask[top].any() and r.mask[bottom - 1].any() and r.mask[:, left].any() and r.mask[:, right - 1].any()
        assert not r.mask[:top].any() and not r.mask[bottom:].any()
        torch.testing.assert_close(r.image, model.proto_images[j].float() / 255)
    with pytest.raises(ValueError, match="j must"):
        al.interpret.prototype_region(model, len(model.proto_images))
    with pytest.raises(ValueError, match="pushed ProtoPNet"):
        al.interpret.prototype_region(al.zoo.load("cifar_resnet8"), 0)
