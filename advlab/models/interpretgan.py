"""Chapter 7, InterpretGAN (Zheng et al.): the paper's MNIST classifier, four convolutions and three
fully connected layers (the small CNN of the TRADES code), and a per-layer explanation generator
x̂ = G(C(h_l(x))) that turns the classifier's latent variables at one layer back into a digit."""
from __future__ import annotations

import torch
from torch import nn

from ..core import checks
from .layers import Normalize, make_pool

# The seven layers the paper diagnoses, in order; "conv2" and "conv4" end with the pooling layer.
LAYERS = ("conv1", "conv2", "conv3", "conv4", "fc1", "fc2", "fc3")


class LayeredCNN(nn.Module):
    """The MNIST classifier of the TRADES code that Zheng et al. diagnose: 3×3 convolutions of 32,
    32, 64, 64 channels (ReLU after each, 2×2 pooling after the second and the fourth), then fully
    connected layers of 200, 200 and 10 units. ``pool`` is ``"max"`` (the paper's model) or
    ``"avg"`` (its proposed fix). The seven stages are modules named as in ``LAYERS`` (``conv1`` …
    ``fc3``; ``fc3`` gives the logits), so the layer probe reads each one by name."""

    def __init__(self, pool: str = "max", in_channels: int = 1, num_classes: int = 10,
                 mean=(0.1307,), std=(0.3081,)):
        super().__init__()
        self.pool = checks.choice(pool, "pool", ("max", "avg"))
        self.input_shape = (in_channels, 28, 28)
        self.normalize = Normalize(mean, std)
        self.conv1 = nn.Sequential(nn.Conv2d(in_channels, 32, 3), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv2d(32, 32, 3), nn.ReLU(), make_pool(pool))
        self.conv3 = nn.Sequential(nn.Conv2d(32, 64, 3), nn.ReLU())
        self.conv4 = nn.Sequential(nn.Conv2d(64, 64, 3), nn.ReLU(), make_pool(pool))
        self.fc1 = nn.Sequential(nn.Flatten(), nn.Linear(64 * 4 * 4, 200), nn.ReLU())
        self.fc2 = nn.Sequential(nn.Linear(200, 200), nn.ReLU())
        self.fc3 = nn.Linear(200, num_classes)

    def stages(self) -> list[nn.Module]:
        """The seven stages in the order of ``LAYERS``."""
        return [getattr(self, name) for name in LAYERS]

    def forward(self, x):
        h = self.normalize(x)
        for stage in self.stages():
            h = stage(h)
        return h


# Shape of each layer's output for a 28×28 digit (C, H, W or units).
LATENT_SHAPES = {"conv1": (32, 26, 26), "conv2": (32, 12, 12), "conv3": (64, 10, 10), "conv4": (64, 4, 4),
                 "fc1": (200,), "fc2": (200,), "fc3": (10,)}


def _compressor(layer: str, code: int) -> nn.Sequential:
    """The compression network C of one layer (after the paper's Table 4, narrower): 3×3
    convolutions and average pooling down to 4×4 or less for a convolutional layer, then a linear
    layer to ``code`` units; a linear layer alone for a fully connected one."""
    shape = LATENT_SHAPES[layer]
    if len(shape) == 1:
        return nn.Sequential(nn.Linear(shape[0], code), nn.LeakyReLU(0.2))
    c, h, _ = shape
    mods: list[nn.Module] = []
    while h > 4:
        mods += [nn.Conv2d(c, 64, 3, padding=1), nn.LeakyReLU(0.2), nn.AvgPool2d(2)]
        c, h = 64, h // 2
    mods += [nn.Flatten(), nn.Linear(c * h * h, code), nn.LeakyReLU(0.2)]
    return nn.Sequential(*mods)


class ExplanationGenerator(nn.Module):
    """InterpretGAN's explanation generator for one layer of a ``LayeredCNN`` (Zheng et al.):
    ``forward(x)`` returns x̂ = G(C(h_l(x))), a 28×28 image in [0, 1].

    * ``prefix``: the classifier's stages up to and including ``layer`` (``init_from`` copies them
      from the parent), frozen, so the generator reads the parent's own latent variables;
    * ``compress`` (C): reduces h_l to a ``code``-dimensional vector;
    * ``generate`` (G): a small DCGAN-style generator, a linear layer to 64×7×7, two ×2
      nearest-neighbour upsamplings with 3×3 conv–BN–ReLU, a 3×3 conv and a sigmoid.

    ``explain_latent(h)`` starts from latent variables already computed (the layer's output).
    """

    def __init__(self, layer: str = "conv1", pool: str = "max", code: int = 64, in_channels: int = 1,
                 num_classes: int = 10):
        super().__init__()
        self.layer = checks.choice(layer, "layer", LAYERS)
        self.input_shape = (in_channels, 28, 28)
        classifier = LayeredCNN(pool, in_channels, num_classes)
        depth = LAYERS.index(layer) + 1
        self.prefix = nn.Sequential(classifier.normalize, *classifier.stages()[:depth])
        for p in self.prefix.parameters():
            p.requires_grad_(False)
        self.compress = _compressor(layer, int(code))
        self.generate = nn.Sequential(
            nn.Linear(int(code), 64 * 7 * 7), nn.Unflatten(1, (64, 7, 7)), nn.BatchNorm2d(64), nn.ReLU(),
            nn.Upsample(scale_factor=2), nn.Conv2d(64, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Upsample(scale_factor=2), nn.Conv2d(32, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, in_channels, 3, padding=1), nn.Sigmoid())

    def init_from(self, parent: nn.Module) -> None:
        """Copy the parent classifier's stages up to ``layer`` into the frozen prefix."""
        if not isinstance(parent, LayeredCNN):
            raise ValueError(f"parent must be a LayeredCNN (the chapter 7 classifier), got {type(parent).__name__}")
        depth = LAYERS.index(self.layer) + 1
        source = nn.Sequential(parent.normalize, *parent.stages()[:depth])
        self.prefix.load_state_dict(source.state_dict())

    def train(self, mode: bool = True):
        """Training mode for the compression network and the generator; the prefix stays in eval mode."""
        super().train(mode)
        self.prefix.eval()  # frozen: the parent's function in every mode
        return self

    def latent(self, x: torch.Tensor) -> torch.Tensor:
        """h_l(x), the parent's output at ``layer``."""
        return self.prefix(x)

    def explain_latent(self, h: torch.Tensor) -> torch.Tensor:
        """G(C(h)) for latent variables ``h`` of the layer."""
        return self.generate(self.compress(h))

    def forward(self, x):
        return self.explain_latent(self.latent(x))


class Discriminator(nn.Module):
    """The GAN's discriminator on 28×28 images: two stride-2 4×4 convolutions (LeakyReLU), a linear
    layer to one logit. Lives in the training objective, not in the zoo."""

    def __init__(self, in_channels: int = 1, width: int = 32):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * width * 7 * 7, 1))

    def forward(self, x):
        return self.net(x)[:, 0]
