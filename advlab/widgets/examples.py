"""Tiny, untrained stand-ins that panels build themselves on (``Panel.example()``): seeded
models on 16×16 pixels, a few random images, a small PNG to upload. Fast enough for a test to
construct every panel of ``advlab.widgets.PANELS`` and drive each of its controls."""
from __future__ import annotations

import io

import numpy as np
import torch

CLASSES = list("abcde")


def tiny_model(kind: str = "cnn", seed: int = 0) -> torch.nn.Module:
    """A small untrained model of five classes on 3×16×16 images: ``cnn`` (CAM-ready GAP CNN),
    ``attention`` (attention pooling) or ``prototype`` (ProtoPNet); the global RNG is untouched."""
    from .. import models
    make = {"cnn": lambda: models.GapCNN(widths=(8, "P", 16), num_classes=5),
            "attention": lambda: models.AttentionPoolNet(width=4, num_classes=5),
            "prototype": lambda: models.ProtoPNet(width=4, prototypes_per_class=2, proto_dim=8, num_classes=5,
                                                  image_size=16)}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make[kind]().eval()


def tiny_images(n: int = 3, channels: int = 3, seed: int = 3):
    """``n`` random images (N×C×16×16 in [0, 1]), labels ``0..n-1`` (mod 5) and five class names."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, channels, 16, 16, generator=g), torch.arange(n) % 5, CLASSES


def png_bytes(height: int = 24, width: int = 30, seed: int = 1) -> bytes:
    """A small random RGB picture, PNG-encoded (what a user might upload)."""
    from PIL import Image
    pixels = (np.random.default_rng(seed).random((height, width, 3)) * 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="png")
    return out.getvalue()
