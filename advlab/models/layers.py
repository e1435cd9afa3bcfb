"""Building blocks every architecture shares: normalisation inside the model, pooling, conv–BN–ReLU."""
from __future__ import annotations

import torch
from torch import nn

from ..core import checks

POOLS = ("max", "avg")


class Normalize(nn.Module):
    """Subtract the dataset mean and divide by its std, per channel."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


def make_pool(kind: str) -> nn.Module:
    checks.choice(kind, "pool", POOLS)
    return nn.MaxPool2d(2) if kind == "max" else nn.AvgPool2d(2)


def conv_bn(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))
