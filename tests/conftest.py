import pytest
import torch

import advlab as al


@pytest.fixture
def tiny_gap():
    """A small untrained CAM-ready CNN on 3×16×16 images (seeded)."""
    torch.manual_seed(0)
    return al.models.GapCNN(widths=(8, "P", 16), num_classes=5).eval()


@pytest.fixture
def tiny_attention():
    torch.manual_seed(0)
    return al.models.AttentionPoolNet(width=4, num_classes=5).eval()


@pytest.fixture
def tiny_proto():
    torch.manual_seed(0)
    return al.models.ProtoPNet(width=4, prototypes_per_class=2, proto_dim=8, num_classes=5, image_size=16).eval()


@pytest.fixture
def model_for(tiny_gap, tiny_attention, tiny_proto):
    """The tiny model an interpreter applies to (its ``requires`` attribute, else the GAP CNN)."""
    by_need = {"attention_maps": tiny_attention, "similarity_maps": tiny_proto}
    return lambda name: by_need.get(getattr(al.interpret.REGISTRY[name], "requires", None), tiny_gap)


@pytest.fixture
def tiny_batch():
    g = torch.Generator().manual_seed(1)
    return torch.rand(4, 3, 16, 16, generator=g), torch.tensor([0, 1, 2, 3])


@pytest.fixture(scope="session")
def mnist_model():
    return al.zoo.load("mnist_cnn")


@pytest.fixture(scope="session")
def mnist_at_model():
    return al.zoo.load("mnist_cnn_at")


@pytest.fixture(scope="session")
def cifar_model():
    return al.zoo.load("cifar_gap_cnn")


def hook_count(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
               for m in model.modules())
