"""Metrics on hand-made cases."""
import math

import pytest
import torch

import advlab as al


class Fixed(torch.nn.Module):
    """A 'model' predicting class = round(mean pixel * 9)."""
    def forward(self, x):
        c = (x.mean((1, 2, 3)) * 9).round().long()
        return torch.nn.functional.one_hot(c, 10).float()


def imgs(*levels):
    return torch.stack([torch.full((1, 2, 2), v) for v in levels])


def test_accuracy_and_predict():
    x = imgs(0.0, 1 / 9, 1.0, 0.5)
    assert al.metrics.predict(Fixed(), x).tolist() == [0, 1, 9, 4]
    assert al.metrics.accuracy(Fixed(), x, torch.tensor([0, 1, 2, 3])) == 0.5


def test_attack_success_rate_counts_only_clean_correct():
    x = imgs(0.0, 1 / 9, 1.0)
    x_adv = imgs(2 / 9, 1 / 9, 0.0)
    y = torch.tensor([0, 1, 5])  # third is wrong before the attack: excluded
    assert al.metrics.attack_success_rate(Fixed(), x, x_adv, y) == 0.5
    assert al.metrics.attack_success_rate(Fixed(), x, x_adv, torch.tensor([2, 2, 0]), targeted=True) == pytest.approx(2 / 3)
    assert math.isnan(al.metrics.attack_success_rate(Fixed(), x, x_adv, torch.tensor([5, 5, 5])))


def test_robust_accuracy_uses_the_attack():
    x = imgs(0.0, 1 / 9)
    y = torch.tensor([0, 1])
    shift = lambda xb, yb: (xb + 1 / 9).clamp(0, 1)  # moves every prediction up one class
    assert al.metrics.robust_accuracy(Fixed(), shift, x, y) == 0.0
    assert al.metrics.robust_accuracy(Fixed(), lambda xb, yb: xb, x, y) == 1.0


def test_l1_distance():
    a = torch.tensor([[0.0, 1.0], [0.0, 0.0]])
    b = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    assert al.metrics.l1_distance(a, b).item() == pytest.approx(0.5)
    assert al.metrics.l1_distance(a, 3 * a).item() == 0.0  # normalised: scale-free
    assert al.metrics.l1_distance(a, 3 * a, normalize=False).item() == pytest.approx(0.5)


def test_topk_iou():
    a = torch.tensor([[[4.0, 3.0], [2.0, 1.0]]])
    b = torch.tensor([[[4.0, 1.0], [3.0, 2.0]]])
    assert al.metrics.topk_iou(a, a, 2).item() == 1.0
    assert al.metrics.topk_iou(a, b, 2).item() == pytest.approx(1 / 3)  # {0,1} vs {0,2}
    assert al.metrics.topk_iou(a, -a, 2).item() == 0.0
    with pytest.raises(ValueError, match="k"):
        al.metrics.topk_iou(a, b, 5)


def test_kendall_tau_hand_cases_and_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    a = torch.arange(9.0).view(3, 3)
    assert al.metrics.kendall_tau(a, a).item() == pytest.approx(1.0)
    assert al.metrics.kendall_tau(a, -a).item() == pytest.approx(-1.0)
    # one swapped pair among 3 elements: (3 - 2·1) / 3
    assert al.metrics.kendall_tau(torch.tensor([[1.0, 2.0, 3.0]]), torch.tensor([[2.0, 1.0, 3.0]])).item() == pytest.approx(1 / 3)
    g = torch.Generator().manual_seed(0)
    u, v = torch.rand(2, 6, 6, generator=g), torch.rand(2, 6, 6, generator=g).round(decimals=1)  # with ties
    ours = al.metrics.kendall_tau(u, v)
    for i in range(2):
        ref = scipy_stats.kendalltau(u[i].flatten().numpy(), v[i].flatten().numpy()).statistic
        assert ours[i].item() == pytest.approx(ref, abs=1e-6)


@pytest.mark.parametrize("fn", [al.metrics.l1_distance, al.metrics.topk_iou, al.metrics.kendall_tau])
def test_map_metrics_reject_bad_input(fn):
    args = (3,) if fn is al.metrics.topk_iou else ()
    with pytest.raises(ValueError, match="shape"):
        fn(torch.rand(2, 3, 3), torch.rand(2, 4, 4), *args)
    with pytest.raises(ValueError, match="NaN"):
        fn(torch.full((3, 3), float("nan")), torch.rand(3, 3), *args)
    with pytest.raises(ValueError, match="a must be a torch.Tensor"):
        fn([[1.0]], torch.rand(1, 1), *((1,) if args else ()))


def test_edge_alignment_scores_edges_high_and_noise_low():
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(2, 3, 16, 16)
    x[:, :, 4:12, 4:12] = 1.0                        # a bright square: edges on its border
    edges = al.metrics.edge_strength(x)
    assert edges.shape == (2, 16, 16) and edges[0, 8, 8] == 0 and edges[0, 4, 8] > 0
    assert torch.allclose(al.metrics.edge_alignment(edges, x), torch.ones(2))
    assert al.metrics.edge_alignment(torch.rand(2, 16, 16, generator=g), x).abs().max() < 0.3
    inside = x[:, 0].clone()                         # the filled square, not its outline
    assert al.metrics.edge_alignment(inside, x).max() < 0.5
    with pytest.raises(ValueError, match="maps must have shape"):
        al.metrics.edge_alignment(torch.rand(2, 8, 8), x)


def test_spread_is_scipys_normalised_entropy():
    from scipy.stats import entropy
    g = torch.Generator().manual_seed(0)
    maps = torch.rand(5, 8, 8, generator=g) ** 4
    maps[0] = 0
    maps[0, 3, 3] = 2.0                               # one pixel: no spread
    maps[1] = 0.7                                     # uniform: full spread
    expected = [entropy(m.flatten().numpy()) / math.log(64) for m in maps]
    assert torch.allclose(al.metrics.spread(maps), torch.tensor(expected, dtype=torch.float), atol=1e-6)
    assert al.metrics.spread(maps)[0] == 0 and al.metrics.spread(maps)[1] == pytest.approx(1)
    with pytest.raises(ValueError, match="non-negative"):
        al.metrics.spread(-maps)
    assert al.metrics.spread(torch.zeros(1, 4, 4)).item() == pytest.approx(1)   # a flat map singles nothing out


def test_border_mass():
    uniform = torch.ones(2, 32, 32)
    assert torch.allclose(al.metrics.border_mass(uniform, 4), torch.full((2,), 1 - 24 * 24 / 1024))
    centre = torch.zeros(1, 32, 32)
    centre[0, 10:20, 10:20] = 1
    assert al.metrics.border_mass(centre, 4).item() == 0
    edge = torch.zeros(1, 32, 32)
    edge[0, 0, :] = 1
    assert al.metrics.border_mass(edge, 4).item() == 1
    with pytest.raises(ValueError, match="non-negative"):
        al.metrics.border_mass(-uniform)
    with pytest.raises(ValueError, match="width"):
        al.metrics.border_mass(uniform, 16)


def test_total_variation():
    flat = torch.full((1, 8, 8), 0.3)
    assert al.metrics.total_variation(flat).item() == 0
    board = ((torch.arange(8)[:, None] + torch.arange(8)[None]) % 2).float()[None]
    assert al.metrics.total_variation(board).item() == pytest.approx(1.0)
    ramp = torch.linspace(0, 1, 8).expand(8, 8)[None]
    assert al.metrics.total_variation(ramp).item() == pytest.approx((1 / 7) / 2)
