"""The InterpretationDiscrepancy panel (chapter 4) beyond the contract every panel meets
(tests/test_panel_contract.py, tests/test_widget_fuzz.py): the numbers it shows are D and
Proposition 1's bound recomputed by ``advlab.interpret.discrepancy``, on the chapter's zoo models."""
import re

import pytest
import torch

import advlab as al
from advlab.interpret import discrepancy as D
from advlab.widgets import discrepancy as P

NUMBER = r"(-?\d+\.\d+)"


@pytest.fixture(scope="module")
def panel():
    return al.widgets.InterpretationDiscrepancy.from_zoo(names=["Normal", "Int2-Adv"], n_images=4, eps=0.3)


def _shown(panel):
    """D and the bound as the picture writes them (and as the state's line says)."""
    m = re.search(rf"D\(x, x′\) = {NUMBER}\s+bound ½\(f_y\(x\) − f_y′\(x\)\) = {NUMBER}", panel.state.line)
    assert m, panel.state.line
    drawn = float(panel.d_text.get_text()), float(panel.bound_text.get_text())
    assert drawn == (float(m.group(1)), float(m.group(2)))
    return drawn


def _recomputed(panel):
    s = panel.state
    with torch.no_grad():
        logits, maps = D.class_maps(panel.models[s.model], torch.stack([s.x, s.x_adv]))
    y, ya = torch.tensor([s.y]), torch.tensor([s.y_adv])
    return float(D.discrepancy(maps[:1], maps[1:], y, ya)[0]), float(D.margin_bound(logits[:1], y, ya)[0])


def test_shown_d_and_bound_are_those_of_advlab_interpret_discrepancy(panel):
    for model, index, eps in (("Normal", 0, 0.3), ("Normal", 2, 0.15), ("Int2-Adv", 1, 0.4)):
        with panel.one_render():
            panel.model.value, panel.index.value, panel.eps.value = model, index, eps
        s = panel.state
        assert panel.message.value == "" and s.model == model and s.eps == pytest.approx(eps)
        assert float((s.x_adv - s.x).abs().max()) <= eps + 1e-6 and 0 <= float(s.x_adv.min()) <= float(s.x_adv.max()) <= 1
        d, bound = _recomputed(panel)
        assert s.d == pytest.approx(d, abs=1e-4) and s.bound == pytest.approx(bound, abs=1e-4)
        assert _shown(panel) == pytest.approx((d, bound), abs=6e-5)
        assert s.y == int(panel.labels[index]) and panel.state.cam.shape == (4, 28, 28) == panel.state.ig.shape


def test_bound_holds_whenever_the_attack_succeeds(panel):
    panel.model.value = "Normal"
    succeeded = 0
    for index in range(len(panel.images)):
        for eps in (0.2, 0.3, 0.4):
            with panel.one_render():
                panel.index.value, panel.eps.value = index, eps
            s = panel.state
            assert s.success == (s.pred_adv != s.y)
            if s.success:
                succeeded += 1
                assert s.y_adv == s.pred_adv and s.holds and s.d >= s.bound
                assert panel.verdict.get_text() == "D ≥ bound: yes, as Proposition 1 guarantees"
                assert f"→ {s.pred_adv}" in s.title
    assert succeeded >= 6   # the normally trained model is fooled at these ε


def test_failed_attack_compares_with_the_runner_up(panel):
    with panel.one_render():
        panel.model.value, panel.index.value, panel.eps.value = "Int2-Adv", 0, 0.05
    s = panel.state
    assert not s.success and s.pred_adv == s.y   # the robust model resists ε = 0.05 on this digit
    with torch.no_grad():
        top2 = panel.models["Int2-Adv"](s.x_adv[None])[0].topk(2).indices.tolist()
    assert s.y_adv == top2[1] and f"failed, y′ = runner-up {s.y_adv}" in s.title
    assert "(not guaranteed: attack failed)" in panel.verdict.get_text() and s.verdict in s.line


