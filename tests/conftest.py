import shutil

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


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session (the book's pages and the live JupyterLab test:
    playwright's sync API cannot be started twice in one process)."""
    if CHROMIUM is None:
        pytest.fail("headless Chromium is needed: `apt-get install chromium` (scripts/setup.sh does it as root), "
                    "or deselect with -m 'not browser' / ADVLAB_NO_BROWSER=1")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"])
        yield b
        b.close()


