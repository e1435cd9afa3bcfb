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


def test_margin_along_is_exactly_linear_for_a_linear_model():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 5)).eval()
    x = torch.full((2, 3, 4, 4), 0.5)
    y = torch.tensor([1, 3])
    d = al.landscape.random_sign(x, seed=1)
    t, m = al.landscape.margin_along(model, x, y, {"d": d}, radius=0.2, n=9)  # no clipping: 0.5 ± 0.2
    z = model(x)
    other = z.clone()
    other[[0, 1], y] = float("-inf")
    assert torch.allclose(m["d"][0], z[[0, 1], y] - other.max(1).values, atol=1e-6)
    # for a linear model the margin is linear minus a max of linear functions: concave, piecewise linear
    second = m["d"][2:] - 2 * m["d"][1:-1] + m["d"][:-2]
    assert (second <= 1e-5).all()
    z_end = model(x + 0.2 * d)
    assert m["d"][-1].sub(z_end[[0, 1], y] - z_end.masked_fill(
        torch.nn.functional.one_hot(y, 5).bool(), float("-inf")).max(1).values).abs().max() < 1e-5
    with pytest.raises(ValueError, match="directions"):
        al.landscape.margin_along(model, x, y, {}, radius=0.1)