def test_eps_zero_is_no_attack_and_no_discrepancy(panel):
    with panel.one_render():
        panel.model.value, panel.index.value, panel.eps.value = "Normal", 3, 0.0
    s = panel.state
    assert torch.equal(s.x_adv, s.x) and s.d == 0 and _shown(panel)[0] == 0
    assert "no attack (ε = 0)" in panel.attack_text.get_text() and "D = 0" in panel.verdict.get_text()
    assert torch.equal(s.cam[0], s.cam[1]) and torch.equal(s.ig[0], s.ig[1]) and torch.equal(s.ig[2], s.ig[3])


def test_changing_the_model_recomputes(panel, monkeypatch):
    with panel.one_render():
        panel.model.value, panel.index.value, panel.eps.value = "Normal", 1, 0.25
    before = panel.state
    made = []
    real = al.attacks.PGD
    monkeypatch.setattr(al.attacks, "PGD", lambda model, **kw: made.append(model) or real(model, **kw))
    panel._cache.clear()
    panel.model.value = "Int2-Adv"
    s = panel.state
    assert made == [panel.nets["Int2-Adv"]] and s.model == "Int2-Adv" and s is not before
    assert not torch.allclose(s.probs, before.probs) and s.d != before.d
    assert s.title.startswith("Int2-Adv: image 1") and panel.head.get_text() == "Int2-Adv: image 1, true 2"


def test_cached_eps_moves_only_redraw(panel, monkeypatch):
    with panel.one_render():
        panel.model.value, panel.index.value, panel.eps.value = "Normal", 2, 0.0
    panel.precompute()
    monkeypatch.setattr(al.attacks, "PGD", lambda *a, **k: pytest.fail("an attack ran after precompute"))
    monkeypatch.setattr(al.interpret, "IntegratedGradients", lambda *a, **k: pytest.fail("IG ran after precompute"))
    for eps in (*P.EPS_VALUES, 0.1):
        panel.eps.value = eps
        assert panel.message.value == "" and panel.state.eps == pytest.approx(eps)


def test_bad_eps_text_shows_a_message_and_keeps_the_picture(panel):
    panel.eps.value = 0.3
    before = panel.image.value, panel.state
    for bad in ("0.5", "-0.1", "abc", "<b>1</b>"):
        panel.eps_text.value = bad
        assert "ε must be a number or a fraction like 8/255 in [0.00, 0.40]" in panel.message.value
        assert "<b>" not in panel.message.value
        assert panel.image.value == before[0] and panel.state is before[1]
    panel.eps_text.value = "0.35"
    assert panel.message.value == "" and panel.state.eps == pytest.approx(0.35)


def test_legible_at_the_books_column_and_a_static_twin(panel):
    assert panel.fig.get_figwidth() <= 7.2
    with panel.renderer.full_redraws():   # the dynamic titles drawn too
        assert al.plot.smallest_text_pt(panel.fig, column_in=7.2) >= 6.5
        assert al.plot.overlaps(panel.fig) == []
    html = panel.static(panel.eps, [0.0, 0.2]).data
    assert html.count("data:image/png;base64") == 2 and "font-awesome" not in html


def test_constructor_refuses_models_without_a_cam_head():
    x, y, classes = al.widgets.examples.tiny_images()
    flat = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 16 * 16, 5))
    with pytest.raises(ValueError, match="CAM-ready"):
        al.widgets.InterpretationDiscrepancy({"flat": flat}, x, y, classes=classes)
    with pytest.raises(ValueError, match="unknown model 'nonsense'"):
        al.widgets.InterpretationDiscrepancy.from_zoo(names=["nonsense"])


def test_your_image_is_compared_with_its_clean_prediction(panel):
    threads = torch.get_num_threads()
    with panel.one_render():
        panel.model.value, panel.eps.value = "Normal", 0.3
    panel.upload.value = al.widgets.controls.upload_value(al.widgets.examples.png_bytes())
    s = panel.state
    assert panel.message.value == "" and panel.use_upload.value and s.source == "your image"
    assert s.x.shape == (1, 28, 28) and s.y == s.pred and panel.head.get_text() == f"Normal: your image (predicted {s.y})"
    assert _shown(panel) == pytest.approx(_recomputed(panel), abs=6e-5)
    assert torch.get_num_threads() == threads   # the panel's one thread is given back
    panel.use_upload.value = False
    assert panel.state.source.startswith("image ")
