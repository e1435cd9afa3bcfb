"""Chapter 3's exercises: Zhang & Zhu's saturation transform and patch shuffling. The saturation
check compares with :func:`advlab.transforms.saturate`; a shuffle drawn from a seed can be any
permutation, so the patch-shuffling check asks for what defines one (every image keeps its k×k
patches, moved, the same for the same seed) rather than :func:`advlab.transforms.patch_shuffle`'s
exact draw."""
from __future__ import annotations

import torch

from .. import transforms
from ._common import NOT_YET, close


def _tensor(raw, shape) -> torch.Tensor | None:
    if raw is None:
        print(NOT_YET)
        return None
    if not isinstance(raw, torch.Tensor) or raw.shape != shape:
        print(f"✗ expected images of the input's shape {tuple(shape)}, got "
              f"{tuple(raw.shape) if isinstance(raw, torch.Tensor) else type(raw).__name__}")
        return None
    return raw.detach().float()


def check_saturation(fn, x: torch.Tensor, p: float) -> bool:
    """Check ``fn(x, p) -> images``: saturation of level ``p``, v = 2x − 1, sign(v)·|v|^(2/p), mapped
    back to [0, 1], against :func:`advlab.transforms.saturate`. Prints what is wrong (or that it
    is not written yet) and returns True only on a match."""
    got = _tensor(fn(x, p), x.shape)
    if got is None:
        return False
    expected = transforms.saturate(x, p)
    if not close(got, expected):
        v = 2 * x - 1
        s = torch.sign(v) * v.abs().pow(2.0 / p)
        hint = (" Map the result back to [0, 1]: (s + 1) / 2." if close(got, s) else
                " The exponent is 2/p (p = 2 is the identity, large p nearly binary), not p/2."
                if close(got, (torch.sign(v) * v.abs().pow(p / 2.0) + 1) / 2) else
                " Keep the sign of v: sign(v)·|v|^(2/p), so dark pixels go to 0 and bright ones to 1."
                if close(got, (v.abs().pow(2.0 / p) + 1) / 2) or close(got, v.abs().pow(2.0 / p)) else
                " First map the pixels to v = 2x − 1 ∈ [−1, 1]: saturation pushes away from grey 0.5."
                if close(got, x.pow(2.0 / p)) or close(got, torch.sign(x) * x.abs().pow(2.0 / p)) else
                " Compute v = 2x − 1, then sign(v)·|v|^(2/p), then map back with (· + 1) / 2.")
        diff = (got - expected).abs().max().item()
        print(f"✗ differs from al.transforms.saturate(x, {p:g}) by up to {diff:.4g}.{hint}")
        return False
    print(f"✓ matches al.transforms.saturate at p = {p:g} on {len(x)} images "
          f"({(expected - 0.5).abs().gt(0.45).float().mean().item():.0%} of the values within 0.05 of 0 or 1)")
    return True


def _patches(x: torch.Tensor, k: int) -> torch.Tensor:
    """N×k²×(C·H/k·W/k): each image's grid of k×k patches, row by row."""
    n, c, h, w = x.shape
    return x.reshape(n, c, k, h // k, k, w // k).permute(0, 2, 4, 1, 3, 5).reshape(n, k * k, -1)


def _same_patches(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Do two k²×D sets of patches hold the same patches, counted with multiplicity?"""
    ua, ca = torch.unique(a, dim=0, return_counts=True)
    ub, cb = torch.unique(b, dim=0, return_counts=True)
    return ua.shape == ub.shape and torch.equal(ua, ub) and torch.equal(ca, cb)


def check_patch_shuffle(fn, x: torch.Tensor, k: int, seed: int = 0) -> bool:
    """Check ``fn(x, k, seed) -> images``: every image cut into a k×k grid of (H/k)×(W/k) patches
    and the patches permuted. Any permutation passes, not only ``advlab.transforms.patch_shuffle``'s,
    if every image keeps exactly its own patches (unchanged), some patches move, and the same seed
    gives the same images. Prints what is wrong (or that it is not
    written yet) and returns True only on a match."""
    n, c, h, w = x.shape
    if h % k or w % k:
        raise ValueError(f"k={k} must divide the image size {h}×{w}")
    got = _tensor(fn(x, k, seed), x.shape)
    if got is None:
        return False
    mine, theirs = _patches(got, k), _patches(x, k)
    bad = [i for i in range(n) if not _same_patches(mine[i], theirs[i])]
    if bad:
        hint = (" Shuffle the patches within each image: here patches travel between images."
                if _same_patches(mine.flatten(0, 1), theirs.flatten(0, 1)) else
                f" k is the number of patches per side: cut a k×k grid of {h // k}×{w // k}-pixel tiles,"
                f" not tiles of {k}×{k} pixels." if h % (h // k) == 0 and w % (w // k) == 0 and h // k != k
                and all(_same_patches(a, b) for a, b in zip(_patches(got, h // k), _patches(x, h // k))) else
                " Each patch must keep its pixels and channels: reshape to N×C×k×(H/k)×k×(W/k) and permute"
                " the axes so that a patch's pixels stay together (a plain reshape mixes rows of patches)."
                if all(torch.equal(a.flatten(1).sort(1).values, b.flatten(1).sort(1).values)
                       for a, b in zip(got, x)) else
                " Only move patches: the output must hold the input's values, rearranged.")
        print(f"✗ {len(bad)} of {n} images do not hold exactly their own {k}×{k} patches.{hint}")
        return False
    if torch.equal(got, x.float()):
        print("✗ nothing moved: draw a random permutation of the k² patches (torch.randperm) and apply it."
              + (" With k = 1 there is nothing to shuffle: use k ≥ 2." if k == 1 else ""))
        return False
    again = _tensor(fn(x, k, seed), x.shape)
    if again is None or not torch.equal(again, got):
        print("✗ the same seed gave different images: draw the permutation from "
              "torch.Generator().manual_seed(seed), so that a shuffle can be repeated.")
        return False
    moved = (mine != theirs).any(2).float().mean().item()
    same = torch.equal(got, transforms.patch_shuffle(x, k, seed=seed).float())
    print(f"✓ every image keeps its {k * k} patches of {h // k}×{w // k} pixels; {moved:.0%} of them moved"
          + (" (the same draw as al.transforms.patch_shuffle)" if same else
             " (al.transforms.patch_shuffle draws another permutation from this seed; any one is fine)"))
    return True
