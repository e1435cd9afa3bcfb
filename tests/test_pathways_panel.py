"""The Pathways panel (chapter 8) beyond the contract every panel meets (tests/test_panel_contract.py,
tests/test_widget_fuzz.py): the per-ε cache, the drawing's layout, the class-pair rules."""
import numpy as np
import pytest

import advlab as al
from advlab.widgets import pathways as P


@pytest.fixture(scope="module")
def panel():
    return al.widgets.Pathways.example()


def test_precomputed_eps_moves_only_redraw(panel, monkeypatch):
    panel.precompute([i / 255 for i in (1, 3, 5)])
    monkeypatch.setattr(al.attacks, "make", lambda *a, **k: pytest.fail("an attack ran after precompute"))
    monkeypatch.setattr(al.interpret, "pathways", lambda *a, **k: pytest.fail("a graph was rebuilt"))
    for v in (1, 3, 5, 1):
        panel.eps.value = v / 255
        assert panel.message.value == "" and panel.state.eps[0] == pytest.approx(v / 255)


def test_layout_matches_the_pathway(panel):
    pw = panel.state.graphs[0]
    pos, xy, groups, sizes, segs, weights = P.layout(pw)
    n = sum(len(c) for c in pw.channels.values())
    assert len(pos) == len(xy) == len(groups) == len(sizes) == n
    assert set(groups) <= set(P.COLOURS) and len(segs) == len(weights) <= len(pw.edges)
    assert np.all((xy[:, 1] > 0) & (xy[:, 1] < 1)) and np.all(sizes >= 12)


def test_ring_marks_the_drilled_channel_when_shown(panel):
    shown = panel.state.graphs[0].channels[panel.layer.value]
    panel.channel.value = shown[0]["channel"]
    assert len(panel.rings[0].get_offsets()) == 1
    assert panel.state.curve["eps"] == [v / 255 for v in P.CURVE]


def test_same_benign_and_target_is_a_message_and_a_constructor_error(panel):
    before = panel.image.value, panel.state
    panel.target.value = panel.benign.value
    assert "must be different" in panel.message.value and panel.state is before[1]
    panel.target.value = "e" if panel.benign.value != "e" else "d"
    assert panel.message.value == ""
    with pytest.raises(ValueError, match="must be different"):
        al.widgets.Pathways.example(benign="a", target="a")
    with pytest.raises(ValueError, match="channel must be an integer in"):
        al.widgets.Pathways.example(channel=4000)
    with pytest.raises(ValueError, match="compare must be one of"):
        al.widgets.Pathways.example(compare=3 / 255)
