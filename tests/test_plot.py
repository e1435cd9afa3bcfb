"""Every plot helper on tiny inputs: figures are legible where the book shows them (every text
at least 8 pt once the figure is scaled to the content column) and no title runs into an image."""
import matplotlib
import numpy as np
import pytest
import torch

import advlab as al

matplotlib.use("Agg")
import matplotlib.pyplot as plt


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _x(n=8, c=3, s=16):
    return torch.rand(n, c, s, s, generator=torch.Generator().manual_seed(0))


def _maps(n=8, s=16):
    return torch.rand(n, s, s, generator=torch.Generator().manual_seed(1))


def _rates(levels, models):
    return {lv: {m: al.report.rate(i + 3, 10) for i, m in enumerate(models)} for lv in levels}


SIX = ["standard", "underfit", "FGSM 8", "PGD-L∞ 2", "PGD-L∞ 8", "PGD-L2 0.5"]
FIGURES = {
    "show_images, two rows of six": lambda: al.plot.show_images(
        list(_x(12)), titles=[f"clean: {i}" for i in range(6)] + [f"FGSM ε=0.2: {i}" for i in range(6)], ncols=6,
        suptitle="MNIST, standard CNN"),
    "show_images, grey, seven": lambda: al.plot.show_images(list(_x(7, c=1)), titles=["saturate\np=256"] * 7),
    "map_grid": lambda: al.plot.map_grid(_x(), {k: _maps() for k in SIX[:4]}, titles=["automobile"] * 8),
    "map_pairs": lambda: al.plot.map_pairs(_x(4), _x(4), {k: (_maps(4), _maps(4)) for k in ("cam", "gradcam++")},
                                           titles=al.plot.pair_titles([1] * 4, [9] * 4, al.data.CLASSES["cifar10"])),
    "transform_curves": lambda: al.plot.transform_curves(
        {t: _rates((1, 2, 4, 8), SIX) for t in ("saturate", "stylize", "patch_shuffle")}, {"saturate": "p"},
        title="accuracy vs transform strength"),
    "accuracy_curves": lambda: al.plot.accuracy_curves(
        [0, 0.1, 0.2], {("standard", "fgsm"): [0.9, 0.5, 0.1], ("adv. trained", "pgd"): [al.report.rate(9, 10)] * 3}),
    "loss_curves": lambda: al.plot.loss_curves(np.linspace(-0.3, 0.3, 5), np.random.rand(5, 5, 2)),
    "prototypes": lambda: al.plot.prototypes(
        al.models.ProtoPNet(width=4, prototypes_per_class=2, proto_dim=8, num_classes=5, image_size=16).eval(),
        _x(1)[0], al.data.CLASSES["cifar10"], title="clean: predicted automobile"),
}


@pytest.mark.parametrize("name", FIGURES)
def test_every_text_is_legible_at_the_books_width(name):
    fig = FIGURES[name]()
    assert al.plot.smallest_text_pt(fig) >= al.plot.MIN_PT
    assert al.plot.shown_width(fig) <= al.plot.COLUMN_IN + 1e-6


@pytest.mark.parametrize("name", FIGURES)
def test_no_title_or_label_runs_into_another_image(name):
    assert al.plot.overlaps(FIGURES[name]()) == []


def test_the_checks_catch_small_and_crowded_text():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.set_title("six points", fontsize=6)
    assert al.plot.smallest_text_pt(fig) == pytest.approx(6)
    wide, ax = plt.subplots(figsize=(15, 3))
    ax.set_title("ten points, halved", fontsize=10)
    ax.tick_params(labelsize=10)
    assert al.plot.smallest_text_pt(wide) == pytest.approx(10 * 7.5 / al.plot.shown_width(wide))
    crowded, (_, a2) = plt.subplots(2, 1, figsize=(3, 2))
    a2.set_title("a title much too tall\nfor the space\nabove it", fontsize=12)
    assert al.plot.overlaps(crowded)


def test_image_helpers():
    img = _x(1)[0]
    assert al.plot.to_hwc(img).shape == (16, 16, 3) and al.plot.to_hwc(img[:1]).shape == (16, 16)
    assert al.plot.image_kwargs(img[:1])["cmap"] == "gray" and al.plot.image_kwargs(img) == {}
    shown, scale = al.plot.amplify(torch.full((3, 4, 4), 0.01))
    assert scale == pytest.approx(50) and np.allclose(shown, 1.0)
    with pytest.raises(ValueError, match="C×H×W"):
        al.plot.to_hwc(_x(2))
    assert al.plot.pair_titles([0], [1], ["cat", "dog"], attacked="PGD") == ["clean\ncat", "PGD\ndog"]
