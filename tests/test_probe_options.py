"""LayerProbe's options for ending a forward pass early and substituting a layer's output."""
import pytest
import torch
from conftest import hook_count

import advlab as al


def test_stop_at_true_ends_after_every_probed_layer(tiny_gap, tiny_batch):
    x, _ = tiny_batch
    seen = []
    handle = tiny_gap.fc.register_forward_hook(lambda *a: seen.append("fc"))
    try:
        with al.core.LayerProbe(tiny_gap, ["features.2", "features.0"], stop_at=True) as probe:
            assert probe.run(x) is None
            assert probe.run(x) is None and set(probe.outputs) == {"features.0", "features.2"}
    finally:
        handle.remove()
    assert seen == [] and hook_count(tiny_gap) == 0
    assert torch.equal(probe["features.2"], tiny_gap.features(tiny_gap.normalize(x)))


def test_replace_feeds_the_rest_of_the_network(tiny_gap, tiny_batch):
    x, _ = tiny_batch
    a = torch.rand(4, 8, 8, 8)
    with al.core.LayerProbe(tiny_gap, "features.2", replace={"features.1": a}) as probe:
        out = probe.run(x)
    assert torch.equal(probe["features.1"], a)
    with torch.no_grad():
        expect = tiny_gap.fc(tiny_gap.gap(tiny_gap.features[2](a)).flatten(1))
    assert torch.allclose(out, expect, atol=1e-6) and hook_count(tiny_gap) == 0
    with pytest.raises(ValueError, match="layer 'nope'"):
        al.core.LayerProbe(tiny_gap, [], replace={"nope": a})
