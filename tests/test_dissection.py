"""Chapter 6's network dissection (advlab.interpret.dissection): IoU on a toy network whose
units fire on known pixels, the threshold's quantile, the probe set's masks against what was
drawn, determinism, validation, and the shapes on the zoo's ResNet-8."""
import math

import numpy as np
import pytest
import torch
from torch import nn

import advlab as al
from advlab.interpret.dissection import CATEGORIES, SHAPES, TEXTURES, ConceptSet, Dissection

S = 8  # toy image side


class Units(nn.Module):
    """Unit 0 = the image's red channel; unit 1 = fixed noise (one map per image index);
    unit 2 = 0 everywhere (dead)."""

    def __init__(self, n):
        super().__init__()
        self.register_buffer("noise", torch.rand(n, S, S, generator=torch.Generator().manual_seed(1)))

    def forward(self, x):
        return torch.stack([x[:, 0], self.noise[: x.shape[0]], torch.zeros_like(x[:, 0])], 1)


class Toy(nn.Module):
    input_shape = (3, S, S)

    def __init__(self, n):
        super().__init__()
        self.features = Units(n)
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(self.features(x).mean((2, 3)))


def _toy_probe(n=20):
    """n images, each with a red 2×2 square at a seeded place. ``shape:square`` labels the square
    in images 0..n/2−1 only, ``shape:disk`` in the others; ``object:cat`` is the whole of images
    0..4 and is labelled (its category) only in images 0..n/2−1."""
    g = np.random.default_rng(0)
    x = torch.zeros(n, 3, S, S)
    sq = torch.zeros(n, S, S, dtype=torch.bool)
    for i in range(n):
        r, c = g.integers(0, S - 1, size=2)
        x[i, 0, r:r + 2, c:c + 2] = 1
        sq[i, r:r + 2, c:c + 2] = True
    half = n // 2
    masks = torch.zeros(n, 3, S, S, dtype=torch.bool)
    masks[:half, 0] = sq[:half]
    masks[half:, 1] = sq[half:]
    masks[:5, 2] = True
    labelled = torch.ones(n, len(CATEGORIES), dtype=torch.bool)
    labelled[half:, CATEGORIES.index("object")] = False
    return ConceptSet(x, masks, ["shape:square", "shape:disk", "object:cat"],
                      ["shape", "shape", "object"], labelled), sq


def test_iou_by_hand_on_toy_units():
    n = 20
    probe, sq = _toy_probe(n)
    model = Toy(n)
    q = 4 * n / (n * S * S)  # the squares' share of all positions: unit 0's mask is exactly them
    d = al.interpret.dissect(model, "features", probe, quantile=q)
    assert isinstance(d, Dissection)
    assert d.iou.shape == (3, 3)
    # unit 0: fires on all 20 squares; square concept holds 10 of them, disk the other 10
    assert d.iou[0, 0].item() == pytest.approx(40 / 80)
    assert d.iou[0, 1].item() == pytest.approx(40 / 80)
    # object:cat, labelled in images 0..9 only: ∩ = 5 squares·4, ∪ = 10·4 (unit) + 5·64 − 20
    assert d.iou[0, 2].item() == pytest.approx(20 / (40 + 5 * 64 - 20))
    # unit 1: noise; by hand with NumPy (threshold the top q of positions, dataset-wide IoU)
    noise = model.features.noise.numpy()
    t = np.sort(noise.ravel())[math.ceil((1 - q) * noise.size) - 1]
    m = noise > t
    for c, lab in enumerate([probe.masks[:, 0].numpy(), probe.masks[:, 1].numpy()]):
        want = (m & lab).sum() / (m | lab).sum()
        assert d.iou[1, c].item() == pytest.approx(want, abs=1e-6)
    assert d.iou[1, :2].max() < 0.2
    assert d.thresholds[1].item() == pytest.approx(float(t))
    # dead unit: threshold 0 and nothing above it
    assert d.iou[2].abs().sum() == 0
    assert d.best[0][0] in ("shape:square", "shape:disk") and d.best[0][1] == pytest.approx(0.5)
    assert d.interpretable.tolist() == [True, d.best[1][1] > 0.04, False]
    counts = d.counts()
    assert set(counts) == set(CATEGORIES) and sum(counts.values()) == int(d.interpretable.sum())
    assert counts["shape"] >= 1
    assert d.top(1)[0][0] == 0


def test_unit_exactly_on_concept_gives_iou_one():
    n = 20
    probe, sq = _toy_probe(n)
    probe.masks[:, 0] = sq  # square concept now labels every square
    d = al.interpret.dissect(Toy(n), "features", probe, quantile=4 / (S * S))
    assert d.iou[0, 0].item() == pytest.approx(1.0)
    assert d.best[0] == ("shape:square", pytest.approx(1.0))


def test_threshold_quantile_on_resnet():
    model = al.zoo.load("cifar_resnet8")
    probe = al.interpret.concept_set(n=60, seed=3)
    for q in (0.005, 0.05):
        d = al.interpret.dissect(model, "features.2", probe, quantile=q)
        a = al.core.activations(model, probe.x, "features.2")["features.2"]
        flat = a.transpose(0, 1).flatten(1)
        share = (flat > d.thresholds[:, None]).float().mean(1)
        assert (share <= q + 1e-9).all()
        live = d.thresholds > 0  # at a zero threshold ReLU ties can leave fewer above it
        assert live.sum() > 10
        assert (share[live] >= q - 2 / flat.shape[1]).all()


