import pytest
import torch

import advlab as al
from advlab import transforms


@pytest.fixture
def x():
    return torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(0))


def test_saturation_identity_range_and_limit(x):
    assert torch.allclose(transforms.saturate(x, 2), x, atol=1e-6)
    for p in (4, 8, 64, 1024):
        s = transforms.saturate(x, p)
        assert s.shape == x.shape and s.min() >= 0 and s.max() <= 1
    near_binary = transforms.saturate(x, 1e4)
    assert ((near_binary < 0.05) | (near_binary > 0.95)).float().mean() > 0.99
    # monotone per pixel: ordering of pixels is kept, contrast grows with p
    a, b = transforms.saturate(x, 4), transforms.saturate(x, 16)
    assert ((b - 0.5).abs() >= (a - 0.5).abs() - 1e-6).all()
    assert transforms.saturate(torch.tensor([[[[0.25, 0.5, 0.75]]]]), 4).flatten().tolist() == pytest.approx(
        [(1 - 0.5 ** 0.5) / 2, 0.5, (1 + 0.5 ** 0.5) / 2])


def test_patch_shuffle_identity_determinism_and_content(x):
    assert torch.equal(transforms.patch_shuffle(x, 1), x)
    for k in (2, 4, 8):
        s = transforms.patch_shuffle(x, k, seed=1)
        assert s.shape == x.shape
        assert torch.equal(s, transforms.patch_shuffle(x, k, seed=1))
        assert not torch.equal(s, x)
        # the same patches, only moved: the multiset of patch sums is unchanged per image
        def sums(t):
            p = t.reshape(3, 3, k, 32 // k, k, 32 // k).sum(dim=(1, 3, 5)).flatten(1)
            return p.sort(1).values
        assert torch.allclose(sums(s), sums(x), atol=1e-4)
    assert not torch.equal(transforms.patch_shuffle(x, 4, seed=1), transforms.patch_shuffle(x, 4, seed=2))


@pytest.mark.parametrize("call,word", [
    (lambda x: transforms.saturate(x, 1), "p"), (lambda x: transforms.saturate(x, float("nan")), "p"),
    (lambda x: transforms.patch_shuffle(x, 3), "divide"), (lambda x: transforms.patch_shuffle(x, 0), "k"),
    (lambda x: transforms.patch_shuffle(x[0], 2), "N×C×H×W"), (lambda x: transforms.saturate(x * 2, 4), r"\[0, 1\]"),
])
def test_bad_input(call, word, x):
    with pytest.raises(ValueError, match=word):
        call(x)


def test_exported():
    assert al.transforms.saturate is transforms.saturate


def test_patch_shuffle_moves_whole_patches():
    # 4×4 grid of constant patches with distinct values: after shuffling each patch is still constant
    k, size = 4, 16
    vals = torch.arange(k * k, dtype=torch.float32) / (k * k)
    img = vals.view(k, k).repeat_interleave(size // k, 0).repeat_interleave(size // k, 1)[None, None]
    s = transforms.patch_shuffle(img, k, seed=3)[0, 0]
    blocks = s.reshape(k, size // k, k, size // k).permute(0, 2, 1, 3).reshape(k * k, -1)
    assert (blocks.max(1).values == blocks.min(1).values).all()
    assert sorted(blocks[:, 0].tolist()) == vals.tolist()


@pytest.mark.parametrize("name", sorted(transforms.TRANSFORMS))
def test_registry_contract_identity_level_shapes_ranges(name):
    fn, param, levels = transforms.TRANSFORMS[name]
    x = al.data.subset("cifar10", 2).x
    assert torch.allclose(transforms.apply(name, x, levels[0]), x, atol=1e-6)
    strongest = transforms.apply(name, x, levels[-1], seed=1)
    assert strongest.shape == x.shape and strongest.min() >= 0 and strongest.max() <= 1
    assert (strongest - x).abs().mean() > 0.02
    if name != "stylize":  # stylize's determinism is tested in test_stylize (it is slow)
        assert torch.equal(transforms.apply(name, x, levels[-1], seed=1), strongest)
    with pytest.raises(ValueError, match="x must"):
        transforms.apply(name, x * 2, levels[-1])


def test_apply_unknown_transform():
    with pytest.raises(ValueError, match="transform"):
        transforms.apply("blur", torch.rand(1, 3, 8, 8), 1)
