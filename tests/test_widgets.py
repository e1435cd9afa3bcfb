"""AttackExplorer driven without a browser: set controls, read the rendered state."""
import io

import pytest
import torch

import advlab as al


@pytest.fixture
def panel(tiny_gap):
    g = torch.Generator().manual_seed(3)
    x = torch.rand(3, 3, 16, 16, generator=g)
    y = torch.tensor([0, 1, 2])
    return al.widgets.AttackExplorer(tiny_gap, x, y, classes=list("abcde"), attack="pgd",
                                     interpreter="gradcam", steps=3)


def test_initial_render(panel):
    s = panel.state
    assert s is not None and panel.message.value == ""
    assert panel.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert s.linf <= panel.eps.value + 1e-6
    assert s.probs.sum().item() == pytest.approx(1, abs=1e-5)


def test_eps_slider_changes_perturbation_and_prediction(panel, tiny_gap):
    panel.eps.value = 0
    assert panel.state.linf == 0 and panel.state.pred_adv == panel.state.pred
    png0 = panel.image.value
    panel.eps.value = 16 / 255
    s = panel.state
    assert 0 < s.linf <= 16 / 255 + 1e-6
    assert panel.eps_text.value == "16/255"
    assert panel.image.value != png0
    with torch.no_grad():
        assert s.pred_adv == int(tiny_gap(s.x_adv[None]).argmax())


@pytest.mark.parametrize("control,value", [("index", 2), ("attack", "mim"), ("steps", 5),
                                           ("interpreter", "saliency"), ("target", "4"), ("target", "e")])
def test_each_control_rerenders(panel, control, value):
    before = panel.state
    getattr(panel, control).value = value
    s = panel.state
    assert s is not before and panel.message.value == ""
    if control == "index":
        assert torch.equal(s.x, panel.images[2])
    if control == "attack":
        assert s.title.startswith("MIM")
    if control == "steps":
        assert "5 steps" in s.title
    if control == "interpreter":
        assert s.interpreter == "saliency" and not torch.equal(s.map_clean, before.map_clean)
    if control == "target":
        assert "target e" in s.title


def test_typed_eps(panel):
    panel.eps_text.value = "4/255"
    assert panel.state.eps == pytest.approx(4 / 255) and panel.message.value == ""


@pytest.mark.parametrize("control,value,word", [("target", "9", "target must be 'none', a class index in [0, 4]"),
                                                ("target", "-5", "or a class name, got '-5'"),
                                                ("eps_text", "abc", "ε must be a number or a fraction like 8/255"),
                                                ("eps_text", "0.9", "in [0/255, 32/255], got '0.9'")])
def test_bad_values_show_a_message(panel, control, value, word):
    good = panel.state
    getattr(panel, control).value = value
    assert word in panel.message.value
    assert panel.state is good  # last good picture kept
    panel.target.value = "none"
    panel.eps_text.value = "2/255"
    assert panel.message.value == ""


def test_repeated_settings_use_the_cache(panel, monkeypatch):
    panel.eps.value = 4 / 255
    panel.eps.value = 8 / 255
    calls = []
    orig = al.attacks.make
    monkeypatch.setattr(al.attacks, "make", lambda *a, **k: calls.append(a) or orig(*a, **k))
    panel.eps.value = 4 / 255
    assert calls == []


def test_static_twin_has_one_frame_per_value(panel):
    html = panel.static(panel.eps, [0, 4 / 255, 8 / 255]).data
    assert html.count("data:image/png;base64") == 3 and "<input" in html and "https:" not in html
    assert panel.eps.value == pytest.approx(8 / 255)  # control restored


def test_static_twin_refuses_bad_values(panel):
    with pytest.raises(ValueError, match="frame"):
        panel.static(panel.target, ["0", "7"])


def test_bad_constructor_arguments(tiny_gap):
    x = torch.rand(2, 3, 16, 16)
    with pytest.raises(ValueError, match="classes"):
        al.widgets.AttackExplorer(tiny_gap, x, torch.tensor([0, 1]), classes=["a"])
    with pytest.raises(ValueError, match="interpreter"):
        al.widgets.AttackExplorer(tiny_gap, x, torch.tensor([0, 1]), interpreter="lime")
    with pytest.raises(ValueError, match="images"):
        al.widgets.AttackExplorer(tiny_gap, x * 3, torch.tensor([0, 1]))
    # out of range is refused, never clamped: the same rule as every panel (test_panel_contract)
    with pytest.raises(ValueError, match=r"^eps must be .* in \[0/255, 32/255\], got 1.0$"):
        al.widgets.AttackExplorer(tiny_gap, x, torch.tensor([0, 1]), eps=1.0)
    with pytest.raises(ValueError, match=r"^eps must be .* in \[0.00, 0.50\], got '0.9'$"):
        al.widgets.AttackExplorer(al.models.GapCNN(widths=(8, "P", 16), num_classes=5, in_channels=1, mean=(0.5,), std=(0.5,)),
                                  x[:, :1], torch.tensor([0, 1]), eps="0.9")
    with pytest.raises(ValueError, match=r"^steps must be an integer in \[1, 40\], got 50$"):
        al.widgets.AttackExplorer(tiny_gap, x, torch.tensor([0, 1]), steps=50)


