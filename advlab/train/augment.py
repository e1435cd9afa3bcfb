"""Batch augmentations of the training loop, drawn from the loop's seeded generator.

Under data-parallel training a rank holds only its shard of the global batch, yet draws the
random numbers of the whole batch, so every image gets the crop and flip it would get in a
single process, and the generators of all ranks stay in step.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def crop_flip(x: torch.Tensor, gen: torch.Generator, n: int | None = None, offset: int = 0) -> torch.Tensor:
    """Random crops of the 4-pixel reflect-padded images and horizontal flips (p = 0.5).

    ``x`` holds images ``offset … offset + len(x)`` of a batch of ``n`` (default ``len(x)``).
    """
    n = len(x) if n is None else n
    h, w = x.shape[-2:]
    padded = F.pad(x, (4, 4, 4, 4), mode="reflect")
    mine = slice(offset, offset + len(x))  # every draw covers the whole batch; this shard keeps its rows
    dx = torch.randint(0, 9, (n,), generator=gen)[mine].tolist()
    dy = torch.randint(0, 9, (n,), generator=gen)[mine].tolist()
    out = torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(len(x))])
    flip = (torch.rand(n, generator=gen) < 0.5)[mine]
    out[flip] = out[flip].flip(3)
    return out


AUGMENTS = {None: None, "crop_flip": crop_flip}
