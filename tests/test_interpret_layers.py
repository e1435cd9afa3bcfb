"""Layer and channel scopes (chapters 6 and 8): contract tests over LAYER_REGISTRY, agreement with
captum called directly, and properties that a wrong reduction would break."""
import pytest
import torch
from conftest import hook_count

import advlab as al

NAMES = sorted(al.interpret.LAYER_REGISTRY)
NEURON_LAYER = "features.2"  # tiny_gap: features = conv_bn(8), pool, conv_bn(16); fed by features.1


def _build(name, model, **kwargs):
    cls = al.interpret.LAYER_REGISTRY[name]
    return al.interpret.make_layer(name, model, layer=NEURON_LAYER if cls.scope == "neuron" else None, **kwargs)


def _call(attr, x, y, verb="__call__", **kwargs):
    return getattr(attr, verb)(x, 3 if attr.scope == "neuron" else y, **kwargs)


@pytest.mark.parametrize("name", NAMES)
def test_contract(name, tiny_gap, tiny_batch):
    x, y = tiny_batch
    model = tiny_gap.train()
    attr = _build(name, model)
    out = _call(attr, x, y)
    assert out.shape == (4, 8 if attr.scope == "neuron" else 16)
    assert torch.isfinite(out).all() and not out.requires_grad and out.abs().sum() > 0
    assert model.training and hook_count(model) == 0
    assert all(p.requires_grad and p.grad is None for p in model.parameters())
    assert torch.equal(_call(attr, x, y), out) and torch.equal(_call(attr, x, y, "attribute"), out)
    assert torch.allclose(_call(attr, x, y, batch_size=3), out, atol=1e-5)
    with pytest.raises(ValueError, match="batch_size"):
        _call(attr, x, y, batch_size=0)


@pytest.mark.parametrize("name", NAMES)
def test_unknown_layer_lists_the_layers(name, tiny_gap):
    with pytest.raises(ValueError, match="layer 'conv9'.*features.0"):
        al.interpret.make_layer(name, tiny_gap, layer="conv9")


def _captum(name, model, x, y):
    """The same quantity, straight from captum."""
    import captum.attr as ca
    if name == "neuron_conductance":
        with torch.no_grad():
            a = model.features[:2](model.normalize(x))
        sub = model.features[2]   # from the source's channels to the layer (tiny_gap is sequential)
        ig = ca.NeuronIntegratedGradients(sub, sub)  # conductance to a neuron's own total = its IG
        return ig.attribute(a, lambda out: out[:, 3].sum((1, 2)), baselines=torch.zeros_like(a),
                            n_steps=50, method="gausslegendre").sum((2, 3))
    cls = getattr(ca, al.interpret.LAYER_REGISTRY[name].captum)(model, model.features)
    if name == "layer_activation":
        return cls.attribute(x).sum((2, 3))
    kw = dict(baselines=torch.zeros_like(x), n_steps=50) if name in ("layer_conductance", "internal_influence") else {}
    return cls.attribute(x, target=y, **kw).sum((2, 3))


@pytest.mark.parametrize("name", NAMES)
def test_agrees_with_captum(name, tiny_gap, tiny_batch):
    x, y = tiny_batch
    ours = _call(_build(name, tiny_gap), x, y)
    assert torch.allclose(ours, _captum(name, tiny_gap, x, y).detach(), atol=1e-5, rtol=1e-4)


def test_layer_activation_is_the_probed_activation_summed_over_positions(tiny_gap, tiny_batch):
    x, _ = tiny_batch
    ours = al.interpret.make_layer("layer_activation", tiny_gap, layer="features.0")(x)
    assert torch.allclose(ours, al.core.activations(tiny_gap, x, "features.0")["features.0"].sum((2, 3)))


def test_gap_head_properties_of_gradient_scopes(tiny_gap, tiny_batch):
    # at the GAP input ∂y_c/∂A_kij = w_ck/(h·w): Σ_ij of the influence is w_ck, and
    # gradient × activation over channels is the logit minus its bias
    x, y = tiny_batch
    w, b = tiny_gap.fc.weight.detach(), tiny_gap.fc.bias.detach()
    influence = al.interpret.make_layer("internal_influence", tiny_gap)(x, y)
    assert torch.allclose(influence, w[y], atol=1e-5)
    gxa = al.interpret.make_layer("layer_gradient_x_activation", tiny_gap)(x, y)
    with torch.no_grad():
        logits = tiny_gap(x).gather(1, y.view(-1, 1))[:, 0]
    assert torch.allclose(gxa.sum(1), logits - b[y], atol=1e-5)


