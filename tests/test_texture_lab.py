"""TextureLab driven without a browser: set controls, read the rendered state."""
import datetime
import io

import numpy as np
import pytest
import torch
from PIL import Image

import advlab as al
from advlab import transforms


@pytest.fixture
def models(tiny_gap):
    torch.manual_seed(5)
    other = al.models.GapCNN(widths=(8, "P", 16), num_classes=5).eval()
    return {"standard": tiny_gap, "robust": other}


@pytest.fixture
def images():
    g = torch.Generator().manual_seed(3)
    return torch.rand(3, 3, 16, 16, generator=g), torch.tensor([0, 1, 2])


@pytest.fixture
def lab(models, images):
    x, y = images
    stylized = {0.5: torch.full_like(x, 0.25)}   # a recognisable stand-in for a precomputed set
    return al.widgets.TextureLab(models, x, y, classes=list("abcde"), stylized=stylized, n_samples=4)


def _probs(model, x):
    with torch.no_grad():
        return model(x).softmax(1)[0]


def test_initial_render_is_the_identity(lab, models):
    s = lab.state
    assert lab.message.value == "" and lab.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert s.transform == "saturate" and s.level == 2 and torch.allclose(s.x_t, s.x, atol=1e-6)
    for name, m in models.items():
        assert torch.allclose(s.probs[name], _probs(m, s.x[None]), atol=1e-6)
        assert s.maps[name].shape == (16, 16) and 0 <= s.maps[name].min() and s.maps[name].max() <= 1


def test_level_slider_applies_the_transform(lab, models):
    lab.level.value = 64
    s = lab.state
    assert torch.allclose(s.x_t, transforms.saturate(s.x[None], 64)[0])
    for name, m in models.items():
        assert torch.allclose(s.probs_t[name], _probs(m, s.x_t[None]), atol=1e-6)
        assert s.pred(name) == int(s.probs_t[name].argmax())
    before = lab.image.value
    lab.index.value = 2
    assert lab.state.source == "image 2" and lab.state.label == 2 and lab.image.value != before


def test_changing_transform_resets_the_level_and_renders_once(lab, monkeypatch):
    lab.level.value = 16
    calls = []
    orig = lab.compute
    monkeypatch.setattr(lab, "compute", lambda **p: calls.append(p) or orig(**p))
    lab.transform.value = "patch_shuffle"
    assert len(calls) == 1 and lab.level.value == 1 and lab.level.description == "k"
    assert torch.equal(lab.state.x_t, lab.state.x)
    lab.level.value = 4
    expected = transforms.patch_shuffle(lab.state.x[None], 4, seed=lab.seed + lab.index.value)[0]
    assert torch.equal(lab.state.x_t, expected)


def test_precomputed_stylisations_are_used_and_others_computed(lab, monkeypatch):
    lab.transform.value = "stylize"
    lab.level.value = 0.5
    assert torch.equal(lab.state.x_t, torch.full((3, 16, 16), 0.25))
    calls = []
    monkeypatch.setattr(al.stylize, "stylize", lambda x, style, strength, seed: calls.append(strength) or x.flip(-1))
    lab.level.value = 0.25
    assert calls == [0.25] and torch.equal(lab.state.x_t, lab.state.x.flip(-1))
    lab.level.value = 0.5
    lab.level.value = 0.25   # cached: not recomputed
    assert calls == [0.25]


def test_your_own_image(lab):
    photo = (np.random.default_rng(0).random((40, 60, 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, format="png")
    lab.set_image(buf.getvalue())
    s = lab.state
    assert lab.use_upload.value and s.source == "your image" and s.label is None and s.x.shape == (3, 16, 16)
    lab.level.value = 8
    assert torch.allclose(lab.state.x_t, transforms.saturate(s.x[None], 8)[0])
    good = lab.image.value
    lab.set_image(b"not a picture")
    assert "could not be read" in lab.message.value and lab.image.value == good


def test_upload_widget_feeds_set_image(lab):
    buf = io.BytesIO()
    Image.new("RGB", (20, 20), (255, 0, 0)).save(buf, format="png")
    lab.upload.value = ({"name": "red.png", "type": "image/png", "size": len(buf.getvalue()),
                         "content": memoryview(buf.getvalue()),
                         "last_modified": datetime.datetime(2026, 1, 1)},)
    assert lab.state.source == "your image"
    assert torch.allclose(lab.state.x[0], torch.ones(16, 16), atol=1e-3) and lab.state.x[1:].abs().max() < 1e-3


def test_use_upload_without_an_image_shows_a_message(lab):
    lab.use_upload.value = True
    assert "no image uploaded" in lab.message.value and lab.state.source == "image 0"


def test_static_twin_has_one_frame_per_level(lab):
    lab.transform.value = "patch_shuffle"
    html = lab.static(lab.level, [1, 2, 4, 8]).data
    assert html.count("data:image/png;base64") == 4 and "https:" not in html
    assert lab.level.value == 1


def test_keeps_the_callers_model_mode(images, tiny_gap):
    x, y = images
    model = tiny_gap.train()
    lab = al.widgets.TextureLab({"m": model}, x, y, n_samples=2)
    lab.level.value = 4
    assert model.training and all(m.training for m in model.modules())


def test_bad_constructor_arguments(models, images):
    x, y = images
    with pytest.raises(ValueError, match="models"):
        al.widgets.TextureLab([models["standard"]], x, y)
    with pytest.raises(ValueError, match="transform"):
        al.widgets.TextureLab(models, x, y, transform="blur")
    with pytest.raises(ValueError, match="stylized"):
        al.widgets.TextureLab(models, x, y, stylized={0.5: x[:1]})
    with pytest.raises(ValueError, match="RGB"):
        al.widgets.TextureLab(models, x[:, :1], y)
    with pytest.raises(ValueError, match="labels"):
        al.widgets.TextureLab(models, x, torch.tensor([0, 1, 9]))
