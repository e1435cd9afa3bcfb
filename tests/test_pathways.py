"""Chapter 8's attack pathways (advlab.interpret.pathways, advlab.plot.pathways, the study):
on hand-built networks whose important channels and strongest connections are known by
construction, then the drill-down, validation, plotting and the study on a tiny sample."""
import matplotlib
import pytest
import torch
from torch import nn

import advlab as al
from advlab.interpret.pathways import GROUPS, Pathway

matplotlib.use("Agg")


class Tiny(nn.Module):
    """3 input channels → 4 → 4 channels, 1×1 convolutions with hand-set weights:

    layer 1 (``features.1``): ch0 = in0, ch1 = in1, ch2 = 3·in2, ch3 = 0;
    layer 2 (``features.3``): ch0 = 2·l1[0], ch1 = 2·l1[1] + l1[2], ch2 = 0.5·l1[0],
    ch3 = 5·(l1[0] + l1[1]). Benign images light in0, target images in1, adversarial images
    in0 and in2: layer 1's top channel is 0 for benign, 1 for target, 2 for adversarial;
    layer 2's is 3 for all (both classes)."""

    input_shape = (3, 6, 6)

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 1, bias=False), nn.ReLU(),
                                      nn.Conv2d(4, 4, 1, bias=False), nn.ReLU())
        self.fc = nn.Linear(4, 2)
        with torch.no_grad():
            w1 = torch.zeros(4, 3)
            w1[0, 0], w1[1, 1], w1[2, 2] = 1, 1, 3
            w2 = torch.zeros(4, 4)
            w2[0, 0], w2[1, 1], w2[1, 2], w2[2, 0], w2[3, 0], w2[3, 1] = 2, 2, 1, 0.5, 5, 5
            self.features[0].weight.copy_(w1[:, :, None, None])
            self.features[2].weight.copy_(w2[:, :, None, None])
            self.fc.weight.copy_(torch.tensor([[1.0, -1, 0, 0], [-1, 1, 0, 0]]))
            self.fc.bias.zero_()

    def forward(self, x):
        return self.fc(self.features(x).mean((2, 3)))


def batches(n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    u = 0.5 + 0.5 * torch.rand(n, 1, 1, 1, generator=g)
    zero = torch.zeros(n, 1, 6, 6)
    light = u.expand(n, 1, 6, 6)
    benign = torch.cat([light, zero, zero], 1)
    target = torch.cat([zero, light, zero], 1)
    adversarial = torch.cat([light, zero, light], 1)
    return benign, target, adversarial


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    return Tiny()


def test_default_layers(tiny):
    assert al.interpret.pathway_layers(tiny) == ["features.1", "features.3"]
    assert al.interpret.pathway_layers(al.zoo.load("cifar_resnet8")) == ["stem", "features.0", "features.1",
                                                                         "features.2"]


def test_groups_and_edges_known_by_construction(tiny):
    b, t, a = batches()
    pw = al.interpret.pathways(tiny, b, t, a, share=0.25, connections=3)
    groups = {layer: {c["channel"]: c["group"] for c in cs} for layer, cs in pw.channels.items()}
    assert groups == {"features.1": {0: "benign", 1: "target", 2: "adversarial"}, "features.3": {3: "both"}}
    # only channel 0 of layer 1 feeds channel 3 of layer 2 on the benign and adversarial images:
    # influence = 5 · mean over those images of in0
    expected = 5 * float(torch.cat([b, a])[:, 0].mean())
    assert len(pw.edges) == 1
    src, i, dst, j, value = pw.edges[0]
    assert (src, i, dst, j) == ("features.1", 0, "features.3", 3)
    assert value == pytest.approx(expected, rel=1e-5)
    c0 = pw.channels["features.1"][0]
    assert c0["benign"] == pytest.approx(float(b[:, 0].mean()), rel=1e-5) and c0["target"] == 0
    assert pw.activation["adversarial"]["features.1"].shape == (4,)


def test_strongest_incoming_edge(tiny):
    b, t, a = batches()
    pw = al.interpret.pathways(tiny, b, t, a, share=1.0, connections=1)
    strongest = {(e[2], e[3]): (e[0], e[1]) for e in pw.edges}
    # ch1 of layer 2 gets 2·l1[1] (zero on these images) + l1[2] (lit on the adversarial ones)
    assert strongest[("features.3", 1)] == ("features.1", 2)
    assert strongest[("features.3", 0)] == ("features.1", 0)
    assert strongest[("features.3", 2)] == ("features.1", 0)
    assert all(e[4] != 0 for e in pw.edges)
    assert al.interpret.pathways(tiny, b, t, a, connections=0).edges == []


def test_influence_is_the_convolution_contribution():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(3, 5, 3, padding=1), nn.Conv2d(5, 4, 3, padding=1))
    x = torch.rand(3, 3, 8, 8)
    pw = al.interpret.pathways(model, x, x, x, share=1.0, connections=10)
    assert pw.layers == ["0", "1"]
    with torch.no_grad():
        a = model[0](x)
        w = model[1].weight
        want = torch.stack([torch.stack([nn.functional.conv2d(a[:, i:i + 1], w[j:j + 1, i:i + 1], padding=1).mean()
                                         for i in range(5)]) for j in range(4)])
    got = {(e[1], e[3]): e[4] for e in pw.edges}
    assert len(got) == 20
    for (i, j), v in got.items():
        assert v == pytest.approx(float(want[j, i]), rel=1e-4, abs=1e-6)


