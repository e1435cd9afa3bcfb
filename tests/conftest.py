import pytest
import torch

import advlab as al


@pytest.fixture
def tiny_gap():
    """A small untrained CAM-ready CNN on 3×16×16 images (seeded)."""
    torch.manual_seed(0)
    return al.models.GapCNN(widths=(8, "P", 16), num_classes=5).eval()


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
