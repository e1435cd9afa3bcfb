"""MapComparison driven without a browser: one attack on several models, their own maps."""
import io

import numpy as np
import pytest
import torch
from PIL import Image

import advlab as al


@pytest.fixture
def images():
    g = torch.Generator().manual_seed(3)
    return torch.rand(3, 3, 16, 16, generator=g), torch.tensor([0, 1, 2])


@pytest.fixture
def panel(tiny_gap, tiny_attention, tiny_proto, images):
    x, y = images
    models = {"CNN": tiny_gap, "attention": tiny_attention, "ProtoPNet": tiny_proto}
    return al.widgets.MapComparison(models, x, y, classes=list("abcde"), attack="pgd", eps=4 / 255, steps=3)


def test_each_model_is_attacked_and_explained_with_its_own_map(panel, images):
    x, y = images
    s = panel.state
    assert panel.message.value == "" and panel.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert [panel.map_name(n) for n in s.views] == ["gradcam", "attention", "prototype"]
    for name, v in s.views.items():
        m = panel.nets[name]  # the panel computes with batch norm folded: the same function
        with torch.no_grad():
            assert torch.allclose(m(x), panel.models[name](x), atol=1e-4)
        ref = al.attacks.make("pgd", m, eps=4 / 255, steps=3)(x[:1], y[:1])
        assert torch.equal(v.x_adv, ref[0])                       # white-box on this model
        assert (v.x_adv - x[0]).abs().max() <= 4 / 255 + 1e-6
        with torch.no_grad():
            assert v.pred_adv == int(m(v.x_adv[None]).argmax())
        how = panel.map_name(name)
        expect = al.interpret.normalize(al.interpret.make(how, m)(v.x_adv[None], v.pred_adv))[0]
        assert torch.allclose(v.map_adv, expect, atol=1e-6)
    proto = s.views["ProtoPNet"]
    assert proto.prototype is not None and proto.prototype.shape == (3, 16, 16)
    assert s.views["CNN"].prototype is None


def test_eps_slider_and_cnn_map_rerender(panel, monkeypatch):
    before = panel.image.value
    panel.eps.value = 12 / 255
    assert panel.state.title.startswith("PGD ε=12/255") and panel.image.value != before
    assert all((v.x_adv - panel.state.x).abs().max() <= 12 / 255 + 1e-6 for v in panel.state.views.values())
    panel.cnn_map.value = "scorecam"
    assert panel.map_name("CNN") == "scorecam" and panel.map_name("attention") == "attention"
    panel.eps.value = 0.0
    for v in panel.state.views.values():
        assert torch.equal(v.x_adv, panel.state.x) and torch.allclose(v.map_adv, v.map_clean)


def test_cache_avoids_recomputing_attacks(panel, monkeypatch):
    panel.eps.value = 6 / 255
    panel.eps.value = 4 / 255
    calls = []
    orig = al.attacks.make
    monkeypatch.setattr(al.attacks, "make", lambda *a, **k: calls.append(a) or orig(*a, **k))
    panel.eps.value = 6 / 255
    assert calls == []


def test_bad_values_show_a_message(panel):
    good = panel.image.value
    panel.use_upload.value = True
    assert "no image uploaded" in panel.message.value and panel.image.value == good
    panel.use_upload.value = False
    panel.set_image(b"not an image")
    assert "could not be read" in panel.message.value


def test_your_own_image_is_attacked_on_its_prediction(panel):
    buf = io.BytesIO()
    Image.fromarray((np.random.default_rng(1).random((24, 30, 3)) * 255).astype(np.uint8)).save(buf, format="png")
    panel.set_image(buf.getvalue())
    s = panel.state
    assert s.source == "your image" and s.label is None and s.x.shape == (3, 16, 16)
    for v in s.views.values():
        assert (v.x_adv - s.x).abs().max() <= panel.eps.value + 1e-6


def test_static_twin(panel):
    html = panel.static(panel.eps, [0, 4 / 255, 8 / 255]).data
    assert html.count("data:image/png;base64") == 3 and "https:" not in html


def test_bad_constructor_arguments(tiny_gap, images):
    x, y = images
    with pytest.raises(ValueError, match="models"):
        al.widgets.MapComparison({}, x, y)
    with pytest.raises(ValueError, match="cnn_map"):
        al.widgets.MapComparison({"a": tiny_gap}, x, y, cnn_map="lime")
    with pytest.raises(ValueError, match=r"eps must be .* in \[0/255, 32/255\], got 0.5"):
        al.widgets.MapComparison({"a": tiny_gap}, x, y, eps=0.5)
    with pytest.raises(ValueError, match="attack"):
        al.widgets.MapComparison({"a": tiny_gap}, x, y, attack="cw")


def test_partial_redraw_matches_a_full_redraw(panel):
    # png() redraws only the artists whose content changed; the picture must be the same as
    # drawing everything afresh, after every kind of change
    def pixels(png):
        return np.asarray(Image.open(io.BytesIO(png)))
    # (ε 9 → 2 → 9: the second 9 pastes its titles from the panel's text sprites)
    for control, value in [("eps", 9 / 255), ("eps", 2 / 255), ("eps", 9 / 255), ("index", 2), ("cnn_map", "cam"),
                           ("steps", 1)]:
        getattr(panel, control).value = value
        shown = pixels(panel.image.value)
        fresh = al.widgets.Renderer(panel.fig, panel.dynamic)   # a full draw of the same state, from scratch
        assert np.array_equal(shown, pixels(fresh.png())), control
    assert len(panel.renderer.sprites) > 0  # and the panel's renderer goes on with its own caches


def test_lines_edges_and_nodes_are_redrawn_only_when_they_change():
    """Lines, a graph's edges (LineCollection) and nodes (scatter) carry a signature: a change of any
    one property (points, widths, styles, colours, sizes) redraws them, pixel-identical to a full
    redraw; a frame that changes nothing else leaves another axes' artists as they were."""
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    def pixels(png):
        return np.asarray(Image.open(io.BytesIO(png)))
    fig = Figure(figsize=(4, 2), dpi=50)
    a, b = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for ax in (a, b):
        ax.set_xlim(0, 3), ax.set_ylim(0, 3)
    line, = a.plot([0, 1, 2], [0, 2, 1])
    edges = LineCollection([[(0, 0), (1, 1)], [(1, 1), (2, 0)]], linewidths=[1, 2])
    b.add_collection(edges)
    nodes = b.scatter([0, 1, 2], [0, 1, 0], s=[20, 20, 20], c=["red", "blue", "green"])
    r = al.widgets.Renderer(fig, [line, edges, nodes])
    r.png()
    changes = [lambda: line.set_ydata([1, 1, 1]), lambda: line.set_linestyle("--"), lambda: line.set_color("k"),
               lambda: edges.set_segments([[(0, 0), (2, 2)], [(1, 1), (2, 0)]]), lambda: edges.set_linewidths([3, 1]),
               lambda: edges.set_linestyles(["-", "--"]), lambda: nodes.set_offsets([[1, 1], [2, 2], [0, 2]]),
               lambda: nodes.set_sizes([60, 10, 30]), lambda: nodes.set_facecolors(["k", "k", "y"])]
    for change in changes:
        change()
        shown = pixels(r.png())
        assert np.array_equal(shown, pixels(al.widgets.Renderer(fig, [line, edges, nodes]).png()))
    drawn = []
    original = r._draw
    r._draw = lambda art, now, buf: drawn.append(art) or original(art, now, buf)
    line.set_ydata([2, 0, 2])
    r.png()
    assert drawn == [line]