def test_grad_x_activation_importance(tiny):
    b, t, a = batches()
    pw = al.interpret.pathways(tiny, b, t, a, share=0.25, importance="grad_x_activation")
    assert set(pw.importance) == {"benign", "target", "adversarial"}
    assert pw.importance["benign"]["features.1"].shape == (4,)


def test_filters():
    ch = [{"channel": i, "group": "benign", "benign": 1.0, "target": 0.0, "adversarial": adv}
          for i, adv in enumerate([0.5, 3.0, 1.0, 0.0])]
    pw = Pathway(layers=["l"], channels={"l": ch}, edges=[], activation={})
    top = lambda kind: [c["channel"] for c in pw.filter(kind, 1).channels["l"]]
    assert top("most_activated") == [1] and top("most_excited") == [1]
    assert top("most_inhibited") == [3] and top("most_changed") == [1]
    assert len(pw.filter("most_changed", 3).channels["l"]) == 3
    edged = Pathway(["l", "m"], {"l": ch, "m": ch[:1]}, [("l", 1, "m", 0, 1.0), ("l", 3, "m", 0, 2.0)], {})
    assert edged.filter("most_activated", 1).edges == [("l", 1, "m", 0, 1.0)]
    with pytest.raises(ValueError, match="kind"):
        pw.filter("largest", 1)


@pytest.mark.parametrize("kwargs, word", [({"share": 0}, "share"), ({"share": 1.5}, "share"),
                                          ({"connections": -1}, "connections"), ({"layers": ["nope"]}, "accepted"),
                                          ({"importance": "x"}, "importance"), ({"layers": "features.1"}, "layers")])
def test_validation(tiny, kwargs, word):
    b, t, a = batches()
    with pytest.raises(ValueError, match=word):
        al.interpret.pathways(tiny, b, t, a, **kwargs)


def test_validation_of_batches(tiny):
    b, t, a = batches()
    with pytest.raises(ValueError, match="target"):
        al.interpret.pathways(tiny, b, t[0], a)
    with pytest.raises(ValueError, match="adversarial"):
        al.interpret.pathways(tiny, b, t, a * 2)
    with pytest.raises(ValueError, match="channel"):
        al.interpret.top_patches(tiny, "features.1", 9, b, k=4)
    with pytest.raises(ValueError, match="attack"):
        al.interpret.channel_response(tiny, "features.1", 0, b, 0, "cw", [0])


def _state(model):
    return model.training, [p.requires_grad for p in model.parameters()]


def _no_hooks(model):
    return all(not m._forward_hooks for m in model.modules())


def test_channel_response(tiny):
    b, t, _ = batches()
    tiny.train()
    before = _state(tiny)
    r = al.interpret.channel_response(tiny, "features.1", 0, b, 0, lambda e: al.attacks.FGSM(tiny, eps=e),
                                      [0, "4/255", 0.1], target_images=t)
    assert _state(tiny) == before and _no_hooks(tiny)
    assert r["per_image"].shape == (6, 3) and r["eps"] == pytest.approx([0, 4 / 255, 0.1])
    assert r["mean"][0] == pytest.approx(float(b[:, 0].mean()), rel=1e-5)
    assert r["mean"][2] < r["mean"][0]   # the attack away from class 0 dims the class-0 channel
    assert r["target_mean"] == 0.0
    again = al.interpret.channel_response(tiny, "features.1", 0, b, 0, "pgd", [0, 0.1], target=1)
    assert torch.equal(again["per_image"],
                       al.interpret.channel_response(tiny, "features.1", 0, b, 0, "pgd", [0, 0.1], target=1)["per_image"])