@pytest.mark.parametrize("layer", ["features", "features.0"])
def test_conductance_sums_to_the_logit_difference(layer, tiny_gap, tiny_batch):
    from captum.attr import LayerConductance
    x, y = tiny_batch
    ours = al.interpret.make_layer("layer_conductance", tiny_gap, layer=layer)(x, y)
    _, delta = LayerConductance(tiny_gap, tiny_gap.get_submodule(layer)).attribute(
        x, baselines=torch.zeros_like(x), target=y, n_steps=50, return_convergence_delta=True)
    with torch.no_grad():
        diff = (tiny_gap(x) - tiny_gap(torch.zeros_like(x))).gather(1, y.view(-1, 1))[:, 0]
    assert ((ours.sum(1) - diff).abs() <= delta.abs() + 1e-5).all()


def _channel_total(model, x, layer, channel, replace=None):
    with torch.no_grad(), al.core.LayerProbe(model, [layer], replace=replace) as probe:
        probe.run(x)
    return probe[layer][:, channel].flatten(1).sum(1)


@pytest.mark.parametrize("depth_model", ["tiny_gap", "resnet"])
def test_neuron_conductance_sums_to_the_channel_total_difference(depth_model, tiny_gap, tiny_batch):
    x, _ = tiny_batch
    if depth_model == "resnet":
        torch.manual_seed(0)
        model, layer, source, k = al.models.ResNet(depth=14, width=4).eval(), "features.3", "features.2", 8
    else:
        model, layer, source, k = tiny_gap, NEURON_LAYER, "features.1", 8
    attr = al.interpret.NeuronConductance(model, layer, n_steps=100)
    assert attr.source_key == source
    out = attr(x, 5)
    assert out.shape == (4, k)
    a = al.core.activations(model, x, source)[source]
    expect = _channel_total(model, x, layer, 5) - _channel_total(model, x, layer, 5, {source: torch.zeros_like(a)})
    assert torch.allclose(out.sum(1), expect, rtol=1e-3, atol=1e-3 * expect.abs().max().item())


def test_several_layers_give_a_dict(tiny_gap, tiny_batch):
    x, y = tiny_batch
    both = al.interpret.make_layer("layer_gradient_x_activation", tiny_gap, layer=["features.0", "features"])(x, y)
    assert list(both) == ["features.0", "features"] and both["features.0"].shape == (4, 8)
    one = al.interpret.make_layer("layer_gradient_x_activation", tiny_gap, layer="features.0")(x, y)
    assert torch.equal(both["features.0"], one)


def test_bad_arguments(tiny_gap, tiny_batch):
    x, _ = tiny_batch
    with pytest.raises(ValueError, match="layer attribution"):
        al.interpret.make_layer("network_dissection", tiny_gap)
    with pytest.raises(ValueError, match="target"):
        al.interpret.make_layer("layer_conductance", tiny_gap)(x, 7)
    with pytest.raises(ValueError, match="target .*required"):
        al.interpret.make_layer("layer_conductance", tiny_gap)(x)
    with pytest.raises(ValueError, match="n_steps"):
        al.interpret.make_layer("internal_influence", tiny_gap, n_steps=0)
    with pytest.raises(ValueError, match="baseline"):
        al.interpret.make_layer("layer_conductance", tiny_gap, baseline=2.0)
    with pytest.raises(ValueError, match="x must"):
        al.interpret.make_layer("layer_activation", tiny_gap)(x[0])
    neuron = al.interpret.NeuronConductance(tiny_gap, NEURON_LAYER)
    with pytest.raises(ValueError, match=r"channel must be in \[0, 15\]"):
        neuron(x, 16)
    with pytest.raises(ValueError, match="source: layer 'features.0' has no previous module"):
        al.interpret.NeuronConductance(tiny_gap, "features.0")
    with pytest.raises(ValueError, match="source 'features.2' must run before"):
        al.interpret.NeuronConductance(tiny_gap, "features.1", source="features.2")(x, 0)
    with pytest.raises(ValueError, match="one layer"):
        al.interpret.NeuronConductance(tiny_gap, ["features.0", "features.2"])
