"""The differentiable path (chapter 4): maps that stay on the autograd graph, w.r.t. the input and
the parameters, checked with gradcheck on a tiny double-precision model with smooth activations
(ReLU's second derivative is zero, which would hide a missing ``create_graph``)."""
import pytest
import torch
from conftest import hook_count
from torch import nn

import advlab as al

DIFFERENTIABLE = sorted(n for n, cls in al.interpret.REGISTRY.items() if cls.differentiable)
FIXED = sorted(n for n, cls in al.interpret.REGISTRY.items() if not cls.differentiable)
OPTIONS = {"cam": dict(layer="head")}  # CAM reads the maps that GAP + fc see


class SmoothNet(nn.Module):
    """Softplus/Tanh features, a non-linear 1×1 head (so Grad-CAM's weights depend on x), GAP + fc."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Softplus(),
                                      nn.Conv2d(4, 5, 3, padding=1, stride=2), nn.Tanh())
        self.head = nn.Sequential(nn.Conv2d(5, 5, 1), nn.Softplus())
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(5, 3)

    def forward(self, x):
        return self.fc(self.gap(self.head(self.features(x))).flatten(1))


@pytest.fixture
def smooth_for(tiny_attention):
    def build(name):
        torch.manual_seed(0)
        if getattr(al.interpret.REGISTRY[name], "requires", None) == "attention_maps":
            return tiny_attention.double()
        return SmoothNet().double()
    return build


def _inputs(n=2, size=8):
    g = torch.Generator().manual_seed(2)
    return (0.1 + 0.8 * torch.rand(n, 3, size, size, generator=g, dtype=torch.float64)), torch.tensor([0, 2])


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_gradcheck_wrt_the_input(name, smooth_for):
    # fast mode compares u·J·v for random u, v (analytical vs finite differences): a wrong or
    # missing gradient fails it almost surely, at the cost of a handful of calls
    model = smooth_for(name)
    attr = al.interpret.make(name, model, **OPTIONS.get(name, {}))
    x, y = _inputs()
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: attr(x, y, differentiable=True), (x,), eps=1e-6, atol=1e-6,
                                    fast_mode=True)


def test_gradcheck_full_jacobian_of_saliency():
    # the whole Jacobian of the map that needs create_graph, on one 4×4 image
    torch.manual_seed(0)
    attr = al.interpret.Saliency(SmoothNet().double())
    x, y = _inputs(1, 4)
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: attr(x, y[:1], differentiable=True), (x,), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["gradcam", "cam"])
def test_gradcheck_without_relu_or_upsampling(name, smooth_for):
    attr = al.interpret.make(name, smooth_for(name), relu=False, upsample=False, **OPTIONS.get(name, {}))
    x, y = _inputs()
    x.requires_grad_(True)
    assert attr(x, y, differentiable=True).shape == (2, 4, 4)
    assert torch.autograd.gradcheck(lambda x: attr(x, y, differentiable=True), (x,), eps=1e-6, atol=1e-6,
                                    fast_mode=True)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_a_parameter_receives_the_gradient_of_a_map(name, smooth_for):
    model = smooth_for(name).train()
    attr = al.interpret.make(name, model, **OPTIONS.get(name, {}))
    x, y = _inputs()
    maps = attr(x, y, differentiable=True)
    assert maps.requires_grad and maps.shape == (2, 8, 8)
    # the caller's mode and flags are left alone (a training objective controls them)
    assert model.training and hook_count(model) == 0
    assert all(p.requires_grad for p in model.parameters())
    params = [p for p in model.parameters()]
    grads = torch.autograd.grad(maps.pow(2).sum(), params, allow_unused=True)
    p, g = max(((p, g) for p, g in zip(params, grads) if g is not None), key=lambda t: t[1].abs().sum())
    assert g.abs().sum() > 0
    # the gradient is the right one: a directional finite difference along it
    v = g / g.norm()
    with torch.no_grad():
        p.add_(1e-6 * v)
        up = attr(x, y, differentiable=True).pow(2).sum()
        p.sub_(2e-6 * v)
        down = attr(x, y, differentiable=True).pow(2).sum()
        p.add_(1e-6 * v)
    assert torch.allclose((up - down) / 2e-6, (g * v).sum(), rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_differentiable_maps_equal_the_default_ones(name, model_for, tiny_batch):
    # on the tiny float models: the hand-written saliency matches captum's, the CAMs themselves
    x, y = tiny_batch
    model = model_for(name)
    attr = al.interpret.make(name, model)
    maps = attr(x, y, differentiable=True)
    assert maps.requires_grad
    assert torch.allclose(maps.detach(), attr(x, y), atol=1e-6)
    assert torch.allclose(attr(x, y, batch_size=3, differentiable=True).detach(), attr(x, y), atol=1e-6)
    assert all(p.grad is None for p in model.parameters())


def test_differentiable_saliency_is_captums_on_a_smooth_model():
    from captum.attr import Saliency
    torch.manual_seed(0)
    model = SmoothNet().double()
    x, y = _inputs()
    ref = Saliency(model).attribute(x.clone().requires_grad_(True), target=y, abs=False).abs().amax(1)
    assert torch.allclose(al.interpret.Saliency(model)(x, y, differentiable=True), ref, atol=1e-12)


def test_frozen_parameters_stay_frozen_and_the_input_gradient_flows(smooth_for):
    model = smooth_for("gradcam")
    for p in model.parameters():
        p.requires_grad_(False)
    x, y = _inputs()
    x.requires_grad_(True)
    maps = al.interpret.GradCAM(model)(x, y, differentiable=True)
    (gx,) = torch.autograd.grad(maps.sum(), x)
    assert gx.abs().sum() > 0 and not any(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("name", FIXED)
def test_other_interpreters_say_which_are_differentiable(name, model_for, tiny_batch):
    with pytest.raises(ValueError, match="differentiable=True is available for .*gradcam.*saliency"):
        al.interpret.make(name, model_for(name))(*tiny_batch, differentiable=True)


def test_differentiable_must_be_a_bool(tiny_gap, tiny_batch):
    with pytest.raises(ValueError, match="differentiable must be True or False"):
        al.interpret.GradCAM(tiny_gap)(*tiny_batch, differentiable="yes")
