import pytest
import torch
import torch.nn.functional as F

import advlab as al


def test_loss_surface_along_gradient_sign_rises(tiny_gap, tiny_batch):
    x, y = tiny_batch
    d1 = al.landscape.gradient_sign(tiny_gap, x, y)
    d2 = al.landscape.random_sign(x, seed=0)
    grid, losses = al.landscape.loss_surface(tiny_gap, x, y, d1, d2, radius=0.05, n=5)
    assert losses.shape == (5, 5, 4) and grid[2] == 0
    centre = F.cross_entropy(tiny_gap(x), y, reduction="none").detach()
    assert torch.allclose(losses[2, 2], centre, atol=1e-5)
    assert (losses[4, 2] > centre).all()  # one step along the gradient sign raises every loss
    with pytest.raises(ValueError, match="radius"):
        al.landscape.loss_surface(tiny_gap, x, y, d1, d2, radius=-1)