def test_string_eps_and_typed_target_by_name(tiny_gap):
    x = torch.rand(2, 3, 16, 16)
    panel = al.widgets.AttackExplorer(tiny_gap, x, torch.tensor([0, 1]), classes=list("abcde"), eps="4/255", steps=2)
    assert panel.eps.value == pytest.approx(4 / 255) and panel.eps_text.value == "4/255"
    panel.target.value = " c "
    assert panel.state.title.endswith("target c") and panel.message.value == ""
    panel.target.value = "-1"
    assert "target" not in panel.state.title


def test_nan_eps_and_html_in_messages(panel):
    good = panel.image.value
    panel.eps.value = float("nan")          # raised from round(nan) in the ε label before
    assert "got nan" in panel.message.value and panel.image.value == good and panel.eps_text.value == "nan"
    panel.eps_text.value = "<b>x</b>"
    assert "&lt;b&gt;x&lt;/b&gt;" in panel.message.value and "<b>" not in panel.message.value
    panel.eps_text.value = "3/255"
    assert panel.message.value == "" and panel.state.eps == pytest.approx(3 / 255)


def test_show_decides_by_context(panel, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(type(obj).__name__))
    monkeypatch.delenv("ADVLAB_BOOK", raising=False)
    al.widgets.show(panel, panel.eps, [0, 2 / 255])
    assert shown == ["VBox"]
    shown.clear()
    monkeypatch.setenv("ADVLAB_BOOK", "1")
    al.widgets.show(panel, panel.eps, [0, 2 / 255])
    assert shown == ["HTML", "Accordion"]


def test_one_slider_move_renders_once(panel, monkeypatch):
    calls = []
    orig = panel.compute
    monkeypatch.setattr(panel, "compute", lambda **p: calls.append(p) or orig(**p))
    panel.eps.value = 5 / 255
    assert len(calls) == 1 and panel.eps_text.value == "5/255"
    panel.eps_text.value = "6/255"
    assert len(calls) == 2 and panel.eps.value == pytest.approx(6 / 255)


def test_panel_keeps_the_callers_model_mode(tiny_gap):
    model = tiny_gap.train()
    panel = al.widgets.AttackExplorer(model, torch.rand(2, 3, 16, 16), torch.tensor([0, 1]), steps=2)
    panel.eps.value = 4 / 255
    assert model.training and all(m.training for m in model.modules())
    with torch.no_grad():
        assert torch.allclose(panel.state.probs, model.eval()(panel.state.x[None]).softmax(1)[0], atol=1e-6)


def test_typed_eps_snaps_to_the_slider_and_bad_text_goes_back_to_the_picture(panel, monkeypatch):
    calls = []
    orig = panel.compute
    monkeypatch.setattr(panel, "compute", lambda **p: calls.append(p) or orig(**p))
    panel.eps_text.value = "0.03"            # between 7/255 and 8/255: the slider's grid is 1/255
    assert len(calls) == 1 and panel.eps.value == pytest.approx(8 / 255) and panel.eps_text.value == "8/255"
    panel.eps_text.value = "abc"
    assert "abc" in panel.message.value and panel.eps_text.value == "8/255" and len(calls) == 1
    assert al.widgets.controls.snap_eps(0.333, rgb=False) == 0.33 and al.widgets.controls.snap_eps(0.3, False) == 0.3


def test_pictures_are_shown_at_the_size_they_are_drawn(monkeypatch):
    from PIL import Image
    panel = al.widgets.AttackExplorer.example()
    width = Image.open(io.BytesIO(panel.image.value)).size[0]
    assert panel.image.layout.width == f"{width}px" and panel.image.layout.max_width == "100%"
    monkeypatch.setenv("ADVLAB_PIXEL_RATIO", "2")   # a high-density screen: twice the pixels, same CSS size
    sharp = al.widgets.AttackExplorer.example()
    assert Image.open(io.BytesIO(sharp.image.value)).size[0] == 2 * width
    assert sharp.image.layout.width == f"{width}px"
    monkeypatch.setenv("ADVLAB_PIXEL_RATIO", "abc")
    assert al.widgets.base.pixel_ratio() == 1.0
