"""The CIFAR ResNet trunk and the heads built on it: ResNet (GAP + linear) and attention pooling."""
from __future__ import annotations

import torch
from torch import nn

from ..core import checks
from .layers import Normalize


class BasicBlock(nn.Module):
    """Two 3×3 conv–BN layers with an identity (or 1×1-conv) shortcut (He et al., 2016)."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))
        # activations are modules (no parameters: state dicts are those of torch.relu calls), so
        # smooth_relu can swap them for Softplus (chapter 5: second derivatives for ADV² on GRAD)
        self.relu1, self.relu2 = nn.ReLU(), nn.ReLU()

    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        return self.relu2(self.bn2(self.conv2(out)) + self.shortcut(x))


def resnet_trunk(depth: int = 8, width: int = 16, in_channels: int = 3):
    """Stem and stages of the CIFAR ResNet (depth 6n + 2, widths w, 2w, 4w); returns
    ``(stem, features, out_channels)``. Shared by every ResNet-based model, so the
    chapters compare heads on one backbone."""
    depth = checks.number(depth, "depth", 8, 110, integer=True)
    if (depth - 2) % 6:
        raise ValueError(f"depth={depth} must be 6n + 2 (8, 14, 20, 32, ...)")
    width = checks.number(width, "width", 1, 512, integer=True)
    n = (depth - 2) // 6
    stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
                         nn.BatchNorm2d(width), nn.ReLU(inplace=True))
    blocks, c = [], width
    for stage, w in enumerate((width, 2 * width, 4 * width)):
        for i in range(n):
            blocks.append(BasicBlock(c, w, stride=2 if stage > 0 and i == 0 else 1))
            c = w
    return stem, nn.Sequential(*blocks), c


CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


class TrunkNet(nn.Module):
    """Normalisation and the ResNet trunk, shared by the heads below (CAM-ready ``features``)."""

    preferred_memory_format = torch.channels_last

    def __init__(self, depth: int, width: int, in_channels: int, mean, std):
        super().__init__()
        self.input_shape: tuple = (in_channels, None, None)  # any size: global pooling heads
        self.normalize = Normalize(mean, std)
        self.stem, self.features, self.trunk_channels = resnet_trunk(depth, width, in_channels)

    def trunk(self, x):
        """The last feature maps, N×C×h×w."""
        return self.features(self.stem(self.normalize(x)))


class ResNet(TrunkNet):
    """The CIFAR ResNet of He et al. (2016): depth 6n + 2, three stages of ``n``
    basic blocks with widths w, 2w, 4w, then global average pooling.

    ``depth=8, width=16`` (78k parameters) is the shape-vs-texture chapter's
    model: ~28 s per CIFAR-10 epoch on 2 CPU threads. ``features`` is the last
    stage (CAM-ready, like :class:`GapCNN`).
    """

    def __init__(self, depth: int = 8, width: int = 16, in_channels: int = 3, num_classes: int = 10,
                 mean=CIFAR_MEAN, std=CIFAR_STD):
        super().__init__(depth, width, in_channels, mean, std)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(self.trunk_channels, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.gap(self.trunk(x)), 1))


class AttentionPoolNet(TrunkNet):
    """Attentional pooling (Girdhar & Ramanan, 2017) on the ResNet trunk.

    With features X (one row per position p), a class-agnostic *bottom-up*
    attention ``b(p) = X_p·b`` and class-specific *top-down* attention
    ``t_k(p) = X_p·w_k``, the score of class k is the rank-1 bilinear pooling
    ``mean_p t_k(p)·b(p)``. Both maps are the model's own explanation:
    :meth:`attention_maps`.
    """

    def __init__(self, depth: int = 8, width: int = 16, in_channels: int = 3, num_classes: int = 10,
                 mean=CIFAR_MEAN, std=CIFAR_STD):
        super().__init__(depth, width, in_channels, mean, std)
        self.bottom_up = nn.Conv2d(self.trunk_channels, 1, 1)
        self.top_down = nn.Conv2d(self.trunk_channels, num_classes, 1)

    def attention_maps(self, x):
        """``(b, t)``: bottom-up attention N×h×w and top-down attention N×K×h×w."""
        f = self.trunk(x)
        return self.bottom_up(f)[:, 0], self.top_down(f)

    def forward(self, x):
        b, t = self.attention_maps(x)
        return (t * b[:, None]).mean(dim=(2, 3))
