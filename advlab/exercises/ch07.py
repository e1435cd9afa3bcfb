"""Chapter 7's exercises: the per-layer vulnerability Vul_i from explanation outcomes (Zheng et al.,
Eq. 5), and the share of max-pooling windows whose argmax an attack changes. The checks compare with
``advlab.studies.ch07_layers.vulnerability`` and ``pooling_change``."""
from __future__ import annotations

import numpy as np
import torch

from ._common import NOT_YET


def check_vulnerability(fn, outcomes) -> bool:
    """Check ``fn(outcomes) -> (L,)``: from N×L booleans (is the explanation of image n at layer l
    classified correctly?), Vul_1 = 1 − Acc_1 and Vul_i = Acc_{i−1} − Acc_i.

    Prints what is wrong (or that it is not written yet) and returns True only on a match."""
    from ..studies.ch07_layers import vulnerability
    o = np.asarray(outcomes, dtype=bool)
    got = fn(o)
    if got is None:
        print(NOT_YET)
        return False
    got = np.asarray(got.detach() if isinstance(got, torch.Tensor) else got, dtype=float).ravel()
    expected = vulnerability(o).mean(0)
    if got.shape != expected.shape:
        print(f"✗ expected one value per layer ({expected.size}), got {got.size}")
        return False
    if np.allclose(got, expected, atol=1e-6):
        print(f"✓ matches: Vul = {np.round(100 * expected, 1).tolist()} % (they add up to 1 − Acc at the last "
              f"layer, {100 * expected.sum():.1f} %)")
        return True
    acc = o.mean(0)
    if np.allclose(got, 1 - acc, atol=1e-6):
        print("✗ that is 1 − Acc_i at every layer; from the second layer on, Vul_i is the drop from the "
              "previous layer, Acc_{i−1} − Acc_i")
    elif np.allclose(got[1:], -expected[1:], atol=1e-6):
        print("✗ the sign is reversed: a drop in accuracy is a positive vulnerability, Acc_{i−1} − Acc_i")
    else:
        print(f"✗ expected {np.round(expected, 3).tolist()}, got {np.round(got, 3).tolist()}")
    return False


def check_pool_change(fn, model, x: torch.Tensor, x_adv: torch.Tensor, stage: str = "conv2") -> bool:
    """Check ``fn(model, x, x_adv, stage) -> (N,)``: per image, the share of the 2×2 max-pooling
    windows at the end of ``stage`` (``"conv2"`` or ``"conv4"``) whose argmax differs between ``x``
    and ``x_adv``."""
    from ..studies.ch07_layers import pooling_change
    got = fn(model, x, x_adv, stage)
    if got is None:
        print(NOT_YET)
        return False
    got = np.asarray(got.detach() if isinstance(got, torch.Tensor) else got, dtype=float).ravel()
    expected = pooling_change(model, x, x_adv)[stage]
    if got.shape != expected.shape:
        print(f"✗ expected one share per image ({expected.size}), got {got.size} values")
        return False
    if np.allclose(got, expected, atol=1e-6):
        print(f"✓ matches: {100 * expected.mean():.1f} % of the windows change their argmax on average")
        return True
    if (got > 1).any():
        print("✗ a share lies in [0, 1]: divide the number of changed windows by the number of windows")
    else:
        print(f"✗ expected values like {np.round(expected[:3], 3).tolist()}, got {np.round(got[:3], 3).tolist()}")
    return False
