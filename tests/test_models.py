"""Model utilities: batch-norm folding (what the widgets compute with)."""
import pytest
import torch
from torch import nn

import advlab as al


def _randomise_batchnorm(model, seed=0):
    """Give every batch norm non-trivial running statistics and affine parameters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=g))
                m.running_var.copy_(torch.rand(n, generator=g) * 2 + 0.1)
                m.weight.copy_(torch.randn(n, generator=g))
                m.bias.copy_(torch.randn(n, generator=g))
    return model


def _same_function(a, b, x, atol=1e-5):
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    la, lb = a(xa), b(xb)
    assert torch.allclose(la, lb, atol=atol)
    ga, = torch.autograd.grad(la[:, 0].sum(), xa)
    gb, = torch.autograd.grad(lb[:, 0].sum(), xb)
    assert torch.allclose(ga, gb, atol=atol)


@pytest.mark.parametrize("fixture", ["tiny_gap", "tiny_attention", "tiny_proto"])
def test_fold_batchnorm_keeps_the_function_and_the_attributes(fixture, request, tiny_batch):
    model = _randomise_batchnorm(request.getfixturevalue(fixture)).train()
    x = tiny_batch[0]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    folded = al.models.fold_batchnorm(model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())   # all were conv → bn
    assert not folded.training
    assert model.training and all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())  # untouched
    _same_function(model.eval(), folded, x)
    for name in ("attention_maps", "similarity_maps"):
        if hasattr(model, name):
            with torch.no_grad():
                a, b = getattr(model, name)(x), getattr(folded, name)(x)
            for u, v in zip(*((t,) if torch.is_tensor(t) else t for t in (a, b))):
                assert torch.allclose(u, v, atol=1e-5)


class _Shared(nn.Module):
    """A conv whose output feeds a batch norm *and* a skip connection, and a BN after a linear."""

    def __init__(self):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(3, 3, 3, padding=1), nn.BatchNorm2d(3)
        self.fc, self.bn1d = nn.Linear(3 * 16 * 16, 4), nn.BatchNorm1d(4)

    def forward(self, x):
        h = self.conv(x)
        return self.bn1d(self.fc(torch.flatten(self.bn(h) + h, 1)))


class _Untraceable(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)

    def forward(self, x):
        h = self.bn(self.conv(x))
        return h.flatten(1) if h.sum() > 0 else -h.flatten(1)   # data-dependent: fx cannot trace it


@pytest.mark.parametrize("cls", [_Shared, _Untraceable])
def test_fold_batchnorm_leaves_what_it_cannot_fold(cls, tiny_batch):
    torch.manual_seed(0)
    model = _randomise_batchnorm(cls()).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d):
                m.running_var.fill_(2.0)
    folded = al.models.fold_batchnorm(model)
    assert isinstance(folded.bn, nn.BatchNorm2d)   # not folded: its conv's output is used twice / untraceable
    _same_function(model, folded, tiny_batch[0])


def test_fold_batchnorm_rejects_a_non_model():
    with pytest.raises(ValueError, match="model"):
        al.models.fold_batchnorm("cifar_resnet8")