def test_top_patches():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1), nn.ReLU())
    x = torch.rand(10, 3, 12, 12)
    p = al.interpret.top_patches(model, "3", 1, x, k=4)
    assert p.shape == (4, 3, 5, 5)   # two 3×3 convolutions: a 5×5 receptive field
    assert _no_hooks(model)
    crops = {tuple(x[i, :, r:r + 5, c:c + 5].flatten().tolist()) for i in range(10) for r in range(8) for c in range(8)}
    assert all(tuple(q.flatten().tolist()) in crops for q in p)


def test_visualize_channel(tiny):
    tiny.train()
    before = _state(tiny)
    v = al.interpret.visualize_channel(tiny, "features.3", 3, steps=12)
    assert v.shape == (1, 3, 6, 6) and 0 <= float(v.min()) and float(v.max()) <= 1
    assert torch.equal(v, al.interpret.visualize_channel(tiny, "features.3", 3, steps=12))
    assert _state(tiny) == before and _no_hooks(tiny)
    grey = al.core.activations(tiny, torch.full_like(v, 0.5), ["features.3"])["features.3"][:, 3].mean()
    assert al.core.activations(tiny, v, ["features.3"])["features.3"][:, 3].mean() > grey


def test_plot_colours_and_legibility(tiny):
    from advlab.plot.pathways import COLORS
    b, t, a = batches()
    pw = al.interpret.pathways(tiny, b, t, a, share=0.25)
    fig, ax = al.plot.pathway_graph(pw, title="tiny")
    present = [g for g in GROUPS if any(c["group"] == g for cs in pw.channels.values() for c in cs)]
    faces = [matplotlib.colors.to_hex(c.get_facecolor()[0]) for c in ax.collections]
    assert faces == [COLORS[g].lower() for g in present]
    assert al.plot.smallest_text_pt(fig) >= al.plot.MIN_PT
    r = al.interpret.channel_response(tiny, "features.1", 0, b, 0, "fgsm", [0, 0.1], target_images=t)
    f2 = al.plot.channel_drilldown(al.interpret.visualize_channel(tiny, "features.1", 0, steps=2),
                                   al.interpret.top_patches(tiny, "features.1", 0, b, k=4), r)
    assert al.plot.smallest_text_pt(f2) >= al.plot.MIN_PT
    matplotlib.pyplot.close("all")


def test_study_on_a_tiny_sample():
    S = al.studies.ch08_pathways
    model = al.zoo.load("cifar_resnet8")
    r = S.measure(model, "cat", "dog", n=4, eps_values=(0, 8), steps=2)
    assert r["benign"]["features.2"].shape == (4, 2)
    for layer in r["layers"]:
        for name in ("benign", "attack", "gap"):
            v = r[name][layer][:, -1]
            if not torch.isnan(v).any():
                m = al.report.bootstrap_mean(v)
                assert m.low <= m.value <= m.high
    results = {("standard", "cat→dog"): r}
    for table in (S.activation_table(results), S.separation_table(results), S.claims_table(results)):
        assert len(table.rows) >= 1
    assert {row[-1] for row in S.claims_table(results).rows} <= {al.report.HOLDS, al.report.DOES_NOT_HOLD,
                                                                  al.report.CANNOT_TELL, "—"}


def test_reading_states_the_computed_verdicts_of_synthetic_results():
    """Hand-made results: the benign pathway clearly falls, the attack pathway clearly rises, and
    the gap turns positive only at the last layer; the generated sentence must say so."""
    from advlab.studies import ch08_pathways as ch8
    g = torch.Generator().manual_seed(0)
    n = 30
    noise = lambda: 0.01 * torch.randn(n, generator=g)
    r = {"layers": ["a", "b"], "eps": [0, 8], "n": n,
         "success": [al.report.from_outcomes(torch.zeros(n, dtype=torch.bool)),
                     al.report.from_outcomes(torch.ones(n, dtype=torch.bool))],
         "benign": {k: torch.stack([1.0 + noise(), 0.2 + noise()], 1) for k in ("a", "b")},
         "attack": {k: torch.stack([0.3 + noise(), 1.5 + noise()], 1) for k in ("a", "b")},
         "gap": {"a": torch.stack([-0.5 + noise(), -0.2 + noise()], 1),
                 "b": torch.stack([-0.5 + noise(), 0.3 + noise()], 1)}}
    text = ch8.reading({("m", "x→y"): r})
    assert text.startswith("* m, x→y, ε = 8/255: the attack reaches the target for 100.0")
    assert '("it falls": holds)' in text and '("it rises": holds)' in text
    assert "from `b` on" in text
    r["gap"]["b"] = r["gap"]["a"]
    assert "at no layer" in ch8.reading({("m", "x→y"): r})
