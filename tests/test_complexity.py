"""The complexity bounds of C9 (harness/probes/complexity.py), against hand computations on a net small
enough to do every norm by hand."""

import math

import pytest
import torch
from torch import nn

from harness.probes import complexity

PHI = (1 + math.sqrt(5)) / 2  # the largest singular value of [[1, 1], [0, 1]]


def tiny():
    """2 -> 2 -> 2, ReLU: W1 = diag(1, 2), W2 = [[1, 1], [0, 1]], no biases (folded in as zeros)."""
    net = nn.Sequential(nn.Flatten(), nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2))
    with torch.no_grad():
        net[1].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
        net[3].weight.copy_(torch.tensor([[1.0, 1.0], [0.0, 1.0]]))
        net[1].bias.zero_()
        net[3].bias.zero_()
    return net


X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # logits [1, 0], [2, 2], [3, 2]
Y = torch.tensor([0, 1, 0])  # margins 1, 0, 1; the second is a miss (argmax of a tie: class 0)


def test_the_bias_is_folded_in_and_carried_by_an_extra_unit():
    a1, a2 = complexity.layer_matrices(tiny())
    assert torch.equal(a1, torch.tensor([[1.0, 0, 0], [0, 2, 0], [0, 0, 1]], dtype=torch.float64))
    assert torch.equal(a2, torch.tensor([[1.0, 1, 0], [0, 1, 0]], dtype=torch.float64))


def test_every_bound_matches_its_hand_computation():
    b = complexity.bounds(tiny(), X, Y, delta=0.05)
    assert (b["params"], b["layers"], b["m"]) == (12, 2, 3)
    assert b["train_err"] == pytest.approx(1 / 3)
    assert b["gamma"] == pytest.approx(0.2)  # the 10th percentile of (0, 1, 1), linearly interpolated
    assert b["margin_err"] == pytest.approx(1 / 3)  # one margin of 3 at or below 0.2
    assert b["input_norm_max"] == pytest.approx(math.sqrt(3))  # ||[1, 1, 1]||
    frob = math.sqrt(6) * math.sqrt(3)  # ||A1||_F = sqrt(1 + 4 + 1), ||A2||_F = sqrt(3)
    assert b["frobenius_product"] == pytest.approx(frob)
    # spectral norms 2 and phi; row-norm sums 1 + 2 + 1 = 4 and sqrt(2) + 1
    r_a = 2 * PHI * ((4 / 2) ** (2 / 3) + ((math.sqrt(2) + 1) / PHI) ** (2 / 3)) ** 1.5
    assert b["spectral_complexity"] == pytest.approx(r_a)
    conf = 3 * math.sqrt(math.log(2 / 0.05) / 6)
    nts = math.sqrt(3) * 2**2 * frob / math.sqrt(3)
    grs = math.sqrt(3) * (math.sqrt(2 * math.log(2) * 2) + 1) * frob / math.sqrt(3)
    assert b["nts_bound"] == pytest.approx(1 / 3 + 2 * nts / 0.2 + conf)
    assert b["grs_bound"] == pytest.approx(1 / 3 + 2 * grs / 0.2 + conf)
    x_frob = math.sqrt(2 + 2 + 3)  # ||[x, 1]|| squared: 2, 2, 3
    bft = 1 / 3 + 8 / 3 + 72 * x_frob * math.log(2 * 3) * math.log(3) * r_a / (0.2 * 3)
    assert b["bft_bound"] == pytest.approx(bft + 3 * math.sqrt(math.log(1 / 0.05) / 6))
    assert b["vc_dim"] == pytest.approx(12 * 2 * math.log2(12)) and b["vc_bound"] == math.inf  # d >= m


def test_vapniks_bound_where_the_sample_outnumbers_the_dimension():
    d, bound = complexity.vc_bound(params=10, layers=1, m=10_000, train_err=0.1, delta=0.05)
    assert d == pytest.approx(10 * math.log2(10))
    assert bound == pytest.approx(0.1 + math.sqrt(8 * (d * math.log(2 * math.e * 10_000 / d) + math.log(80)) / 10_000))


def test_a_network_with_other_layers_is_refused():
    with pytest.raises(ValueError, match="fully-connected ReLU network; this one has \\['Conv2d'\\]"):
        complexity.layer_matrices(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4, 2)))
