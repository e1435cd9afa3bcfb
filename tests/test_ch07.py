"""Chapter 7 (Zheng et al., InterpretGAN): the classifier's named stages, the explanation generator's
frozen prefix, the InterpretGAN objective against its formula, and the study's measures (Eq. 5's
vulnerability, changed max-pooling indices, verdicts) against independent computations."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import advlab as al
from advlab.models.interpretgan import LATENT_SHAPES, LAYERS, Discriminator
from advlab.studies import ch07_layers as S
from advlab.train import Context


@pytest.fixture(scope="module")
def clf():
    torch.manual_seed(0)
    return al.models.LayeredCNN().eval()


@pytest.fixture(scope="module")
def digits():
    g = torch.Generator().manual_seed(2)
    return torch.rand(6, 1, 28, 28, generator=g), torch.arange(6) % 10


def test_stages_have_the_papers_shapes_and_compose_to_the_forward(clf, digits):
    x, _ = digits
    acts = al.core.activations(clf, x, list(LAYERS))
    for layer in LAYERS:
        assert tuple(acts[layer].shape[1:]) == LATENT_SHAPES[layer], layer
    assert torch.equal(acts["fc3"], clf(x))
    avg = al.models.LayeredCNN(pool="avg")
    assert isinstance(avg.conv2[2], torch.nn.AvgPool2d) and isinstance(clf.conv2[2], torch.nn.MaxPool2d)
    with pytest.raises(ValueError, match="pool"):
        al.models.LayeredCNN(pool="median")


@pytest.mark.parametrize("layer", ["conv1", "conv4", "fc2"])
def test_generator_reads_its_parents_layer_through_a_frozen_prefix(clf, digits, layer):
    x, _ = digits
    g = al.models.ExplanationGenerator(layer, code=8)
    g.init_from(clf)
    assert torch.equal(g.latent(x), al.core.activations(clf, x, layer)[layer])
    assert all(not p.requires_grad for p in g.prefix.parameters())
    g.train()
    assert not g.prefix.training and g.generate.training
    out = g(x)
    assert out.shape == x.shape and 0 <= out.min() and out.max() <= 1
    with pytest.raises(ValueError, match="parent must be a LayeredCNN"):
        g.init_from(al.models.SmallGapCNN())
    with pytest.raises(ValueError, match="layer"):
        al.models.ExplanationGenerator("fc4")


def test_interpret_gan_loss_is_the_gan_loss_plus_lambda_times_soft_cross_entropy(clf, digits):
    x, y = digits
    torch.manual_seed(1)
    g = al.models.ExplanationGenerator("conv2", code=8)
    g.init_from(clf)
    g.eval()  # batch norm in eval mode: the same x̂ for the loss and for the check
    obj = al.train.make("interpret_gan", lam=2.0, d_lr=1e-3)
    d = obj.discriminator(x.device)
    before = [p.detach().clone() for p in d.parameters()]
    loss = obj.loss(g, x, y, Context(parent=clf))
    assert any(not torch.equal(a, b) for a, b in zip(before, d.parameters())), "the discriminator took no step"
    with torch.no_grad():
        fake = g(x)
        p = F.softmax(clf(x), 1)
        q = F.softmax(clf(fake), 1)
        expected = F.softplus(-d(fake)).mean() - 2.0 * (p * q.log()).sum(1).mean()
    assert torch.allclose(loss, expected, atol=1e-5)
    d_grads = [p.grad.clone() for p in d.parameters()]  # from the discriminator's own step
    loss.backward()
    assert all(p.grad is None for p in g.prefix.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in g.generate.parameters())
    assert all(p.grad is None for p in clf.parameters())
    assert all(torch.equal(a, p.grad) for a, p in zip(d_grads, d.parameters())), "G's loss reached D"
    with pytest.raises(ValueError, match="context.parent"):
        obj.loss(g, x, y, Context())


def test_interpret_gan_checkpoints_its_discriminator(digits):
    obj = al.train.make("interpret_gan")
    torch.manual_seed(3)
    obj.discriminator("cpu")
    state = obj.state_dict()
    fresh = al.train.make("interpret_gan")
    fresh.load_state_dict(state)  # before the discriminator exists: kept until it is built
    x, _ = digits
    assert torch.equal(fresh.discriminator("cpu")(x), obj.discriminator("cpu")(x))
    assert isinstance(fresh.discriminator("cpu"), Discriminator)


def test_vulnerability_is_equation_5():
    o = np.array([[1, 1, 0], [0, 0, 0], [1, 0, 1]], dtype=bool)
    # Acc = (2/3, 1/3, 1/3): Vul_1 = 1 − 2/3, Vul_2 = 2/3 − 1/3, Vul_3 = 1/3 − 1/3
    assert np.allclose(S.vulnerability(o).mean(0), [1 / 3, 1 / 3, 0])
    assert np.allclose(S.vulnerability(o).mean(0).sum(), 1 - o[:, -1].mean())


def _window_argmax(a):
    """Position (0..3) of the maximum in each 2×2 window, by unfolding (an independent count)."""
    n, c, h, w = a.shape
    cols = F.unfold(a.reshape(n * c, 1, h, w), 2, stride=2)  # (N·C)×4×windows
    return cols.argmax(1).reshape(n, -1)


def test_pooling_change_counts_windows_whose_maximum_moves(clf, digits):
    x, _ = digits
    assert all((v == 0).all() for v in S.pooling_change(clf, x, x).values())
    x2 = (x + 0.3 * torch.randn(x.shape, generator=torch.Generator().manual_seed(4))).clamp(0, 1)
    got = S.pooling_change(clf, x, x2)
    a = al.core.activations(clf, x, "conv2.1")["conv2.1"]
    b = al.core.activations(clf, x2, "conv2.1")["conv2.1"]
    # where a window holds ties (dead ReLUs), the first maximum is the one both count
    expected = (_window_argmax(a) != _window_argmax(b)).float().mean(1).numpy()
    assert np.allclose(got["conv2"], expected, atol=1e-6)
    assert 0 < got["conv2"].mean() < 1


def _fake_diagnosis(label, adv, n=40):
    rng = np.random.default_rng(0)
    y = np.arange(n) % 10
    return {"label": label, "y": y, "pred_adv": np.where(y == 0, 6, np.where(y == 7, 3, (y + 1) % 10)),
            "adv": adv, "clean": np.ones((n, 7), bool), "noise": np.ones((n, 7), bool),
            "pool_adv": {s: rng.uniform(0.3, 0.5, n) for s in S.POOLS},
            "pool_noise": {s: rng.uniform(0.0, 0.1, n) for s in S.POOLS}}


def test_claim_verdicts_follow_the_evidence():
    n = 40
    falling = np.ones((n, 7), bool)
    falling[:, 1:] = False  # right at conv1 on half the images, wrong from conv2 on: claim 1 holds
    falling[n // 2:, 0] = False
    results = {"natural": _fake_diagnosis("natural", falling), "TRADES": _fake_diagnosis("TRADES", np.ones((n, 7), bool))}
    record = {"outcomes": {"max": {k: "01" * (n // 2) for k in (*S.TABLE2_ATTACKS, *S.STRONG)},
                           "avg": {k: "1" * n for k in (*S.TABLE2_ATTACKS, *S.STRONG)}}}
    v = S.claim_verdicts(results, record)
    assert v[0]["natural"] == al.report.HOLDS
    assert v[0]["TRADES"] != al.report.HOLDS       # no drop at all
    assert v[3]["TRADES"] == al.report.HOLDS       # right at every layer, natural wrong on ≥ half of each
    assert v[4]["natural"] == al.report.HOLDS      # PGD moves 30-50 % of the windows, noise under 10 %
    assert v[6]["TRADES"] == al.report.HOLDS       # avg right everywhere, max on half the images
    assert v[2]["natural"] == al.report.HOLDS      # half the images drop at conv2 (pooling), none at conv3
    at_conv3 = np.ones((n, 7), bool)
    at_conv3[:, LAYERS.index("conv3"):] = False    # every image drops at conv3, the layer between the poolings
    results["natural"]["adv"] = at_conv3
    assert S.claim_verdicts(results, record)[2]["natural"] == al.report.DOES_NOT_HOLD
    results["natural"]["adv"] = np.ones((n, 7), bool)
    assert S.claim_verdicts(results, record)[3]["TRADES"] == al.report.CANNOT_TELL  # no layer differs
    record["outcomes"]["avg"] = record["outcomes"]["max"]
    assert S.claim_verdicts(results, record)[6]["TRADES"] == al.report.CANNOT_TELL
    assert S.confusion(results["natural"])[0, 6] == 4 and S.confusion(results["natural"])[7, 3] == 4


def test_exercise_checks_accept_the_solution_and_explain_mistakes(clf, digits, capsys):
    o = np.random.default_rng(1).random((30, 7)) < 0.6
    def solution(outcomes):
        acc = outcomes.mean(0)
        return np.concatenate([[1 - acc[0]], acc[:-1] - acc[1:]])
    assert al.exercises.check_vulnerability(solution, o)
    assert not al.exercises.check_vulnerability(lambda o: 1 - o.mean(0), o)
    assert "drop from the previous layer" in capsys.readouterr().out
    assert not al.exercises.check_vulnerability(lambda o: None, o)
    x, _ = digits
    x2 = (x + 0.2).clamp(0, 1)
    def pool(model, x, x_adv, stage):
        a = al.core.activations(model, x, f"{stage}.1")[f"{stage}.1"]
        b = al.core.activations(model, x_adv, f"{stage}.1")[f"{stage}.1"]
        return (_window_argmax(a) != _window_argmax(b)).float().mean(1)
    assert al.exercises.check_pool_change(pool, clf, x, x2, "conv4")
    assert not al.exercises.check_pool_change(lambda *a: torch.full((len(x),), 2.0), clf, x, x2)


# -- the trained zoo entries -------------------------------------------------------------------
def test_trades_models_buy_robustness_and_differ_only_in_pooling():
    nat = al.zoo.entry(S.MODELS["natural"])
    at, avg = al.zoo.entry(S.MODELS["TRADES"]), al.zoo.entry(S.MODELS["TRADES, avg pool"])
    assert nat["clean_accuracy"] >= 0.98 and nat["robust_accuracy"] < 0.05
    for e in (at, avg):
        assert "PGD-40 L-inf eps=0.3" in e["robust_eval"] and e["robust_accuracy"] >= nat["robust_accuracy"] + 0.5
    assert {k: v for k, v in at["recipe"].items() if k not in ("arch_kwargs", "description")} == \
           {k: v for k, v in avg["recipe"].items() if k not in ("arch_kwargs", "description")}
    assert (at["arch_kwargs"], avg["arch_kwargs"]) == ({"pool": "max"}, {"pool": "avg"})


@pytest.mark.parametrize("label", S.DIAGNOSED)
def test_every_layer_has_a_generator_that_keeps_the_class_and_reads_its_parent(label):
    parent = al.zoo.load(S.MODELS[label])
    x = al.data.subset("mnist", 64).x
    for layer, g in S.load_generators(label).items():
        e = al.zoo.entry(g.zoo_name)
        assert e["kind"] == "generator" and e["parent"] == S.MODELS[label] and e["arch_kwargs"]["layer"] == layer
        assert e["evaluations"]["subset"]["explanation_accuracy"] >= 0.9, (g.zoo_name, e["evaluations"])
        assert torch.equal(g.latent(x), al.core.activations(parent, x, layer)[layer])