def test_concept_set_masks_match_what_was_drawn():
    p = al.interpret.concept_set(n=100, seed=0, size=64)
    assert p.x.shape == (100, 3, 64, 64) and p.x.dtype == torch.float32
    assert 0 <= p.x.min() and p.x.max() <= 1
    assert p.masks.shape == (100, len(p.concepts), 64, 64) and p.masks.dtype == torch.bool
    assert set(p.categories) == set(CATEGORIES) and len(p.categories) == len(p.concepts)
    col = [i for i, c in enumerate(p.categories) if c == "colour"]
    assert (p.masks[:, col].sum(1) == 1).all()  # every pixel has exactly one colour name
    obj = [i for i, c in enumerate(p.categories) if c == "object"]
    nat = p.labelled[:, CATEGORIES.index("object")]
    assert nat.sum() == 40
    assert (p.masks[nat][:, obj].flatten(2).all(2).sum(1) == 1).all()  # one class, the whole image
    assert not p.masks[~nat][:, obj].any()
    disk = p.concepts.index("shape:disk")
    n_disks = 0
    for i in range(100):
        m = p.masks[i, disk]
        if not m.any():
            continue
        n_disks += 1
        rows, cols = m.any(1).nonzero(), m.any(0).nonzero()
        r = (int(rows.max() - rows.min() + 1) + int(cols.max() - cols.min() + 1)) / 4
        assert m.sum().item() == pytest.approx(math.pi * r * r, rel=0.15)
        colours = p.x[i][:, m].T
        assert (colours - colours[0]).abs().max() < 1e-6  # drawn in one colour
    assert n_disks == 10
    for t in TEXTURES:
        k = p.concepts.index(f"texture:{t}")
        for i in torch.nonzero(p.masks[:, k].flatten(1).any(1)).flatten().tolist():
            m = p.masks[i, k]
            rows, cols = m.any(1).nonzero(), m.any(0).nonzero()
            box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
            assert m.sum() == box and 32 <= rows.max() - rows.min() + 1 <= 48  # a filled rectangle
    assert [c.split(":")[1] for c in p.concepts if c.startswith("shape")] == list(SHAPES)


def test_concept_set_deterministic():
    a, b = al.interpret.concept_set(n=30, seed=5), al.interpret.concept_set(n=30, seed=5)
    c = al.interpret.concept_set(n=30, seed=6)
    assert torch.equal(a.x, b.x) and torch.equal(a.masks, b.masks) and torch.equal(a.labelled, b.labelled)
    assert not torch.equal(a.x, c.x)


def test_unit_sensitivity_by_hand():
    n = 6
    model = Toy(n)
    x = torch.zeros(n, 3, S, S)
    x[:, 0] = torch.linspace(0, 0.5, n)[:, None, None]
    x_adv = x.clone()
    x_adv[:, 0] += 0.25
    s = al.interpret.unit_sensitivity(model, "features", x, x_adv)
    assert s.shape == (3,)
    assert s[0].item() == pytest.approx(0.25 / torch.linspace(0, 0.5, n).double().std().item(), rel=1e-5)
    assert s[1].item() == 0  # the noise unit does not depend on the image
    assert math.isnan(s[2].item())  # dead unit: no scale


def test_validation():
    model = al.zoo.load("cifar_resnet8")
    probe = al.interpret.concept_set(n=10)
    with pytest.raises(ValueError, match="layer 'nope'"):
        al.interpret.dissect(model, "nope", probe)
    with pytest.raises(ValueError, match="layer must be"):
        al.interpret.dissect(model, 3, probe)
    with pytest.raises(ValueError, match="N×K×h×w"):
        al.interpret.dissect(model, "fc", probe)
    for q in (0, 0.9, "0.1", True):
        with pytest.raises(ValueError, match="quantile"):
            al.interpret.dissect(model, "features.2", probe, quantile=q)
    with pytest.raises(ValueError, match="probe must be"):
        al.interpret.dissect(model, "features.2", probe.x)
    with pytest.raises(ValueError, match="cut"):
        al.interpret.dissect(model, "features.2", probe, cut=2)
    for n in (0, 5, 2.5, "100"):
        with pytest.raises(ValueError, match="n must"):
            al.interpret.concept_set(n=n)
    with pytest.raises(ValueError, match="seed"):
        al.interpret.concept_set(n=10, seed=-1)
    with pytest.raises(ValueError, match="x_adv must have the shape"):
        al.interpret.unit_sensitivity(model, "features.2", probe.x, probe.x[:5])
    with pytest.raises(ValueError, match="at least 2"):
        al.interpret.unit_sensitivity(model, "features.2", probe.x[:1], probe.x[:1])


def test_shapes_on_resnet8():
    model = al.zoo.load("cifar_resnet8")
    probe = al.interpret.concept_set(n=40, seed=1)
    model.train()
    d = al.interpret.dissect(model, "features.2", probe, batch_size=16)
    assert model.training  # the caller's mode is put back
    c = len(probe.concepts)
    assert d.iou.shape == (64, c) and d.thresholds.shape == (64,) and len(d.best) == 64
    assert d.interpretable.dtype == torch.bool and d.interpretable.shape == (64,)
    assert ((d.iou >= 0) & (d.iou <= 1)).all()
    assert d.interpretable.tolist() == [b > 0.04 for _, b in d.best]
    assert sum(d.counts().values()) == int(d.interpretable.sum())
    d1 = al.interpret.dissect(model, "features.1", probe)
    assert d1.iou.shape == (32, c)
    s = al.interpret.unit_sensitivity(model, "features.2", probe.x[:8], (probe.x[:8] + 0.03).clamp(0, 1))
    assert s.shape == (64,)
