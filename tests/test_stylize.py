"""Neural style transfer (Gatys et al.) on the features of a robust CIFAR CNN of the zoo."""
import pytest
import torch

import advlab as al
from advlab import stylize as S


@pytest.fixture(scope="module")
def x():
    return al.data.subset("cifar10", 4).x


def _style_loss(y, style):
    model = S._extractor("cpu")
    acts = S._activations(model, y)
    target = S._style_grams(style, "cpu")
    return sum(((S.gram(acts[i]) - target[i]).pow(2).mean(dim=(1, 2)) / target[i].pow(2).mean())
               for i in S.STYLE_LAYERS)


def test_zero_strength_is_identity_and_output_is_valid(x):
    assert torch.equal(S.stylize(x, "brick", strength=0.0), x)
    y = S.stylize(x, "brick", strength=0.5, steps=10)
    assert y.shape == x.shape and y.dtype == x.dtype and y.min() >= 0 and y.max() <= 1
    assert not y.requires_grad


def test_stylisation_moves_the_texture_statistics_toward_the_style(x):
    y = S.stylize(x, "gravel", strength=0.75, steps=20)
    before, after = _style_loss(x, "gravel"), _style_loss(y, "gravel")
    assert (after < 0.7 * before).all(), (before, after)
    # stronger style, further from the image
    weak = S.stylize(x, "gravel", strength=0.25, steps=20)
    assert (weak - x).abs().mean() < (y - x).abs().mean()


def test_deterministic_and_random_styles_are_seeded(x):
    a = S.stylize(x, "random", strength=0.5, steps=5, seed=3)
    b = S.stylize(x, "random", strength=0.5, steps=5, seed=3)
    assert torch.equal(a, b)
    # "random" with a seed is the per-image mix of the named styles
    gen = torch.Generator().manual_seed(3)
    styles = [S.STYLES[i] for i in torch.randint(len(S.STYLES), (len(x),), generator=gen).tolist()]
    for i, st in enumerate(styles):
        one = S.stylize(x[i:i + 1], st, strength=0.5, steps=5)
        assert (one - a[i:i + 1]).abs().mean() < 1e-4   # batch and single image agree (float noise only)


def test_textures_come_from_scikit_image():
    t = S.texture("brick", size=48)
    assert t.shape == (1, 3, 48, 48) and 0 <= t.min() and t.max() <= 1 and t.std() > 0.02


@pytest.mark.parametrize("kwargs, match", [
    (dict(style="marble"), "style"), (dict(strength=1.5), "strength"), (dict(strength=-0.1), "strength"),
    (dict(strength=float("nan")), "strength"), (dict(steps=0), "steps"),
])
def test_bad_arguments(x, kwargs, match):
    with pytest.raises(ValueError, match=match):
        S.stylize(x, **{"style": "brick", **kwargs})


def test_grey_images_are_refused():
    with pytest.raises(ValueError, match="3 colour channels"):
        S.stylize(torch.rand(1, 1, 32, 32), "brick", 0.5)


def test_a_list_of_styles_is_one_per_image(x):
    styles = ["brick", "hubble_deep_field", "grass", "immunohistochemistry"]
    both = S.stylize(x, styles, strength=0.5, steps=5)
    for i, st in enumerate(styles):
        assert (S.stylize(x[i:i + 1], st, strength=0.5, steps=5) - both[i:i + 1]).abs().mean() < 1e-4
    with pytest.raises(ValueError, match=r"one style per image \(4\), got 2"):
        S.stylize(x, ["brick", "grass"], strength=0.5)
    with pytest.raises(ValueError, match="style"):
        S.stylize(x, ["brick", "grass", "grass", "marble"], strength=0.5)


def test_the_feature_model_is_a_choice_and_changes_the_result(x):
    robust = S.stylize(x, "brick", strength=0.75, steps=10)
    standard = S.stylize(x, "brick", strength=0.75, steps=10, feature_model="cifar_gap_cnn")
    assert (robust - standard).abs().mean() > 1 / 255
    with pytest.raises(ValueError, match="feature_model"):
        S.stylize(x, "brick", feature_model="cifar_resnet8")


def test_the_colour_textures_have_colour_and_keep_their_aspect():
    for name in ("immunohistochemistry", "hubble_deep_field"):
        t = S.texture(name, size=32)[0]
        assert t.shape == (3, 32, 32) and (t.amax(0) - t.amin(0)).amax() > 0.1   # some pixels are coloured
    for name in ("brick", "grass", "gravel"):
        t = S.texture(name, size=32)[0]
        assert torch.equal(t[0], t[1]) and torch.equal(t[1], t[2])


def test_the_stylised_set_is_a_stratified_random_sample_stored_as_made():
    info = S.subset_info()
    assert info["feature_model"] == S.FEATURE_MODEL and info["steps"] == 60 and info["seed"] == 0
    xo, yo = S.originals()
    assert len(yo) == 10 * S.SUBSET_PER_CLASS and torch.bincount(yo, minlength=10).tolist() == [S.SUBSET_PER_CLASS] * 10
    assert len(set(yo[:20].tolist())) >= 5      # stored in a random order, not class by class
    assert torch.equal(S.subset(0.0, 4), xo[:4])
    for s in S.SUBSET_STRENGTHS:
        xs = S.subset(s, 4)
        assert xs.shape == (4, 3, 32, 32) and 0 <= xs.min() and xs.max() <= 1
    gen = torch.Generator().manual_seed(0)
    assert S.subset_styles() == [S.STYLES[i] for i in torch.randint(len(S.STYLES), (len(yo),), generator=gen).tolist()]
    # the stored images are what stylize() gives (each image is optimised on its own loss)
    again = S.stylize(xo[:4], S.subset_styles(4), strength=0.5, steps=60)
    assert (again - S.subset(0.5, 4)).abs().mean() < 2 / 255
    with pytest.raises(ValueError, match="strength=0.3 was not precomputed"):
        S.subset(0.3)
    with pytest.raises(ValueError, match="n"):
        S.originals(10_000)
